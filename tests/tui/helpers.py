"""Shared pieces for the TUI tests: fake services, a fixed library layout, waiting."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import fake_policy
from vpo_tui.policy.model import Policy
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.services import ProcessFn, Services

FIXED_NOW = 1000.0


def fake_load_policy(name: str) -> Policy:
    return Policy(
        name=name,
        description=f"{name}: a test policy that changes nothing real",
        source=f"builtin:{name}",
        digest="d",
    )


def fake_services(process: ProcessFn, **overrides: Any) -> Services:
    """Services with a fake engine and fake policies; discovery and workers are the real ones.

    ``cores=8`` fixes the worker cap at 4 whatever machine the tests run on.
    """
    base: dict[str, Any] = {
        "process": process,
        "load_policy": fake_load_policy,
        "policy_names": lambda: ["fake", "normalize"],
        "cores": 8,
    }
    base.update(overrides)
    return Services(**base)


def touch_library(root: Path, names: Iterable[str]) -> Path:
    """Empty files with video names: enough for a fake engine."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"fake")
    return root


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        # A plain sleep, not pilot.pause(): the app shares this loop and keeps running,
        # and pause() waits up to 30 s on a screen that is going away when the
        # condition is the app's own exit.
        await asyncio.sleep(0.02)


__all__ = ["FIXED_NOW", "fake_policy"]


def dead_pid() -> int:
    """A pid that no process has any more (a child that has been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def leave_an_interrupted_run(
    store: HistoryStore, lib: Path, name: str = "a.mkv"
) -> tuple[Path, int]:
    """What a ``kill -9`` mid-file leaves: a temp file and a ``running`` job of a dead pid.

    Returns the temp file and the old batch's id.
    """
    gone = dead_pid()
    stale = lib / f".{name}.vpo-tmp-{gone}-0123abcd.mkv"
    stale.write_bytes(b"half-written")
    old = store.begin_batch(
        policy_name="fake",
        policy_digest="d",
        policy_source="builtin:fake",
        workers=1,
        dry_run=False,
        total=1,
        roots=[lib],
    )
    job = store.job_started(old, 0, lib / name)
    store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (gone, job))
    return stale, old


async def open_probed_preview(app: Any, pilot: Pilot[Any]) -> Any:
    """Press n on the Pick screen and wait until the preview has probed every file."""
    from vpo_tui.tui.screens.preview import PreviewScreen

    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    preview = app.screen
    assert isinstance(preview, PreviewScreen)
    await wait_for(pilot, lambda: preview.probing_done, what="probed")
    return preview
