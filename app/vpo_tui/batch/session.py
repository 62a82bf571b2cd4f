"""One batch session under every front end: a request in, a ready batch or a refusal out.

Headless, the app and the watch mode all hand a ``BatchRequest`` to ``prepare`` and
render what comes back, so they cannot drift apart: the policy, the worker count,
threads or a Dask cluster, the history store, start-up recovery, discovery and the
jobs are resolved here once, in the order of the documented exit codes (as
Harlequin's ``query.py`` is the one core its front ends run through).

A ``Refusal`` says why the batch cannot run before any file is touched; a
``Session`` holds what was resolved and makes runners (``session.runner(listener)``),
one per batch: a preview, then the run, then a retry reuse one session.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.batch.backend import Backend, ProcessFn, ThreadsBackend
from vpo_tui.batch.discovery import Discovery, discover
from vpo_tui.batch.events import BatchListener
from vpo_tui.batch.exit_codes import (
    EXIT_INVALID,
    EXIT_MISSING_TOOL,
    EXIT_NOTHING_FOUND,
    EXIT_USAGE,
    exit_code_for,
)
from vpo_tui.batch.recovery import pending_recovery, recover_at_startup
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.batch.workers import WorkerChoice, WorkerCountError, resolve_workers
from vpo_tui.config import Config
from vpo_tui.engine.job import BatchResult, EngineSettings, FileJob, ToolPaths
from vpo_tui.engine.tools import batch_tools_problem
from vpo_tui.executors import THREADS
from vpo_tui.phrasing import console_text, plural
from vpo_tui.policy.load import PolicyError, load_policy
from vpo_tui.policy.model import OnError, Policy
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.pool import StoreError

if TYPE_CHECKING:
    from vpo_tui.batch.cluster.client import DaskBackend

DEFAULT_POLICY = "normalize"


@dataclass(frozen=True)
class BatchRequest:
    """What a user asked for, as every front end's options say it."""

    paths: tuple[Path, ...]
    policy: str = DEFAULT_POLICY  # a built-in policy's name or a TOML file
    workers: int | None = None  # --workers; None: [processing] workers, else 2
    executor: str | None = None  # --executor; None: [processing] executor, else threads
    dry_run: bool = False
    recursive: bool = True
    db: Path | None = None  # --db; None: [paths] database, else the default


class RefusalKind(Enum):
    """Why a batch cannot start; each kind has its documented exit code."""

    USAGE = EXIT_USAGE
    BAD_POLICY = EXIT_INVALID
    MISSING_TOOL = EXIT_MISSING_TOOL
    CLUSTER = EXIT_MISSING_TOOL  # an unreachable or unusable Dask cluster
    NOTHING_FOUND = EXIT_NOTHING_FOUND


@dataclass(frozen=True)
class Refusal:
    """A batch refused before any file is touched: the kind, and what to tell the user.

    ``console`` is ``message`` with paths escaped for a terminal (``--json`` gets the
    plain ``message``). The rest is what was resolved before the refusal (the policy,
    the warnings, what discovery found), for a front end to report as it would for a
    batch that ran.
    """

    kind: RefusalKind
    message: str
    console: str = ""
    policy: Policy | None = None
    workers: int = 0
    executor_note: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    found: Discovery | None = None

    def __post_init__(self) -> None:
        if not self.console:
            object.__setattr__(self, "console", self.message)

    @property
    def exit_code(self) -> int:
        return int(self.kind.value)


@dataclass(frozen=True)
class Plumbing:
    """What a session is built from; each part replaceable (tests, the app's own store)."""

    process: ProcessFn | None = None  # the threads backend's engine; None: the real one
    backend: Callable[[], Backend] | None = None  # where files run; None: threads or the cluster
    check_tools: Callable[[ToolPaths, bool], str | None] = batch_tools_problem
    discover: Callable[..., Discovery] = discover
    cores: int | None = None  # None: this machine's
    store: HistoryStore | None = None  # an open store to use (the app keeps one); None: open one
    # False: run without history rather than open a store (the app's could not open)
    open_store: bool = True
    kill_grace_s: float | None = None  # a cap on the config's (the app quits within 2 s)


def _ignore(_text: str) -> None:
    pass


