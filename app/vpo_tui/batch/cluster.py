"""Run a batch's files on a Dask cluster: same events, same controls, same safety.

Why it is shaped like this:

* Only the engine's part of a file goes to the cluster. The runner, the history
  store, the probe cache and the listener stay in the client, so history stays in
  the client's database and the front ends see nothing new. The runner's own
  thread pool keeps ``workers`` files in flight; each of its threads queues one
  file and waits for it (``DaskBatch.process`` is the runner's ``process``), and
  the client's event loop submits the files queued together as one graph.
* Events come back through Dask's structured events (``Worker.log_event`` →
  ``Client.subscribe_topic``): started (with the worker's host) and throttled
  progress. Controls go out through ``distributed.Event``: stop (a task that has not
  begun returns "not started"), kill (the worker cancels the tool's process group,
  which removes the temp file) and pause (SIGSTOP/SIGCONT on the worker).
* A file's result comes back in the same event stream as its progress, so the
  client does not pay a round trip to the worker per file to gather it (the
  future's own result is the fallback).
* Two clients never write one file at once: besides the engine's ``flock`` (not
  reliable on network filesystems), the worker holds a ``distributed.Lock`` named
  after the file (its real path on the client) from the first write to the
  commit. Taken only when the plan writes: files that are only read cost no
  round trip to the scheduler, and a file another client converted meanwhile is
  seen and left alone.
* A worker that dies mid-file is Dask's to reschedule (the engine never touches the
  original before its verified commit, so a rerun is safe); when Dask gives up
  (``KilledWorker``) the file is reported failed, "worker lost". A scheduler that
  goes away ends the batch: unfinished files are cancelled and the run exits 1.
* ``distributed`` is optional (``vpo-tui[cluster]``) and imported only here, and
  only when a Dask executor is chosen; ``parse_executor`` needs nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import pickle
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vpo_tui.batch.backend import Abandoned
from vpo_tui.batch.runner import PROGRESS_INTERVAL_S
from vpo_tui.batch.workers import WorkerChoice, WorkerCountError
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate, StopReason
from vpo_tui.engine.locks import FileLocked

THREADS = "threads"
LOCAL_CLUSTER = "local-cluster"
DASK = "dask"
PATH_MAP_ENV = "VPO_TUI_PATH_MAP"

_WAIT_S = 0.25  # how often a waiting client thread looks at the connection
_LOST_AFTER_S = 5.0  # a scheduler unreachable this long is gone
_CONTROL_WAIT_S = 0.2  # how long a worker's control watcher blocks on the kill event
_LEASE_MARGIN_S = 2.0  # beyond a dead holder's lease life, before a rerun gives up
_LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.scheduler.locks.lease-timeout": "5s",
    "distributed.scheduler.locks.lease-validation-interval": "1s",
    # the worker's statistical profiler samples the task thread every 10 ms: CPU the
    # tools need more, on a machine whose cores the workers share with the client
    "distributed.worker.profile.enabled": False,
    # files are submitted a few at a time as slots free up: nothing to steal, and the
    # nannies' memory checks need not run ten times a second beside the tools
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.memory.monitor-interval": "1s",
    # the scheduler, the two nannies and each worker check their event loop's health
    # fifty times a second and sample the system twice a second, for warnings and a
    # dashboard a local cluster does not have: idle, that was a tenth of a core
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


class ClusterError(Exception):
    """The cluster cannot run this batch (no scheduler, a worker with another version)."""


# -- the executor option ----------------------------------------------------------


@dataclass(frozen=True)
class ExecutorSpec:
    """``threads`` | ``local-cluster[:N]`` | ``dask://HOST:PORT``, parsed."""

    kind: str
    processes: int | None = None  # local-cluster: worker processes (None = 2)
    address: str | None = None  # dask: tcp://HOST:PORT

    @property
    def is_cluster(self) -> bool:
        return self.kind != THREADS

    def __str__(self) -> str:
        if self.kind == LOCAL_CLUSTER:
            return LOCAL_CLUSTER + (f":{self.processes}" if self.processes else "")
        if self.kind == DASK:
            return f"dask://{(self.address or '').removeprefix('tcp://')}"
        return THREADS


_DASK_RE = re.compile(r"^dask://([^\s:/]+):(\d{1,5})$")


