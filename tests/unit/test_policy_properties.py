"""Property: the loader returns a Policy or raises PolicyError, whatever TOML it is fed."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import examples
from tests.strategies import WORDS, toml_value, values
from vpo_tui.policy.load import PolicyError, parse_policy
from vpo_tui.policy.model import Policy

KEYS: dict[str, list[str]] = {
    "": ["name", "description", "on_error", "commentary_patterns", "bogus"],
    "languages": ["audio", "subtitle", "reorder"],
    "audio": ["keep", "drop_commentary", "min_tracks", "fallback", "default", "keeep"],
    "subtitles": ["keep", "keep_forced", "drop_commentary", "remove_all", "default"],
    "attachments": ["drop"],
    "metadata": ["und_language", "clear_titles", "container_title"],
    "container": ["format", "on_incompatible"],
    "transcode.video": [
        "codec",
        "crf",
        "bitrate",
        "preset",
        "max_height",
        "max_width",
        "skip_codecs",
    ],
    "transcode.audio": ["codec", "bitrate", "keep_codecs"],
    "transcode": ["video", "audio", "x"],
}


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    sections = draw(st.lists(st.sampled_from(sorted(KEYS)), unique=True, max_size=6))
    if "" in sections:
        sections.remove("")
        sections.insert(0, "")
    for section in sections:
        if section:
            lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(KEYS[section]), unique=True, max_size=4)):
            lines.append(f"{key} = {toml_value(draw(values))}")
    return "\n".join(lines) + "\n"


def check(text: str) -> None:
    try:
        policy = parse_policy(text, "random.toml")
    except PolicyError as error:
        assert str(error).startswith("random.toml")
        assert error.message
    else:
        assert isinstance(policy, Policy)
        assert len(policy.digest) == 64


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_structured_random_policies(text: str) -> None:
    check(text)


@settings(max_examples=examples(150), deadline=None)
@given(st.text(alphabet=string.printable + "[]=\"'{}ü", max_size=80))
def test_random_text(text: str) -> None:
    check(text)


@settings(max_examples=examples(100), deadline=None)
@given(st.sampled_from(WORDS[:20]), st.sampled_from(sorted(k for k in KEYS if k)))
def test_valid_looking_values_everywhere(word: str, section: str) -> None:
    for key in KEYS[section]:
        check(f'[{section}]\n{key} = "{word}"\n')
        check(f'[{section}]\n{key} = ["{word}"]\n')
