"""The client's side of a cluster batch: the connection, and the per-batch ``Backend``.

* Only the engine's part of a file goes to the cluster. The runner, the history
  store, the probe cache and the listener stay in the client, so history stays in
  the client's database and the front ends see nothing new. The runner's own
  thread pool keeps ``workers`` files in flight; each of its threads queues one
  file and waits for it (``DaskBatch.process``), and the client's event loop
  submits the files queued together as one graph.
* A file's result comes back in the same event stream as its progress (see
  ``worker``); the future's own result is the fallback.
* A worker that dies mid-file is Dask's to reschedule (the engine never touches the
  original before its verified commit, so a rerun is safe); when Dask gives up
  (``KilledWorker``) the file is reported failed, "worker lost". A scheduler that
  goes away ends the batch: unfinished files are cancelled and the run exits 1.
* ``distributed`` is optional (``vpo-tui[cluster]``) and imported only inside
  these functions, when a Dask executor is chosen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.batch.backend import Abandoned
from vpo_tui.batch.cluster.certs import temporary_security
from vpo_tui.batch.cluster.logs import LOG_ENV, route_dask_logs
from vpo_tui.batch.cluster.security import (
    cert_files,
    client_security,
    describe_access,
    insecure_refusal,
    insecure_warning,
)
from vpo_tui.batch.cluster.worker import (
    ControlNames,
    EngineFn,
    lock_name_for,
    process_on_worker,
    sweep_on_worker,
    worker_facts,
)
from vpo_tui.config import ClusterConfig
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate, StopReason
from vpo_tui.executors import LOCAL_CLUSTER, TLS, ClusterError, ExecutorSpec

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster
    from distributed.scheduler import Scheduler

_WAIT_S = 0.25  # how often a waiting client thread looks at the connection
_LOST_AFTER_S = 5.0  # a scheduler unreachable this long is gone
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

    def __init__(
        self,
        client: Client,
        cluster: LocalCluster | None = None,
        *,
        spec: ExecutorSpec,
        access: ClusterConfig | None = None,
        log_path: Path | None = None,
        plain: bool = False,
    ) -> None:
        self.client = client
        self.cluster = cluster
        self.spec = spec
        self.access = access or ClusterConfig()
        self.log_path = log_path  # where Dask's own messages went (None: nowhere)
        self.plain = plain  # a local cluster started without TLS (tests, benchmarks)
        # said every time a plain TCP cluster on another machine is used
        self.warning = insecure_warning(spec) if self.access.allow_insecure else None

    @classmethod
    def open(
        cls,
        spec: ExecutorSpec,
        access: ClusterConfig | None = None,
        *,
        timeout_s: float = 10.0,
        local_tls: bool = True,
    ) -> DaskBackend:
        """Connect to ``tls://`` / ``dask://`` or start a ``local-cluster``.

        ``ClusterError`` says why not, and plain TCP to another machine is refused
        here (unless ``access.allow_insecure``), before anything is opened.
        ``local_tls=False`` starts a local cluster on plain TCP: for tests and the
        benchmark, whose other clients connect to it by its ``dask://`` address.
        """
        access = access or ClusterConfig()
        refusal = insecure_refusal(spec, access)
        if refusal is not None:
            raise ClusterError(refusal)
        files = cert_files(spec, access) if spec.kind == TLS else None
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError(
                f"the {spec} executor needs Dask distributed, not installed here "
                f"({exc}): {install_hint()}"
            ) from None
        log_path = route_dask_logs()
        if spec.kind == LOCAL_CLUSTER:
            security = temporary_security() if local_tls else None
            # a worker killed while holding a file's lock: its lease lapses in seconds
            with dask.config.set(_LOCAL_CLUSTER_CONFIG):
                cluster = LocalCluster(
                    n_workers=spec.processes or 2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # no dashboard wanted; never "8787 in use"
                    silence_logs=40,  # logging.ERROR
                    scheduler_kwargs={"allowed_failures": 1},
                    security=security,
                    protocol="tls://" if local_tls else "tcp://",
                    # each worker process sends its Dask messages to the same file
                    preload=["vpo_tui.batch.cluster.logs"],
                    env={LOG_ENV: str(log_path)} if log_path is not None else {},
                )
            client = Client(cluster, security=security, set_as_default=False)
            _shorter_hops(client, cluster.scheduler)
            return cls(
                client, cluster, spec=spec, access=access, log_path=log_path, plain=not local_tls
            )
        address = spec.address or ""
        _reachable(address, timeout_s)
        tls = client_security(files) if files is not None else None
        try:
            client = Client(address, security=tls, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            hint = ""
            if files is not None:
                hint = f"; is it started with the certificates in {files.folder}?"
            raise ClusterError(
                f"cannot connect to the Dask scheduler at {spec}: {_one_line(exc)}{hint}"
            ) from None
        _shorter_hops(client)
        return cls(client, spec=spec, access=access, log_path=log_path)

    @property
    def access_note(self) -> str:
        """Whether the connection is encrypted and authenticated, in words."""
        return describe_access(self.spec, self.access, plain=self.plain)

    @property
    def where(self) -> str:
        """The scheduler as the user named it (no network call: it may be gone)."""
        return self.spec.address or str(self.spec)

    @property
    def address(self) -> str:
        scheduler = self.client.scheduler
        return str(scheduler.address) if scheduler is not None else self.where

    def workers(self, *, tools: bool = True) -> list[WorkerInfo]:
        """Each worker's address, host, threads, vpo-tui version and (``tools``) tools."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        # on_error="return": a node without vpo-tui (or an old one) is reported, not raised
        found = self.client.run(worker_facts, *(() if tools else (False,)), on_error="return")
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


