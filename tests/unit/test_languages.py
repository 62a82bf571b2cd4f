"""ISO 639 normalisation: every spelling of a language compares as one code."""

from __future__ import annotations

import pytest

from vpo_tui.policy.languages import (
    SPECIAL_CODES,
    all_codes,
    is_language_code,
    language_name,
    normalize_language,
)


def test_table_is_complete_639_2() -> None:
    # ISO 639-2 has about 480 codes (B forms) besides the qaa-qtz local range
    assert 470 <= len(all_codes()) <= 500
    assert SPECIAL_CODES.issubset(all_codes())


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("en", "eng"),
        ("eng", "eng"),
        ("ENG", "eng"),
        (" jpn ", "jpn"),
        ("de", "ger"),
        ("deu", "ger"),
        ("ger", "ger"),
        ("fra", "fre"),
        ("fr", "fre"),
        ("nld", "dut"),
        ("zho", "chi"),
        ("und", "und"),
        ("mul", "mul"),
        ("zxx", "zxx"),
        ("mis", "mis"),
        ("qab", "qab"),
    ],
)
def test_normalize_language(spelling: str, canonical: str) -> None:
    assert normalize_language(spelling) == canonical


@pytest.mark.parametrize("bad", ["xx", "", "english", "e", "qzz", "12", "en-US", "ëng"])
def test_unknown_codes_are_none(bad: str) -> None:
    assert normalize_language(bad) is None
    assert not is_language_code(bad)


def test_every_canonical_code_maps_to_itself() -> None:
    for code in all_codes():
        assert normalize_language(code) == code


def test_display_names() -> None:
    assert language_name("ger") == "German"
    assert language_name("deu") == "German"
    assert language_name("spa") == "Spanish"  # "Spanish; Castilian" shortened
    assert language_name("jpn") == "Japanese"
    assert language_name("xx") == "xx"
