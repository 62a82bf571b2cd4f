"""What a new user meets in the first hour: the run screen's buttons, a kill dialog
that cannot go stale, a summary that is never lost, an honest bar and clock, a
path box with a key, and the smaller wording fixes (fake engines, Pilot)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, Static

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    GateEngine,
    fake_services,
    footer_keys,
    start_run,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.dialogs import ConfirmKill, QuitWhileRunning
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import PickScreen
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import AggregateLine, RunScreen


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


class ProgressGate(GateEngine):
    """Each file reports its duration and 80 % of its tool pass, then waits for the gate."""

    def __init__(self, durations: dict[str, float]) -> None:
        super().__init__()
        self.durations = durations
        self.reported = threading.Event()
        self._reports = 0

    def __call__(self, job: FileJob, control: FileControl | None) -> FileResult:
        assert control is not None
        duration = self.durations.get(job.path.name)
        control.progress(ProgressUpdate("plan", duration_s=duration))
        control.progress(ProgressUpdate("run", 0.8, speed=2.0, eta_s=5.0))
        with self._lock:
            self._reports += 1
            if self._reports == 2:
                self.reported.set()
        return super().__call__(job, control)


async def test_buttons_are_offered_while_the_batch_runs_and_then_give_way(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="one running")
        pause = run.query_one("#run-pause", Button)
        assert all(run.query_one(f"#run-{n}", Button).display for n in ("pause", "stop", "kill"))
        assert not run.query_one("#run-summary", Button).display
        assert {"stop", "kill", "pause"} <= footer_keys(run)
        assert str(pause.label) == "Pause [p]"
        await pilot.press("enter")  # while running, enter is the table's: the error log opens
        assert app.screen is run and run.query_one("#error-panel").has_class("-open")
        await pilot.press("l")
        await pilot.click("#run-pause")
        assert run.paused and str(pause.label) == "Resume [p]"
        assert "resume" in footer_keys(run) and "pause" not in footer_keys(run)
        await pilot.pause(0.3)  # a button ignores clicks during its 0.2 s press effect
        await pilot.click("#run-pause")
        assert not run.paused and str(pause.label) == "Pause [p]"
        await pilot.click("#run-kill")  # the button asks first, as k does
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="kill question")
        await pilot.press("n")
        await pilot.pause(0.3)
        await pilot.click("#run-stop")
        assert "STOPPING" in str(run.query_one("#aggregate", AggregateLine).render())
        assert run.table.has_focus  # buttons never take the keys away from the table
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is run, what="back on the run table")
        await pilot.pause()
        # The batch has ended: Stop, Kill, Pause are gone, from the buttons and the footer.
        assert not any(
            run.query_one(f"#run-{n}", Button).display for n in ("pause", "stop", "kill")
        )
        assert not {"stop", "kill", "pause", "more_workers"} & footer_keys(run)
        assert "summary" in footer_keys(run)
        await pilot.click("#run-summary")
        await wait_for(pilot, lambda: summary_shown(app), what="summary again")


async def test_the_kill_question_closes_itself_when_the_batch_ends(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=2)
        await wait_for(pilot, lambda: run.model.active == 2, what="two running")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="kill question")
        engine.gate.set()  # both files finish while the question is open
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        assert not any(isinstance(s, ConfirmKill) for s in app.screen_stack)
        assert run.model.counts() == {"ok": 2}  # nothing was killed


async def test_quit_finish_after_the_batch_ended_under_the_question_exits(tmp_path: Path) -> None:
    names = ["a.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitWhileRunning), what="question")
        text = str(app.screen.query_one(".dialog-text", Static).render())
        assert "1 file is still being processed" in text and "Finish it first" in text
        engine.gate.set()
        await wait_for(pilot, lambda: run.model.result is not None, what="batch over")
        await pilot.press("f")
        await wait_for(pilot, lambda: app.return_code is not None, what="the app exits")
    assert app.return_code == 0  # the batch had ended on its own: nothing was cut short


async def test_the_last_summary_stays_reachable_until_a_new_batch(tmp_path: Path) -> None:
    names = ["a.mkv", "bad.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = FakeEngine(outcomes={"bad.mkv": FileStatus.FAILED})
    app = VpoApp(services=fake_services(engine), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        pick = app.screen
        assert isinstance(pick, PickScreen) and "last_summary" not in footer_keys(pick)
        assert "Last batch's summary" not in {c.title for c in app.get_system_commands(pick)}
        run = await start_run(app, pilot, root, names)
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("escape")  # summary → run table
        await wait_for(pilot, lambda: app.screen is run, what="run table")
        await pilot.press("enter")  # ... and back
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("escape", "escape")  # summary → run table → pick
        await wait_for(pilot, lambda: app.screen is pick, what="pick")
        await pilot.pause()
        assert "last_summary" in footer_keys(pick)
        await pilot.press("l")
        await wait_for(pilot, lambda: summary_shown(app), what="from pick")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is pick, what="pick again")
        titles = [c.title for c in app.get_system_commands(pick)]
        assert "Last batch's summary" in titles
        assert titles.count("Help: keys") == 1 and "Keys" not in titles  # one entry, one screen
        next(
            c for c in app.get_system_commands(pick) if c.title == "Last batch's summary"
        ).callback()
        await wait_for(pilot, lambda: summary_shown(app), what="palette")
        await pilot.press("r")  # retry from here: a new run over the pick screen
        await wait_for(
            pilot,
            lambda: summary_shown(app) and app.last_run is not run,
            what="the retry's summary",
        )
        retry = app.screen_stack[-2]  # the run under the retry's summary
        assert isinstance(retry, RunScreen) and app.screen_stack[-3] is pick
        assert [r.name for r in retry.model.rows] == ["bad.mkv"]
        assert app.last_run is retry


async def test_stop_and_kill_summaries_say_which_it_was(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    root = touch_library(tmp_path / "lib", names)
    for key, word, why in (("s", "stopped", "Stopped (s)"), ("k", "killed", "Killed (k)")):
        engine = GateEngine()
        app = VpoApp(services=fake_services(engine), browse_root=root)
        async with app.run_test(size=SIZE) as pilot:
            run = await start_run(app, pilot, root, names, workers=1)
            await wait_for(pilot, lambda run=run: run.model.active == 1, what="running")
            await pilot.press(key)
            if key == "k":
                await wait_for(pilot, lambda app=app: isinstance(app.screen, ConfirmKill))
                await pilot.press("y")
            else:
                engine.gate.set()
            await wait_for(pilot, lambda app=app: summary_shown(app))
            summary = app.screen
            assert text_of(summary, "#title").startswith(f"Summary — 3 files, batch {word} after")
            assert text_of(summary, "#ending").startswith(why)


async def test_the_bar_and_eta_count_running_files_weighted_by_duration(tmp_path: Path) -> None:
    names = ["short.mkv", "long.mkv", "queued.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = ProgressGate({"short.mkv": 10.0, "long.mkv": 30.0})
    now = [0.0]
    app = VpoApp(services=fake_services(engine, clock=lambda: now[0]), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=2)
        await wait_for(pilot, lambda: engine.reported.is_set(), what="two files at 80 %")
        bar = run.query_one("#aggregate", AggregateLine)
        # 80 % of 10 s and of 30 s of media; the queued file weighs the mean (20 s)
        await wait_for(pilot, lambda: abs(bar.fraction - 32 / 60) < 1e-6, what="partial bar")
        assert run.model.done == 0
        now[0] = 8.0  # 32 s of 60 s of media in 8 s: 28 s left at that pace, 7 s
        await wait_for(pilot, lambda: "ETA 0:07" in bar.text, what="an ETA before any file ends")
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        assert bar.fraction == 1.0


async def test_paused_time_is_not_counted_and_the_eta_says_paused(tmp_path: Path) -> None:
    names = ["a.mkv", "b.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = ProgressGate({})
    now = [0.0]
    app = VpoApp(services=fake_services(engine, clock=lambda: now[0]), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=2)
        await wait_for(pilot, lambda: engine.reported.is_set(), what="progress")
        bar = run.query_one("#aggregate", AggregateLine)
        await wait_for(pilot, lambda: bar.fraction > 0.5, what="the progress applied")
        now[0] = 10.0
        await wait_for(pilot, lambda: "elapsed 0:10  ETA 0:02" in bar.text, what="running clock")
        await pilot.press("p")
        now[0] = 100.0  # ninety seconds paused
        await pilot.pause(0.3)
        assert "elapsed 0:10  ETA paused" in bar.text, bar.text
        await pilot.press("p")
        now[0] = 101.0
        await wait_for(pilot, lambda: "elapsed 0:11  ETA 0:03" in bar.text, what="resumed")
        engine.gate.set()
        await wait_for(pilot, lambda: run.model.result is not None, what="done")


async def test_a_missing_path_is_said_at_once_and_never_blamed_on_exclusions(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "no videos here"
    empty.mkdir()
    app = VpoApp(
        services=fake_services(FakeEngine()),
        paths=[tmp_path / "nonexistent", empty],
        policy="fake",
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("nonexistent: no such file or folder" in m for m in said), said
        assert app.screen.marking_tree.marked == {empty}  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="searched")
        await pilot.pause(0.2)
        assert text_of(preview, "#preview-count").endswith("— no video files in the marked paths")
        await pilot.press("r")
        said = [n.message for n in app._notifications]
        assert "Nothing to run: no video files in the marked paths." in said
        assert not any("excluded" in m for m in said)


async def test_the_path_box_has_a_key_and_completes_hidden_names(tmp_path: Path) -> None:
    (tmp_path / ".hidden stuff").mkdir()
    (tmp_path / "visible").mkdir()
    app = VpoApp(services=fake_services(FakeEngine()), browse_root=tmp_path, policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#path-input", Input)
        assert not box.has_focus and "focus_path" in footer_keys(app.screen)
        await pilot.press("slash")
        assert box.has_focus
        await pilot.press(*f"{tmp_path}/")
        await wait_for(pilot, lambda: box._suggestion != "", what="a suggestion")
        assert box._suggestion == f"{tmp_path}/visible/"  # hidden names wait for the dot
        await pilot.press(".")
        await wait_for(pilot, lambda: box._suggestion.endswith("/.hidden stuff/"), what="hidden")
        await pilot.press("tab", "enter")
        assert app.screen.marking_tree.marked == {tmp_path / ".hidden stuff"}  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert not box.has_focus
        await pilot.press("ctrl+l")
        assert box.has_focus


async def test_arrow_keys_move_between_dialog_buttons(tmp_path: Path) -> None:
    app = VpoApp(services=fake_services(FakeEngine()), browse_root=tmp_path, policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ConfirmKill(2))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="dialog")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "no"
        labels = [str(b.label) for b in app.screen.query(Button)]
        assert labels == ["Kill [y]", "Keep running [n]"]  # the keys show on the buttons
        await pilot.press("left")
        assert app.focused is not None and app.focused.id == "yes"
        await pilot.press("right")
        assert app.focused is not None and app.focused.id == "no"


async def test_worker_limits_say_the_cap_and_how_to_raise_it(tmp_path: Path) -> None:
    names = ["a.mkv"]
    root = touch_library(tmp_path / "lib", names)
    engine = GateEngine()
    app = VpoApp(services=fake_services(engine, cores=2), browse_root=root)
    async with app.run_test(size=SIZE) as pilot:
        run = await start_run(app, pilot, root, names, workers=1)
        await wait_for(pilot, lambda: run.model.active == 1, what="running")
        await pilot.press("plus", "minus")
        said = [n.message for n in app._notifications]
        assert (
            "No more workers: max 1: half of 2 CPU cores ([processing] max_workers raises it)"
            in said
        )
        assert "One worker is the fewest (s stops the batch)" in said
        assert not any("between 1 and 1" in m for m in said)
        engine.gate.set()
        await wait_for(pilot, lambda: run.model.result is not None, what="done")


async def test_history_shows_the_whole_cause_of_the_selected_file(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    cause = "cannot decode frame 3: " + "the stream ends in the middle of a packet " * 6 + "END"
    try:
        batch = store.begin_batch(
            policy_name="fake",
            policy_digest="d",
            policy_source="builtin:fake",
            workers=1,
            dry_run=False,
            total=1,
            roots=[tmp_path],
        )
        job = store.job_started(batch, 0, tmp_path / "bad.mkv")
        store.job_finished(
            job,
            FileResult(tmp_path / "bad.mkv", FileStatus.FAILED, error=cause, stderr_tail="tail!"),
        )
        app = VpoApp(services=fake_services(FakeEngine(), store=store), browse_root=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
            await pilot.pause()
            detail = text_of(app.screen, "#job-detail")
            assert cause in detail.replace("\n", "") or cause in detail
            assert "tail!" in detail
    finally:
        store.close()
