"""The installed ``vpo-tui`` in a real terminal: a private tmux server per test."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

VPO_TUI = Path(sys.executable).parent / "vpo-tui"

# Every test in a real terminal: slow, and only where tmux and the console script are.
TMUX_MARKS = [
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
