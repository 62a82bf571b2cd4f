"""Progress parsing: real ffmpeg/mkvmerge output, and garbage that must not crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from vpo_tui.engine.job import ProgressUpdate
from vpo_tui.engine.progress import FfmpegProgress, MkvmergeProgress
from vpo_tui.engine.run import run_tool


def test_ffmpeg_blocks_give_fraction_speed_and_eta() -> None:
    seen: list[ProgressUpdate] = []
    parser = FfmpegProgress(10.0, seen.append)
    for line in ["fps=25.0", "out_time_us=2500000", "speed=2.5x", "progress=continue"]:
        parser.feed(line + "\n")
    assert seen == [ProgressUpdate("run", 0.25, fps=25.0, speed=2.5, eta_s=3.0)]
    parser.feed("progress=end")
    assert seen[-1].fraction == 1.0


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "=",
        "out_time_us=",
        "out_time_us=abc",
        "speed=N/A",
        "fps=nan",
        "speed=infx",
        "out_time_us=99999999999999999999999",
        "\x00\xff",
        "progress",
        "#GUI#progress",
        "x=y=z",
    ],
)
def test_garbage_lines_never_crash(junk: str) -> None:
    seen: list[ProgressUpdate] = []
    ff = FfmpegProgress(5.0, seen.append)
    mkv = MkvmergeProgress(seen.append)
    ff.feed(junk)
    mkv.feed(junk)
    ff.feed("progress=continue")
    assert all(0.0 <= u.fraction <= 1.0 for u in seen)


def test_mkvmerge_percent_lines() -> None:
    seen: list[ProgressUpdate] = []
    clock = iter([0.0, 10.0, 20.0]).__next__
    parser = MkvmergeProgress(seen.append, clock=clock)
    parser.feed("#GUI#progress 50%")
    parser.feed("#GUI#progress banana%")
    parser.feed("#GUI#progress 100%")
    assert [u.fraction for u in seen] == [0.5, 1.0]
    assert seen[0].eta_s == pytest.approx(10.0)


def test_real_ffmpeg_progress_reaches_the_end(make_file: MakeMedia, tmp_path: Path) -> None:
    source = make_file(duration=2.0)
    seen: list[ProgressUpdate] = []
    parser = FfmpegProgress(2.0, seen.append)
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    run_tool(
        [
            ffmpeg,
            "-nostdin",
            "-nostats",
            "-progress",
            "pipe:1",
            "-loglevel",
            "error",
            "-i",
            f"file:{source}",
            "-map",
            "0",
            "-c",
            "copy",
            "-f",
            "matroska",
            f"file:{tmp_path / 'o.mkv'}",
        ],
        on_stdout_line=parser.feed,
    )
    assert seen and seen[-1].fraction == 1.0