def _reachable(address: str, timeout_s: float) -> None:
    """Fail at once when nothing listens there, instead of Dask's silent retries.

    Dask retries a refused connection until its timeout and then says "Timed
    out"; a plain TCP connect tells "refused" (no scheduler on that port) from
    "no answer" (a wrong address, a firewall) at once.
    """
    host, _sep, port = address.split("://", 1)[-1].rpartition(":")
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        raise ClusterError(
            f"nothing is listening at {where} (connection refused): "
            "is the Dask scheduler running there, on that port?"
        ) from None
    except socket.gaierror as exc:
        raise ClusterError(f"cannot find the host {host!r} ({exc.strerror})") from None
    except TimeoutError:
        raise ClusterError(
            f"no answer from {where} within {timeout_s:g} s (a wrong address, or a firewall?)"
        ) from None
    except OSError as exc:
        raise ClusterError(f"cannot reach {where}: {exc.strerror or exc}") from None


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def install_hint() -> str:
    """The command that installs the cluster extra where this vpo-tui runs from.

    A checkout (``make install``, ``make demo``) runs from its own venv: the
    ``pip`` on PATH is somebody else's.
    """
    root = Path(__file__).resolve().parents[4]
    if (root / "pyproject.toml").is_file() and (root / "Makefile").is_file():
        pip = f"{sys.executable} -m pip install -e '{root}[cluster]'"
        return f"run `make cluster` in {root} (or: {pip})"
    return f"{sys.executable} -m pip install 'vpo-tui[cluster]'"


_HOP_S = 0.002  # what Dask's workers use towards the scheduler, and it towards clients


def _shorter_hops(client: Client, scheduler: Scheduler | None = None) -> None:
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


@dataclass
class _Waiting:
    """One file in flight, as the client's event loop and its runner thread share it."""

    job: FileJob
    control: FileControl
    lock_name: str  # the cluster-wide lock's name (a realpath: not on the event loop)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: FileResult | None = None
    heard: bool = False  # a progress event came: the front end knows where it runs
    future: Future[FileResult] | None = None  # once the loop has submitted the file
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
        log = self.backend.log_path
        return Abandoned(
            StopReason.CLUSTER_LOST,
            f"lost the Dask scheduler at {self.backend.where}: unfinished files are cancelled"
            + (f" (Dask's messages: {log})" if log is not None else ""),
        )

    def close(self) -> None:
        """Forget the batch's topic; each node removes its own dead temp files."""
        client = self.backend.client
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(self.topic)
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                client.run(sweep_on_worker, sorted(self._folders))

    def _on_event(self, event: tuple[float, Mapping[str, object]]) -> None:
        """Called on the client's event loop for each worker message."""
        _stamp, message = event
        with self._lock:
            waiting = self._waiting.get(str(message.get("key")))
        if waiting is None:
            return
        progress = message.get("progress")
        if isinstance(progress, dict):
            waiting.heard = True
            with contextlib.suppress(Exception):
                waiting.control.progress(ProgressUpdate(**progress))
        elif isinstance(raw := message.get("result"), bytes):
            host = message.get("host")
            if host and not waiting.heard:  # ended before any progress: say where it ran
                with contextlib.suppress(Exception):
                    waiting.control.progress(ProgressUpdate("lock", 0.0, worker=str(host)))
            with contextlib.suppress(Exception):  # else the future's result is the answer
                waiting.result = pickle.loads(raw)
                waiting.done.set()

    # controls: act on every file in flight (not once the scheduler is gone: a call
    # to it would wait for the connection timeout, and there is nothing left to control)
    def _signal(self, *calls: Callable[[], object]) -> None:
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
            loop = self.backend.client.loop
            if first and loop is not None:  # a closed loop drops it: the wait below
                loop.add_callback(self._submit_unsent)  # finds the scheduler gone
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
        if waiting.future is None:  # pragma: no cover - the loop ends with one or the other
            raise RuntimeError(f"{job.path}: no result and no future")
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
