"""Plan → argv (pure), and hand-built plans carried out by the real tools."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia, SubtitleSpec, sha256
from vpo_tui.engine.commands import MkvIds, ffmpeg_argv, mkvmerge_argv, mkvpropedit_argv
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import apply_plan, process_file
from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy.load import parse_policy
from vpo_tui.policy.planned import PassKind, Plan, PlanError, PlannedTrack

FFPROBE = shutil.which("ffprobe") or "ffprobe"


def _media(path: Path, container: str = "mkv") -> MediaInfo:
    tracks = (
        Track(0, TrackType.VIDEO, "h264", default=True, width=160, height=90),
        Track(1, TrackType.AUDIO, "aac", "fre", default=True),
        Track(2, TrackType.AUDIO, "aac", "eng", "Main"),
        Track(3, TrackType.SUBTITLE, "mov_text" if container == "mp4" else "subrip", "eng"),
    )
    return MediaInfo(path, container, 1000, 1.0, tracks)


def _keep(media: MediaInfo, *order: int, kind: PassKind) -> Plan:
    planned = tuple(
        PlannedTrack(i, t.type, t.codec, t.language, t.title, t.default, t.forced)
        for i in order
        for t in [media.track(i)]
    )
    return Plan(media, "mkv", planned, None, ("change",), kind)


def test_ffmpeg_maps_every_planned_track_in_order_with_explicit_flags() -> None:
    media = _media(Path("/lib/-x.mkv"))
    plan = _keep(media, 0, 2, 1, kind=PassKind.FFMPEG)
    argv = ffmpeg_argv(plan, "ffmpeg", media.path, Path("/lib/.tmp.mkv"))
    assert "file:/lib/-x.mkv" in argv and argv[-1] == "file:/lib/.tmp.mkv"
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["0:0", "0:2", "0:1"]
    for out in range(3):
        assert f"-disposition:{out}" in argv
    assert argv[argv.index("-f") + 1] == "matroska"
    assert "-nostdin" in argv and "-progress" in argv


def test_mkvmerge_sets_every_flag_and_the_order() -> None:
    media = _media(Path("/lib/film.mkv"))
    plan = _keep(media, 0, 2, 3, kind=PassKind.MKVMERGE)
    argv = mkvmerge_argv(plan, "mkvmerge", media.path, Path("/lib/.t.mkv"), MkvIds.assumed(media))
    assert argv[argv.index("--audio-tracks") + 1] == "2"
    assert argv[argv.index("--track-order") + 1] == "0:0,0:2,0:3"
    for tid in ("0", "2", "3"):
        assert f"{tid}:0" in argv or f"{tid}:1" in argv
        assert any(a.startswith(f"{tid}:") for a in argv[argv.index("--language") :])
    assert "--no-attachments" in argv


def test_mkvmerge_refuses_mov_text() -> None:
    media = _media(Path("/lib/clip.mp4"), "mp4")
    plan = _keep(media, 0, 1, 3, kind=PassKind.MKVMERGE)
    with pytest.raises(PlanError, match="mov_text"):
        mkvmerge_argv(plan, "mkvmerge", media.path, Path("/lib/.t.mkv"), MkvIds.assumed(media))


def test_mkvpropedit_refuses_drop_and_reorder() -> None:
    media = _media(Path("/lib/film.mkv"))
    with pytest.raises(PlanError, match="cannot drop"):
        mkvpropedit_argv(
            _keep(media, 0, 1, 2, kind=PassKind.MKVPROPEDIT), "p", media.path, MkvIds.assumed(media)
        )
    with pytest.raises(PlanError, match="cannot reorder"):
        mkvpropedit_argv(
            _keep(media, 0, 2, 1, 3, kind=PassKind.MKVPROPEDIT),
            "p",
            media.path,
            MkvIds.assumed(media),
        )


def test_mkvmerge_id_mapping_is_checked_against_the_tool() -> None:
    media = _media(Path("/lib/film.mkv"))
    wrong = {"tracks": [{"id": 0, "type": "video"}, {"id": 1, "type": "audio"}], "attachments": []}
    with pytest.raises(PlanError, match="refusing to guess"):
        MkvIds.from_mkvmerge_json(media, wrong)


def test_hand_built_mkvpropedit_plan_on_a_real_file(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(AudioSpec("fre", "VF", default=True), AudioSpec("eng")),
        subtitles=(SubtitleSpec("eng"),),
        title="old",
    )
    media = probe(path, FFPROBE)
    planned = []
    for t in media.tracks:
        p = PlannedTrack(t.index, t.type, t.codec, t.language, t.title, t.default, t.forced)
        if t.index == 1:
            p = replace(p, default=False, title=None)
        if t.index == 2:
            p = replace(p, default=True, language="eng", title="English")
        if t.index == 3:
            p = replace(p, forced=True, language="jpn")
        planned.append(p)
    plan = Plan(media, "mkv", tuple(planned), "new title", ("edit",), PassKind.MKVPROPEDIT)
    result = apply_plan(plan)
    assert result.status is FileStatus.OK, result.error
    after = probe(path, FFPROBE)
    assert after.title == "new title"
    assert [(t.language, t.title, t.default, t.forced) for t in after.tracks[1:]] == [
        ("fre", None, False, False),
        ("eng", "English", True, False),
        ("jpn", None, False, True),
    ]


def test_hand_built_plan_that_the_tool_cannot_meet_is_refused(make_file: MakeMedia) -> None:
    """A plan predicting something the output will not have: verification catches it."""
    path = make_file(audio=(AudioSpec("eng", default=True),))
    digest = sha256(path)
    media = probe(path, FFPROBE)
    planned = tuple(
        PlannedTrack(
            t.index,
            t.type,
            "hevc" if t.type is TrackType.VIDEO else t.codec,
            t.language,
            t.title,
            t.default,
            t.forced,
        )
        for t in media.tracks
    )
    plan = Plan(media, "mkv", planned, None, ("remux",), PassKind.MKVMERGE)
    result = apply_plan(plan)
    assert result.status is FileStatus.FAILED and "codec h264, expected hevc" in (
        result.error or ""
    )
    assert sha256(path) == digest


def test_the_same_file_is_written_byte_for_byte_the_same(make_file: MakeMedia, tmp_path: Path):
    """mkvmerge and ffmpeg passes write no random UIDs or dates: two runs, same bytes.

    What lets a Dask worker on another machine write the very file a thread here would.
    """
    source = make_file("movie.mkv", audio=(AudioSpec("eng", default=True), AudioSpec("ger")))
    policies = {
        "mkvmerge": parse_policy('name = "a"\n[audio]\nkeep = ["eng"]\n', "a.toml"),
        "ffmpeg": parse_policy('name = "b"\n[container]\nformat = "mp4"\n', "b.toml"),
    }
    for kind, policy in policies.items():
        digests = set()
        for run in ("one", "two"):
            (tmp_path / kind / run).mkdir(parents=True)
            path = Path(shutil.copy2(source, tmp_path / kind / run / source.name))
            result = process_file(FileJob(path, policy))
            assert result.status is FileStatus.OK and result.pass_kind == kind, result
            assert result.output_path is not None
            digests.add(sha256(result.output_path))
        assert len(digests) == 1, kind