def parse_executor(text: str) -> ExecutorSpec:
    """Parse the ``--executor`` / ``[processing] executor`` value; ``ValueError`` says why."""
    value = text.strip()
    if value == THREADS:
        return ExecutorSpec(THREADS)
    if value == LOCAL_CLUSTER or value.startswith(LOCAL_CLUSTER + ":"):
        count = value[len(LOCAL_CLUSTER) + 1 :]
        if not count:
            return ExecutorSpec(LOCAL_CLUSTER)
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"local-cluster:N needs a worker count of at least 1, got {count!r}")
        return ExecutorSpec(LOCAL_CLUSTER, processes=int(count))
    match = _DASK_RE.match(value)
    if match:
        return ExecutorSpec(DASK, address=f"tcp://{match.group(1)}:{match.group(2)}")
    raise ValueError(f"expected threads, local-cluster[:N] or dask://HOST:PORT, got {text!r}")


# -- path mapping ---------------------------------------------------------------------


@dataclass(frozen=True)
class PathMap:
    """Client prefix → worker prefix pairs, for nodes that mount the library elsewhere.

    ``VPO_TUI_PATH_MAP=/client/prefix=/worker/prefix`` in a worker's environment
    (several pairs separated by ``:``). The first matching prefix wins.
    """

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        pairs = []
        for item in filter(None, text.split(os.pathsep)):
            client, sep, worker = item.partition("=")
            if not sep or not client.startswith("/") or not worker.startswith("/"):
                raise ValueError(
                    f"{PATH_MAP_ENV}: expected /client/prefix=/worker/prefix, got {item!r}"
                )
            pairs.append((client.rstrip("/") or "/", worker.rstrip("/") or "/"))
        return cls(tuple(pairs))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PathMap:
        return cls.parse(env.get(PATH_MAP_ENV, ""))

    def to_worker(self, path: Path) -> Path:
        return Path(_swap(str(path), ((c, w) for c, w in self.pairs)))

    def to_client(self, path: Path) -> Path:
        return Path(_swap(str(path), ((w, c) for c, w in self.pairs)))

    def text_to_client(self, text: str | None) -> str | None:
        """A message naming worker paths, naming the client's paths instead."""
        if text is None:
            return None
        for client, worker in self.pairs:
            text = re.sub(rf"{re.escape(worker)}(?=/|\b)", client.replace("\\", "\\\\"), text)
        return text


def _swap(path: str, pairs: Iterable[tuple[str, str]]) -> str:
    for old, new in pairs:
        if path == old or path.startswith(old.rstrip("/") + "/"):
            return new + path[len(old) :] if old != "/" else new.rstrip("/") + path
    return path


# -- on the worker ------------------------------------------------------------------


def worker_host() -> str:
    return socket.gethostname()


def worker_facts(tools: bool = True) -> dict[str, Any]:
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
        self._files: dict[int, tuple[ControlNames, FileControl, Any, Any, Any]] = {}
        self._thread: threading.Thread | None = None
        self._stopped: dict[ControlNames, tuple[bool, float]] = {}

    def stopped(self, names: ControlNames, stop: Any) -> bool:
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
        self, names: ControlNames, control: FileControl, kill: Any, pause: Any, worker: Any
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
            events: dict[ControlNames, tuple[Any, Any]] = {}
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

EngineFn = Callable[[FileJob, FileControl], FileResult]


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

    def ask(dask_scheduler: Any) -> float | None:
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


def _wait_for_lock(lock: Any, wait_s: float, control: FileControl) -> bool:
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
        loop: Any,
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


# -- on the client ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerInfo:
    address: str
    host: str
    threads: int
    version: str | None = None
    tools: Mapping[str, tuple[str | None, str]] = dataclasses.field(default_factory=dict)

    @property
    def missing_tools(self) -> list[str]:
        return [name for name, (version, _where) in self.tools.items() if version is None]


