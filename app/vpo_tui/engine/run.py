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
- stderr and stdout read by the calling thread itself (one selector loop, no
  pipe deadlock, no reader threads), the last lines of stderr kept for error
  reports;
- registration with ``FileControl`` so cancel/pause from another thread act on
  the process group.

The start is kept cheap because a dry run starts one tool per file: the
parent-death signal is set by ``setpriv --pdeathsig KILL`` (util-linux), which
execs the tool in place (same pid, ~1 ms), rather than by a Python
``preexec_fn``, which forces CPython to ``fork()`` the whole interpreter under
the GIL instead of ``vfork()`` (bench/dry_run_probe.py measured that as most
of vpo-tui's own cost per file). Without ``setpriv`` the ``preexec_fn`` is the
fallback.

A negative return code (killed by a signal) is always a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vpo_tui.engine.control import Cancelled, FileControl

STDERR_TAIL_LINES = 40
_GUI_DIAGNOSTICS = (b"#GUI#error", b"#GUI#warning")
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.1
_READ_CHUNK = 64 * 1024
_LEFTOVER_GRACE_S = 5.0  # how long pipes held by a dead tool's children are read
_SETPRIV_PLACES = ("/usr/bin/setpriv", "/bin/setpriv")


class ToolError(Exception):
    """A tool failed: non-zero/unexpected exit, killed by a signal, or timed out."""

    def __init__(
        self, message: str, stderr_tail: str = "", *, timed_out: bool = False, stalled: bool = False
    ) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail
        self.timed_out = timed_out
        self.stalled = stalled


@dataclass(frozen=True)
class ToolRun:
    """What a finished tool run left behind."""

    returncode: int
    stdout: bytes
    stderr_tail: str
    duration_s: float


@functools.cache
def _setpriv_prefix() -> tuple[str, ...] | None:
    """``setpriv --pdeathsig KILL --`` where this Linux has a setpriv that knows it."""
    if not sys.platform.startswith("linux"):
        return None
    found = next((p for p in _SETPRIV_PLACES if os.access(p, os.X_OK)), None)
    found = found or shutil.which("setpriv")
    if found is None:
        return None
    try:
        usage = subprocess.run(
            [found, "--help"], capture_output=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return (found, "--pdeathsig", "KILL", "--") if b"--pdeathsig" in usage else None


def _parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to SIGKILL the child when we die (no setpriv)."""
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


_EXECUTABLE_MAGIC = (b"\x7fELF", b"#!")


def _why_unstartable(program: str) -> str | None:
    """What ``execve`` would say about ``program``, checked before ``setpriv`` hides it.

    setpriv starts the tool with ``execvp``, which runs a file of an unknown format
    through ``/bin/sh``: a mistaken tool path (any file looks executable on an exFAT
    or SMB mount) must be refused, not run as a shell script.
    """
    path = program if os.sep in program else shutil.which(program)
    if path is None or not os.path.exists(path):
        return os.strerror(errno.ENOENT)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        return os.strerror(errno.EACCES)
    try:
        with open(path, "rb") as head:
            first = head.readline(256)
    except OSError as exc:
        return exc.strerror or str(exc)
    if not first.startswith(_EXECUTABLE_MAGIC):
        return os.strerror(errno.ENOEXEC)
    if first.startswith(b"#!"):
        interpreter = first[2:].strip().split(maxsplit=1)
        if not interpreter or not os.access(os.fsdecode(interpreter[0]), os.X_OK):
            return f"{os.strerror(errno.ENOENT)} (its interpreter)"
    return None


def _spawn(argv: list[str], want_stdout: bool, name: str) -> subprocess.Popen[bytes]:
    prefix = _setpriv_prefix()
    if prefix is not None:
        why = _why_unstartable(argv[0])
        if why is not None:
            raise ToolError(f"cannot start {name}: {why}")
    try:
        return subprocess.Popen(
            [*prefix, *argv] if prefix is not None else argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if want_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=None if prefix is not None else _parent_death_preexec(),
            close_fds=True,
        )
    except OSError as exc:
        raise ToolError(f"cannot start {name}: {exc.strerror or exc}") from exc


class _Lines:
    """Cuts one pipe's bytes into lines (each with its newline, as a file iterator gives).

    The unfinished line is kept as a list of chunks, so a long line without a
    newline (a tool's one-line JSON) costs linear time, not a copy per read.
    """

    def __init__(self, on_line: Callable[[bytes], None]) -> None:
        self._on_line = on_line
        self._partial: list[bytes] = []

    def feed(self, data: bytes) -> None:
        """Hand on every complete line; ``b""`` (end of file) hands on the rest."""
        if not data:
            if self._partial:
                self._on_line(b"".join(self._partial))
                self._partial = []
            return
        if b"\n" not in data:
            self._partial.append(data)
            return
        *complete, rest = b"".join([*self._partial, data]).split(b"\n")
        self._partial = [rest] if rest else []
        for line in complete:
            self._on_line(line + b"\n")


class _Pipes:
    """The tool's pipes and its exit, watched by one selector in the calling thread.

    A pidfd (Linux) makes the exit itself an event, where ``Popen.wait(timeout)``
    would sleep up to 50 ms between checks: a remux runs several tools per file,
    and that latency alone once made a batch measurably slower than ``xargs``.
    """

    def __init__(self, proc: subprocess.Popen[bytes], readers: dict[int, _Lines]) -> None:
        self._proc = proc
        self._selector = selectors.DefaultSelector()
        self._open = 0
        for fd, lines in readers.items():
            self._selector.register(fd, selectors.EVENT_READ, lines)
            self._open += 1
        self._pidfd: int | None = None
        self.last_output = time.monotonic()  # when the tool last wrote anything
        opener = getattr(os, "pidfd_open", None)
        if opener is not None:
            with contextlib.suppress(OSError):
                pidfd = opener(proc.pid)
                try:
                    self._selector.register(pidfd, selectors.EVENT_READ, None)
                except (OSError, ValueError):
                    os.close(pidfd)  # unwatched, it would hide the exit: poll instead
                else:
                    self._pidfd = pidfd

    def wait(self, timeout: float) -> bool:
        """Read what is there for up to ``timeout`` s; True once the tool has exited."""
        if self._proc.returncode is not None:
            return True
        if self._open == 0 and self._pidfd is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        exited = False
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                exited = True
            else:
                self._read(key)
        if exited or (self._pidfd is None and self._proc.poll() is not None):
            self._proc.wait()
            return True
        return False

    def drain(self, grace_s: float) -> None:
        """Read the pipes to their end (leftover children may hold them a moment)."""
        if self._pidfd is not None:
            self._selector.unregister(self._pidfd)
        deadline = time.monotonic() + grace_s
        while self._open and (left := deadline - time.monotonic()) > 0:
            for key, _ in self._selector.select(left):
                self._read(key)

    def _read(self, key: selectors.SelectorKey) -> None:
        try:
            data = os.read(key.fd, _READ_CHUNK)
        except OSError:
            data = b""
        key.data.feed(data)
        if data:
            self.last_output = time.monotonic()
        if not data:
            self._selector.unregister(key.fd)
            self._open -= 1

    def close(self) -> None:
        self._selector.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


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
    proc = _spawn(argv, want_stdout, name)

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

    assert proc.stderr is not None
    readers = {proc.stderr.fileno(): _Lines(on_err)}
    if want_stdout:
        assert proc.stdout is not None
        readers[proc.stdout.fileno()] = _Lines(on_out)
    timed_out = False
    stalled = False
    stall_s = control.stall_s if control is not None else None
    quiet_s = 0.0  # running time since the tool last wrote anything
    term_sent_at: float | None = None
    # The timeout counts running time only: a batch paused over lunch must not come
    # back to a tool killed for being slow.
    running_s = 0.0
    last_poll = started
    pipes: _Pipes | None = None
    try:  # from here on, whatever fails, the tool's group does not outlive the call
        pipes = _Pipes(proc, readers)
        if control is not None:
            control.attach(proc)
        while True:
            if pipes.wait(_POLL_S):
                break
            now = time.monotonic()
            if control is None or not control.paused:
                running_s += now - last_poll
                quiet_s = 0.0 if pipes.last_output > last_poll else quiet_s + now - last_poll
            last_poll = now
            cancelled = control is not None and control.cancelled
            if not timed_out and timeout_s is not None and running_s > timeout_s:
                timed_out = True
            if not stalled and stall_s is not None and quiet_s > stall_s:
                stalled = True
            if (cancelled or timed_out or stalled) and term_sent_at is None:
                term_sent_at = now
                _kill_group(proc.pid, signal.SIGTERM)
                _kill_group(proc.pid, signal.SIGCONT)  # a paused tool cannot handle TERM
            elif term_sent_at is not None and now - term_sent_at > kill_grace_s:
                _kill_group(proc.pid, signal.SIGKILL)
        # children the tool left behind in its group go with it
        _kill_group(proc.pid, signal.SIGKILL)
        pipes.drain(_LEFTOVER_GRACE_S)
    except BaseException:
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        if pipes is not None:
            pipes.close()
        if control is not None:
            control.detach()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    stderr_tail = "\n".join(tail)
    returncode = proc.returncode
    if control is not None and control.cancelled:
        raise Cancelled()
    if timed_out:
        raise ToolError(f"{name} timed out after {timeout_s:g} s", stderr_tail, timed_out=True)
    if stalled and stall_s is not None:
        raise ToolError(
            f"stalled: {name} made no progress for {_span(stall_s)} and was stopped",
            stderr_tail,
            stalled=True,
        )
    if returncode < 0 or returncode not in ok_codes:
        raise ToolError(_with_cause(_describe_exit(name, returncode), tail), stderr_tail)
    return ToolRun(returncode, b"".join(captured), stderr_tail, time.monotonic() - started)
