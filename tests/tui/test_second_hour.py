"""What a new user meets in the second hour (issue 17): focus that reaches every control
and never wraps into Kill, a path box that lets go, esc and the footer agreeing during a
run, no "0 fps" (fake engines, Pilot)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    GateEngine,
    fake_services,
    footer_keys,
    start_run,
    touch_library,
    wait_for,
)
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.run_state import RUNNING, FileRow
from vpo_tui.tui.screens.dialogs import ConfirmKill
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import PickScreen


async def test_tab_and_shift_tab_reach_pause_stop_and_kill(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        assert run.table.has_focus
        for key in ("tab", "shift+tab"):
            seen = set()
            for _ in range(8):
                await pilot.press(key)
                seen.add(app.focused.id if app.focused is not None else None)
            assert {"run-pause", "run-stop", "run-kill"} <= seen, (key, seen)
        while app.focused is None or app.focused.id != "run-pause":
            await pilot.press("tab")
        await pilot.press("enter")  # a tabbed-to button works from the keyboard
        assert run.paused
        await pilot.press("p")
        assert not run.paused
        await pilot.click("#run-stop")  # a click leaves the focus where it was
        assert app.focused is not None and app.focused.id == "run-pause"
        engine.gate.set()
        await wait_for(pilot, lambda: run.model.result is not None, what="done")


async def test_k_right_enter_never_kills(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        for keys in (("right", "enter"), ("down", "down", "enter"), ("tab", "tab", "enter")):
            await pilot.press("k")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="dialog")
            await pilot.pause()
            assert app.focused is not None and app.focused.id == "no"
            await pilot.press(*keys)
            await wait_for(pilot, lambda: app.screen is run, what="dialog closed")
            assert run.running and not run.stopping, keys
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="dialog")
        await pilot.press("left", "left", "enter")  # Kill is reached on purpose only
        await wait_for(pilot, lambda: run.model.result is not None, what="killed")
        assert engine.started == ["a.mkv"]


async def test_the_path_box_lets_go_after_enter_marks_a_path(tmp_path: Path) -> None:
    (tmp_path / "films").mkdir()
    app = VpoApp(services=fake_services(FakeEngine()), browse_root=tmp_path, policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#path-input", Input)
        await pilot.press("slash", *f"{tmp_path}/films", "enter")
        pick = app.screen
        assert isinstance(pick, PickScreen)
        assert pick.marking_tree.marked == {tmp_path / "films"}
        assert not box.has_focus and box.value == ""
        assert app.focused is pick.marking_tree
        await pilot.press("h")  # a key again, not a letter in the box
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        # a path that does not exist keeps the box (and the text) to correct it
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
        await pilot.press("slash", "x", "enter")
        assert box.has_focus and box.value == "x"


async def test_esc_during_a_run_is_not_offered_and_goes_back_afterwards(tmp_path: Path) -> None:
    names = ["a.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        assert "back" not in footer_keys(run)
        await pilot.press("escape")
        assert app.screen is run and run.running
        said = [n.message for n in app._notifications]
        assert any(m.startswith("The batch is running: s stops it") for m in said)
        engine.gate.set()
        await wait_for(pilot, lambda: run.model.result is not None, what="done")
        await pilot.pause(0.2)
        await pilot.press("escape")  # the summary
        await wait_for(pilot, lambda: app.screen is run, what="run again")
        await pilot.pause()
        assert "back" in footer_keys(run)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")


def test_no_0_fps_as_a_file_starts() -> None:
    row = FileRow(path=Path("a.mkv"), name="a.mkv", status=RUNNING, stage="run", fps=0.0)
    assert row.rate_text == "writing"
    row.speed = 0.0
    assert "0" not in row.rate_text
    row.fps = 24.0
    assert row.rate_text == "24 fps"