class DaskBackend:
    """One connection to a Dask scheduler (and the LocalCluster it started, if any)."""

    def __init__(self, client: Any, cluster: Any = None, *, spec: ExecutorSpec) -> None:
        self.client = client
        self.cluster = cluster
        self.spec = spec

    @classmethod
    def open(cls, spec: ExecutorSpec, *, timeout_s: float = 10.0) -> DaskBackend:
        """Connect to ``dask://…`` or start a ``local-cluster``; ``ClusterError`` says why not."""
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError(
                f"the {spec} executor needs Dask distributed: "
                f"pip install 'vpo-tui[cluster]' ({exc})"
            ) from None
        if spec.kind == LOCAL_CLUSTER:
            # a worker killed while holding a file's lock: its lease lapses in seconds
            with dask.config.set(_LOCAL_CLUSTER_CONFIG):
                cluster = LocalCluster(
                    n_workers=spec.processes or 2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,  # logging.ERROR
                    scheduler_kwargs={"allowed_failures": 1},
                )
            client = Client(cluster, set_as_default=False)
            _shorter_hops(client, cluster.scheduler)
            return cls(client, cluster, spec=spec)
        try:
            client = Client(spec.address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {spec.address}: {exc}"
            ) from None
        _shorter_hops(client)
        return cls(client, spec=spec)

    @property
    def where(self) -> str:
        """The scheduler as the user named it (no network call: it may be gone)."""
        return self.spec.address or str(self.spec)

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def workers(self, *, tools: bool = True) -> list[WorkerInfo]:
        """Each worker's address, host, threads, vpo-tui version and (``tools``) tools."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        # on_error="return": a node without vpo-tui (or an old one) is reported, not raised
        found = self.client.run(
            worker_facts, **({} if tools else {"tools": False}), on_error="return"
        )
        older = [a for a, fact in found.items() if isinstance(fact, TypeError)]
        if older:  # an older vpo-tui's worker_facts() takes no arguments: ask for its version
            found.update(self.client.run(worker_facts, workers=older, on_error="return"))
        out = []
        for address, w in sorted(info.items()):
            fact = found.get(address, {})
            if isinstance(fact, BaseException):
                fact = {"version": f"unknown ({type(fact).__name__}: {fact})"}
            out.append(
                WorkerInfo(
                    address=address,
                    host=str(fact.get("host") or w.get("host") or address),
                    threads=int(w.get("nthreads", 1)),
                    version=fact.get("version"),
                    tools={k: tuple(v) for k, v in fact.get("tools", {}).items()},
                )
            )
        return out

    def check(self, version: str | None = None) -> list[WorkerInfo]:
        """The workers, after making sure each runs this vpo-tui version (else ``ClusterError``).

        Missing tools are not a reason to refuse the batch: that worker's files fail
        with the tool error and the others go on (``doctor`` lists them).
        """
        workers = self.workers(tools=False)
        problems = version_problems(workers, self.address, version)
        if problems:
            raise ClusterError(problems[0] + ": install the same version on every node")
        return workers

    def total_threads(self) -> int:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return sum(int(w.get("nthreads", 1)) for w in info.values())

    def connected(self) -> bool:
        return str(self.client.status) == "running"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=5)


_HOP_S = 0.002  # what Dask's workers use towards the scheduler, and it towards clients


def _shorter_hops(client: Any, scheduler: Any = None) -> None:
    """Let a file's messages wait 2 ms for company, not 10 (client) or 5 (scheduler).

    Dask batches each stream's messages; the client's stream to the scheduler
    waits up to 10 ms and the scheduler's to each worker up to 5 ms. A slot that
    frees up sits idle from the file's result to the next file's start: 18 ms
    with those (no-op files, 2 in flight), 12 ms with these. The scheduler's
    streams are changed only for a LocalCluster this client started (a shared
    scheduler is not ours to tune), and only those open now: a worker that Dask
    restarts, or a client that reconnects, gets Dask's default again (a few ms).
    """
    comms = [getattr(client, "scheduler_comm", None)]
    if scheduler is not None:
        comms += list(getattr(scheduler, "stream_comms", {}).values())
    for comm in comms:
        if comm is not None and getattr(comm, "interval", 0) > _HOP_S:
            comm.interval = _HOP_S


def version_problems(
    workers: list[WorkerInfo], address: str, version: str | None = None
) -> list[str]:
    """Why this cluster cannot run this client's batch: no workers, or another vpo-tui."""
    import vpo_tui

    expected = version or vpo_tui.__version__
    if not workers:
        return [f"no Dask workers are connected to {address}"]
    return [
        f"worker {w.address} on {w.host} runs vpo-tui {w.version}, this client {expected}"
        for w in workers
        if w.version != expected
    ]


