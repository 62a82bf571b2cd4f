"""What runs on a Dask worker: one file's engine, its events, its controls, its lock.

* Events go back through Dask's structured events (``Worker.log_event``, which
  the client subscribes to): throttled progress, then the file's result, so the
  client does not pay a round trip to the worker per file to gather it.
* Controls come in through ``distributed.Event``: stop (a task that has not begun
  returns "not started"), kill (the worker cancels the tool's process group,
  which removes the temp file) and pause (SIGSTOP/SIGCONT on the worker).
* Two clients never write one file at once: besides the engine's ``flock`` (not
  reliable on network filesystems), the worker holds a ``distributed.Lock`` named
  after the file (its real path on the client) from the first write to the
  commit. Taken only when the plan writes: files that are only read cost no
  round trip to the scheduler, and a file another client converted meanwhile is
  seen and left alone.

Workers import this module by name (``Client.map`` pickles the function by
reference), so it imports Dask only inside the functions that run there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import pickle
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vpo_tui.batch.cluster.paths import PathMap
from vpo_tui.batch.runner import PROGRESS_INTERVAL_S
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.engine.locks import FileLocked

if TYPE_CHECKING:
    from distributed import Event, Lock, Worker
    from distributed.scheduler import Scheduler

_CONTROL_WAIT_S = 0.2  # how long a worker's control watcher blocks on the kill event
_LEASE_MARGIN_S = 2.0  # beyond a dead holder's lease life, before a rerun gives up

EngineFn = Callable[[FileJob, FileControl], FileResult]
FactValue = str | dict[str, tuple[str | None, str]]


class EventLoop(Protocol):
    """The part of a worker's Tornado IO loop the progress throttle uses."""

    def add_callback(self, callback: Callable[..., object], *args: object) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> object: ...


def worker_host() -> str:
    return socket.gethostname()


def worker_facts(tools: bool = True) -> dict[str, FactValue]:
    """What the client checks on each worker: version, host, tools (run by ``Client.run``).

    ``tools=False`` skips running each tool for its version (``doctor`` lists them;
    a batch does not need them: a worker without a tool fails its files saying so).
    """
    import vpo_tui
    import vpo_tui.engine.process  # every file needs the engine and the planner:
    import vpo_tui.policy.plan  # imported now, while the client checks, not in the first file
    from vpo_tui.engine.job import ToolPaths
    from vpo_tui.engine.tools import doctor_report

    found = {
        t.name: (t.version if t.found else None, str(t.path or t.problem))
        for t in (doctor_report(ToolPaths()) if tools else ())
    }
    return {"version": vpo_tui.__version__, "host": worker_host(), "tools": found}


def sweep_on_worker(folders: Sequence[str]) -> int:
    """Remove this host's temp files of dead processes under ``folders`` (client paths)."""
    from vpo_tui.engine.safety import sweep_stale_temp_files

    mapping = PathMap.from_env()
    return len(sweep_stale_temp_files([mapping.to_worker(Path(f)) for f in folders]))


@dataclass(frozen=True)
class ControlNames:
    """The names of one batch's ``distributed.Event``s."""

    stop: str
    kill: str
    pause: str

    @classmethod
    def fresh(cls) -> ControlNames:
        token = uuid.uuid4().hex
        return cls(f"vpo-tui-stop-{token}", f"vpo-tui-kill-{token}", f"vpo-tui-pause-{token}")


