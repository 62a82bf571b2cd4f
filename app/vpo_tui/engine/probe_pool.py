"""Long-lived PyAV probe helpers: in-process speed, a tool's isolation.

Why helpers and not threads (measured, see bench/RESULTS.md "In-process probe"):
a probe in a helper costs one pipe round trip more than a thread (about 0.3 ms on
this machine, against ~3 ms for the probe and ~80 ms for an ffprobe process), but
a demuxer that spins or crashes takes only its helper with it: the helper is
killed or found dead, replaced by a fresh one, and that one file is read by
ffprobe instead. A thread could be interrupted only where libavformat polls its
interrupt callback, and a crash would take the app down.

Each helper serves one request at a time, so its log capture is that file's
alone. Helpers are started on demand (one per concurrent prober), kept idle for
the next file, and stopped at exit; Linux kills one whose parent dies, even in
the middle of a demuxer loop (``PR_SET_PDEATHSIG``, set by the helper against
the pool's own spawning thread, which lives as long as the process).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vpo_tui.engine.control import Cancelled, FileControl

HELPER_TIMEOUT_S = 30.0  # an in-process probe reads headers and a few packets: ms, not s
_START_TIMEOUT_S = 30.0  # a cold Python start with PyAV's libraries on a busy machine
_POLL_S = 0.1
_MAX_IDLE = 4


class FallBack(Exception):
    """The in-process probe cannot answer for this file; ask ffprobe. Says why."""


class Refused(Exception):
    """libavformat refused the file (what makes ffprobe fail): the message and the log."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class Answer:
    """ffprobe's JSON document, read in a helper, and the error lines logged meanwhile."""

    document: dict[str, Any]
    log: str


@dataclass(frozen=True)
class Fallback:
    """One file read by ffprobe instead, and why (kept for doctor and the tests)."""

    path: str
    reason: str


class _Helper:
    """One helper process and the bytes it has written that are not yet a line."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._pending = b""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()

    def read_line(self, timeout_s: float, control: FileControl | None) -> bytes | None:
        """The next line, or None when the helper died first; ``TimeoutError`` on overrun."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                if control is not None and control.cancelled:
                    raise Cancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                if not selector.select(min(left, _POLL_S)):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.close()

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        try:
            self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()


def _helper_argv() -> list[str]:
    return [sys.executable, "-m", "vpo_tui.engine.probe_helper"]


def _helper_env() -> dict[str, str]:
    """Our environment, with this copy of vpo_tui first on the path, and our pid."""
    env = dict(os.environ)
    source_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    env["VPO_TUI_PROBE_PARENT"] = str(os.getpid())
    return env


