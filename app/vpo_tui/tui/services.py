"""What the TUI needs from the layers below: the seams it is built from, and its session.

The app assembles no batch itself: ``start_session`` hands the start-up choices
to ``vpo_tui.batch.session.prepare`` (the one every front end calls), and each
batch the user then starts (a preview, a run, a retry) is that session narrowed
to the policy, paths and dry-run picked on screen (``for_batch``). Tests hand
the app a fake engine, a temporary store and a fixed clock through ``Services``,
which become the session's ``Plumbing``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vpo_tui.batch.backend import Backend
from vpo_tui.batch.discovery import Discovery, discover
from vpo_tui.batch.events import BatchListener, BatchResult
from vpo_tui.batch.session import (
    DEFAULT_POLICY,
    BatchRequest,
    Plumbing,
    Refusal,
    RefusalKind,
    Session,
    prepare,
)
from vpo_tui.batch.workers import cpu_cores
from vpo_tui.config import Config, save_ui_theme
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, KnownProbe, ToolPaths
from vpo_tui.engine.tools import batch_tools_problem
from vpo_tui.policy.load import builtin_policy_names, load_policy
from vpo_tui.policy.model import OnError, Policy
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.pool import StoreError
from vpo_tui.tui.request import BatchRequest as PickedBatch

ProcessFn = Callable[[FileJob, FileControl], FileResult]

# Quitting must finish within 2 s: a tool gets at most one second to honour TERM.
TUI_KILL_GRACE_S = 1.0


class Runner(Protocol):
    """The part of ``vpo_tui.batch.runner.BatchRunner`` the TUI drives."""

    def run(self) -> BatchResult: ...
    def stop(self) -> None: ...
    def kill(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def set_workers(self, n: int) -> int: ...


def _builtin_names() -> list[str]:
    return list(builtin_policy_names())


def _no_tool_check(_tools: ToolPaths, _dry_run: bool) -> str | None:
    return None


@dataclass(frozen=True)
class Services:
    """The seams of the app: the session's plumbing, and what only a screen needs."""

    process: ProcessFn | None = None  # the threads engine; None: the real one
    backend: Callable[[], Backend] | None = None  # where files run; None: threads or cluster
    load_policy: Callable[[str], Policy] = load_policy
    policy_names: Callable[[], list[str]] = _builtin_names
    config: Config = dataclasses.field(default_factory=Config)
    recursive: bool = True  # --no-recursive
    store: HistoryStore | None = None  # None: history is off (the database could not open)
    store_problem: str | None = None  # why there is no store, shown to the user
    save_theme: Callable[[str], object] | None = None
    cores: int | None = None  # None: this machine's (tests fix it)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    discover_files: Callable[..., Discovery] = discover
    # (tool paths, dry run) -> why the batch is refused, as headless says it, or None
    check_tools: Callable[[ToolPaths, bool], str | None] = batch_tools_problem

    @property
    def db_path(self) -> Path | None:
        return self.store.path if self.store is not None else None

    def plumbing(self) -> Plumbing:
        """The session's parts: the app's store (or none), its engine, a 1 s kill grace.

        Tools are not checked when the session opens: the app opens anyway and says
        what is missing, and refuses a batch only when one is started (``missing_tools``).
        """
        return Plumbing(
            process=self.process,
            backend=self.backend,
            check_tools=_no_tool_check,
            discover=self.discover_files,
            cores=self.cores,
            store=self.store,
            open_store=False,  # the app opened its own (``open_services``) or has none
            kill_grace_s=TUI_KILL_GRACE_S,
        )

    def missing_tools(self, session: Session, *, dry_run: bool) -> str | None:
        """Headless's refusal for a missing tool (config [tools] or PATH), or None.

        On a Dask cluster the workers' tools count, checked when the cluster opened.
        """
        if session.cluster is not None:
            return None
        return self.check_tools(session.settings.tools, dry_run)

    def cap_reason(self, session: Session) -> str:
        """Why the worker count stops where it does, in the words shown next to it."""
        cap = session.workers.cap
        if session.cluster is not None:
            return f"max {cap}: the worker threads of the Dask cluster {session.executor_name}"
        max_workers = self.config.processing.max_workers
        if max_workers is not None:
            return f"max {cap}: set by [processing] max_workers = {max_workers}"
        cores = self.cores if self.cores is not None else cpu_cores()
        counted = "1 CPU core" if cores == 1 else f"{cores} CPU cores"
        return f"max {cap}: half of {counted} ([processing] max_workers raises it)"


