"""The plain-words summary of a policy."""

from __future__ import annotations

from vpo_tui.policy.describe import describe_policy
from vpo_tui.policy.load import builtin_policy_names, load_policy, parse_policy


def test_normalize_in_words() -> None:
    lines = describe_policy(load_policy("normalize"))
    assert "audio: drop commentary" in lines
    assert "subtitles: keep English (eng) plus forced tracks" in lines
    assert "default subtitle: only when the audio is foreign" in lines
    assert "container: mkv (incompatible codec: error)" in lines


def test_transcode_in_words() -> None:
    lines = describe_policy(load_policy("hevc-1080p"))
    assert "video → hevc crf 22, fit 1920x1080 (skip hevc, av1)" in lines


def test_empty_policy_changes_nothing() -> None:
    assert describe_policy(parse_policy("", "x.toml")) == ["changes nothing"]


def test_every_builtin_describes_something() -> None:
    for name in builtin_policy_names():
        assert describe_policy(load_policy(name)) != ["changes nothing"], name
