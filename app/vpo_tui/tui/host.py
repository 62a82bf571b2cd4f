"""What a screen may read from the app it runs in: data down, never a call up.

Screens post messages for what they want done (``navigation`` and their own
nested messages); for what they need to *know* (the services, the start-up
choices, the worker cap) they see the app only through ``Host``. So no screen
imports the app, and the app is the only module that imports every screen.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol, cast

from textual.dom import DOMNode
from textual.widget import Widget

from vpo_tui.batch.session import Session
from vpo_tui.batch.workers import WorkerChoice
from vpo_tui.tui.request import PreviewChoices
from vpo_tui.tui.services import Runner, Services


class RunnerSet:
    """Every runner a screen started, so that none outlives the app.

    A screen adds its runner synchronously, before the runner's thread starts:
    a quit or a SIGTERM a moment later still finds it and kills it.
    """

    def __init__(self) -> None:
        self.active: set[Runner] = set()
        self.threads_done: list[threading.Event] = []  # set when a runner.run() returns

    def add(self, runner: Runner, done: threading.Event) -> None:
        self.active.add(runner)
        self.threads_done.append(done)

    def discard(self, runner: Runner | None) -> None:
        if runner is not None:
            self.active.discard(runner)

    def kill_all(self) -> None:
        for runner in list(self.active):
            runner.kill()

    def wait(self, timeout: float) -> bool:
        """After the app has exited: give killed runners time to record their end."""
        deadline = time.monotonic() + timeout
        return all(done.wait(max(0.0, deadline - time.monotonic())) for done in self.threads_done)


class Host(Protocol):
    """The app as its screens see it (``VpoApp`` satisfies it)."""

    services: Services
    session: Session  # the app's batch session; each batch narrows it (``for_batch``)
    runners: RunnerSet
    browse_root: Path
    display_root: Path | None
    start_paths: list[Path]
    missing_paths: list[Path]
    start_policy: str
    start_dry_run: bool
    worker_choice: WorkerChoice
    # each preview's exclusions and filter, by its marked paths (PreviewChoices)
    preview_memory: dict[tuple[Path, ...], PreviewChoices]

    @property
    def start_workers(self) -> int: ...
    @property
    def worker_cap(self) -> int: ...
    @property
    def worker_cap_text(self) -> str: ...
    @property
    def last_summary_ready(self) -> bool: ...
    def policy_choices(self) -> list[str]: ...
    def add_policy_choice(self, name: str) -> list[str]: ...
    def recent_folders(self) -> list[Path]: ...


def host_of(node: DOMNode) -> Host:
    """The app ``node`` runs in, as a ``Host`` (a screen never needs more of it)."""
    return cast(Host, node.app)


def refuse_for_missing_tools(node: Widget, *, dry_run: bool) -> bool:
    """Refuse a batch as headless does (exit 5 there): True, and the same message."""
    host = host_of(node)
    problem = host.services.missing_tools(host.session, dry_run=dry_run)
    if problem is None:
        return False
    node.notify(problem, title="Cannot run", severity="error", timeout=15, markup=False)
    return True
