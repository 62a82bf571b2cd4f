"""Running ``vpo-tui watch`` as a user would, for the watch tests and the fault suite.

``Watch`` is the watcher in a subprocess with its JSON lines read as they come;
the rest read what became of the files. Test modules import these from here,
never from each other.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.commands import env_for
from tests.conftest import AudioSpec
from vpo_tui.engine.probe import probe

FFPROBE = shutil.which("ffprobe") or "ffprobe"
TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))
SETTLE = "0.6"


class Watch:
    """A running ``vpo-tui watch --json`` and the lines it printed so far."""

    def __init__(
        self, tmp_path: Path, lib: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vpo_tui",
                "watch",
                "--json",
                "--settle",
                SETTLE,
                *args,
                str(lib),
            ],
            cwd=tmp_path,
            env={**env_for(tmp_path), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.lines: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.notes.append(line.rstrip("\n"))

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out; lines={self.lines}, notes={self.notes}")

    def watching(self) -> None:
        self.wait_for(lambda: any("watching" in n and "first pass" in n for n in self.notes))

    def finished(self, name: str) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines
            if line["event"] == "finished" and Path(line["path"]).name == name
        ]

    def held(self, name: str) -> list[str]:
        return [
            line["reason"]
            for line in self.lines
            if line["event"] == "held" and Path(line["path"]).name == name
        ]

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        for t in self._threads:
            t.join(5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def audio_languages(path: Path) -> list[str]:
    return [t.language for t in probe(path, FFPROBE).tracks if t.type.value == "audio"]


def tool_runs(log: Path, name: str | None = None) -> list[str]:
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [line for line in lines if name is None or name in line]


def temp_files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".vpo-tmp-" in p.name]
