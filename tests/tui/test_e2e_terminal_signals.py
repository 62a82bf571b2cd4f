"""The installed app, mid-transcode, when its terminal closes (SIGHUP) or it gets SIGTERM.

Nobody is left to answer the quit dialog, so both act as quit → kill now: the
running file is cancelled, its temp file removed, the original byte-identical,
the batch recorded as killed, no process left, exit code 130.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MakeMedia, sha256
from tests.faults.harness import tool_processes
from tests.tui.terminal import TMUX_MARKS, VPO_TUI, Terminal
from vpo_tui.engine.safety import is_temp_name
from vpo_tui.store.history import HistoryStore

pytestmark = TMUX_MARKS


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if is_temp_name(p.name)]


def _app_and_tools(marker: str) -> list[tuple[int, str]]:
    """vpo-tui and its tools (not tmux or the shell, whose command lines name the folder)."""
    tools = {"ffmpeg", "ffprobe", "mkvmerge", "mkvpropedit"}
    return [
        (pid, cmd)
        for pid, cmd in tool_processes(marker)
        if cmd.startswith(sys.executable) or Path(cmd.split()[0]).name in tools
    ]


def _wait(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["terminal closed", "SIGTERM"])
def test_a_killed_terminal_leaves_no_trace_but_a_killed_batch(
    how: str,
    tmp_path: Path,
    make_file: MakeMedia,
    terminal_env: dict[str, str],
    terminal_factory: list[Terminal],
) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    for n in (1, 2):  # big enough that an HEVC transcode takes a while
        make_file(f"clip {n}.mkv", folder=lib, width=640, height=360, duration=20.0)
    before = {p.name: sha256(p) for p in lib.iterdir()}
    db = tmp_path / "history.db"
    command = [str(VPO_TUI), "--db", str(db), "--policy", "hevc-1080p", str(lib)]
    term = Terminal(command, terminal_env, tmp_path)
    terminal_factory.append(term)
    term.wait_for("[x]")
    term.wait_for("hevc-1080p")  # the policy is chosen: preview can start
    term.keys("n")
    term.wait_for("press r to run")
    term.keys("r")
    _wait(lambda: _temps(lib), "the transcode to start writing")
    marker = str(tmp_path)

    def apps() -> list[int]:
        return [pid for pid, cmd in _app_and_tools(marker) if cmd.startswith(sys.executable)]

    # A child the app forks to start a tool has the app's command line until its exec:
    # under load it can be seen for a moment, so wait until the app is alone.
    _wait(lambda: len(apps()) == 1, "one vpo-tui process (no fork caught before its exec)")
    (app_pid,) = apps()

    if how == "terminal closed":
        term.close()  # the terminal goes away: the app gets SIGHUP
    else:
        os.kill(app_pid, signal.SIGTERM)
        assert "VPO-EXITED-130" in term.wait_for("VPO-EXITED-", timeout=30)

    _wait(lambda: not _app_and_tools(marker), "vpo-tui and its tools to exit", timeout=30)
    assert _temps(lib) == []
    with HistoryStore(db) as store:
        (batch,) = store.list_batches()
        assert batch.outcome == "killed"
        jobs = {Path(j.path).name: j.status for j in store.batch_jobs(batch.id)}
    assert "cancelled" in jobs.values()
    for name, status in jobs.items():
        if status == "cancelled":
            assert sha256(lib / name) == before[name], f"{name} was cancelled but changed"


def test_the_watch_screen_ends_when_its_terminal_closes(
    tmp_path: Path,
    make_file: MakeMedia,
    terminal_env: dict[str, str],
    terminal_factory: list[Terminal],
) -> None:
    """It used to stay behind for ever, sleeping, once its terminal had hung up."""
    lib = tmp_path / "library"
    lib.mkdir()
    source = make_file("clip.mkv", folder=tmp_path, width=640, height=360, duration=20.0)
    before = sha256(source)
    command = [
        sys.executable, "-m", "vpo_tui", "watch", "--settle", "0.5", "--policy", "hevc-1080p",
        "--db", str(tmp_path / "history.db"), str(lib),
    ]  # fmt: skip
    env = {**terminal_env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    term = Terminal(command, env, tmp_path)
    terminal_factory.append(term)
    term.wait_for("watching")
    (lib / "clip.mkv").write_bytes(source.read_bytes())
    _wait(lambda: _temps(lib), "the transcode to start writing")
    term.close()  # the terminal goes away: the watcher gets SIGHUP
    marker = str(tmp_path)
    _wait(lambda: not _app_and_tools(marker), "vpo-tui and its tools to exit", timeout=30)
    assert _temps(lib) == []
    assert sha256(lib / "clip.mkv") == before
