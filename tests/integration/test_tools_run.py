"""The one tool runner: exit codes, signals, timeouts, stderr, and no orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import is_running, still_running
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.run import STDERR_TAIL_LINES, ToolError, run_tool

FAKE = Path(__file__).parent / "fake_tools"


def test_success_captures_stdout() -> None:
    done = run_tool(["/bin/sh", "-c", "echo hello"], capture_stdout=True)
    assert (done.returncode, done.stdout) == (0, b"hello\n")


def test_stderr_tail_keeps_the_last_lines() -> None:
    script = "for i in $(seq 1 100); do echo line$i >&2; done; exit 4"
    with pytest.raises(ToolError) as caught:
        run_tool(["/bin/sh", "-c", script], name="demo")
    tail = caught.value.stderr_tail.splitlines()
    assert len(tail) == STDERR_TAIL_LINES and tail[-1] == "line100"
    assert "demo failed with exit code 4" in str(caught.value)


def test_killed_by_a_signal_is_a_failure_even_for_allowed_codes() -> None:
    with pytest.raises(ToolError, match="killed by SIGKILL"):
        run_tool(["/bin/sh", "-c", "kill -KILL $$"], ok_codes=(0, 1, -9))


def test_ok_codes_accept_warnings() -> None:
    assert run_tool(["/bin/sh", "-c", "exit 1"], ok_codes=(0, 1)).returncode == 1


def test_timeout_terminates_the_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("VPO_FAKE_PIDFILE", str(pidfile))
    with pytest.raises(ToolError) as caught:
        run_tool([str(FAKE / "hang")], timeout_s=0.5, kill_grace_s=0.5)
    assert caught.value.timed_out
    assert not still_running(map(int, pidfile.read_text().split()))


def test_term_ignoring_tool_is_killed_after_the_grace_period() -> None:
    control = FileControl()
    started = time.monotonic()
    script = "trap '' TERM; echo started >&2; while :; do sleep 0.1; done"
    import threading

    threading.Timer(0.3, control.cancel).start()
    with pytest.raises(Cancelled):
        run_tool(["/bin/sh", "-c", script], control=control, kill_grace_s=0.5)
    assert time.monotonic() - started < 5


def test_paused_time_does_not_count_towards_the_timeout() -> None:
    import threading

    control = FileControl()
    control.pause()  # the tool is stopped as soon as it starts
    threading.Timer(2.0, control.resume).start()
    started = time.monotonic()
    done = run_tool(
        ["/bin/sh", "-c", "sleep 0.3; echo finished"],
        control=control,
        timeout_s=1.0,
        capture_stdout=True,
    )
    assert done.stdout == b"finished\n"
    assert time.monotonic() - started >= 2.0  # it really was held, longer than the timeout


def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    control = FileControl()
    control.cancel()
    marker = tmp_path / "ran"
    with pytest.raises(Cancelled):
        run_tool(["/bin/sh", "-c", f"touch '{marker}'"], control=control)
    assert not marker.exists()


def test_tool_gets_its_own_process_group_and_no_stdin() -> None:
    done = run_tool(
        ["/bin/sh", "-c", "ps -o pgid= -p $$; ps -o pid= -p $$; cat; echo end"],
        capture_stdout=True,
    )
    pgid, pid, end = done.stdout.decode().split()
    assert pgid == pid and end == "end"  # stdin is /dev/null: cat returns at once


def test_unstartable_tool_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="cannot start"):
        run_tool([str(tmp_path / "missing-tool")])


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only"
)
def test_no_tool_outlives_a_kill_9_of_its_owner(tmp_path: Path) -> None:
    """The orphan guarantee: kill -9 the owner, its running tool dies with it."""
    pidfile = tmp_path / "pids"
    code = f"import sys; from vpo_tui.engine.run import run_tool;run_tool([{str(FAKE / 'hang')!r}])"
    owner = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, "VPO_FAKE_PIDFILE": str(pidfile)}
    )
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.05)
        tool_pid, _child = map(int, pidfile.read_text().split())
        assert is_running(tool_pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert not still_running([tool_pid]), "the tool outlived kill -9 of vpo-tui"
    finally:
        owner.kill()
        for pid in map(int, (pidfile.read_text().split() if pidfile.exists() else [])):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_output_comes_whole_however_the_tool_writes_it() -> None:
    """A 4 MB line with no newline, lines split across writes, a last line unterminated."""
    code = (
        "import sys, time; w = sys.stdout.buffer; w.write(b'x' * (4 << 20)); w.write(b'\\n');"
        " w.write(b'par'); w.flush(); time.sleep(0.05); w.write(b'tial\\nlast'); w.flush()"
    )
    lines: list[str] = []
    done = run_tool([sys.executable, "-c", code], capture_stdout=True, on_stdout_line=lines.append)
    assert done.stdout == b"x" * (4 << 20) + b"\npartial\nlast"
    assert [len(line) for line in lines] == [(4 << 20) + 1, len("partial\n"), len("last")]
    assert lines[1:] == ["partial\n", "last"]


def test_a_non_executable_tool_is_a_clear_error(tmp_path: Path) -> None:
    tool = tmp_path / "ffprobe"
    tool.write_text("#!/bin/sh\necho hi\n")  # not chmod +x
    with pytest.raises(ToolError, match="cannot start ffprobe: Permission denied"):
        run_tool([str(tool)])


def test_a_child_left_holding_the_pipes_does_not_hold_the_run(tmp_path: Path) -> None:
    """The tool exits; a child it left behind (same group) goes with it, at once."""
    started = time.monotonic()
    done = run_tool(["/bin/sh", "-c", "sleep 30 & echo done"], capture_stdout=True)
    assert done.stdout == b"done\n"
    assert time.monotonic() - started < 5


def test_a_file_that_is_no_program_is_refused_not_run_by_the_shell(tmp_path: Path) -> None:
    """execvp would hand it to /bin/sh: a mistaken tool path must not run as a script."""
    marker = tmp_path / "ran"
    tool = tmp_path / "ffmpeg"
    tool.write_text(f"touch {marker}\n")  # executable, but no #! line
    tool.chmod(0o755)
    with pytest.raises(ToolError, match="cannot start ffmpeg: Exec format error"):
        run_tool([str(tool), "-version"])
    assert not marker.exists()


def test_a_script_whose_interpreter_is_missing_is_named(tmp_path: Path) -> None:
    tool = tmp_path / "mkvmerge"
    tool.write_text("#!/nonexistent/python3\nprint('hi')\n")
    tool.chmod(0o755)
    with pytest.raises(ToolError, match=r"cannot start mkvmerge: .*interpreter"):
        run_tool([str(tool)])
