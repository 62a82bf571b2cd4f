"""What a new user meets in the second hour (issue 17): focus that reaches every control
and never wraps into Kill, a path box that lets go, esc and the footer agreeing during a
run, no "0 fps" (fake engines, Pilot)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    GateEngine,
    fake_services,
    footer_keys,
    open_probed_preview,
    start_run,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.batch.events import BatchStarted, FileFinished, FileProgress, FileStarted
from vpo_tui.engine.job import FileResult, FileStatus, ProgressUpdate
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.run_state import RUNNING, FileRow, RunModel
from vpo_tui.tui.screens.dialogs import ConfirmKill
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import PickScreen
from vpo_tui.tui.screens.run import AggregateLine


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


async def test_r_runs_what_the_filter_shows_and_choices_survive_esc_and_n(
    tmp_path: Path,
) -> None:
    names = ["Show S01E01.mkv", "Show S01E02.mkv", "Show S01E03.mkv", "Film.mkv", "Other.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    engine.gate.set()
    app = VpoApp(services=fake_services(engine), paths=[root], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_probed_preview(app, pilot)
        await pilot.press("slash", *"Show", "enter")
        await pilot.press("x")  # exclude the first shown: S01E01
        await pilot.pause()
        count = str(preview.query_one("#preview-count", Static).render())
        assert "filter “Show”: 3 shown" in count
        assert "press r to run the 2 files shown" in count, count
        # esc back to the pick screen, n again: the exclusion and the filter are still there
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
        again = await open_probed_preview(app, pilot)
        assert again is not preview
        await pilot.pause()
        assert again.table.filter_text == "Show"
        assert [r.name for r in again.rows if not r.included] == ["Show S01E01.mkv"]
        assert "press r to run the 2 files shown" in str(
            again.query_one("#preview-count", Static).render()
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        run = app.last_run
        assert run is not None
        assert sorted(p.name for p in run.paths) == ["Show S01E02.mkv", "Show S01E03.mkv"]
        assert run.model.result is not None and len(run.model.result.files) == 2


async def test_paused_time_is_left_out_of_the_run_screen_and_the_summary_alike(
    tmp_path: Path,
) -> None:
    names = ["a.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    now = [0.0]
    app = VpoApp(services=fake_services(engine, clock=lambda: now[0]), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        now[0] = 20.0
        await pilot.press("p")
        now[0] = 320.0  # five minutes paused
        await pilot.press("p")
        now[0] = 330.0
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        title = str(app.screen.query_one("#title", Static).render())
        assert "finished in 0:30 " in title, title
        assert "elapsed 0:30" in run.query_one("#aggregate", AggregateLine).text


async def test_after_a_stop_the_run_screen_says_stopped_and_the_bar_is_full(
    tmp_path: Path,
) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        await pilot.press("s")
        await pilot.pause(0.2)
        bar = run.query_one("#aggregate", AggregateLine)
        assert bar.banner.startswith("STOPPING") and bar.note == "cancelled files left out"
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is run, what="run table")
        assert bar.text.startswith("Stopped: 1/3 files, 2 cancelled"), bar.text
        assert "Finished" not in bar.text
        assert (bar.fraction, bar.note, bar.banner) == (1.0, "", "")
        assert "100%" in str(bar.render())


def test_the_batch_eta_is_never_shorter_than_a_running_files_own() -> None:
    paths = [Path(f"/lib/{n}.mkv") for n in "ab"]
    model = RunModel.for_paths(paths, Path("/lib"))
    model.apply(BatchStarted(total=2, workers=2, dry_run=False, policy_name="p"), 0.0)
    model.apply(FileStarted(paths[0], 0), 0.0)
    model.apply(FileStarted(paths[1], 1), 0.0)
    # a quick file almost done, a slow one that says it needs ten minutes more
    model.apply(FileProgress(paths[0], ProgressUpdate("run", 0.99, eta_s=1.0)), 10.0)
    model.apply(FileProgress(paths[1], ProgressUpdate("run", 0.9, eta_s=600.0)), 10.0)
    assert model.eta(10.0) == 600.0  # the pace alone says about a second
    assert model.eta(70.0) == 540.0  # a minute later: its own ETA, less that minute
    model.apply(FileFinished(FileResult(paths[1], FileStatus.OK), 1), 80.0)
    assert (model.eta(80.0) or 0) < 10.0  # the slow one is done: the pace again


async def test_on_a_cluster_the_screens_name_the_executor(tmp_path: Path) -> None:
    names = ["a.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    engine.gate.set()
    app = VpoApp(services=fake_services(engine), paths=[root], policy="fake")
    # Where files run is the session's (a real cluster is opened by run_tui); the worker
    # cap's wording follows the session's cluster, so a stand-in is enough for the words.
    app.session.executor_name = "tls://scheduler.lan:8786"
    app.session.cluster = object()  # type: ignore[assignment]
    async with app.run_test(size=SIZE) as pilot:
        cap = str(app.screen.query_one("#workers-cap", Static).render())
        assert "tls://scheduler.lan:8786" in cap and "CPU cores" not in cap, cap
        app.session.cluster = None  # the batch itself runs on the fake engine
        preview = await open_probed_preview(app, pilot)
        title = str(preview.query_one("#title", Static).render())
        assert "on the Dask cluster tls://scheduler.lan:8786" in title, title
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        run = app.last_run
        assert run is not None
        assert "on the Dask cluster tls://scheduler.lan:8786" in str(
            run.query_one("#title", Static).render()
        )


async def test_on_this_machine_the_screens_say_so(tmp_path: Path) -> None:
    root = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[root], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        assert "CPU cores" in str(app.screen.query_one("#workers-cap", Static).render())
        preview = await open_probed_preview(app, pilot)
        assert "2 workers on this machine" in str(preview.query_one("#title", Static).render())


async def test_at_80x24_the_run_and_summary_footers_keep_quit_and_help(tmp_path: Path) -> None:
    from textual.widgets._footer import FooterKey

    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=(80, 24)) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        await pilot.pause()
        shown = {key.key: key.region for key in run.query(FooterKey)}
        palette = shown.pop("ctrl+p")  # docked on the right, over whatever is under it
        for key in ("s", "k", "p", "q", "question_mark"):
            assert key in shown and 0 < shown[key].right <= palette.x, (key, shown)
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.pause()
        shown = {key.key: key.region for key in app.screen.query(FooterKey)}
        palette = shown.pop("ctrl+p")
        for key in ("n", "escape", "q", "question_mark"):
            assert key in shown and 0 < shown[key].right <= palette.x, (key, shown)
