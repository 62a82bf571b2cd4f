"""A fake engine for concurrency and UI tests only (real-media tests use the real engine).

``FakeEngine`` is a drop-in ``process(job, control)`` for ``BatchRunner``. It records
when each file starts and ends and how many run at once, reports progress, honours
pause and kill through the ``FileControl``, and can be told per file name to fail,
be skipped (as if locked), come back unchanged, or run a real ``sleep`` subprocess
in its own process group so that kill/pause reach a real process.

Typical use::

    engine = FakeEngine(duration=0.05, outcomes={"b.mkv": FileStatus.FAILED})
    runner = BatchRunner(fake_jobs(["a.mkv", "b.mkv"]), workers=2, listener=rec,
                         on_error="skip", backend=ThreadsBackend(engine))
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vpo_tui.batch.events import BatchEvent, FileFinished, FileStarted
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.policy.model import Policy


def fake_policy(name: str = "fake", digest: str = "fake-digest") -> Policy:
    return Policy(name=name, source=f"builtin:{name}", digest=digest)


def fake_jobs(
    names: Iterable[str | Path], *, policy: Policy | None = None, root: Path | None = None
) -> list[FileJob]:
    """Jobs for paths that need not exist (the fake engine never opens them)."""
    policy = policy or fake_policy()
    base = root or Path("/fake")
    return [FileJob(path=base / Path(n), policy=policy) for n in names]


@dataclass
class FakeCall:
    path: Path
    started: float
    ended: float | None = None
    status: FileStatus | None = None
    thread: str = ""


@dataclass
class FakeEngine:
    """Scripted per-file behaviour; thread-safe bookkeeping of what ran and when.

    ``outcomes`` maps a file *name* to the status it returns (default OK).
    ``durations`` maps a file name to its own duration (default ``duration``).
    ``spawn`` runs ``sleep`` (or ``spawn_command``) as a real child in a new process
    group, attached to the control, instead of sleeping in the thread.
    """

    duration: float = 0.02
    outcomes: Mapping[str, FileStatus] = field(default_factory=dict)
    durations: Mapping[str, float] = field(default_factory=dict)
    steps: int = 4
    spawn: bool = False
    spawn_command: tuple[str, ...] | None = None
    raise_for: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[FakeCall] = []
        self.active = 0
        self.max_active = 0
        self.processes: list[subprocess.Popen[bytes]] = []
        self.all_running = threading.Event()  # set when `wait_for_active` target reached
        self._target_active: int | None = None

    # -- what tests look at ---------------------------------------------------
    @property
    def started_order(self) -> list[str]:
        with self._lock:
            return [c.path.name for c in self.calls]

    @property
    def processed(self) -> list[str]:
        return self.started_order

    def expect_active(self, n: int) -> None:
        """Arm ``all_running`` to fire once ``n`` files are running at the same time."""
        with self._lock:
            self._target_active = n
            if self.active >= n:
                self.all_running.set()

    # -- the process function -----------------------------------------------
    def __call__(self, job: FileJob, control: FileControl) -> FileResult:
        name = job.path.name
        call = FakeCall(job.path, time.monotonic(), thread=threading.current_thread().name)
        with self._lock:
            self.calls.append(call)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            if self._target_active is not None and self.active >= self._target_active:
                self.all_running.set()
        try:
            status = self._work(job, control, name)
        finally:
            with self._lock:
                self.active -= 1
        call.ended = time.monotonic()
        call.status = status
        if name in self.raise_for:
            raise RuntimeError(f"fake engine blew up on {name}")
        error = None
        if status is FileStatus.FAILED:
            error = f"{job.path}: fake failure"
        elif status is FileStatus.SKIPPED:
            error = f"{job.path}: locked by another process"
        elif status is FileStatus.CANCELLED:
            error = f"{job.path}: cancelled"
        fingerprint = (100, 1) if status in (FileStatus.OK, FileStatus.UNCHANGED) else None
        return FileResult(
            job.path,
            status,
            changes=("fake change",) if status is FileStatus.OK else (),
            error=error,
            duration_s=(call.ended - call.started),
            output_path=job.path if status is FileStatus.OK else None,
            fingerprint=fingerprint,
        )

    def _work(self, job: FileJob, control: FileControl, name: str) -> FileStatus:
        duration = self.durations.get(name, self.duration)
        if self.spawn:
            command = self.spawn_command or ("sleep", str(duration))
            proc = subprocess.Popen(list(command), start_new_session=True)
            with self._lock:
                self.processes.append(proc)
            control.attach(proc)  # type: ignore[arg-type]
            try:
                code = proc.wait()
            finally:
                control.detach()
            if control.cancelled:
                return FileStatus.CANCELLED
            if code != 0:
                return FileStatus.FAILED
        else:
            step = duration / max(self.steps, 1)
            for i in range(self.steps):
                while control.paused and not control.cancelled:
                    time.sleep(0.005)
                if control.cancelled:
                    return FileStatus.CANCELLED
                time.sleep(step)
                control.progress(ProgressUpdate("run", (i + 1) / self.steps))
        if control.cancelled:
            return FileStatus.CANCELLED
        if job.dry_run and self.outcomes.get(name, FileStatus.OK) is FileStatus.OK:
            return FileStatus.PLANNED
        return self.outcomes.get(name, FileStatus.OK)


class RecordingListener:
    """A thread-safe listener that keeps every event, for assertions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[BatchEvent] = []
        self.started = threading.Event()  # first FileStarted seen

    def on_event(self, event: BatchEvent) -> None:
        with self._lock:
            self.events.append(event)
        if isinstance(event, FileStarted):
            self.started.set()

    def of_type(self, kind: type) -> list[BatchEvent]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]

    def finished_paths(self) -> list[Path]:
        return [e.result.path for e in self.of_type(FileFinished)]  # type: ignore[attr-defined]