def start_session(
    services: Services,
    *,
    policy: str = DEFAULT_POLICY,
    workers: int | None = None,
    executor: str | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _text: None,
) -> Session | Refusal:
    """The app's one session, opened before its first screen; refused only as today:
    a bad worker count (exit 2) or an unusable Dask cluster (exit 5).

    A policy that does not load is no reason to refuse: the picker says it is
    invalid and the user chooses another, so the session opens on the default.
    Nothing is recovered or discovered yet: each preview does that for its paths.
    """
    request = BatchRequest(
        paths=(),
        policy=policy,
        workers=workers,
        executor=executor,
        dry_run=dry_run,
        recursive=services.recursive,
    )
    plumbing = services.plumbing()
    prepared = prepare(request, services.config, plumbing=plumbing, say=say, find_files=False)
    if isinstance(prepared, Refusal) and prepared.kind is RefusalKind.BAD_POLICY:
        request = dataclasses.replace(request, policy=DEFAULT_POLICY)
        prepared = prepare(request, services.config, plumbing=plumbing, say=say, find_files=False)
    return prepared


def for_batch(session: Session, picked: PickedBatch) -> Session:
    """The app's session narrowed to one batch: the paths, policy and dry run picked.

    It shares the session's store, cluster connection and the roots already
    recovered; the app's session closes them, never this one.
    """
    policy = picked.policy
    request = dataclasses.replace(
        session.request,
        paths=picked.paths,
        policy=policy.source or policy.name,
        workers=picked.workers,
        dry_run=picked.dry_run,
    )
    return dataclasses.replace(
        session,
        request=request,
        policy=policy,
        on_error=session.config.processing.on_error or policy.on_error,
        found=None,
        jobs=[],
    )


def preview_runner(
    batch: Session, paths: Sequence[Path], workers: int, listener: BatchListener
) -> Runner:
    """A dry run of ``paths`` that is no batch: a failure never stops it, and nothing
    of it goes into the history."""
    probe = dataclasses.replace(batch, on_error=OnError.SKIP, store=None)
    jobs = probe.jobs_for(paths, dry_run=True)
    return probe.runner(listener, jobs=jobs, workers=workers, dry_run=True)


def run_runner(
    batch: Session,
    paths: Sequence[Path],
    workers: int,
    listener: BatchListener,
    known: Mapping[Path, KnownProbe] | None = None,
) -> Runner:
    """The batch itself; ``known`` holds the preview's probes, which the engine reuses
    for each file that has not changed since."""
    jobs = [
        dataclasses.replace(job, known=found) if (found := (known or {}).get(job.path)) else job
        for job in batch.jobs_for(paths)
    ]
    return batch.runner(listener, jobs=jobs, workers=workers)


def open_services(config: Config, db: Path | None = None, *, recursive: bool = True) -> Services:
    """The real engine, store and config behind the app.

    The database path is resolved as headless resolves it (``--db`` > ``[paths]
    database`` > ``HistoryStore``'s default), and a store that cannot be opened
    is a warning, not a refusal: the batch still runs, without history.
    """
    store: HistoryStore | None = None
    problem: str | None = None
    try:
        store = HistoryStore(db or config.paths.database)
    except StoreError as exc:
        problem = f"{exc}; continuing without history or cache"

    def remember_theme(name: str) -> Path:
        return save_ui_theme(config.source, name)

    return Services(
        config=config,
        recursive=recursive,
        store=store,
        store_problem=problem,
        save_theme=remember_theme,
    )
