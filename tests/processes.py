"""Looking at processes from tests: is a pid still running, and waiting for it to go.

A process sent SIGKILL is not gone at once: it closes its files (so our pipe sees
EOF) a moment before it leaves the process table. Tests that check "no tool
survived" therefore wait a bounded time for it instead of looking once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def process_state(pid: int) -> str | None:
    """The one-letter state from /proc (R, S, T, Z, ...), or None when there is no such pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie runs nothing)."""
    return process_state(pid) not in (None, "Z", "X")


def still_running(pids: Iterable[int], timeout_s: float = 5.0) -> list[int]:
    """The pids of ``pids`` still running after waiting up to ``timeout_s`` for them to end."""
    left = list(pids)
    deadline = time.monotonic() + timeout_s
    while (left := [pid for pid in left if is_running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left
