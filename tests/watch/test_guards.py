"""Guards for unattended runs: a stuck tool is stopped, a larger transcode is not kept.

A fake tool prints progress for a while and then nothing; ``run_tool`` must stop
it (its whole process group) once it has been silent for the stall time, and
leave a tool that keeps making progress alone.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import MakeMedia, sha256
from tests.processes import still_running
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus, ToolPaths
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.engine.run import ToolError, run_tool
from vpo_tui.engine.verify import KEPT_LARGER
from vpo_tui.policy.load import parse_policy
from vpo_tui.store.report import cause_of

FAKE = Path(__file__).parents[1] / "integration" / "fake_tools"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
REMUX = parse_policy('name = "remux"\n[container]\nformat = "mkv"\n', "remux.toml")


def _stalling(stall_s: float) -> FileControl:
    control = FileControl()
    control.stall_s = stall_s
    return control


def test_a_tool_that_stops_making_progress_is_killed_as_stalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("VPO_FAKE_PIDFILE", str(pidfile))
    monkeypatch.setenv("VPO_FAKE_BUSY_S", "1.5")  # longer than the stall time: not stuck yet
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(ToolError) as caught:
        run_tool(
            [str(FAKE / "stall")],
            control=_stalling(1.0),
            on_stdout_line=lines.append,
            kill_grace_s=0.5,
            name="ffmpeg",
        )
    took = time.monotonic() - started
    assert caught.value.stalled and not caught.value.timed_out
    assert str(caught.value) == "stalled: ffmpeg made no progress for 1 s and was stopped"
    assert "fake tool: stuck" in caught.value.stderr_tail
    assert len(lines) >= 10  # it did make progress first, and was left alone meanwhile
    assert 2.4 < took < 6  # 1.5 s busy + 1 s silent, then stopped within the grace
    tool, child = (int(p) for p in pidfile.read_text().split())
    assert still_running([tool, child]) == []  # the whole group, not just the tool


def test_a_slow_tool_that_keeps_reporting_is_not_stalled() -> None:
    script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo $i; sleep 0.1; done"
    run = run_tool(["/bin/sh", "-c", script], control=_stalling(0.5), capture_stdout=True)
    assert run.returncode == 0 and run.stdout.split()[-1] == b"15"


def test_no_stall_time_means_no_stall_guard() -> None:
    control = FileControl()
    assert control.stall_s is None
    run = run_tool(["/bin/sh", "-c", "sleep 0.6; echo done"], control=control, capture_stdout=True)
    assert run.stdout == b"done\n"


# -- the engine: stalled files and transcodes that came out larger ---------------------

HUGE = parse_policy(
    'name = "huge"\n[transcode.video]\ncodec = "hevc"\ncrf = 0\npreset = "ultrafast"\n', "huge.toml"
)
SMALL = parse_policy(
    'name = "small"\n[transcode.video]\ncodec = "hevc"\ncrf = 51\npreset = "ultrafast"\n',
    "small.toml",
)


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*vpo-tmp*"))


def test_a_transcode_larger_than_the_source_keeps_the_original(make_file: MakeMedia) -> None:
    path = make_file("movie.mkv", duration=2.0)
    digest, size = sha256(path), path.stat().st_size
    result = process_file(FileJob(path, HUGE, EngineSettings()))
    assert result.status is FileStatus.SKIPPED, result.error
    assert result.error is not None and KEPT_LARGER in result.error
    assert "max_size_ratio = 1" in result.error
    assert sha256(path) == digest and path.stat().st_size == size  # the original stays
    assert _temps(path.parent) == []
    codecs = [t.codec for t in probe(path, FFPROBE).tracks if t.type.value == "video"]
    assert codecs == ["h264"]


def test_a_higher_ratio_lets_the_larger_transcode_through(make_file: MakeMedia) -> None:
    path = make_file("movie.mkv", duration=2.0)
    result = process_file(FileJob(path, HUGE, EngineSettings(max_size_ratio=1000.0)))
    assert result.status is FileStatus.OK, result.error
    assert [t.codec for t in probe(path, FFPROBE).tracks if t.type.value == "video"] == ["hevc"]
    assert result.source_size is not None and path.stat().st_size > result.source_size


def test_a_smaller_transcode_is_kept_and_its_sizes_are_known(make_file: MakeMedia) -> None:
    path = make_file("movie.mkv", duration=2.0)
    size = path.stat().st_size
    result = process_file(FileJob(path, SMALL, EngineSettings()))
    assert result.status is FileStatus.OK, result.error
    assert result.source_size == size
    assert result.fingerprint is not None and result.fingerprint[0] == path.stat().st_size < size


def test_a_stalled_tool_fails_its_file_as_stalled_and_leaves_the_original(
    make_file: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPO_FAKE_BUSY_S", "0.3")
    path = make_file("movie.mp4", container="mp4")  # to MKV: one mkvmerge pass
    digest = sha256(path)
    settings = EngineSettings(
        tools=ToolPaths(mkvmerge=str(FAKE / "stall")), stall_s=1.0, kill_grace_s=0.5
    )
    result = process_file(FileJob(path, REMUX, settings))
    assert result.status is FileStatus.FAILED
    assert result.error == f"{path}: stalled: mkvmerge made no progress for 1 s and was stopped"
    assert cause_of(result.error, str(path)).startswith("stalled: mkvmerge")
    assert sha256(path) == digest and _temps(path.parent) == []
