"""Forced/SDH subtitles known by their titles, and ASS fonts, on real files, every built-in policy.

Two files of the kind real collections hold: a French film with "English (Forced)",
"English" and "English SDH" subtitles (no flags: only the titles tell them apart),
and an anime episode with ASS subtitles, the TTF font they use, an .nfo and a
cover picture, all as Matroska attachments. Each goes through every built-in policy as a
dry run and as a real run; the outputs are probed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import sha256
from vpo_tui.engine.job import FileJob, FileResult, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.policy.load import builtin_policy_names, load_policy

FFPROBE = shutil.which("ffprobe") or "ffprobe"
POLICIES = builtin_policy_names()

_ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DemoFont,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,\
1,2,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:00.90,Default,,0,0,0,,Hello
"""


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def _ffmpeg_base() -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    ]  # fmt: skip


def _make_french_film(folder: Path) -> Path:
    srt = folder / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,900\nHello\n", encoding="utf-8")
    out = folder / "French Film (2001).mkv"
    argv = _ffmpeg_base() + ["-i", str(srt)] * 3
    argv += ["-map", "0:v", "-map", "1:a", "-map", "2:s", "-map", "3:s", "-map", "4:s", "-t", "1"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "64k", "-c:s", "srt"]
    argv += ["-metadata:s:a:0", "language=fre", "-disposition:a:0", "default"]
    for n, title in enumerate(("English (Forced)", "English", "English SDH")):
        argv += [f"-metadata:s:s:{n}", "language=eng", f"-metadata:s:s:{n}", f"title={title}"]
        argv += [f"-disposition:s:{n}", "0"]
    _run([*argv, str(out)])
    return out


def _make_anime(folder: Path) -> Path:
    ass = folder / "s.ass"
    ass.write_text(_ASS, encoding="utf-8")
    font = folder / "DemoFont.ttf"
    font.write_bytes(b"\x00\x01\x00\x00" + bytes(range(256)))
    notes = folder / "Episode.nfo"
    notes.write_text("<episodedetails><title>One</title></episodedetails>\n", encoding="utf-8")
    cover = folder / "cover.jpg"
    _run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=red:size=64x64",
          "-frames:v", "1", str(cover)])  # fmt: skip
    out = folder / "Anime - 01.mkv"
    argv = [*_ffmpeg_base(), "-i", str(ass)]
    argv += ["-map", "0:v", "-map", "1:a", "-map", "2:s", "-t", "1"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "64k", "-c:s", "ass"]
    argv += ["-metadata:s:a:0", "language=jpn", "-disposition:a:0", "default"]
    argv += ["-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=Full"]
    argv += ["-attach", str(font), "-metadata:s:t:0", "mimetype=application/x-truetype-font"]
    argv += ["-attach", str(notes), "-metadata:s:t:1", "mimetype=text/plain"]
    argv += ["-attach", str(cover), "-metadata:s:t:2", "mimetype=image/jpeg"]
    _run([*argv, str(out)])
    return out


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("originals")
    return {"french": _make_french_film(folder), "anime": _make_anime(folder)}


def _copy(original: Path, folder: Path) -> Path:
    target = folder / original.name
    shutil.copy2(original, target)
    return target


def _run_both(original: Path, policy_name: str, folder: Path) -> tuple[FileResult, FileResult]:
    """A dry run, then the real run, on a fresh copy; the original stays as it was."""
    path = _copy(original, folder)
    digest = sha256(path)
    policy = load_policy(policy_name)
    dry = process_file(FileJob(path, policy, dry_run=True))
    assert sha256(path) == digest  # a dry run writes no media
    real = process_file(FileJob(path, policy))
    assert real.status in (FileStatus.OK, FileStatus.UNCHANGED), real.error
    expected_dry = FileStatus.PLANNED if real.status is FileStatus.OK else FileStatus.UNCHANGED
    assert dry.status is expected_dry, (dry, real)
    assert dry.changes == real.changes
    out = real.output_path or path
    again = process_file(FileJob(out, policy))
    assert again.status is FileStatus.UNCHANGED, again.changes
    assert not list(folder.glob(".*vpo-tmp*"))
    return dry, real


def _subs(media: MediaInfo) -> list[tuple[str | None, bool, bool, bool]]:
    """(title, default, forced, hearing_impaired) of each subtitle, in output order."""
    return [
        (t.title, t.default, t.forced, t.hearing_impaired)
        for t in media.tracks
        if t.type is TrackType.SUBTITLE
    ]


@pytest.mark.parametrize("policy_name", POLICIES)
def test_forced_and_sdh_known_by_title(
    originals: dict[str, Path], policy_name: str, tmp_path: Path
) -> None:
    _, real = _run_both(originals["french"], policy_name, tmp_path)
    after = probe(real.output_path or tmp_path / originals["french"].name, FFPROBE)
    subs = _subs(after)
    assert len(subs) == 3  # nothing lost: all three are English
    if policy_name in ("normalize", "anime"):  # subtitles.default = "foreign_audio"
        # the French film gets the full English subtitles, not the signs-only track
        assert [s[1] for s in subs] == [False, True, False], subs
        assert [s[0] for s in subs] == ["English (Forced)", "English", "English SDH"]
    if policy_name == "english-only":  # titles cleared: the flags carry what they said
        assert subs == [
            (None, False, True, False),
            (None, False, False, False),
            (None, False, False, True),
        ]


def _mkvmerge_attachments(path: Path) -> list[tuple[str, str]]:
    out = subprocess.run(
        ["mkvmerge", "-J", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [(a["file_name"], a["content_type"]) for a in json.loads(out).get("attachments", [])]


@pytest.mark.parametrize("policy_name", POLICIES)
def test_ass_subtitles_keep_their_font(
    originals: dict[str, Path], policy_name: str, tmp_path: Path
) -> None:
    _, real = _run_both(originals["anime"], policy_name, tmp_path)
    out = real.output_path or tmp_path / originals["anime"].name
    attachments = _mkvmerge_attachments(out)
    assert ("DemoFont.ttf", "application/x-truetype-font") in attachments
    after = probe(out, FFPROBE)
    assert [t.codec for t in after.tracks if t.type is TrackType.SUBTITLE] == ["ass"]
    if load_policy(policy_name).attachments.drop:
        assert [name for name, _ in attachments] == ["DemoFont.ttf"]  # .nfo and cover went
        assert any("DemoFont.ttf" in line and "font" in line for line in real.changes)
    else:
        assert ("Episode.nfo", "text/plain") in attachments
        assert ("cover.jpg", "image/jpeg") in attachments
