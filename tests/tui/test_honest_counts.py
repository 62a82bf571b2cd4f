"""What the preview, summary and history count: every file once, in the right place.

Found by a new-user review: an excluded file still counted as "will change",
skipped files and unsearchable folders missing from the summary, and the history
showing a killed batch as "finished" with its cancelled files in no column.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Static

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    fake_services,
    open_probed_preview,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, StopReason
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.history import HistoryScreen, when_text
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen

SIZE = (120, 40)


def text_of(screen: object, selector: str) -> str:
    widget = screen.query_one(selector, Static)  # type: ignore[attr-defined]
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def plain(renderable: object) -> str:
    """A rich renderable (a Table) as the text a terminal would show."""
    console = Console(width=SIZE[0], record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


class GatedProbe:
    """Dry runs wait for ``gate`` (so a file can be excluded while it is probed);
    ``bad*`` files fail, everything else would change (or is changed: ok)."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def __call__(self, job: FileJob, control: FileControl) -> FileResult:
        if job.dry_run:
            self.gate.wait(10)
        if job.path.name.startswith("bad"):
            return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: cannot decode")
        status = FileStatus.PLANNED if job.dry_run else FileStatus.OK
        return FileResult(job.path, status, changes=("default audio: eng",))


async def test_an_excluded_file_is_counted_as_excluded_only(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "bad.mkv", "c.mkv", "d.mkv"])
    engine = GatedProbe()
    app = VpoApp(services=fake_services(engine), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: len(preview.rows) == 4, what="four rows")
        await pilot.press("x")  # a.mkv, excluded while it is still being probed
        assert text_of(preview, "#preview-count") == "Found 4 files · probed 0/4 · 1 excluded"
        engine.gate.set()
        await wait_for(pilot, lambda: preview.probing_done, what="probed")
        await pilot.pause(0.2)
        assert text_of(preview, "#preview-count") == (
            "Found 4 files · probed 4/4 · 1 excluded — press r to run 3 files: 2 to change, 1 error"
        )
        await pilot.press("down", "x")  # bad.mkv: the error is excluded too
        assert text_of(preview, "#preview-count") == (
            "Found 4 files · probed 4/4 · 2 excluded — press r to run 2 files: 2 to change"
        )
        await pilot.press("up", "x")  # a.mkv back in: will change again
        assert text_of(preview, "#preview-count").endswith("press r to run 3 files: 3 to change")
        await pilot.press("x", "r")  # only the two included files run
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        run = app.last_run
        assert isinstance(run, RunScreen)
        assert [r.name for r in run.model.rows] == ["c.mkv", "d.mkv"]
        assert run.model.aggregate_text(0.0).startswith("Finished: 2/2 files [0 active]")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        assert text_of(summary, "#title").startswith("Summary — 2 files finished in")


async def test_every_file_excluded_says_so(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake", workers=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert "1 worker on this machine, " in text_of(preview, "#title")
        await wait_for(pilot, lambda: preview.probing_done, what="probed")
        await pilot.pause(0.2)
        await pilot.press("x")
        assert text_of(preview, "#preview-count") == (
            "Found 1 file · probed 1/1 · 1 excluded — every file is excluded"
        )


async def test_summary_lists_skipped_files_and_discovery_problems(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "bad.mkv", "locked.mkv"])
    (lib / "loop").symlink_to(lib)  # a folder discovery cannot search
    engine = FakeEngine(outcomes={"bad.mkv": FileStatus.FAILED, "locked.mkv": FileStatus.SKIPPED})
    app = VpoApp(services=fake_services(engine), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await open_probed_preview(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        await pilot.pause()
        assert summary.failed == [("bad.mkv", "fake failure")]
        assert summary.skipped == [("locked.mkv", "locked by another process")]
        shown = plain(summary.query_one("#skipped", Static).content)
        assert "Skipped files (1)" in shown
        assert "locked.mkv" in shown and "locked by another process" in shown
        problems = text_of(summary, "#discovery-problems")
        assert problems.startswith("1 problem while looking for files")
        assert f"{lib / 'loop'}: " in problems and "symbolic link loop" in problems
        # A retry searches no folder: its summary has no discovery problems of its own.
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: summary_shown(app) and app.screen is not summary,
            what="the retry's summary",
        )
        again = app.screen
        assert isinstance(again, SummaryScreen)
        assert again.failed == [("bad.mkv", "fake failure")]
        assert not again.query("#discovery-problems")


def _record(
    store: HistoryStore,
    lib: Path,
    statuses: list[FileStatus],
    reason: str | None,
    dry_run: bool = False,
) -> None:
    from vpo_tui.batch.events import BatchResult

    batch = store.begin_batch(
        policy_name="fake",
        policy_digest="d",
        policy_source="builtin:fake",
        workers=2,
        dry_run=dry_run,
        total=len(statuses),
        roots=[lib],
    )
    files = tuple(FileResult(lib / f"f{i}.mkv", s) for i, s in enumerate(statuses))
    for position, result in enumerate(files):
        store.job_recorded(batch, position, result)
    store.finish_batch(
        batch,
        BatchResult(
            files=files,
            duration_s=1.0,
            stopped_early=reason is not None,
            workers=2,
            dry_run=dry_run,
            stop_reason=StopReason(reason) if reason else None,
        ),
    )


async def test_history_says_stopped_or_killed_and_counts_cancelled_files(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    store = HistoryStore(tmp_path / "history.sqlite3")
    try:
        _record(store, lib, [FileStatus.OK, FileStatus.FAILED], None)
        _record(
            store, lib, [FileStatus.OK, FileStatus.SKIPPED] + [FileStatus.CANCELLED] * 3, "stop"
        )
        _record(store, lib, [FileStatus.CANCELLED] * 9, "kill")
        _record(store, lib, [FileStatus.PLANNED] * 3 + [FileStatus.UNCHANGED], None, True)
        app = VpoApp(services=fake_services(FakeEngine(), store=store), browse_root=tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_history()
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
            await pilot.pause()
            table = app.screen.query_one("#batches", DataTable)
            header = [str(c.label) for c in table.columns.values()]
            assert header[3:] == [
                "files",
                "ok/plan",
                "unchanged",
                "failed",
                "skipped",
                "cancelled",
                "status",
            ]
            rows = [table.get_row_at(i)[3:] for i in range(table.row_count)]  # newest first
            assert rows == [
                ["4", "3", "1", "0", "0", "0", "finished, dry run"],  # planned files counted
                ["9", "0", "0", "0", "0", "9", "killed"],
                ["5", "1", "0", "0", "1", "3", "stopped"],
                ["2", "1", "0", "1", "0", "0", "finished"],
            ]
            # Every column fits a 100-column terminal (the border takes two).
            assert table.virtual_size.width <= table.scrollable_content_region.width
    finally:
        store.close()


def test_history_dates_drop_the_year_only_within_this_year() -> None:
    now = time.mktime((2025, 6, 1, 12, 0, 0, 0, 0, -1))
    assert when_text(time.mktime((2025, 5, 1, 14, 3, 0, 0, 0, -1)), now) == "05-01 14:03"
    assert when_text(time.mktime((2024, 12, 31, 23, 0, 0, 0, 0, -1)), now) == "2024-12-31"
