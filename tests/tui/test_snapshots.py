"""Snapshots of each screen: fixed size, fixed names (display root), fixed clock, fake engine.

Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at
the SVGs under ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    FIXED_NOW,
    NAMES,
    SIZE,
    SNAPSHOT_ROOT,
    ScriptedEngine,
    fake_services,
    open_probed_preview,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen


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
        await wait_for(pilot, lambda: summary_shown(app), what="summary")

    assert snap_compare(app, terminal_size=SIZE, run_before=finished)
