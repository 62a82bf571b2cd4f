"""The app on the real layers: default policy, history store, recovery, discovery,
worker cap from config, theme saved in the config file, causes without the path.

The engine is faked (these are UI tests); store, config, discovery, recovery and
worker resolution are the real ones, on temporary files.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Input, Select, Static

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    dead_pid,
    fake_load_policy,
    fake_services,
    leave_an_interrupted_run,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.config import Config, ProcessingConfig, load_config
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus
from vpo_tui.engine.safety import fingerprint_of, write_journal
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.request import BatchRequest
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import PickScreen
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen
from vpo_tui.tui.services import Services, open_services
from vpo_tui.tui.widgets.error_log import ErrorLog

SIZE = (120, 40)


def cause_engine(job: FileJob, control: FileControl) -> FileResult:
    """``bad*`` files fail with an error that starts with the path, as the engine's do."""
    if job.path.name.startswith("bad"):
        return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: cannot decode frame 3")
    return FileResult(job.path, FileStatus.OK, changes=("default audio: eng",))


def request_for(root: Path) -> BatchRequest:
    return BatchRequest(
        paths=(root,), policy=fake_load_policy("fake"), workers=1, dry_run=False, display_root=root
    )


def text_of(screen: object, selector: str) -> str:
    widget = screen.query_one(selector, Static)  # type: ignore[attr-defined]
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def test_default_policy_is_preselected(tmp_path: Path) -> None:
    """`vpo-tui lib` with no --policy: the CLI's default ("normalize") is chosen."""
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
        assert app.screen.query_one("#policy", Select).value == "normalize"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert preview.request.policy.name == "normalize"


async def test_history_lists_a_batch_run_from_the_tui(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["bad.mkv", "good.mkv"])
    store = HistoryStore(tmp_path / "history.sqlite3")
    app = VpoApp(services=fake_services(cause_engine, store=store), browse_root=tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_run(request_for(lib), [lib / "bad.mkv", lib / "good.mkv"])
            await wait_for(pilot, lambda: summary_shown(app), what="summary")
            await pilot.pause()
            summary = app.screen
            assert isinstance(summary, SummaryScreen)
            batch_id = summary.result.batch_id
            assert batch_id is not None  # the runner recorded it in our store
            assert str(store.path) in text_of(summary, "#where")
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
            history = app.screen
            batches = history.query_one("#batches", DataTable)
            assert batches.row_count == 1
            row = batches.get_row_at(0)
            assert row[0] == str(batch_id) and row[2] == "fake"
            assert (row[4], row[5], row[6]) == ("1", "0", "1")  # ok, unchanged, failed
            files = history.query_one("#batch-files", DataTable)
            cells = [files.get_row_at(i) for i in range(files.row_count)]
            assert [(c[0], c[1]) for c in cells] == [
                (str(lib / "bad.mkv"), "failed"),
                (str(lib / "good.mkv"), "ok"),
            ]
            assert str(cells[0][2]) == "cannot decode frame 3"  # cause, not the path again
            # The pick screen's recent folders come from the store: the batch's root.
            await pilot.press("escape", "escape", "escape")
            await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
            recent = app.screen.query_one("#recent")
            assert [str(o.id) for o in recent.options] == [str(lib)]  # type: ignore[attr-defined]
    finally:
        store.close()
    with HistoryStore(tmp_path / "history.sqlite3") as reopened:
        jobs = reopened.batch_jobs(batch_id)
        assert [(Path(j.path).name, j.status) for j in jobs] == [
            ("bad.mkv", "failed"),
            ("good.mkv", "ok"),
        ]


async def test_recovery_runs_before_the_first_batch(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    store = HistoryStore(tmp_path / "history.sqlite3")
    stale, old = leave_an_interrupted_run(store, lib)
    app = VpoApp(services=fake_services(FakeEngine(), store=store), browse_root=tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_run(request_for(lib), [lib / "a.mkv"])
            await wait_for(pilot, lambda: summary_shown(app), what="summary")
            run = app.last_run
            logged = run.query_one("#error-log", ErrorLog).plain
        assert not stale.exists()
        assert "stale temporary file" in logged and "was interrupted last time" in logged
        assert [j.status for j in store.batch_jobs(old)] == ["interrupted"]
    finally:
        store.close()


async def test_preview_finishes_an_interrupted_container_change_before_discovery(
    tmp_path: Path,
) -> None:
    """A run killed between placing x.mkv and removing x.mp4: the preview must not queue x.mp4."""
    lib = touch_library(tmp_path / "lib", ["x.mp4", "x.mkv"])
    journal = write_journal(
        lib / "x.mp4",
        fingerprint_of((lib / "x.mp4").stat()),
        lib / "x.mkv",
        fingerprint_of((lib / "x.mkv").stat()),
    )
    journal.rename(journal.with_name(journal.name.replace(f"-{os.getpid()}", f"-{dead_pid()}")))
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="probing")
        assert [r.name for r in preview.rows] == ["x.mkv"]
    assert sorted(p.name for p in lib.iterdir()) == ["x.mkv"]


async def test_discovery_uses_config_and_shows_its_problems(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "b.mp4", "sub/c.mkv"])
    (lib / "sub" / "loop").symlink_to(lib)  # a symlink loop
    (lib / "gone.mkv").symlink_to(tmp_path / "nowhere.mkv")  # a dangling link
    config = Config(processing=ProcessingConfig(extensions=(".mkv",)))
    services = fake_services(FakeEngine(), config=config)
    app = VpoApp(services=services, paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="probing")
        assert sorted(r.name for r in preview.rows) == ["a.mkv", "sub/c.mkv"]  # no .mp4
        assert {p.path.name for p in preview.problems} == {"loop", "gone.mkv"}
        shown = text_of(preview, "#preview-problems")
        assert preview.query_one("#preview-problems").display
        assert "2 problems while looking for files" in shown
        assert "symbolic link loop" in shown and "broken symbolic link" in shown
        assert "2 problems finding files" in text_of(preview, "#preview-count")
    # --no-recursive reaches discovery too.
    flat = VpoApp(
        services=dataclasses.replace(services, recursive=False), paths=[lib], policy="fake"
    )
    async with flat.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(flat.screen, PreviewScreen), what="preview")
        preview = flat.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="probing")
        assert [r.name for r in preview.rows] == ["a.mkv"]


