"""Snapshots of each screen: fixed size, fixed names (display root), fixed clock, fake engine.

Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at
the SVGs under ``__snapshots__`` before committing them.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import FakeEngine
from tests.tui.helpers import FIXED_NOW, fake_services, open_probed_preview, touch_library, wait_for
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen

SIZE = (120, 40)
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


def make_app(tmp_path: Path, process: Any, **kwargs: Any) -> tuple[VpoApp, Path]:
    lib = touch_library(SNAPSHOT_ROOT / "library", NAMES)
    services = fake_services(process, clock=lambda: FIXED_NOW)
    app = VpoApp(
        services=services,
        paths=[lib / "Movies"],
        policy="normalize",
        browse_root=lib,
        display_root=lib,
        **kwargs,
    )
    return app, lib


def test_pick_screen(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, FakeEngine())
    assert snap_compare(app, terminal_size=SIZE, press=["down"])


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, FakeEngine())
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"])


def test_preview_screen(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, ScriptedEngine())

    async def probed(pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        await wait_for(pilot, lambda: screen.probing_done, what="probed")
        await pilot.press("down", "down")  # show the changes of The Long Walk

    assert snap_compare(app, terminal_size=SIZE, run_before=probed)


def test_run_screen_mid_batch(snap_compare: Any, tmp_path: Path) -> None:
    engine = ScriptedEngine()
    lib = touch_library(SNAPSHOT_ROOT / "library", NAMES)
    now = [FIXED_NOW]
    app = VpoApp(
        services=fake_services(engine, clock=lambda: now[0]),
        paths=[lib],
        policy="normalize",
        workers=2,
        browse_root=lib,
        display_root=lib,
    )

    async def mid_batch(pilot: Pilot[Any]) -> None:
        await open_probed_preview(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="run")
        run = app.screen
        assert isinstance(run, RunScreen)
        await wait_for(
            pilot,
            lambda: run.model.active == 2 and all(r.fraction for r in run.model.rows[3:5]),
            what="two episodes running",
        )
        now[0] += 30  # half a minute in: the bar and the ETA count the running files
        await pilot.press("down", "l")  # the broken file, with the error log open
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=mid_batch)
    engine.gate.set()


def test_summary_screen(snap_compare: Any, tmp_path: Path) -> None:
    engine = ScriptedEngine()
    engine.gate.set()
    app, _ = make_app(tmp_path, engine)

    async def finished(pilot: Pilot[Any]) -> None:
        await open_probed_preview(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="summary")

    assert snap_compare(app, terminal_size=SIZE, run_before=finished)