class _Spawner:
    """Starts helpers from one long-lived thread, the "parent" Linux's PDEATHSIG watches.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends; a batch's
    worker threads end with the batch, so starting helpers from them would kill
    the idle ones with it.
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[concurrent.futures.Future[subprocess.Popen[bytes]] | None]
        self._requests = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def spawn(self) -> subprocess.Popen[bytes]:
        future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="vpo-probe-spawner", daemon=True
                )
                self._thread.start()
            self._requests.put(future)
        return future.result()

    def _serve(self) -> None:
        while (future := self._requests.get()) is not None:
            try:
                process = subprocess.Popen(
                    _helper_argv(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=_helper_env(),
                    start_new_session=True,  # a Ctrl-C at the terminal is the app's to handle
                )
            except OSError as exc:
                future.set_exception(exc)
            else:
                future.set_result(process)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None and thread.is_alive():
                self._requests.put(None)
        if thread is not None:
            thread.join(timeout=5.0)


class HelperPool:
    """Hands out idle helpers, starts new ones on demand, replaces the dead and the stuck."""

    def __init__(self, max_idle: int = _MAX_IDLE) -> None:
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[_Helper] = []
        self._busy: set[_Helper] = set()
        self._version: str | None = None
        self._broken: str | None = None
        self._spawner = _Spawner()
        self.fallbacks: deque[Fallback] = deque(maxlen=200)
        self.reads: deque[str] = deque(maxlen=1000)  # the paths read in a helper, in order
        self.read_count = 0  # how many reads were asked of a helper (benchmarks, tests)
        self._pid = os.getpid()  # the helpers are this process's children, not a fork's
        self.started = 0  # helpers started so far (the benchmarks report it)

    # -- state ------------------------------------------------------------------
    def status(self) -> tuple[str | None, str | None]:
        """``(PyAV's FFmpeg version, None)`` or ``(None, why PyAV cannot be used)``."""
        problem: str | None = None
        if self._version is None and self._broken is None:
            try:
                self._release(self._acquire())
            except FallBack as exc:
                problem = str(exc)
        return self._version, self._broken or problem

    def pids(self) -> list[int]:
        with self._lock:
            return [h.process.pid for h in (*self._idle, *self._busy)]

    # -- one probe ----------------------------------------------------------------
    def read(
        self,
        path: Path,
        packets_from: float | None,
        *,
        timeout_s: float,
        control: FileControl | None = None,
    ) -> Answer:
        """Read ``path`` in a helper; ``Refused`` or ``FallBack`` when it cannot."""
        try:
            return self._read(path, packets_from, min(timeout_s, HELPER_TIMEOUT_S), control)
        except FallBack as exc:
            self.fallbacks.append(Fallback(str(path), str(exc)))
            raise

    def _read(
        self,
        path: Path,
        packets_from: float | None,
        timeout_s: float,
        control: FileControl | None,
    ) -> Answer:
        helper = self._acquire()
        with self._lock:
            self.reads.append(str(path))
            self.read_count += 1
        try:
            helper.send({"path": str(path), "packets_from": packets_from})
            line = helper.read_line(timeout_s, control)
        except TimeoutError:
            self._discard(helper, kill=True)
            raise FallBack(f"the in-process probe did not finish within {timeout_s:g} s") from None
        except Cancelled:
            self._discard(helper, kill=True)
            raise
        except OSError as exc:  # the pipe broke: it died while we wrote
            self._discard(helper, kill=True)
            raise FallBack(f"the probe helper died ({exc.strerror or exc})") from None
        if line is None:
            code = helper.process.wait()
            self._discard(helper, kill=False)
            raise FallBack(f"the probe helper died (exit status {code})")
        self._release(helper)
        try:
            answer = json.loads(line)
        except json.JSONDecodeError:
            raise FallBack("the probe helper gave unreadable output") from None
        if "document" in answer and isinstance(answer["document"], dict):
            return Answer(answer["document"], str(answer.get("log") or ""))
        if "failed" in answer:
            raise Refused(str(answer["failed"]), str(answer.get("log") or ""))
        raise FallBack(str(answer.get("unsupported") or "the probe helper could not answer"))

    # -- helpers in and out -------------------------------------------------------
    def _acquire(self) -> _Helper:
        with self._lock:
            if self._broken is not None:
                raise FallBack(f"PyAV cannot be used here ({self._broken})")
            while self._idle:
                helper = self._idle.pop()
                if helper.alive:
                    self._busy.add(helper)
                    return helper
                helper.close()  # ended while idle (not during a probe): no one's fault
        helper = self._start()
        with self._lock:
            self._busy.add(helper)
        return helper

    def _start(self) -> _Helper:
        try:
            helper = _Helper(self._spawner.spawn())
        except OSError as exc:
            self._broken = f"cannot start a probe helper: {exc.strerror or exc}"
            raise FallBack(self._broken) from None
        self.started += 1
        try:
            line = helper.read_line(_START_TIMEOUT_S, None)
        except TimeoutError:
            helper.kill()
            raise FallBack("a probe helper did not start in time") from None
        hello: dict[str, Any] = {}
        with contextlib.suppress(json.JSONDecodeError, TypeError):
            hello = json.loads(line or b"{}")
        if "ready" in hello:
            self._version = str(hello["ready"])
            return helper
        helper.kill()
        self._broken = str(hello.get("broken") or "the probe helper did not start")
        raise FallBack(f"PyAV cannot be used here ({self._broken})")

    def _release(self, helper: _Helper) -> None:
        with self._lock:
            self._busy.discard(helper)
            if len(self._idle) < self._max_idle and helper.alive:
                self._idle.append(helper)
                return
        helper.close()

    def _discard(self, helper: _Helper, *, kill: bool) -> None:
        with self._lock:
            self._busy.discard(helper)
        if kill:
            helper.kill()
        else:
            helper.close()

    def shutdown(self) -> None:
        """Stop every helper (idle ones end at EOF; a busy one is killed) and the spawner."""
        if os.getpid() != self._pid:
            return  # a forked child's copy: the helpers are its parent's to stop
        with self._lock:
            idle, self._idle = self._idle, []
            busy, self._busy = list(self._busy), set()
        for helper in idle:
            helper.close()
        for helper in busy:
            helper.kill()
        self._spawner.stop()


_POOL: HelperPool | None = None
_POOL_LOCK = threading.Lock()


_POOL_PID = 0


def pool() -> HelperPool:
    """This process's helpers (one pool per process: a Dask worker, a fork, get their own)."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or os.getpid() != _POOL_PID:  # a forked child must not share pipes
            _POOL, _POOL_PID = HelperPool(), os.getpid()
            atexit.register(_POOL.shutdown)
        return _POOL


def shutdown() -> None:
    """Stop this process's helpers now (a new pool starts on the next probe)."""
    global _POOL
    with _POOL_LOCK:
        current, _POOL = _POOL, None
    if current is not None:
        current.shutdown()
        atexit.unregister(current.shutdown)