@dataclass
class Session:
    """A batch ready to run: everything resolved, nothing touched. Close it when done."""

    request: BatchRequest
    config: Config
    policy: Policy
    workers: WorkerChoice
    settings: EngineSettings
    on_error: OnError
    plumbing: Plumbing = field(default_factory=Plumbing)
    store: HistoryStore | None = None
    cluster: DaskBackend | None = None
    executor_name: str = THREADS  # "threads", "local-cluster" or "dask://HOST:PORT"
    executor_note: str | None = None  # where files run, when it is not this machine
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # start-up recovery's
    found: Discovery | None = None
    jobs: list[FileJob] = field(default_factory=list)
    _owns_store: bool = False
    _recovered: set[Path] = field(default_factory=set)  # roots recovered by this session

    @property
    def unreadable(self) -> int:
        """Paths that could not be read: work silently not done, so exit code 1."""
        if self.found is None:
            return 0
        return sum(1 for p in self.found.problems if p.unreadable)

    def jobs_for(self, paths: Sequence[Path], *, dry_run: bool | None = None) -> list[FileJob]:
        dry = self.request.dry_run if dry_run is None else dry_run
        return [FileJob(Path(p), self.policy, self.settings, dry) for p in paths]

    def backend(self) -> Backend:
        """Where the next batch's files run: a fresh backend for each batch."""
        if self.plumbing.backend is not None:
            return self.plumbing.backend()
        if self.cluster is not None:
            from vpo_tui.batch.cluster.client import DaskBatch

            return DaskBatch(self.cluster)
        return ThreadsBackend(self.plumbing.process)

    def runner(
        self,
        listener: BatchListener,
        *,
        jobs: Sequence[FileJob] | None = None,
        workers: int | None = None,
        dry_run: bool | None = None,
    ) -> BatchRunner:
        """A runner for one batch of this session (all its jobs unless ``jobs`` says)."""
        return BatchRunner(
            list(self.jobs if jobs is None else jobs),
            backend=self.backend(),
            workers=workers or self.workers.workers,
            max_workers=self.workers.cap,
            listener=listener,
            on_error=self.on_error,
            dry_run=self.request.dry_run if dry_run is None else dry_run,
            store=self.store,
            policy_name=self.policy.name,
            roots=[Path(p).absolute() for p in self.request.paths],
        )

    def recover(
        self, roots: Sequence[Path] | None = None, *, dry_run: bool | None = None
    ) -> list[str]:
        """Start-up recovery for ``roots`` (the request's paths by default); notes to show.

        Recovery comes before discovery: finishing an interrupted commit removes files
        discovery would queue. A dry run changes nothing: it only says what the next
        real run will clean up.
        """
        paths = list(self.request.paths if roots is None else roots)
        dry = self.request.dry_run if dry_run is None else dry_run
        recursive = self.request.recursive
        if dry:
            pending = pending_recovery(self.store, paths, recursive=recursive).summary()
            return [pending] if pending else []
        # Recovery walks every folder under a root: once per root per session.
        todo = [p for p in paths if p not in self._recovered]
        if not todo:
            return []
        self._recovered.update(todo)
        return recover_at_startup(self.store, todo, recursive=recursive).messages()

    def discover(self, paths: Sequence[Path] | None = None) -> Discovery:
        """The request's files (or ``paths``'), with the config's extensions."""
        return self.plumbing.discover(
            list(self.request.paths if paths is None else paths),
            recursive=self.request.recursive,
            extensions=self.config.processing.extensions,
        )

    def exit_code(self, result: BatchResult) -> int:
        return exit_code_for(result, self.unreadable)

    def close(self) -> None:
        """Close what this session opened (the store it opened, the cluster connection)."""
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            cluster.close()
        if self._owns_store and self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(
    request: BatchRequest,
    config: Config,
    *,
    plumbing: Plumbing | None = None,
    say: Callable[[str], None] = _ignore,
    find_files: bool = True,
) -> Session | Refusal:
    """Everything that can refuse the batch before a file is touched, in exit-code order.

    Workers (usage) → policy (invalid) → the executor: a Dask cluster opened and
    checked, or this machine's tools (missing tool) → paths that do not exist
    (usage) → the history store (a warning if it cannot open) → start-up recovery
    → discovery (nothing found). ``say`` hears notes as they happen (connecting to a
    cluster, recovery); ``find_files=False`` stops before discovery, for a front end
    that finds files itself (a watcher, the app's preview).
    """
    plumbing = plumbing or Plumbing()
    processing = config.processing
    try:
        choice = resolve_workers(
            request.workers, processing.workers, processing.max_workers, cores=plumbing.cores
        )
    except WorkerCountError as exc:
        return Refusal(RefusalKind.USAGE, str(exc))
    try:
        policy = load_policy(request.policy)
    except PolicyError as exc:
        return Refusal(RefusalKind.BAD_POLICY, f"invalid policy: {exc}")
    settings = config.engine_settings()
    if plumbing.kill_grace_s is not None:
        settings = dataclasses.replace(
            settings, kill_grace_s=min(settings.kill_grace_s, plumbing.kill_grace_s)
        )
    session = Session(
        request=request,
        config=config,
        policy=policy,
        workers=choice,
        settings=settings,
        on_error=processing.on_error or policy.on_error,
        plumbing=plumbing,
    )
    try:
        refusal = _prepare(session, say, find_files)
    except BaseException:
        session.close()
        raise
    if refusal is not None:
        session.close()
        return dataclasses.replace(
            refusal,
            policy=policy,
            workers=session.workers.workers,
            executor_note=session.executor_note,
            warnings=tuple(session.warnings),
            notes=tuple(session.notes),
            found=session.found,
        )
    return session


