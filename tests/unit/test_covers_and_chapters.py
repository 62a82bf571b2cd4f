"""Verification compares kinds, attachments and chapters, not only track types.

A cover that came out as a second real video track, a dropped font or a lost
chapter list must each fail verification (so the original is kept).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vpo_tui.engine.commands import MkvIds, ffmpeg_argv
from vpo_tui.engine.verify import compare
from vpo_tui.media import Chapter, MediaInfo, Track, TrackType
from vpo_tui.policy.load import load_policy, parse_policy
from vpo_tui.policy.plan import plan, predicted_media
from vpo_tui.policy.planned import PlanError

COVER = Track(3, TrackType.VIDEO, "mjpeg", attached_pic=True)
FONT = Track(2, TrackType.ATTACHMENT, "ttf", filename="A.ttf", mime_type="font/ttf")
SOURCE = MediaInfo(
    path=Path("/lib/Movie.mp4"),
    container="mp4",
    size=1000,
    duration=1.0,
    tracks=(
        Track(0, TrackType.VIDEO, "h264", default=True, width=160, height=90),
        Track(1, TrackType.AUDIO, "aac", language="eng", default=True),
        COVER,
    ),
    chapters=(Chapter(0.0, 0.5, "One"), Chapter(0.5, 1.0, "Two")),
)


def test_a_correct_output_passes() -> None:
    p = plan(load_policy("mkv-remux"), SOURCE)
    assert compare(p, predicted_media(p)) == []


def test_cover_art_goes_into_mkv_as_a_named_image_attachment() -> None:
    p = plan(load_policy("mkv-remux"), SOURCE)
    (cover,) = [t for t in p.tracks if t.attached_pic]
    assert (cover.filename, cover.mime_type, cover.default) == ("cover.jpg", "image/jpeg", False)
    assert cover.transcode is None
    assert plan(load_policy("hevc-1080p"), SOURCE).tracks[-1].transcode is None


def test_a_cover_turned_into_a_video_track_fails() -> None:
    p = plan(load_policy("mkv-remux"), SOURCE)
    output = predicted_media(p)
    as_video = tuple(
        dataclasses.replace(t, attached_pic=False, filename=None) if t.attached_pic else t
        for t in output.tracks
    )
    problems = compare(p, dataclasses.replace(output, tracks=as_video))
    assert any("3 tracks" in line for line in problems), problems
    assert any("attachments: none, expected cover" in line for line in problems), problems


def test_a_dropped_font_fails() -> None:
    source = dataclasses.replace(
        SOURCE, path=Path("/lib/Movie.mkv"), container="mkv", tracks=(*SOURCE.tracks[:2], FONT)
    )
    p = plan(load_policy("normalize"), source)
    output = predicted_media(p)
    lost = dataclasses.replace(output, tracks=output.tracks[:2])
    assert any(line.startswith("attachments:") for line in compare(p, lost))


def test_lost_or_doubled_or_moved_chapters_fail() -> None:
    p = plan(load_policy("mkv-remux"), SOURCE)
    output = predicted_media(p)
    assert compare(p, dataclasses.replace(output, chapters=())) == ["0 chapters, expected 2"]
    doubled = dataclasses.replace(output, chapters=SOURCE.chapters * 2)
    assert compare(p, doubled) == ["4 chapters, expected 2"]
    moved = (Chapter(0.0, 0.5, "One"), Chapter(0.7, 1.0, "Two"))
    assert "chapter 2 starts" in compare(p, dataclasses.replace(output, chapters=moved))[0]


def test_mapping_from_the_probe_alone_puts_covers_and_fonts_among_attachments() -> None:
    mkv = dataclasses.replace(SOURCE, container="mkv", tracks=(*SOURCE.tracks[:2], FONT, COVER))
    assert MkvIds.assumed(mkv) == MkvIds({0: 0, 1: 1}, {2: 1, 3: 2})
    assert MkvIds.assumed(SOURCE) == MkvIds({0: 0, 1: 1}, {3: 0})  # an MP4 cover is 0


def test_the_plan_says_a_cover_becomes_an_attachment() -> None:
    changes = plan(load_policy("mkv-remux"), SOURCE).changes
    assert "cover art 3 → attachment cover.jpg (image/jpeg)" in changes
    dropped = plan(load_policy("english-only"), SOURCE).changes
    assert "remove video 3 (und): cover art (attachments.drop)" in dropped


def test_ffmpeg_attaches_a_cover_into_mkv_and_maps_it_into_mp4() -> None:
    to_mkv = plan(load_policy("hevc-1080p"), SOURCE)
    with pytest.raises(PlanError, match="must be attached from a file"):
        ffmpeg_argv(to_mkv, "ffmpeg", SOURCE.path, Path("/lib/.t.mkv"))
    argv = ffmpeg_argv(to_mkv, "ffmpeg", SOURCE.path, Path("/lib/.t.mkv"), {3: Path("/lib/.c.jpg")})
    assert "0:3" not in argv  # never mapped: ffmpeg would make it a V_MJPEG track
    at = argv.index("-attach")
    assert argv[at : at + 6] == [
        "-attach",
        "/lib/.c.jpg",
        "-metadata:s:t:0",
        "mimetype=image/jpeg",
        "-metadata:s:t:0",
        "filename=cover.jpg",
    ]
    retitle = parse_policy('name = "t"\n[metadata]\ncontainer_title = "New"\n', "t.toml")
    keep_mp4 = plan(retitle, SOURCE)  # MP4 stays MP4: an ffmpeg pass that keeps the cover
    argv = ffmpeg_argv(keep_mp4, "ffmpeg", SOURCE.path, Path("/lib/.t.mp4"))
    assert "-attach" not in argv and "0:3" in argv
    assert argv[argv.index("-disposition:2") + 1] == "attached_pic"
