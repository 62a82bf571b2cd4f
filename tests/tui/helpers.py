"""Shared pieces for the TUI tests: fake services and engines, a fixed library, waiting.

Test modules import from here (or take the fixtures in ``conftest.py``), never
from each other.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import fake_policy
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.policy.model import Policy
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.request import BatchRequest
from vpo_tui.tui.screens.run import RunScreen
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


SIZE = (120, 40)  # the terminal of most TUI tests


class GateEngine:
    """Each file blocks until ``gate`` opens (or it is killed): deterministic stops."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, job: FileJob, control: FileControl | None) -> FileResult:
        assert control is not None
        with self._lock:
            self.started.append(job.path.name)
        while not self.gate.wait(0.01):
            if control.cancelled:
                return FileResult(job.path, FileStatus.CANCELLED, error="killed")
        return FileResult(job.path, FileStatus.OK, changes=("fake change",))


def request_for(root: Path, workers: int = 2) -> BatchRequest:
    return BatchRequest(
        paths=(root,),
        policy=fake_load_policy("fake"),
        workers=workers,
        dry_run=False,
        display_root=root,
    )


async def start_run(
    app: VpoApp, pilot: Pilot[Any], root: Path, names: list[str], workers: int = 2
) -> RunScreen:
    """Open the run screen on ``names`` under ``root`` (no preview) and return it."""
    app.open_run(request_for(root, workers), [root / n for n in names])
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="run screen")
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


def footer_keys(screen: Any) -> set[str]:
    """The actions the footer offers now (check_action decides)."""
    return {
        active.binding.action
        for active in screen.active_bindings.values()
        if active.binding.show and active.enabled
    }


# A fixed place for the library, because the selected-error detail shows the engine's
# whole error, path included. The files are empty fakes that no engine writes, so
# tests sharing it (xdist) cannot disturb each other.
SNAPSHOT_ROOT = Path(tempfile.gettempdir()) / "vpo-tui-snapshots"
NAMES = [
    "Movies/Already Fine (2021).mkv",
    "Movies/Broken download.mkv",
    "Movies/The Long Walk (2019).mkv",
    "Series/Show S01E01.mkv",
    "Series/Show S01E02.mkv",
    "Series/Show S01E03.mkv",
]


class ScriptedEngine:
    """Outcome by file name; "Show" episodes stop mid-way so the run screen is mid-batch."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def __call__(self, job: FileJob, control: FileControl | None) -> FileResult:
        assert control is not None
        name = job.path.name
        if name.startswith("Broken"):
            return FileResult(
                job.path,
                FileStatus.FAILED,
                error=f"{job.path}: ffprobe cannot read this file (Invalid data found)",
                stderr_tail="[matroska,webm @ 0x1] EBML header parsing failed\nInvalid data",
            )
        if name.startswith("Already"):
            return FileResult(job.path, FileStatus.UNCHANGED)
        changes = ('remove audio 3 (eng, "Director\'s Commentary")', "default audio: eng")
        if job.dry_run:
            return FileResult(job.path, FileStatus.PLANNED, changes=changes)
        if name.startswith("Show"):
            # E01 is an ffmpeg pass (fps known); E02 an mkvmerge pass (percent only).
            fps = 240.0 if "E01" in name else None
            duration = 1320.0 if "E01" in name else 2640.0  # weighs its share of the bar
            control.progress(ProgressUpdate("run", 0.42, fps=fps, eta_s=12, duration_s=duration))
            while not self.gate.wait(0.01):
                if control.cancelled:
                    return FileResult(job.path, FileStatus.CANCELLED, error="killed")
        return FileResult(job.path, FileStatus.OK, changes=changes)


def summary_shown(app: Any) -> bool:
    """The summary is on screen and composed: its scrolled body (last: ``#where``) is
    mounted a moment after the screen itself, so a test waits for that too."""
    from vpo_tui.tui.screens.summary import SummaryScreen

    screen = app.screen
    return isinstance(screen, SummaryScreen) and bool(screen.query("#where"))
