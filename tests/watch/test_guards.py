"""Guards for unattended runs: a stuck tool is stopped, its file fails ``stalled``.

A fake tool prints progress for a while and then nothing; ``run_tool`` must stop
it (its whole process group) once it has been silent for the stall time, and
leave a tool that keeps making progress alone.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.processes import still_running
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.run import ToolError, run_tool

FAKE = Path(__file__).parents[1] / "integration" / "fake_tools"


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
