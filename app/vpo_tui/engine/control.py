"""A handle that lets another thread watch, pause and kill one file's work.

The batch layer creates one ``FileControl`` per running file; the engine reports
progress through it and registers each tool process it starts, so that
``kill()`` can terminate the tool's whole process group from any thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable

from vpo_tui.engine.job import ProgressUpdate

ProgressCallback = Callable[[ProgressUpdate], None]


class Cancelled(Exception):
    """Raised inside the engine when its file was killed."""


class FileControl:
    """Thread-safe cancel / pause handle for the work on one file."""

    def __init__(self, on_progress: ProgressCallback | None = None) -> None:
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._paused = False
        self._process: subprocess.Popen[bytes] | None = None
        # A tool that prints nothing (no progress, no diagnostics) for this long is
        # stuck (a dead network mount, a hung decoder): run_tool kills it. Set by the
        # engine from its settings; None: wait for ever.
        self.stall_s: float | None = None

    # -- used by the engine -------------------------------------------------
    def progress(self, update: ProgressUpdate) -> None:
        if self._on_progress is not None:
            self._on_progress(update)

    def check(self) -> None:
        """Raise ``Cancelled`` if the file was killed; call between steps."""
        if self._cancelled.is_set():
            raise Cancelled()

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        """Register the running tool (started with its own process group)."""
        with self._lock:
            self._process = process
            if self._cancelled.is_set():
                self._signal(signal.SIGTERM)
            elif self._paused:
                self._signal(signal.SIGSTOP)

    def detach(self) -> None:
        with self._lock:
            self._process = None

    # -- used by the batch layer (any thread) -------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()`` (work without a tool process polls it)."""
        return self._paused

    def cancel(self) -> None:
        """Kill: terminate the running tool now; the engine then cleans up."""
        with self._lock:
            self._cancelled.set()
            if self._paused:
                self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)

    def force_kill(self) -> None:
        """SIGKILL the tool's process group (after the TERM grace period)."""
        with self._lock:
            self._signal(signal.SIGKILL)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        proc = self._process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
