"""Everything the TUI needs from the layers below, gathered in one injectable bundle.

The app renders events and forwards commands; it never processes media itself.
Tests hand it a fake ``process`` function, a temporary store and a fixed clock
through this bundle; ``default_services`` wires the real engine, runner and store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vpo_tui.batch.events import BatchListener, BatchResult
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileJob, FileResult
from vpo_tui.policy.model import OnError, Policy

ProcessFn = Callable[[FileJob, FileControl | None], FileResult]


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
        process: ProcessFn,
        store: Any,
        max_workers: int,
    ) -> Runner: ...


def _default_runner_factory(
    jobs: Sequence[FileJob],
    *,
    workers: int,
    listener: BatchListener,
    on_error: OnError,
    dry_run: bool,
    process: ProcessFn,
    store: Any,
    max_workers: int,
) -> Runner:
    from vpo_tui.batch.runner import BatchRunner

    runner: Runner = BatchRunner(
        list(jobs),
        workers=workers,
        listener=listener,
        on_error=on_error,
        dry_run=dry_run,
        process=process,
        store=store,
        max_workers=max_workers,
    )
    return runner


def _default_process(job: FileJob, control: FileControl | None = None) -> FileResult:
    from vpo_tui.engine.process import process_file

    return process_file(job, control)


def _default_discover(paths: Sequence[Path]) -> Iterable[Path]:
    from vpo_tui.batch.discovery import discover

    result: Iterable[Path] = discover(list(paths))
    return result


def _default_load_policy(name_or_path: str) -> Policy:
    from vpo_tui.policy.load import load_policy

    return load_policy(name_or_path)


def _default_policy_names() -> list[str]:
    from vpo_tui.policy.load import builtin_policy_names

    return list(builtin_policy_names())


def default_worker_cap() -> tuple[int, str]:
    """Half the CPU cores (at least one), the same rule the batch layer applies."""
    cores = os.cpu_count() or 1
    cap = max(1, cores // 2)
    return cap, f"max {cap}: half of {cores} CPU cores ([processing] max_workers raises it)"


@dataclass(frozen=True)
class Services:
    """The engine, runner, store and clock the app uses; every one replaceable in tests."""

    process: ProcessFn = _default_process
    runner_factory: RunnerFactory = _default_runner_factory
    discover: Callable[[Sequence[Path]], Iterable[Path]] = _default_discover
    load_policy: Callable[[str], Policy] = _default_load_policy
    policy_names: Callable[[], list[str]] = _default_policy_names
    settings: EngineSettings = field(default_factory=EngineSettings)
    store: Any = None  # vpo_tui.store.history.HistoryStore, or None (no history)
    db_path: Path | None = None
    config_path: Path | None = None
    save_theme: Callable[[str], None] | None = None
    worker_cap: tuple[int, str] = field(default_factory=default_worker_cap)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
