"""Random values for every policy key, one key at a time, on an otherwise valid policy.

What tests/unit/test_policy_properties.py does not reach: its documents are random
throughout, so the loader usually stops at the first bad key and the keys after it are
rarely validated with everything else valid. Here a complete, valid policy (every key
of the live schema set) has exactly one key — or one whole section — replaced by a
random value. The loader must return a Policy or a PolicyError that names that key
(never a traceback, never blame on another key), and every policy it accepts goes
through the planner on random files: deterministic, and idempotent on its own
predicted result (tests/unit/test_plan_properties.py does that for policies built in
Python, not for what the loader produces).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.conftest import Tally
from tests.fuzzing import examples
from tests.strategies import media_infos, toml_value, values
from vpo_tui.media import MediaInfo
from vpo_tui.policy.load import PolicyError, parse_policy
from vpo_tui.policy.model import Policy
from vpo_tui.policy.plan import plan, predicted_media
from vpo_tui.policy.planned import PassKind, PlanError
from vpo_tui.policy.reader import _SECTIONS

# One valid value for every key the loader knows (checked against its schema below).
VALID: dict[str, Any] = {
    "name": "fuzz",
    "description": "every key set",
    "on_error": "skip",
    "commentary_patterns": ["commentary"],
    "languages.audio": ["eng", "jpn"],
    "languages.subtitle": ["eng"],
    "languages.reorder": True,
    "audio.keep": ["eng", "jpn", "und"],
    "audio.drop_commentary": True,
    "audio.min_tracks": 1,
    "audio.fallback": "keep_first",
    "audio.default": "preferred",
    "subtitles.keep": ["eng"],
    "subtitles.keep_forced": True,
    "subtitles.drop_commentary": True,
    "subtitles.remove_all": False,
    "subtitles.default": "foreign_audio",
    "attachments.drop": False,
    "metadata.und_language": "eng",
    "metadata.clear_titles": ["audio"],
    "metadata.container_title": "{stem}",
    "container.format": "mkv",
    "container.on_incompatible": "transcode",
    "transcode.video.codec": "hevc",
    "transcode.video.crf": 24,
    "transcode.video.preset": "medium",
    "transcode.video.max_height": 1080,
    "transcode.video.max_width": 1920,
    "transcode.video.skip_codecs": ["hevc", "av1"],
    "transcode.audio.codec": "aac",
    "transcode.audio.bitrate": "192k",
    "transcode.audio.keep_codecs": ["flac", "aac"],
}
EXCLUSIVE = {"transcode.video.bitrate": "transcode.video.crf"}  # crf and bitrate exclude
LEAVES = sorted(
    f"{section}.{key}" if section else key
    for section, keys in _SECTIONS.items()
    for key in keys
    if not (section == "" and key in _SECTIONS)  # a section name, not a leaf
    and f"{section}.{key}" not in ("transcode.video", "transcode.audio")
)
SECTIONS = sorted(s for s in _SECTIONS if s)


def test_the_valid_policy_sets_every_key_of_the_schema() -> None:
    """If the schema grows, this fuzz must learn a valid value for the new key."""
    assert set(LEAVES) - set(VALID) <= set(EXCLUSIVE), set(LEAVES) - set(VALID)
    policy = parse_policy(render(VALID), "fuzz.toml")
    assert policy.name == "fuzz"


def render(flat: dict[str, Any]) -> str:
    """A flat ``{"a.b": value}`` mapping as a TOML document, sections in order."""
    top = {k: v for k, v in flat.items() if "." not in k}
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    tables: dict[str, list[str]] = {}
    for key, value in flat.items():
        if "." in key:
            section, leaf = key.rsplit(".", 1)
            tables.setdefault(section, []).append(f"{leaf} = {toml_value(value)}")
    for section, body in tables.items():
        lines += [f"[{section}]", *body]
    return "\n".join(lines) + "\n"


randoms = st.one_of(
    values,
    st.sampled_from(["", "eng", "EN", "xx", "und", "zz9", "mkv", "keep_all", "ultrafast", "4M"]),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.lists(st.sampled_from(["eng", "", "x", "hevc", "audio", "eng"]), max_size=5),
    st.text(max_size=12),
)


def _check_plans(policy: Policy, media: MediaInfo) -> None:
    try:
        first = plan(policy, media)
    except PlanError as error:
        assert str(error).startswith(str(media.path))
        return
    assert plan(policy, media) == first
    if first.skip_reason is not None:
        return
    again = plan(policy, predicted_media(first))
    assert again.changes == (), (first.changes, again.changes)
    assert again.pass_kind is PassKind.NONE


FUZZ = settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(key=st.sampled_from(LEAVES), value=randoms, media=media_infos())
def test_one_random_value_for_any_key(
    key: str, value: object, media: MediaInfo, tally: Tally
) -> None:
    flat = dict(VALID)
    if key in EXCLUSIVE:
        flat.pop(EXCLUSIVE[key])
    flat[key] = value
    tally.add("policy_examples")
    try:
        policy = parse_policy(render(flat), "fuzz.toml")
    except PolicyError as error:
        assert str(error).startswith("fuzz.toml") and error.message
        if error.line is not None and error.key_path is None:
            return  # a TOML syntax error (the borrowed writer escapes some text badly)
        assert error.key_path is not None, str(error)
        assert error.key_path.startswith(key), f"blamed {error.key_path} for {key}: {error}"
        return
    _check_plans(policy, media)


@FUZZ
@given(section=st.sampled_from(SECTIONS), value=values)
def test_a_random_value_for_a_whole_section(section: str, value: object, tally: Tally) -> None:
    tally.add("policy_examples")
    head, _, rest = section.partition(".")
    flat = {k: v for k, v in VALID.items() if not k.startswith(head + ".")}
    text = f"{head} = {toml_value({rest: value} if rest else value)}\n" + render(flat)
    try:
        parse_policy(text, "fuzz.toml")
    except PolicyError as error:
        assert str(error).startswith("fuzz.toml") and error.message
        assert error.key_path is None or error.key_path.startswith(head), str(error)