class _RemoteControls:
    """One thread per worker process relays each batch's kill/pause events to its files.

    It looks at the ``distributed.Event``s every ``_CONTROL_WAIT_S`` while files run
    (sleeping otherwise), so a task never waits for a watcher of its own to end.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[int, tuple[ControlNames, FileControl, Event, Event, Worker]] = {}
        self._thread: threading.Thread | None = None
        self._stopped: dict[ControlNames, tuple[bool, float]] = {}

    def stopped(self, names: ControlNames, stop: Event) -> bool:
        """Whether the batch was stopped, asking the scheduler at most every ``_CONTROL_WAIT_S``.

        A quick file must not pay a round trip each: a file dispatched in the moment
        after Stop may still start, as it would have a moment earlier.
        """
        now = time.monotonic()
        with self._lock:
            known = self._stopped.get(names)
        if known is not None and (known[0] or now - known[1] < _CONTROL_WAIT_S):
            return known[0]
        value = bool(stop.is_set())
        with self._lock:
            if len(self._stopped) > 64:  # batches come and go; keep the recent ones
                self._stopped.clear()
            self._stopped[names] = (value, now)
        return value

    def add(
        self, names: ControlNames, control: FileControl, kill: Event, pause: Event, worker: Worker
    ) -> None:
        with self._lock:
            self._files[id(control)] = (names, control, kill, pause, worker)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="vpo-remote-controls", daemon=True
                )
                self._thread.start()

    def remove(self, control: FileControl) -> None:
        with self._lock:
            self._files.pop(id(control), None)

    def _loop(self) -> None:
        while True:
            time.sleep(_CONTROL_WAIT_S)
            with self._lock:
                files = list(self._files.values())
            batches: dict[ControlNames, list[FileControl]] = {}
            events: dict[ControlNames, tuple[Event, Event]] = {}
            for names, control, kill, pause, worker in files:
                if str(getattr(worker.status, "value", "")) in _WORKER_GONE:
                    # The scheduler went away and this worker is closing: nobody can
                    # receive the result, and the client reports the file cancelled,
                    # so make that true (the tool ends, its temp file goes).
                    control.cancel()
                    continue
                batches.setdefault(names, []).append(control)
                events.setdefault(names, (kill, pause))
            for names, controls in batches.items():
                kill, pause = events[names]
                try:
                    killed, paused = kill.is_set(), pause.is_set()
                except Exception:  # the scheduler is gone: the client ends the batch
                    continue
                for control in controls:
                    if killed and not control.cancelled:
                        control.cancel()
                    elif not killed and paused != control.paused:
                        (control.pause if paused else control.resume)()


_WORKER_GONE = frozenset({"closing", "closed", "failed"})
_REMOTE_CONTROLS = _RemoteControls()


def lock_name_for(path: Path) -> str:
    """The cluster-wide lock's name for one file: its real path on the client."""
    return f"vpo-tui-file:{os.path.realpath(path)}"


def _old_lease_life_s(name: str) -> float | None:
    """If this task is a rerun after its worker died, how long that worker's lock may live.

    A dead holder's lease outlives it until it times out and the scheduler's next
    lease check sees that. Asked only when the lock is refused, so the common path
    costs no round trip.
    """
    from distributed import get_client, get_worker

    key = get_worker().get_current_task()

    def ask(dask_scheduler: Scheduler) -> float | None:
        task = dask_scheduler.tasks.get(key)
        if task is None or not task.suspicious:
            return None
        timeout = dask_scheduler.extensions["semaphores"].lease_timeouts.get(name)
        check = dask_scheduler.periodic_callbacks.get("semaphore-lease-timeout")
        if not isinstance(timeout, int | float) or check is None:
            return None  # "inf": a dead holder keeps it
        return float(timeout) + float(check.callback_time) / 1000

    life = get_client().run_on_scheduler(ask)
    return float(life) if life is not None else None


def _wait_for_lock(lock: Lock, wait_s: float, control: FileControl) -> bool:
    """Wait up to ``wait_s`` for ``lock``, a second at a time: Kill must not wait for it."""
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0:
        control.check()
        if lock.acquire(timeout=min(1.0, left)):
            return True
    return False


@contextlib.contextmanager
def _cluster_claim(name: str, control: FileControl, path: Path) -> Iterator[None]:
    """The engine's write claim on a worker: a ``distributed.Lock``, or ``FileLocked``."""
    from distributed import Lock

    lock = Lock(name)
    try:
        try:
            held = lock.acquire(blocking=False)
            if not held and (life_s := _old_lease_life_s(name)) is not None:
                held = _wait_for_lock(lock, life_s + _LEASE_MARGIN_S, control)
        except Cancelled:
            raise
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise FileLocked(f"{path}: cannot take the cluster-wide lock ({why})") from None
        if not held:
            raise FileLocked(f"{path}: being processed by another vpo-tui client (cluster lock)")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                lock.release()
    finally:
        with contextlib.suppress(Exception):  # stop renewing the lease (no close():
            lock.refresh_callback.stop()  # another client may hold the name by now)


