"""The one place that runs a tool process.

Every tool vpo-tui starts goes through ``run_tool`` so that all of them get the
same guarantees:

- an argument list, never a shell; stdin is ``/dev/null``;
- their own process group (``start_new_session``), so a Ctrl-C in the terminal
  reaches vpo-tui (which decides Stop or Kill) and not the tools directly, and
  cancel/timeout can signal the tool *and* any children it spawned;
- on Linux a parent-death signal (SIGKILL), so no tool outlives a ``kill -9`` of
  vpo-tui: a remux left running after its owner died is work nobody verifies.
  The kernel ties it to the *thread* that forked; ``run_tool`` blocks that
  thread until the tool ends, so the tool can only lose it when we are gone;
- a timeout, then TERM to the group, then KILL after the grace period;
- stderr and stdout drained on threads (no pipe deadlock), the last lines of
  stderr kept for error reports;
- registration with ``FileControl`` so cancel/pause from another thread act on
  the process group.

A negative return code (killed by a signal) is always a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vpo_tui.engine.control import Cancelled, FileControl

STDERR_TAIL_LINES = 40
_GUI_DIAGNOSTICS = (b"#GUI#error", b"#GUI#warning")
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.1


class ToolError(Exception):
    """A tool failed: non-zero/unexpected exit, killed by a signal, or timed out."""

    def __init__(self, message: str, stderr_tail: str = "", *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail
        self.timed_out = timed_out


@dataclass(frozen=True)
class ToolRun:
    """What a finished tool run left behind."""

    returncode: int
    stdout: bytes
    stderr_tail: str
    duration_s: float


def _parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to SIGKILL the child when we die."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # we died between fork and prctl
            os._exit(1)

    return preexec


class _ExitWatch:
    """Wakes the moment a tool exits, where ``Popen.wait(timeout)`` would poll.

    CPython's timed wait sleeps up to 50 ms between checks; a remux runs six tools
    per file, so that latency alone made a batch measurably slower than ``xargs``
    running the same commands (bench/batch_overhead.py). On Linux a pidfd becomes
    readable when the process exits; elsewhere the timed wait is the fallback.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._fd: int | None = None
        opener = getattr(os, "pidfd_open", None)
        if opener is not None:
            with contextlib.suppress(OSError):
                self._fd = opener(proc.pid)

    def wait(self, timeout: float) -> bool:
        """True once the process has exited (and been reaped)."""
        if self._fd is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        self._proc.wait()
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _drain(stream: Iterable[bytes], on_line: Callable[[bytes], None]) -> None:
    try:
        for raw in stream:
            on_line(raw)
    except (OSError, ValueError):
        pass


def _describe_exit(name: str, returncode: int) -> str:
    if returncode < 0:
        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = f"signal {-returncode}"
        return f"{name} was killed by {signame}"
    return f"{name} failed with exit code {returncode}"


def _with_cause(message: str, tail: deque[str]) -> str:
    """Append the tool's last diagnostic line: usually the actual cause."""
    if not tail:
        return message
    last = tail[-1].strip()
    return f"{message}: {last[:200]}" if last else message


def run_tool(
    argv: list[str],
    *,
    control: FileControl | None = None,
    timeout_s: float | None = None,
    kill_grace_s: float = 3.0,
    ok_codes: tuple[int, ...] = (0,),
    on_stdout_line: Callable[[str], None] | None = None,
    capture_stdout: bool = False,
    name: str | None = None,
) -> ToolRun:
    """Run ``argv`` to completion; raise ``ToolError`` or ``Cancelled`` otherwise.

    ``on_stdout_line`` receives each decoded stdout line (progress parsing);
    ``capture_stdout`` keeps all of stdout instead (``ffprobe`` JSON).
    ``name`` is the tool's role in messages (default: the program's file name).
    """
    name = name or os.path.basename(argv[0])
    if control is not None:
        control.check()
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    captured: list[bytes] = []
    want_stdout = capture_stdout or on_stdout_line is not None
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if want_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_parent_death_preexec(),  # PDEATHSIG; see module doc
            close_fds=True,
        )
    except OSError as exc:
        raise ToolError(f"cannot start {name}: {exc.strerror or exc}") from exc

    def on_err(raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip()
        if text:
            tail.append(text)

    def on_out(raw: bytes) -> None:
        if capture_stdout:
            captured.append(raw)
        if raw.startswith(_GUI_DIAGNOSTICS):
            # mkvmerge --gui-mode prints its errors (e.g. "No space left") on stdout
            on_err(raw[len(b"#GUI#") :])
        if on_stdout_line is not None:
            # a progress listener must never kill the tool run
            with contextlib.suppress(Exception):
                on_stdout_line(raw.decode("utf-8", "replace"))

    readers = []
    assert proc.stderr is not None
    readers.append(threading.Thread(target=_drain, args=(proc.stderr, on_err), daemon=True))
    if want_stdout:
        assert proc.stdout is not None
        readers.append(threading.Thread(target=_drain, args=(proc.stdout, on_out), daemon=True))
    for reader in readers:
        reader.start()
    if control is not None:
        control.attach(proc)

    timed_out = False
    term_sent_at: float | None = None
    # The timeout counts running time only: a batch paused over lunch must not come
    # back to a tool killed for being slow.
    running_s = 0.0
    last_poll = started
    exit_watch = _ExitWatch(proc)
    try:
        while True:
            if exit_watch.wait(_POLL_S):
                break
            now = time.monotonic()
            if control is None or not control.paused:
                running_s += now - last_poll
            last_poll = now
            cancelled = control is not None and control.cancelled
            if not timed_out and timeout_s is not None and running_s > timeout_s:
                timed_out = True
            if (cancelled or timed_out) and term_sent_at is None:
                term_sent_at = now
                _kill_group(proc.pid, signal.SIGTERM)
                _kill_group(proc.pid, signal.SIGCONT)  # a paused tool cannot handle TERM
            elif term_sent_at is not None and now - term_sent_at > kill_grace_s:
                _kill_group(proc.pid, signal.SIGKILL)
    except BaseException:
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        exit_watch.close()
        if control is not None:
            control.detach()
        # children the tool left behind in its group go with it
        _kill_group(proc.pid, signal.SIGKILL)
        for reader in readers:
            reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    stderr_tail = "\n".join(tail)
    returncode = proc.returncode
    if control is not None and control.cancelled:
        raise Cancelled()
    if timed_out:
        raise ToolError(f"{name} timed out after {timeout_s:g} s", stderr_tail, timed_out=True)
    if returncode < 0 or returncode not in ok_codes:
        raise ToolError(_with_cause(_describe_exit(name, returncode), tail), stderr_tail)
    return ToolRun(returncode, b"".join(captured), stderr_tail, time.monotonic() - started)
