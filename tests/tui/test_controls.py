"""Stop, kill, pause, workers and quit-while-running on the run screen (fake engines)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    GateEngine,
    fake_services,
    start_run,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.dialogs import ConfirmKill, QuitWhileRunning


async def test_stop_lets_running_files_finish_and_cancels_the_rest(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv", "d.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names)
        await wait_for(pilot, lambda: run.model.active == 2, what="two running")
        await pilot.press("s")
        assert "STOPPING" in str(run.query_one("#aggregate").render())
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        assert [r.status for r in run.model.rows] == ["ok", "ok", "cancelled", "cancelled"]
        assert engine.started == ["a.mkv", "b.mkv"]
        assert run.model.result is not None and run.model.result.stopped_early


async def test_kill_asks_then_stops_the_running_tool_at_once(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = FakeEngine(spawn=True, spawn_command=("sleep", "30"))
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: len(engine.processes) == 1, what="a tool running")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="confirm")
        await pilot.press("n")  # changed my mind: nothing happens
        assert engine.processes[0].poll() is None
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="confirm")
        started = time.monotonic()
        await pilot.press("y")
        await wait_for(pilot, lambda: run.model.result is not None, timeout=5, what="killed")
        assert time.monotonic() - started < 2.0
        assert [r.status for r in run.model.rows] == ["cancelled"] * 3
        assert all(p.poll() is not None for p in engine.processes)


async def test_pause_and_workers_reach_the_runner(tmp_path: Path) -> None:
    names = [f"f{i}.mkv" for i in range(6)]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="one running")
        await pilot.press("plus")
        await wait_for(pilot, lambda: run.model.active == 2, what="second worker used")
        await pilot.press("p")
        assert run.paused and "PAUSED" in str(run.query_one("#aggregate").render())
        await pilot.press("p")
        assert not run.paused
        await pilot.press("minus", "minus")  # never below 1
        assert run.worker_count == 1
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        assert run.model.counts() == {"ok": 6}


async def test_quit_while_running_kill_now_exits_cleanly(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = FakeEngine(spawn=True, spawn_command=("sleep", "30"))
    app = VpoApp(services=fake_services(engine), browse_root=root)
    threads_before = set(threading.enumerate())
    async with app.run_test(size=SIZE) as pilot:
        await start_run(app, pilot, root, names, workers=2)
        await wait_for(pilot, lambda: len(engine.processes) == 2, what="two tools")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileRunning), what="dialog")
        await pilot.press("escape")  # cancel: keeps running
        assert all(p.poll() is None for p in engine.processes)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileRunning), what="dialog")
        started = time.monotonic()
        await pilot.press("k")
        await wait_for(pilot, lambda: not app.is_running, timeout=3, what="exit")
        assert time.monotonic() - started < 2.0
    assert all(p.poll() is not None for p in engine.processes)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        busy = [t for t in extra if not t.name.startswith("asyncio_")]
        if not busy:
            break
        time.sleep(0.05)
    assert not busy, busy
    ps = subprocess.run(["pgrep", "-f", "sleep 30"], capture_output=True, text=True)
    mine = {str(p.pid) for p in engine.processes}
    assert not (set(ps.stdout.split()) & mine)


async def test_quit_while_running_finish_waits_for_running_files(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileRunning), what="dialog")
        await pilot.press("f")
        await pilot.pause(0.1)
        assert app.is_running  # still finishing a.mkv
        engine.gate.set()
        await wait_for(pilot, lambda: not app.is_running, timeout=5, what="exit")
    assert [r.status for r in run.model.rows] == ["ok", "cancelled", "cancelled"]
    assert engine.started == ["a.mkv"]


async def test_paused_stays_in_view_at_80_columns_after_a_stop(tmp_path: Path) -> None:
    """``Processing: 0/30 files, 28 cancelled [2 active]  elapsed …  ETA paused  PAUSED``
    is longer than 80 columns: PAUSED must not be the part that is cut off."""
    names = [f"file {i:02d}.mkv" for i in range(30)]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=(80, 24)) as pilot:
        run = await start_run(app, pilot, root, names)
        await wait_for(pilot, lambda: run.model.active == 2, what="two running")
        await pilot.press("s")
        await wait_for(pilot, lambda: run.model.cancelled == 28, what="the rest cancelled")
        await pilot.press("p")
        await pilot.pause()
        first = str(run.query_one("#aggregate").render()).splitlines()[0]
        assert run.paused and first.rstrip().endswith("PAUSED"), first
        assert "28 cancelled" in first and "elapsed" in first
        await pilot.press("p")
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
