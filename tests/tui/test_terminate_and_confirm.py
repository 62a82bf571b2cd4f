"""Kill needs a deliberate yes, Stop works while paused, SIGTERM/SIGHUP end the app cleanly."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.fakes import FakeEngine
from tests.tui.helpers import SIZE, fake_services, start_run, summary_shown, touch_library, wait_for
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.dialogs import ConfirmKill


async def test_enter_in_the_kill_dialog_keeps_the_files_running(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = FakeEngine(spawn=True, spawn_command=("sleep", "30"))
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: len(engine.processes) == 1, what="a tool running")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="confirm")
        await pilot.press("enter")  # the focused answer is the harmless one
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmKill), what="closed")
        assert engine.processes[0].poll() is None
        assert run.running and not run.stopping
        await app.action_quit()
        await pilot.press("k")  # quit dialog: kill now
        await wait_for(pilot, lambda: not app.is_running, timeout=5, what="exit")
    assert app.return_value == 130  # the batch was cut short by the user, as Ctrl-C headless


async def test_stop_while_paused_lets_the_running_file_finish(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    # long enough that a loaded machine still pauses a.mkv before it ends on its own
    engine = FakeEngine(spawn=True, spawn_command=("sleep", "2"))
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: len(engine.processes) == 1, what="a tool running")
        await pilot.press("p")
        assert run.paused
        await pilot.press("s")
        assert not run.paused and "PAUSED" not in str(run.query_one("#aggregate").render())
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        assert [r.status for r in run.model.rows] == ["ok", "cancelled", "cancelled"]
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5, what="exit")
    assert app.return_value == 130  # stopped by the user


async def test_sigterm_kills_the_running_files_and_exits_130(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = FakeEngine(spawn=True, spawn_command=("sleep", "30"))
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: len(engine.processes) == 1, what="a tool running")
        app.terminate(signal.SIGTERM)  # what the loop's signal handler calls
        await wait_for(pilot, lambda: not app.is_running, timeout=5, what="exit")
    assert app.return_value == 130  # run_tui returns it as the exit code
    assert all(p.poll() is not None for p in engine.processes)
    assert run.model.result is not None
    assert [r.status for r in run.model.rows] == ["cancelled"] * 3