def _prepare(session: Session, say: Callable[[str], None], find_files: bool) -> Refusal | None:
    request, config, plumbing = session.request, session.config, session.plumbing
    executor = request.executor or config.processing.executor
    if executor is not None and executor != THREADS:
        # The files run on the cluster's workers: their tools and version count, not ours.
        refusal = _open_cluster(session, executor, say)
        if refusal is not None:
            return refusal
    else:
        problem = plumbing.check_tools(session.settings.tools, request.dry_run)
        if problem is not None:
            return Refusal(RefusalKind.MISSING_TOOL, problem)
    if session.workers.warning:
        session.warnings.append(session.workers.warning)

    # A mistyped path is a usage error, not a warning a cron job would never read.
    missing = [str(p) for p in request.paths if not os.path.lexists(p)]
    if missing:
        return Refusal(
            RefusalKind.USAGE,
            f"no such file or folder: {', '.join(missing)}",
            f"no such file or folder: {', '.join(map(console_text, missing))}",
        )

    if plumbing.store is not None:
        session.store = plumbing.store
    elif plumbing.open_store:
        try:
            session.store = HistoryStore(request.db or config.paths.database)
            session._owns_store = True
        except StoreError as exc:
            session.warnings.append(f"{exc}; continuing without history or cache")

    if not find_files:
        return None
    session.notes = session.recover()
    session.found = session.discover()
    if not session.found.files:
        given = [str(p) for p in request.paths]
        return Refusal(
            RefusalKind.NOTHING_FOUND,
            f"no video files found in: {', '.join(given)}",
            f"no video files found in: {', '.join(map(console_text, given))}",
        )
    session.jobs = session.jobs_for(session.found.files)
    return None


def _open_cluster(session: Session, executor: str, say: Callable[[str], None]) -> Refusal | None:
    """Connect to (or start) the Dask cluster and check its workers."""
    from vpo_tui.batch.cluster.client import DaskBackend
    from vpo_tui.batch.workers import resolve_workers
    from vpo_tui.executors import ClusterError, parse_executor

    try:
        spec = parse_executor(executor)
    except ValueError as exc:
        return Refusal(RefusalKind.USAGE, f"--executor: {exc}")
    say(f"connecting to {spec} ...")
    try:
        session.cluster = DaskBackend.open(spec, session.config.cluster)
        workers = session.cluster.check()
    except ClusterError as exc:
        return Refusal(RefusalKind.CLUSTER, str(exc))
    request = session.request
    session.workers = resolve_workers(
        request.workers,
        session.config.processing.workers,
        cluster_threads=session.cluster.total_threads(),
    )
    if session.cluster.warning:  # plain TCP to another machine, allowed: said every time
        session.warnings.append(session.cluster.warning)
    session.executor_name = str(spec)
    hosts = sorted({w.host for w in workers})
    session.executor_note = (
        f"running on the Dask cluster at {session.cluster.address}: "
        f"{plural(len(workers), 'worker')} on {', '.join(hosts)}, "
        f"{plural(session.workers.workers, 'file')} at once"
    )
    return None
