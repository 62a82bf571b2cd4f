"""Everything the TUI needs from the layers below, gathered in one injectable bundle.

The app renders events and forwards commands; it never processes media itself.
Tests hand it a fake ``process`` function, a temporary store and a fixed clock
through this bundle; ``open_services`` wires the real engine, runner, store and
config the same way ``vpo_tui.headless`` does, so a batch run from the TUI is
recorded exactly like a headless one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vpo_tui.batch.backend import Backend, ThreadsBackend
from vpo_tui.batch.discovery import Discovery, discover
from vpo_tui.batch.events import BatchListener, BatchResult
from vpo_tui.batch.recovery import pending_recovery, recover_at_startup
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.batch.workers import WorkerChoice, cpu_cores, resolve_workers
from vpo_tui.config import Config, save_ui_theme
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileJob, FileResult, ToolPaths
from vpo_tui.engine.process import process_file
from vpo_tui.engine.tools import batch_tools_problem
from vpo_tui.policy.load import builtin_policy_names, load_policy
from vpo_tui.policy.model import OnError, Policy
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.pool import StoreError

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


class RunnerFactory(Protocol):
    def __call__(
        self,
        jobs: Sequence[FileJob],
        *,
        workers: int,
        listener: BatchListener,
        on_error: OnError,
        dry_run: bool,
        backend: Backend,
        store: HistoryStore | None,
        max_workers: int,
        policy_name: str,
        roots: Sequence[Path],
    ) -> Runner: ...


def _builtin_names() -> list[str]:
    return list(builtin_policy_names())


@dataclass(frozen=True)
class Services:
    """The engine, runner, store, config and clock the app uses; each replaceable in tests."""

    process: ProcessFn = process_file
    runner_factory: RunnerFactory = BatchRunner
    load_policy: Callable[[str], Policy] = load_policy
    policy_names: Callable[[], list[str]] = _builtin_names
    config: Config = field(default_factory=Config)
    recursive: bool = True  # --no-recursive
    store: HistoryStore | None = None  # None: history is off (the database could not open)
    store_problem: str | None = None  # why there is no store, shown to the user
    save_theme: Callable[[str], object] | None = None
    cores: int | None = None  # None: this machine's (tests fix it)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    discover_files: Callable[..., Discovery] = discover
    cluster: Any = None  # a vpo_tui.batch.cluster.client.DaskBackend when files run on Dask
    cluster_threads: int = 0
    # (tool paths, dry run) -> why the batch is refused, as headless says it, or None
    check_tools: Callable[[ToolPaths, bool], str | None] = batch_tools_problem
    # Start-up recovery walks every folder under a root: do it once per root per
    # session (the preview does it before discovery; the batch then has nothing left).
    _recovered: set[Path] = field(default_factory=set, repr=False, compare=False)
    _recovery_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    @property
    def settings(self) -> EngineSettings:
        settings = self.config.engine_settings()
        grace = min(settings.kill_grace_s, TUI_KILL_GRACE_S)
        return dataclasses.replace(settings, kill_grace_s=grace)

    @property
    def db_path(self) -> Path | None:
        return self.store.path if self.store is not None else None

    def missing_tools(self, *, dry_run: bool) -> str | None:
        """Headless's refusal for a missing tool (config [tools] or PATH), or None.

        On a Dask cluster the workers' tools count, checked when the cluster opens.
        """
        if self.cluster is not None:
            return None
        return self.check_tools(self.settings.tools, dry_run)

    def discover(self, paths: Sequence[Path]) -> Discovery:
        """The headless discovery: the config's extensions and the --no-recursive choice."""
        return self.discover_files(
            list(paths),
            recursive=self.recursive,
            extensions=self.config.processing.extensions,
        )

    def on_cluster(self, executor: str) -> Services:
        """These services with files running on the Dask cluster ``executor`` names."""
        from vpo_tui.batch.cluster.client import DaskBackend
        from vpo_tui.batch.cluster.spec import parse_executor

        backend = DaskBackend.open(parse_executor(executor), self.config.cluster)
        try:
            backend.check()
            threads = backend.total_threads()
        except Exception:
            backend.close()
            raise
        return dataclasses.replace(self, cluster=backend, cluster_threads=threads)

    def new_backend(self) -> Backend:
        """Where the next batch's files run: this process's threads, or the Dask cluster."""
        if self.cluster is not None:
            from vpo_tui.batch.cluster.client import DaskBatch

            return DaskBatch(self.cluster)
        return ThreadsBackend(self.process)

    def choose_workers(self, requested: int | None) -> WorkerChoice:
        """``--workers`` > ``[processing] workers`` > 2, capped exactly as headless caps it."""
        processing = self.config.processing
        if self.cluster is not None:
            return resolve_workers(
                requested, processing.workers, cluster_threads=self.cluster_threads
            )
        return resolve_workers(
            requested, processing.workers, processing.max_workers, cores=self.cores
        )

    def cap_reason(self, cap: int) -> str:
        """Why the worker count stops where it does, in the words shown next to it."""
        max_workers = self.config.processing.max_workers
        if max_workers is not None:
            return f"max {cap}: set by [processing] max_workers = {max_workers}"
        cores = self.cores if self.cores is not None else cpu_cores()
        counted = "1 CPU core" if cores == 1 else f"{cores} CPU cores"
        return f"max {cap}: half of {counted} ([processing] max_workers raises it)"

    def recover(self, roots: Sequence[Path], *, dry_run: bool = False) -> list[str]:
        """Start-up recovery before a batch, as headless does it; returns notes to show.

        Each root is recovered once per session; called again, it does nothing.
        A dry run changes nothing: it only says what the next real run will clean up
        (and leaves the roots to be recovered by that run).
        """
        if dry_run:
            pending = pending_recovery(self.store, roots, recursive=self.recursive).summary()
            return [pending] if pending else []
        with self._recovery_lock:
            todo = [Path(r) for r in roots if Path(r) not in self._recovered]
            if not todo:
                return []
            recovery = recover_at_startup(self.store, todo, recursive=self.recursive)
            self._recovered.update(todo)
        return recovery.messages()


def open_services(config: Config, db: Path | None = None, *, recursive: bool = True) -> Services:
    """The real engine, runner, store and config behind the app.

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