def resolve_cluster_workers(
    cli_workers: int | None, config_workers: int | None, total_threads: int
) -> WorkerChoice:
    """Files in flight across the cluster: ``--workers`` > config > the cluster's threads."""
    requested = cli_workers if cli_workers is not None else config_workers
    if requested is not None and requested < 1:
        raise WorkerCountError(f"workers must be at least 1, got {requested}")
    workers = requested or max(1, total_threads)
    cap = max(workers, total_threads, 1)
    return WorkerChoice(workers=workers, cap=cap, requested=workers)


@dataclass
class _Waiting:
    """One file in flight, as the client's event loop and its runner thread share it."""

    job: FileJob
    control: FileControl
    lock_name: str  # the cluster-wide lock's name (a realpath: not on the event loop)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: FileResult | None = None
    heard: bool = False  # a progress event came: the front end knows where it runs
    future: Any = None  # the Dask future, once the loop has submitted the file
    refused: Exception | None = None  # why the submission itself failed


class DaskBatch:
    """One batch's connection state: its event topic, its controls, its files in flight."""

    def __init__(self, backend: DaskBackend, engine: EngineFn | None = None) -> None:
        from distributed import Event

        self.backend = backend
        self.engine = engine
        self.names = ControlNames.fresh()
        self.topic = f"vpo-tui-events-{uuid.uuid4().hex}"
        client = backend.client
        self._stop = Event(self.names.stop, client=client)
        self._kill = Event(self.names.kill, client=client)
        self._pause = Event(self.names.pause, client=client)
        self._waiting: dict[str, _Waiting] = {}
        self._unsent: dict[str, _Waiting] = {}  # for the next _submit_unsent, in order
        self._lock = threading.Lock()
        self._folders: set[str] = set()  # where this batch's files are, for the sweep
        self.lost = threading.Event()
        client.subscribe_topic(self.topic, self._on_event)

    def abandoned(self) -> Abandoned | None:
        if not self.lost.is_set():
            return None
        return Abandoned(
            StopReason.CLUSTER_LOST,
            f"lost the Dask scheduler at {self.backend.where}: unfinished files are cancelled",
        )

    def close(self) -> None:
        """Forget the batch's topic; each node removes its own dead temp files."""
        client = self.backend.client
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(self.topic)
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                client.run(sweep_on_worker, sorted(self._folders))

    def _on_event(self, event: Any) -> None:
        """Called on the client's event loop for each worker message."""
        _stamp, message = event
        with self._lock:
            waiting = self._waiting.get(message.get("key"))
        if waiting is None:
            return
        if "progress" in message:
            waiting.heard = True
            with contextlib.suppress(Exception):
                waiting.control.progress(ProgressUpdate(**message["progress"]))
        elif "result" in message:
            host = message.get("host")
            if host and not waiting.heard:  # ended before any progress: say where it ran
                with contextlib.suppress(Exception):
                    waiting.control.progress(ProgressUpdate("lock", 0.0, worker=str(host)))
            with contextlib.suppress(Exception):  # else the future's result is the answer
                waiting.result = pickle.loads(message["result"])
                waiting.done.set()

    # controls: act on every file in flight (not once the scheduler is gone: a call
    # to it would wait for the connection timeout, and there is nothing left to control)
    def _signal(self, *calls: Any) -> None:
        if self.lost.is_set() or not self.backend.connected():
            return
        for call in calls:
            with contextlib.suppress(Exception):
                call()

    def stop(self) -> None:
        self._signal(self._stop.set)

    def kill(self) -> None:
        self._signal(self._stop.set, self._kill.set)

    def pause(self) -> None:
        self._signal(self._pause.set)

    def resume(self) -> None:
        self._signal(self._pause.clear)

    def process(self, job: FileJob, control: FileControl) -> FileResult:
        """The runner's per-file work: run the file on a worker and wait for its result."""
        if self.lost.is_set():
            return _lost_result(job, self.backend)
        key = uuid.uuid4().hex
        waiting = _Waiting(job, control, lock_name_for(job.path))
        with self._lock:
            self._folders.add(str(job.path.parent))
            self._waiting[key] = waiting
            self._unsent[key] = waiting
            first = len(self._unsent) == 1
        try:
            if first:  # a closed loop drops it: the wait below finds the scheduler gone
                self.backend.client.loop.add_callback(self._submit_unsent)
            return self._wait(job, waiting)
        finally:
            with self._lock:
                self._waiting.pop(key, None)
                self._unsent.pop(key, None)

    def _submit_unsent(self) -> None:
        """Submit every file queued since the last call as one graph, on the client's loop.

        Files free their slots in bursts (results come in batched messages), and the
        scheduler's cost is mostly per graph (deserialising it, two hops to its
        offload thread), not per task: one ``map`` for the burst, not a ``submit`` each.
        """
        with self._lock:
            unsent, self._unsent = self._unsent, {}
        if unsent:
            self._submit(list(unsent.items()))

    def _submit(self, files: list[tuple[str, _Waiting]]) -> None:
        """One graph for ``files``; if Dask refuses it, each file alone.

        So one bad file (a job that cannot be pickled) fails only itself, and a
        closing client fails them all.
        """
        try:
            futures = self.backend.client.map(
                process_on_worker,
                [w.job for _k, w in files],
                [k for k, _w in files],
                [w.lock_name for _k, w in files],
                key=[f"vpo-file-{k}" for k, _w in files],
                pure=False,  # not just for the keys: a pure graph is tokenized, every job hashed
                topic=self.topic,
                names=self.names,
                engine=self.engine,
            )
        except Exception as exc:
            if len(files) > 1:
                for one in files:
                    self._submit([one])
                return
            _key, waiting = files[0]
            waiting.refused = exc
            waiting.done.set()
            return
        for (_key, waiting), future in zip(files, futures, strict=True):
            waiting.future = future

    def _wait(self, job: FileJob, waiting: _Waiting) -> FileResult:
        """The file's result: from its event, else from the future once it is done.

        Every task that ends normally sends its result as an event, so the future is
        only looked at every ``_WAIT_S`` for the rest (a worker lost, a task
        cancelled): a done-callback per file would cost a thread hop on the client's
        event loop. (``result(timeout=...)`` in a loop raced with the result's
        arrival under load, and raised from inside Dask.)
        """
        from distributed import KilledWorker

        unreachable_since: float | None = None
        while not waiting.done.wait(_WAIT_S):
            if waiting.future is not None and waiting.future.done():
                break
            if self.backend.connected():
                unreachable_since = None
                continue
            now = time.monotonic()
            unreachable_since = unreachable_since or now
            if now - unreachable_since >= _LOST_AFTER_S:
                self.lost.set()
                return _lost_result(job, self.backend, in_flight=True)
        if waiting.result is not None:
            return waiting.result
        if waiting.refused is not None:
            return self._refused(job, waiting.refused)
        try:
            result = waiting.future.result()
        except KilledWorker as exc:
            return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: worker lost ({exc})")
        except Exception as exc:  # cancelled with the scheduler, or a task error
            if not self.backend.connected() or "cancel" in type(exc).__name__.lower():
                self.lost.set()
                return _lost_result(job, self.backend, exc, in_flight=True)
            return FileResult(
                job.path,
                FileStatus.FAILED,
                error=f"{job.path}: the worker failed: {type(exc).__name__}: {exc}",
            )
        assert isinstance(result, FileResult)
        return result

    def _refused(self, job: FileJob, exc: Exception) -> FileResult:
        """The file never reached the scheduler: the client closing, or a job Dask cannot send."""
        if not self.backend.connected():
            self.lost.set()
            return _lost_result(job, self.backend, exc)
        while isinstance(exc.__cause__, Exception):
            exc = exc.__cause__  # Dask's wrapper repeats the whole graph; the cause says why
        return FileResult(
            job.path,
            FileStatus.FAILED,
            error=f"{job.path}: could not send it to the Dask cluster: {type(exc).__name__}: {exc}",
        )


def _lost_result(
    job: FileJob,
    backend: DaskBackend,
    exc: BaseException | None = None,
    *,
    in_flight: bool = False,
) -> FileResult:
    why = f" ({type(exc).__name__}: {exc})" if exc is not None and str(exc) else ""
    if in_flight:  # its worker cancels it, unless it was already committing
        what = "cancelled while running (the original is untouched, or fully converted "
        what += "if it was being committed: run the batch again to check)"
    else:
        what = "not started"
    return FileResult(
        job.path,
        FileStatus.CANCELLED,
        error=f"{job.path}: lost the Dask scheduler at {backend.where}{why}; {what}",
    )