class RemoteProgress:
    """A file's progress as a worker sends it: at most one event per interval.

    Unlike the runner's local throttle, a stage change also waits for its turn:
    each event crosses the network twice and is handled on the scheduler's event
    loop, and a file of a fraction of a second passes six stages. The first update
    (started, and where) and the final 100 % go at once, and the last update of a
    burst goes out when its interval ends, so the client never keeps a stale stage.
    ``loop`` is the worker's event loop (``add_callback`` is its thread-safe door).
    """

    def __init__(
        self,
        send: Callable[[ProgressUpdate], None],
        loop: EventLoop,
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._send = send
        self._loop = loop
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last_sent: float | None = None
        self._pending: ProgressUpdate | None = None
        self._flush_planned = False
        self._closed = False
        self._duration_s: float | None = None

    def __call__(self, update: ProgressUpdate) -> None:
        now = time.monotonic()
        with self._lock:
            if self._closed:
                return
            # the file's playing time comes once (the plan stage), and weighs its share
            # of the batch's progress: whichever update goes out next carries it
            if update.duration_s is not None:
                self._duration_s = update.duration_s
            elif self._duration_s is not None:
                update = dataclasses.replace(update, duration_s=self._duration_s)
            last = self._last_sent
            if last is None or update.fraction >= 1.0 or now - last >= self._interval_s:
                self._last_sent, self._pending = now, None
            else:
                self._pending = update
                if not self._flush_planned:
                    self._flush_planned = True
                    wait = self._interval_s - (now - last)
                    self._loop.add_callback(self._loop.call_later, wait, self._flush)
                return
        self._send(update)

    def _flush(self) -> None:
        with self._lock:
            update, self._pending = self._pending, None
            self._flush_planned = False
            if update is None or self._closed:
                return
            self._last_sent = time.monotonic()
        self._send(update)

    def close(self) -> None:
        """Send nothing more: the file's result follows."""
        with self._lock:
            self._closed, self._pending = True, None


def process_on_worker(
    job: FileJob,
    key: str,
    lock_name: str | None,
    *,
    topic: str,
    names: ControlNames,
    engine: EngineFn | None = None,
) -> FileResult:
    """The per-file task: the engine on a worker, its events and controls through Dask.

    ``lock_name`` is the cluster-wide lock the engine takes before it writes (None:
    none). ``engine`` replaces ``process_file`` (the dispatch benchmark's no-op engine).
    The per-file values come first, so ``Client.map`` can take them as iterables.
    """
    from distributed import Event, get_client, get_worker

    from vpo_tui.engine.process import process_file

    worker = get_worker()

    def reply(result: FileResult, host: str | None = None) -> FileResult:
        """The result, sent ahead in the event stream: the client need not gather it.

        ``host`` says where the file ran, for a file that ended before its first
        progress event (the engine's first stage is sent at once, so few do).
        """
        worker.log_event(topic, {"key": key, "result": pickle.dumps(result), "host": host})
        return result

    # kill sets stop too: one look says "do not start"
    if _REMOTE_CONTROLS.stopped(names, Event(names.stop)):
        return reply(FileResult(job.path, FileStatus.CANCELLED, error="not started"))
    host = worker_host()
    mapping = PathMap.from_env()

    def send(update: ProgressUpdate) -> None:
        message = dataclasses.asdict(dataclasses.replace(update, worker=host))
        worker.log_event(topic, {"key": key, "progress": message})

    # the engine's first stage ("lock") goes out at once: started, and where
    progress = RemoteProgress(send, worker.loop)
    control = FileControl(on_progress=progress)
    run_engine: EngineFn = engine or (
        functools.partial(process_file, claim=functools.partial(_cluster_claim, lock_name, control))
        if lock_name is not None
        else process_file
    )
    # the worker's client, found here: the control thread runs outside any task
    client = get_client()
    kill, pause = Event(names.kill, client=client), Event(names.pause, client=client)
    _REMOTE_CONTROLS.add(names, control, kill, pause, worker)
    local = dataclasses.replace(job, path=mapping.to_worker(job.path))
    try:
        result = run_engine(local, control)
    except Cancelled:
        result = FileResult(local.path, FileStatus.CANCELLED, error="cancelled by the user")
    except Exception as exc:  # a bug must come back as this file's failure
        result = FileResult(
            local.path,
            FileStatus.FAILED,
            error=f"{local.path}: unexpected error on {host}: {type(exc).__name__}: {exc}",
        )
    finally:
        _REMOTE_CONTROLS.remove(control)
        progress.close()  # the result says the rest
    return reply(
        dataclasses.replace(
            result,
            path=job.path,
            output_path=mapping.to_client(result.output_path) if result.output_path else None,
            error=mapping.text_to_client(result.error),
            stderr_tail=mapping.text_to_client(result.stderr_tail),
        ),
        host,
    )