async def test_worker_cap_and_warning_come_from_resolve_workers(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    config = Config(processing=ProcessingConfig(workers=2, max_workers=3))
    app = VpoApp(services=fake_services(FakeEngine(), config=config), paths=[lib], workers=9)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
        pick = app.screen
        cap = text_of(pick, "#workers-cap")
        assert "max 3: set by [processing] max_workers = 3" in cap
        assert "9 workers requested (--workers), using 3" in cap  # the warning, visible
        assert any("9 workers requested" in n.message for n in app._notifications)
        assert text_of(pick, "#workers-value") == "3"
        await pilot.click("#workers-more")
        assert text_of(pick, "#workers-value") == "3"  # the cap holds
        await pilot.click("#workers-less")
        assert text_of(pick, "#workers-value") == "2"
    # No --workers: [processing] workers is used, no warning.
    quiet = VpoApp(services=fake_services(FakeEngine(), config=config), paths=[lib])
    assert quiet.start_workers == 2 and quiet.worker_choice.warning is None


async def test_theme_is_saved_in_the_config_file_and_read_back(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("# mine\n[processing]\nworkers = 1\n", encoding="utf-8")
    services = open_services(load_config(config_file), tmp_path / "history.sqlite3")
    services = dataclasses.replace(
        services, process=FakeEngine(), load_policy=fake_load_policy, cores=8
    )
    assert services.store is not None
    try:
        app = VpoApp(services=services, browse_root=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
            assert app.theme != "nord"
            app.theme = "nord"  # what the command palette's "Change theme" does
            await pilot.pause()
    finally:
        services.store.close()
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith("# mine\n[processing]\nworkers = 1\n")  # the rest is kept
    reloaded = load_config(config_file)
    assert reloaded.ui.theme == "nord" and reloaded.processing.workers == 1
    again = VpoApp(services=Services(config=reloaded, load_policy=fake_load_policy, cores=8))
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(again.screen, PickScreen), what="pick")
        assert again.theme == "nord"


async def test_causes_are_shown_without_the_path_except_in_the_detail(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["bad.mkv"])
    app = VpoApp(services=fake_services(cause_engine), browse_root=tmp_path)
    full = f"{lib / 'bad.mkv'}: cannot decode frame 3"
    async with app.run_test(size=SIZE) as pilot:
        app.open_run(request_for(lib), [lib / "bad.mkv"])
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        assert summary.failed == [("bad.mkv", "cannot decode frame 3")]
        await pilot.press("escape")
        run = app.screen
        assert isinstance(run, RunScreen)
        row = run.model.rows[0]
        assert row.result_text == "cannot decode frame 3"
        logged = run.query_one("#error-log", ErrorLog).plain
        assert "cannot decode frame 3" in logged and str(lib) not in logged
        await pilot.press("enter")  # select the row: its whole error, path included
        await pilot.pause()
        assert full in text_of(run, "#error-detail")


def test_open_services_opens_the_store_where_headless_would(tmp_path: Path) -> None:
    db = tmp_path / "from-config.sqlite3"
    services = open_services(Config(paths=dataclasses.replace(Config().paths, database=db)))
    try:
        assert services.db_path == db and db.exists()
    finally:
        assert services.store is not None
        services.store.close()
    explicit = tmp_path / "explicit.sqlite3"
    services = open_services(Config(), explicit)  # --db wins over the config
    try:
        assert services.db_path == explicit
    finally:
        assert services.store is not None
        services.store.close()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    services = open_services(Config(), blocked / "history.sqlite3")
    assert services.store is None and services.store_problem
    assert os.fspath(blocked) in services.store_problem


async def test_tab_takes_the_path_completion(tmp_path: Path) -> None:
    (tmp_path / "Movies Library" / "x").mkdir(parents=True)
    app = VpoApp(services=fake_services(FakeEngine()), browse_root=tmp_path, policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#path-input", Input)
        box.focus()
        await pilot.press(*str(tmp_path / "Mov"))
        await wait_for(pilot, lambda: box._suggestion != "", what="a suggestion")
        await pilot.press("tab")
        assert box.value == f"{tmp_path / 'Movies Library'}/" and box.has_focus
        await wait_for(pilot, lambda: box._suggestion.endswith("/x/"), what="the next one")
        await pilot.press("tab")
        assert box.value == f"{tmp_path / 'Movies Library' / 'x'}/" and box.has_focus
        await pilot.pause(0.2)  # an empty folder: no suggestion comes
        await pilot.press("tab")  # nothing to complete: the box keeps the focus (and the text)
        assert box.has_focus and box.value == f"{tmp_path / 'Movies Library' / 'x'}/"
        box.value = ""
        await pilot.press("tab")  # an empty box is only on the way: tab moves on
        assert not box.has_focus
