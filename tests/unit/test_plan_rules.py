"""The planner, rule by rule, on plain data (a probed MediaInfo in, a Plan out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy.load import load_policy, parse_policy
from vpo_tui.policy.model import Policy
from vpo_tui.policy.plan import plan, predicted_media, scaled_size
from vpo_tui.policy.planned import PassKind, Plan, PlanError

V, A, S, T, D = (
    TrackType.VIDEO,
    TrackType.AUDIO,
    TrackType.SUBTITLE,
    TrackType.ATTACHMENT,
    TrackType.DATA,
)


def media(*tracks: Track, container: str = "mkv", title: str | None = None) -> MediaInfo:
    suffix = {"mkv": ".mkv", "mp4": ".mp4"}.get(container, f".{container}")
    return MediaInfo(Path(f"/lib/Movie{suffix}"), container, 1000, 2.0, tracks, title)


def video(index: int = 0, codec: str = "h264", **kw: object) -> Track:
    kw.setdefault("default", True)
    kw.setdefault("width", 1920)
    kw.setdefault("height", 1080)
    return Track(index, V, codec, **kw)  # type: ignore[arg-type]


def audio(index: int, lang: str, title: str | None = None, **kw: object) -> Track:
    return Track(index, A, kw.pop("codec", "aac"), lang, title, **kw)  # type: ignore[arg-type]


def sub(index: int, lang: str, title: str | None = None, **kw: object) -> Track:
    return Track(index, S, kw.pop("codec", "subrip"), lang, title, **kw)  # type: ignore[arg-type]


def pol(text: str) -> Policy:
    return parse_policy(text, "test.toml")


def order(p: Plan) -> list[int]:
    return [t.source_index for t in p.tracks]


def defaults(p: Plan, kind: TrackType) -> list[int]:
    return [t.source_index for t in p.tracks if t.type is kind and t.default]


def assert_idempotent(policy: Policy, p: Plan) -> None:
    again = plan(policy, predicted_media(p))
    assert again.changes == (), again.changes
    assert again.pass_kind is PassKind.NONE


# -- empty plan ----------------------------------------------------------------


def test_compliant_file_gives_empty_plan() -> None:
    m = media(video(), audio(1, "eng", default=True), sub(2, "eng"))
    p = plan(load_policy("mkv-remux"), m)
    assert p.changes == () and p.pass_kind is PassKind.NONE and p.compliant


# -- rule 1: und language --------------------------------------------------------


def test_und_language_applies_before_filtering() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\n[metadata]\nund_language = "eng"\n')
    m = media(video(), audio(1, "und", default=True), audio(2, "fre"))
    p = plan(policy, m)
    assert order(p) == [0, 1]
    assert p.tracks[1].language == "eng"
    assert "set language of audio 1: und → eng" in p.changes
    assert not any("video 0" in change for change in p.changes)
    assert "remove audio 2 (fre): language not in audio.keep" in p.changes
    assert p.pass_kind is PassKind.MKVMERGE
    assert_idempotent(policy, p)


# -- rules 2-3: audio --------------------------------------------------------------


def test_audio_keep_and_commentary() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\ndrop_commentary = true\n')
    m = media(
        video(),
        audio(1, "fre", default=True),
        audio(2, "eng", "English"),
        audio(3, "eng", "Director's COMMENTARY"),
    )
    p = plan(policy, m)
    assert order(p) == [0, 2]
    assert 'remove audio 3 (eng, "Director\'s COMMENTARY"): commentary' in p.changes
    assert_idempotent(policy, p)


def test_commentary_patterns_are_configurable() -> None:
    policy = pol('commentary_patterns = ["kommentar"]\n[audio]\ndrop_commentary = true\n')
    m = media(video(), audio(1, "ger", default=True), audio(2, "ger", "Kommentar"))
    assert order(plan(policy, m)) == [0, 1]


@pytest.mark.parametrize(
    ("fallback", "kept"),
    [("keep_first", [0, 2]), ("keep_all", [0, 2, 3])],
)
def test_audio_fallback(fallback: str, kept: list[int]) -> None:
    policy = pol(f'[audio]\nkeep = ["eng"]\ndrop_commentary = true\nfallback = "{fallback}"\n')
    m = media(
        video(), audio(1, "fre", "Commentary"), audio(2, "ger", default=True), audio(3, "spa")
    )
    p = plan(policy, m)
    assert order(p) == kept
    assert_idempotent(policy, p)


def test_audio_fallback_error_names_file_and_languages() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\nfallback = "error"\n')
    m = media(video(), audio(1, "fre"), audio(2, "ger"))
    with pytest.raises(PlanError, match=r"/lib/Movie.mkv: .*\(eng\).*fre, ger"):
        plan(policy, m)


def test_min_tracks_adds_back_in_file_order_non_commentary_first() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\nmin_tracks = 3\n')
    m = media(
        video(),
        audio(1, "fre", "Commentary"),
        audio(2, "eng", default=True),
        audio(3, "spa"),
        audio(4, "ger"),
    )
    p = plan(policy, m)
    assert order(p) == [0, 2, 3, 4]
    assert_idempotent(policy, p)


def test_no_audio_at_all_is_fine() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\nfallback = "error"\nmin_tracks = 2\n')
    p = plan(policy, media(video()))
    assert p.changes == ()


# -- rule 4: subtitles ----------------------------------------------------------------


def test_subtitles_keep_forced_and_remove_all() -> None:
    m = media(
        video(),
        audio(1, "eng", default=True),
        sub(2, "eng"),
        sub(3, "fre"),
        sub(4, "fre", forced=True),
        sub(5, "eng", "Commentary"),
    )
    keep = pol('[subtitles]\nkeep = ["eng"]\ndrop_commentary = true\n')
    assert order(plan(keep, m)) == [0, 1, 2, 4]
    no_forced = pol('[subtitles]\nkeep = ["eng"]\nkeep_forced = false\n')
    assert order(plan(no_forced, m)) == [0, 1, 2, 5]
    none = pol("[subtitles]\nremove_all = true\n")
    p = plan(none, m)
    assert order(p) == [0, 1]
    assert "remove subtitle 3 (fre): subtitles.remove_all" in p.changes
    assert_idempotent(none, p)


# -- rules 5-6: attachments, cover art, data -----------------------------------------


def test_attachments_and_cover_art_dropped() -> None:
    policy = pol("[attachments]\ndrop = true\n")
    m = media(
        video(),
        Track(1, V, "mjpeg", attached_pic=True, width=300, height=300),
        audio(2, "eng", default=True),
        Track(3, T, "ttf", filename="font.ttf"),
    )
    p = plan(policy, m)
    assert order(p) == [0, 2]
    assert "remove attachment 3 (und, font.ttf): attachment (attachments.drop)" in p.changes
    assert p.pass_kind is PassKind.MKVMERGE


def test_data_stream_dropped_with_a_listed_change_for_mkv() -> None:
    policy = pol('[container]\nformat = "mkv"\n')
    m = media(video(), audio(1, "eng", default=True), Track(2, D, "bin_data"), container="mp4")
    p = plan(policy, m)
    assert order(p) == [0, 1]
    assert "remove data 2 (und): mkv cannot carry data streams" in p.changes
    kept = plan(pol("[attachments]\ndrop = false\n"), m)
    assert order(kept) == [0, 1, 2]  # mp4 → mp4 carries it


def test_mkv_attachments_cannot_go_into_mp4() -> None:
    policy = pol('[container]\nformat = "mp4"\n')
    m = media(video(), audio(1, "eng", default=True), Track(2, T, "ttf", filename="f.ttf"))
    p = plan(policy, m)
    assert "remove attachment 2 (und, f.ttf): mp4 cannot carry attachments" in p.changes


# -- rule 7: order ---------------------------------------------------------------------


def test_reorder_by_type_preference_commentary_last() -> None:
    policy = pol('[languages]\naudio = ["jpn", "eng"]\nsubtitle = ["eng"]\n')
    m = media(
        sub(0, "fre"),
        audio(1, "eng", "Commentary"),
        audio(2, "eng", default=True),
        video(3),
        audio(4, "jpn"),
        sub(5, "eng"),
        audio(6, "ger"),
    )
    p = plan(policy, m)
    assert order(p) == [3, 4, 2, 1, 6, 5, 0]
    assert any(c.startswith("reorder tracks: video 3 (und), audio 4 (jpn)") for c in p.changes)
    assert p.pass_kind is PassKind.MKVMERGE
    assert_idempotent(policy, p)


def test_reorder_off_keeps_file_order() -> None:
    policy = pol('[languages]\naudio = ["jpn"]\nreorder = false\n[audio]\ndefault = "keep"\n')
    m = media(video(), audio(1, "eng", default=True), audio(2, "jpn"))
    assert plan(policy, m).changes == ()


# -- rule 8: flags ---------------------------------------------------------------------


def test_video_default_first_only() -> None:
    m = media(video(0, default=False), video(1, default=True), audio(2, "eng", default=True))
    p = plan(pol(""), m)
    assert defaults(p, V) == [0]
    assert "default video → 0 (und)" in p.changes
    assert "unset default of video 1 (und)" in p.changes
    assert p.pass_kind is PassKind.MKVPROPEDIT


@pytest.mark.parametrize("name", ["mkv-remux", "hevc-1080p"])
def test_a_lone_video_keeps_its_default_flag(name: str) -> None:
    # ffmpeg writes MKVs with no default flags: the picture plays anyway, so a
    # policy that promises to change nothing must not rewrite the file for it
    m = media(video(default=False, codec="hevc"), audio(1, "eng", default=True))
    p = plan(load_policy(name), m)
    assert p.changes == () and p.pass_kind is PassKind.NONE
    assert defaults(p, V) == []


def test_a_lone_video_stays_default_if_it_was() -> None:
    m = media(video(default=True), audio(1, "eng", default=True))
    assert plan(pol(""), m).changes == ()


def test_a_lone_video_into_mp4_is_made_default_by_the_muxer_without_a_change_line() -> None:
    policy = pol('[container]\nformat = "mp4"\n')
    m = media(video(default=False), audio(1, "eng", default=True))
    p = plan(policy, m)
    assert defaults(p, V) == [0]  # measured: the mov muxer marks the first video default
    assert not any("default video" in line for line in p.changes)
    assert_idempotent(policy, p)


def test_cover_art_does_not_count_as_a_second_video() -> None:
    m = media(
        video(default=False),
        audio(1, "eng", default=True),
        video(2, codec="mjpeg", default=False, attached_pic=True),
    )
    p = plan(pol(""), m)
    assert p.changes == ()


def test_default_audio_is_most_preferred_language_non_commentary() -> None:
    policy = pol('[languages]\naudio = ["eng", "jpn"]\nreorder = false\n')
    m = media(
        video(),
        audio(1, "jpn", default=True),
        audio(2, "eng", "Commentary"),
        audio(3, "eng"),
    )
    p = plan(policy, m)
    assert defaults(p, A) == [3]
    assert "default audio → 3 (eng)" in p.changes
    assert "unset default of audio 1 (jpn)" in p.changes
    assert p.pass_kind is PassKind.MKVPROPEDIT
    assert_idempotent(policy, p)


def test_default_audio_falls_back_to_first_non_commentary() -> None:
    policy = pol('[languages]\naudio = ["eng"]\n')
    m = media(video(), audio(1, "fre", "Commentary", default=True), audio(2, "ger"))
    assert defaults(plan(policy, m), A) == [2]


def test_audio_default_keep() -> None:
    policy = pol('[languages]\naudio = ["eng"]\nreorder = false\n[audio]\ndefault = "keep"\n')
    m = media(video(), audio(1, "fre", default=True), audio(2, "eng"))
    assert plan(policy, m).changes == ()


SUBS = (
    video(),
    audio(1, "jpn", default=True),
    audio(2, "eng"),
    sub(3, "eng", "Signs", forced=True),
    sub(4, "eng", "Full"),
    sub(5, "fre", default=True),
)


@pytest.mark.parametrize(
    ("mode", "audio_pref", "expected"),
    [
        ("none", "jpn", []),
        ("preferred", "jpn", [4]),  # non-forced preferred
        ("preferred", "eng", [4]),
        ("foreign_audio", "jpn", [4]),  # default audio jpn is not what the viewer reads
        ("foreign_audio", "eng", [3]),  # audio understood: only signs need text
        ("keep", "jpn", [5]),
    ],
)
def test_subtitle_default_modes(mode: str, audio_pref: str, expected: list[int]) -> None:
    policy = pol(
        f'[languages]\naudio = ["{audio_pref}"]\nsubtitle = ["eng"]\nreorder = false\n'
        f'[subtitles]\ndefault = "{mode}"\n'
    )
    p = plan(policy, media(*SUBS))
    assert defaults(p, S) == expected
    assert next(t for t in p.tracks if t.source_index == 3).forced  # forced kept
    assert_idempotent(policy, p)


def test_foreign_audio_judges_by_the_audio_mp4_will_mark_default() -> None:
    """No audio is marked default; MP4 marks the first one default when written.

    Found by the planner property test: the first plan looked at the source flags
    (no default audio, so no default subtitle), the file came out with English
    audio playing by default, and a second run then wanted an English subtitle
    default. The subtitle choice must follow the audio that will actually play.
    """
    policy = pol(
        '[languages]\nsubtitle = ["jpn", "eng"]\nreorder = false\n'
        '[subtitles]\ndefault = "foreign_audio"\n[container]\nformat = "mp4"\n'
    )
    m = media(
        audio(0, "eng"),
        audio(1, "eng"),
        sub(2, "eng", forced=True),
        sub(3, "eng"),
    )
    p = plan(policy, m)
    assert defaults(p, A) == [0]  # written as default by the MP4 muxer
    assert defaults(p, S) == [3]  # English audio is foreign to a Japanese reader
    assert_idempotent(policy, p)


@pytest.mark.parametrize("fallback", ["keep_all", "keep_first"])
def test_when_every_audio_is_commentary_the_fallback_prefers_a_kept_language(
    fallback: str,
) -> None:
    """Found by the planner property test: with titles cleared, a kept Japanese
    commentary became a plain Japanese track, which the next run removed."""
    policy = pol(
        f'[audio]\nkeep = ["eng"]\ndrop_commentary = true\nfallback = "{fallback}"\n'
        '[metadata]\nclear_titles = ["audio"]\n'
    )
    m = media(
        video(),
        audio(1, "jpn", "Director's Commentary"),
        audio(2, "eng", "Director's Commentary"),
    )
    p = plan(policy, m)
    assert [t.source_index for t in p.tracks if t.type is A] == [2]
    assert 'remove audio 1 (jpn, "Director\'s Commentary"): commentary' in p.changes
    assert_idempotent(policy, p)


def test_preferred_subtitle_needs_a_listed_language() -> None:
    policy = pol('[languages]\nsubtitle = ["ger"]\n[subtitles]\ndefault = "preferred"\n')
    assert defaults(plan(policy, media(*SUBS)), S) == []


# -- rule 9: metadata ---------------------------------------------------------------------


def test_clear_titles_and_container_title() -> None:
    policy = pol('[metadata]\nclear_titles = ["audio"]\ncontainer_title = "{stem} (cut)"\n')
    m = media(video(title="v"), audio(1, "eng", "Stereo", default=True), title="old")
    p = plan(policy, m)
    assert "clear title of audio 1" in p.changes
    assert 'container title → "Movie (cut)"' in p.changes
    assert p.tracks[0].title == "v"
    assert p.title == "Movie (cut)"
    assert p.pass_kind is PassKind.MKVPROPEDIT
    assert_idempotent(policy, p)


def test_container_title_cleared() -> None:
    p = plan(pol('[metadata]\ncontainer_title = ""\n'), media(video(), title="x"))
    assert p.title is None and "clear container title" in p.changes


# -- rule 10: containers ---------------------------------------------------------------------


def test_remux_mp4_to_mkv_converts_mov_text() -> None:
    policy = load_policy("mkv-remux")
    m = media(
        video(), audio(1, "eng", default=True), sub(2, "eng", codec="mov_text"), container="mp4"
    )
    p = plan(policy, m)
    assert p.container == "mkv"
    assert "remux mp4 → mkv" in p.changes
    assert "convert subtitle 2 mov_text → subrip" in p.changes
    assert p.pass_kind is PassKind.FFMPEG  # mkvmerge would drop mov_text silently
    assert predicted_media(p).path == Path("/lib/Movie.mkv")
    assert_idempotent(policy, p)


def test_remux_mp4_without_subtitles_uses_mkvmerge() -> None:
    m = media(video(), audio(1, "eng", default=True), container="mp4")
    p = plan(load_policy("mkv-remux"), m)
    assert p.pass_kind is PassKind.MKVMERGE


def test_mkv_to_mp4_converts_text_subs_and_predicts_muxer_semantics() -> None:
    policy = pol('[container]\nformat = "mp4"\n[subtitles]\ndefault = "none"\n')
    m = media(
        video(),
        audio(1, "eng", "Main", default=False),
        sub(2, "eng", "Full"),
        sub(3, "eng", "Forced", forced=True, codec="ass"),
    )
    p = plan(policy, m)
    assert p.pass_kind is PassKind.FFMPEG
    assert [t.codec for t in p.tracks] == ["h264", "aac", "mov_text", "mov_text"]
    # measured: the MP4 muxer makes the first track of a type default, drops titles,
    # keeps forced
    assert [t.default for t in p.tracks] == [True, True, True, False]
    assert [t.title for t in p.tracks] == [None, None, None, None]
    assert p.tracks[3].forced
    assert "track titles are not kept by mp4" in p.changes
    assert 'mp4 marks subtitle 2 default (it cannot store "none")' in p.changes
    assert_idempotent(policy, p)


def test_mp4_source_titles_and_forced_default_are_not_changes() -> None:
    policy = pol('[subtitles]\ndefault = "none"\n')
    m = media(
        video(),
        audio(1, "eng", default=True),
        sub(2, "eng", default=True, codec="mov_text"),
        container="mp4",
    )
    assert plan(policy, m).changes == ()


MUXER_NOTE = 'mp4 marks {} default (it cannot store "none")'


@pytest.mark.parametrize(
    ("toml", "notes"),
    [
        ('[subtitles]\ndefault = "none"\n', ["subtitle 3"]),
        # the policy's choice leaves none: the default audio is what the viewer reads
        (
            '[languages]\nsubtitle = ["eng"]\n[subtitles]\ndefault = "foreign_audio"\n',
            ["subtitle 3"],
        ),
        ('[languages]\nsubtitle = ["ger"]\n[subtitles]\ndefault = "preferred"\n', ["subtitle 3"]),
        # a default was chosen: MP4 stores it as asked
        ('[languages]\nsubtitle = ["fre"]\n[subtitles]\ndefault = "preferred"\n', []),
        ('[subtitles]\ndefault = "keep"\n', []),  # the source has one
        ('[audio]\ndefault = "keep"\n', []),  # the source has one
    ],
)
def test_mp4_tells_when_it_marks_a_default_the_policy_did_not_ask_for(
    toml: str, notes: list[str]
) -> None:
    policy = pol('[container]\nformat = "mp4"\n' + toml)
    m = media(video(), audio(1, "eng", default=True), sub(3, "eng"), sub(4, "fre", default=True))
    p = plan(policy, m)
    assert [line for line in p.changes if " marks " in line] == [
        MUXER_NOTE.format(n) for n in notes
    ]
    assert_idempotent(policy, p)


def test_mp4_note_for_audio_when_no_audio_is_default() -> None:
    policy = pol('[container]\nformat = "mp4"\n[audio]\ndefault = "keep"\n')
    p = plan(policy, media(video(), audio(1, "eng"), audio(2, "ger")))
    assert MUXER_NOTE.format("audio 1") in p.changes
    assert defaults(p, A) == [1]
    assert_idempotent(policy, p)


def test_no_muxer_note_on_a_complying_mp4_or_for_mkv() -> None:
    policy = pol('[subtitles]\ndefault = "none"\n')
    mp4 = media(
        video(), audio(1, "eng", default=True), sub(2, "eng", codec="mov_text"), container="mp4"
    )
    assert plan(policy, mp4).changes == ()  # the note alone is no reason to rewrite
    mkv = media(video(), audio(1, "eng", default=True), sub(2, "eng", default=True))
    assert plan(policy, mkv).changes == ("unset default of subtitle 2 (eng)",)


@pytest.mark.parametrize(
    ("choice", "outcome"),
    [("error", "error"), ("skip", "skip"), ("transcode", "transcode")],
)
def test_on_incompatible(choice: str, outcome: str) -> None:
    policy = pol(f'[container]\nformat = "mp4"\non_incompatible = "{choice}"\n')
    m = media(video(codec="mpeg2video"), audio(1, "eng", codec="dts", default=True))
    if outcome == "error":
        with pytest.raises(
            PlanError, match=r"/lib/Movie.mkv: video 0 .*mpeg2video cannot go into mp4"
        ):
            plan(policy, m)
        return
    p = plan(policy, m)
    if outcome == "skip":
        assert p.skip_reason is not None and "mpeg2video" in p.skip_reason
        assert not p.compliant and p.pass_kind is PassKind.NONE
        return
    assert [t.codec for t in p.tracks] == ["h264", "aac"]
    assert "transcode video 0 mpeg2video → h264" in p.changes
    assert "transcode audio 1 dts → aac" in p.changes
    assert_idempotent(policy, p)


@pytest.mark.parametrize("choice", ["error", "skip", "transcode"])
def test_flac_is_incompatible_with_mp4(choice: str) -> None:
    # measured: ffmpeg 5.1 refuses flac in MP4 without -strict experimental
    policy = pol(f'[container]\nformat = "mp4"\non_incompatible = "{choice}"\n')
    m = media(video(), audio(1, "eng", codec="flac", default=True))
    if choice == "error":
        with pytest.raises(PlanError, match=r"/lib/Movie.mkv: audio 1 \(eng\): codec flac"):
            plan(policy, m)
        return
    p = plan(policy, m)
    if choice == "skip":
        assert p.skip_reason is not None and "codec flac cannot go into mp4" in p.skip_reason
        return
    assert [t.codec for t in p.tracks] == ["h264", "aac"]
    assert "transcode audio 1 flac → aac" in p.changes
    assert_idempotent(policy, p)


def test_alac_and_opus_are_copied_into_mp4() -> None:
    policy = pol('[container]\nformat = "mp4"\n')
    m = media(video(), audio(1, "eng", codec="alac", default=True), audio(2, "eng", codec="opus"))
    p = plan(policy, m)
    assert all(t.transcode is None for t in p.tracks)


def test_flac_audio_target_cannot_go_into_mp4() -> None:
    policy = pol('[container]\nformat = "mp4"\n[transcode.audio]\ncodec = "flac"\n')
    with pytest.raises(PlanError, match=r"transcode\.audio\.codec flac cannot go into mp4"):
        plan(policy, media(video(), audio(1, "eng", codec="dts", default=True)))


def test_image_subtitles_cannot_go_into_mp4_even_with_transcode() -> None:
    policy = pol('[container]\nformat = "mp4"\non_incompatible = "transcode"\n')
    m = media(video(), audio(1, "eng", default=True), sub(2, "eng", codec="hdmv_pgs_subtitle"))
    with pytest.raises(PlanError, match="image subtitles"):
        plan(policy, m)


# -- rules 11-12: transcodes ------------------------------------------------------------------


def test_video_transcode_scales_and_skips() -> None:
    policy = load_policy("hevc-1080p")
    big = media(video(codec="h264", width=3840, height=1600), audio(1, "eng", default=True))
    p = plan(policy, big)
    assert (p.tracks[0].codec, p.tracks[0].width, p.tracks[0].height) == ("hevc", 1920, 800)
    assert "transcode video 0 h264 → hevc crf 22, scale 3840x1600 → 1920x800" in p.changes
    assert p.pass_kind is PassKind.FFMPEG
    assert_idempotent(policy, p)
    ok = media(video(codec="av1", width=1280, height=720), audio(1, "eng", default=True))
    assert plan(policy, ok).changes == ()
    too_big_hevc = media(video(codec="hevc", width=3840, height=2160))
    assert plan(policy, too_big_hevc).tracks[0].height == 1080


def test_scaled_size_never_upscales_and_stays_even() -> None:
    assert scaled_size(1280, 720, 1920, 1080) == (1280, 720)
    assert scaled_size(1921, 1081, 1920, 1080) == (1918, 1080)
    assert scaled_size(161, 91, None, None) == (160, 90)
    assert scaled_size(720, 1280, None, 640) == (360, 640)


def test_audio_transcode_keeps_listed_codecs() -> None:
    policy = pol('[transcode.audio]\ncodec = "aac"\nbitrate = "192k"\nkeep_codecs = ["flac"]\n')
    m = media(
        video(),
        audio(1, "eng", codec="dts", default=True),
        audio(2, "eng", codec="flac"),
        audio(3, "eng"),
    )
    p = plan(policy, m)
    assert [t.codec for t in p.tracks] == ["h264", "aac", "flac", "aac"]
    assert p.changes == ("transcode audio 1 dts → aac 192k",)
    assert_idempotent(policy, p)


# -- rule 13: passes ------------------------------------------------------------------------


def test_pass_kind_for_non_mkv_output_is_ffmpeg() -> None:
    policy = pol('[audio]\nkeep = ["eng"]\n')
    m = media(video(), audio(1, "eng", default=True), audio(2, "fre"), container="mp4")
    assert plan(policy, m).pass_kind is PassKind.FFMPEG


def test_plan_is_deterministic() -> None:
    policy = load_policy("normalize")
    m = media(*SUBS)
    assert plan(policy, m) == plan(policy, m)


# -- regressions found by the property tests ------------------------------------------


def test_commentary_whose_title_is_cleared_is_not_treated_as_commentary() -> None:
    # the next run cannot see the title, so the default must not depend on it
    policy = pol(
        '[languages]\naudio = ["eng"]\nreorder = false\n[metadata]\nclear_titles = ["audio"]\n'
    )
    m = media(audio(0, "eng", "Director's Commentary"), audio(1, "eng"))
    p = plan(policy, m)
    assert defaults(p, A) == [0]
    assert_idempotent(policy, p)


def test_audio_transcode_target_must_fit_the_container() -> None:
    policy = pol('[container]\non_incompatible = "transcode"\n[transcode.audio]\ncodec = "aac"\n')
    m = media(audio(0, "eng", codec="aac"), container="webm")
    with pytest.raises(PlanError, match=r"transcode\.audio\.codec aac cannot go into webm"):
        plan(policy, m)


def test_incompatible_audio_uses_the_policys_audio_target() -> None:
    # Found by the property test: dts is in keep_codecs but cannot go into MP4; it
    # used to become aac (the container default), which the next run re-encoded to opus.
    policy = pol(
        '[container]\nformat = "mp4"\non_incompatible = "transcode"\n'
        '[transcode.audio]\ncodec = "opus"\nkeep_codecs = ["flac", "dts"]\n'
    )
    p = plan(policy, media(audio(0, "eng", codec="dts")))
    assert [t.codec for t in p.tracks] == ["opus"]
    assert_idempotent(policy, p)


def test_mp4_note_for_a_lone_video_without_the_default_flag() -> None:
    """Second review: the output's video came out default, and the plan did not say so."""
    policy = pol('[container]\nformat = "mp4"\n[subtitles]\ndefault = "none"\n')
    p = plan(policy, media(video(default=False), audio(1, "eng", default=True)))
    assert MUXER_NOTE.format("video 0") in p.changes
    assert [t.default for t in p.tracks] == [True, True]
    assert_idempotent(policy, p)
