"""The installed ``vpo-tui`` in a real terminal (tmux): mark → preview → run → summary."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from vpo_tui.samples import AudioSpec, SubtitleSpec, make_garbage
from vpo_tui.store.history import HistoryStore

VPO_TUI = Path(sys.executable).parent / "vpo-tui"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(not VPO_TUI.exists(), reason="the vpo-tui console script is not installed"),
    pytest.mark.skipif(
        importlib.util.find_spec("vpo_tui.cli") is None, reason="vpo_tui.cli is not written yet"
    ),
]


class Terminal:
    """One private tmux server (its own socket) running one command."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.socket = f"vpo-e2e-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        shell = f"cd {_quote(str(cwd))} && env {exports} " + " ".join(map(_quote, command))
        shell += "; echo VPO-EXITED-$?; sleep 30"
        self._tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", shell)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "e2e", *keys)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def terminal_factory() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for terminal in made:
        terminal.close()


def test_installed_app_in_a_real_terminal(
    tmp_path: Path,
    make_file: MakeMedia,
    terminal_env: dict[str, str],
    terminal_factory: list[Terminal],
) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    make_file(
        "needs work.mkv",
        folder=lib,
        audio=(AudioSpec("fre", default=True), AudioSpec("eng")),
        subtitles=(SubtitleSpec("eng"),),
    )
    make_garbage(lib / "broken.mkv")
    # No --policy: the CLI's default policy ("normalize") is preselected.
    term = Terminal([str(VPO_TUI), str(lib)], terminal_env, tmp_path)
    terminal_factory.append(term)

    term.wait_for("pick folders and a policy")
    screen = term.wait_for("[x]")  # the folder tree fills in after the first paint
    assert "library" in screen  # the path from the command line is marked
    term.wait_for("normalize")  # the policy list may be painted a moment later
    term.keys("n")
    screen = term.wait_for("press r to run")
    assert "Found 2 files" in screen
    assert "will change" in screen and "error" in screen
    term.keys("r")
    screen = term.wait_for("Summary")
    assert "Failed files (1)" in screen and "broken.mkv" in screen
    term.keys("escape")
    screen = term.wait_for("Finished: 2/2 files")
    assert "ok" in screen and "failed" in screen
    term.keys("q")
    screen = term.wait_for("VPO-EXITED-", timeout=10)
    assert "VPO-EXITED-1" in screen  # a file failed: the exit code says so
    assert sorted(p.name for p in lib.iterdir()) == ["broken.mkv", "needs work.mkv"]
    # The batch went into the default history database, as a headless one would.
    db = Path(terminal_env["XDG_DATA_HOME"]) / "vpo-tui" / "history.sqlite3"
    with HistoryStore(db) as store:
        (batch,) = store.list_batches()
        assert batch.policy_name == "normalize" and batch.totals["failed"] == 1
        assert {Path(j.path).name: j.status for j in store.batch_jobs(batch.id)} == {
            "broken.mkv": "failed",
            "needs work.mkv": "ok",
        }
