"""Forced, SDH and font attachments: what titles say, and what the planner does with it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vpo_tui.media import Track, TrackType
from vpo_tui.policy.load import load_policy
from vpo_tui.policy.plan import plan, predicted_media
from vpo_tui.policy.planned import PassKind, Plan
from vpo_tui.policy.track_kinds import is_font, title_says_forced, title_says_sdh

from .test_plan_rules import S, assert_idempotent, audio, defaults, media, pol, sub, video

A_T = TrackType.ATTACHMENT


def attachment(index: int, filename: str, codec: str) -> Track:
    return Track(index, A_T, codec, filename=filename)


@pytest.mark.parametrize(
    ("title", "forced", "sdh"),
    [
        ("English (Forced)", True, False),
        ("Forced", True, False),
        ("Signs & Songs", True, False),
        ("Signs", True, False),
        ("Foreign parts only", True, False),
        ("English SDH", False, True),
        ("English (CC)", False, True),
        ("Hearing Impaired", False, True),
        ("English", False, False),
        ("Full", False, False),
        ("Enforcement of Dialogue", False, False),  # a word containing "forced"-ish text
        ("Accent", False, False),  # "cc" only as a whole word
        (None, False, False),
    ],
)
def test_what_titles_say(title: str | None, forced: bool, sdh: bool) -> None:
    assert title_says_forced(title) is forced
    assert title_says_sdh(title) is sdh


def test_fonts_by_codec_mime_or_name() -> None:
    assert is_font(attachment(5, "Font.ttf", "ttf"))
    assert is_font(attachment(5, "x.bin", "application/vnd.ms-opentype"))
    assert is_font(attachment(5, "Font.OTF", "unknown"))
    assert not is_font(attachment(5, "cover.jpg", "mjpeg"))
    assert not is_font(sub(5, "eng", "Font.ttf"))


# A French film with three English subtitles told apart only by their titles.
def french_film(*, audio_lang: str = "fre") -> tuple[Track, ...]:
    return (
        video(),
        audio(1, audio_lang, default=True),
        sub(2, "eng", "English (Forced)"),
        sub(3, "eng", "English"),
        sub(4, "eng", "English SDH"),
    )


NORMALIZE = load_policy("normalize")  # subtitles.default = "foreign_audio", languages eng
ENGLISH_ONLY = load_policy("english-only")  # clears titles, default subtitle none


def test_foreign_audio_defaults_to_full_subtitles_not_forced_by_title() -> None:
    p = plan(NORMALIZE, media(*french_film()))
    assert defaults(p, S) == [3]  # "English", not "English (Forced)" nor the SDH one
    assert_idempotent(NORMALIZE, p)


def test_preferred_language_audio_defaults_to_forced_by_title() -> None:
    p = plan(NORMALIZE, media(*french_film(audio_lang="eng")))
    assert defaults(p, S) == [2]  # signs only: the dialogue is understood
    assert_idempotent(NORMALIZE, p)


def test_foreign_audio_with_only_forced_subtitles_has_no_default() -> None:
    m = media(video(), audio(1, "fre", default=True), sub(2, "eng", "Forced", default=True))
    p = plan(NORMALIZE, m)
    assert defaults(p, S) == []
    assert "unset default of subtitle 2 (eng)" in p.changes


def test_sdh_is_the_default_only_without_plain_subtitles() -> None:
    m = media(video(), audio(1, "fre", default=True), sub(2, "eng", "English SDH"), sub(3, "eng"))
    assert defaults(plan(NORMALIZE, m), S) == [3]
    m = media(video(), audio(1, "fre", default=True), sub(2, "eng", "English SDH"))
    assert defaults(plan(NORMALIZE, m), S) == [2]


def flags(p: Plan) -> dict[int, tuple[bool, bool, str | None]]:
    return {t.source_index: (t.forced, t.hearing_impaired, t.title) for t in p.tracks}


def test_clearing_titles_turns_them_into_flags_first() -> None:
    p = plan(ENGLISH_ONLY, media(*french_film(audio_lang="eng")))
    got = flags(p)
    assert got[2] == (True, False, None)  # was "English (Forced)"
    assert got[3] == (False, False, None)  # was "English"
    assert got[4] == (False, True, None)  # was "English SDH"
    assert "set forced on subtitle 2" in p.changes
    assert "set hearing-impaired (SDH) on subtitle 4" in p.changes
    assert p.pass_kind is PassKind.MKVPROPEDIT
    assert_idempotent(ENGLISH_ONLY, p)
    # on the next run the flags alone still tell the three apart
    flagged = predicted_media(p)
    assert defaults(plan(NORMALIZE, flagged), S) == [2]  # english audio: signs only
    dubbed = tuple(
        replace(t, language="fre") if t.type is TrackType.AUDIO else t for t in flagged.tracks
    )
    assert defaults(plan(NORMALIZE, replace(flagged, tracks=dubbed)), S) == [3]


def test_a_title_that_stays_is_not_rewritten_into_a_flag() -> None:
    # normalize keeps titles: the file is not rewritten just to copy the title into a flag
    m = media(video(), audio(1, "eng", default=True), sub(2, "eng", "English (Forced)"))
    p = plan(NORMALIZE, m)
    assert flags(p)[2] == (False, False, "English (Forced)")


def test_mp4_output_keeps_what_the_lost_title_said() -> None:
    policy = pol('[container]\nformat = "mp4"\n')
    m = media(
        video(),
        audio(1, "eng", default=True),
        sub(2, "eng", "English (Forced)"),
        sub(3, "eng", "English SDH"),
    )
    p = plan(policy, m)
    assert flags(p)[2][:2] == (True, False)
    assert flags(p)[3][:2] == (False, True)
    assert_idempotent(policy, p)


def test_keep_forced_keeps_a_track_forced_only_by_title() -> None:
    policy = pol('[subtitles]\nkeep = ["eng"]\nkeep_forced = true\n')
    m = media(video(), audio(1, "fre", default=True), sub(2, "fre", "Français (Forced)"))
    p = plan(policy, m)
    assert 2 in [t.source_index for t in p.tracks]
    no_forced = pol('[subtitles]\nkeep = ["eng"]\nkeep_forced = false\n')
    assert 2 not in [t.source_index for t in plan(no_forced, m).tracks]


# -- fonts of styled subtitles ------------------------------------------------------


def anime(sub_codec: str = "ass", sub_lang: str = "eng") -> tuple[Track, ...]:
    return (
        video(),
        audio(1, "jpn", default=True),
        sub(2, sub_lang, "Full", codec=sub_codec),
        attachment(3, "Font.ttf", "ttf"),
        attachment(4, "cover.jpg", "mjpeg"),
    )


def test_dropping_attachments_keeps_the_fonts_of_kept_ass_subtitles() -> None:
    p = plan(ENGLISH_ONLY, media(*anime()))
    kept = [t.source_index for t in p.tracks]
    assert 3 in kept and 4 not in kept
    assert "remove attachment 4 (und, cover.jpg): attachment (attachments.drop)" in p.changes
    assert any(line.startswith("keep attachment 3") and "font" in line for line in p.changes)
    assert_idempotent(ENGLISH_ONLY, p)


def test_fonts_go_when_no_styled_subtitle_stays() -> None:
    for tracks in (anime(sub_codec="subrip"), anime(sub_lang="ger")):
        kept = [t.source_index for t in plan(ENGLISH_ONLY, media(*tracks)).tracks]
        assert 3 not in kept and 4 not in kept


def test_the_font_note_alone_does_not_make_a_change() -> None:
    m = media(
        video(),
        audio(1, "eng", default=True),
        sub(2, "eng", codec="ass"),
        attachment(3, "Font.ttf", "ttf"),
    )
    p = plan(ENGLISH_ONLY, m)
    assert p.changes == () and p.pass_kind is PassKind.NONE


# -- containers that store no flags ------------------------------------------------


def test_an_avi_remuxed_to_mkv_keeps_what_played() -> None:
    """AVI stores no default flags: its first video and audio are what plays, and stay so."""
    avi = media(
        video(default=False),
        audio(1, "und", codec="mp3"),
        audio(2, "und", codec="mp3"),
        container="avi",
    )
    remux = load_policy("mkv-remux")
    p = plan(remux, avi)
    assert defaults(p, TrackType.VIDEO) == [0]
    assert defaults(p, TrackType.AUDIO) == [1]
    assert_idempotent(remux, p)
    # a kept AVI container has nothing to change: it cannot hold the flags
    assert plan(pol('[audio]\ndefault = "keep"\n'), avi).changes == ()
