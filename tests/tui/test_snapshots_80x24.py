"""Every screen at 80x24, the smallest usual terminal (issue 17): snapshots, plus the
checks a picture cannot make (what tab scrolls into view, names that stay distinct).

Same fixed library, clock and fake engine as ``test_snapshots.py``. Regenerate with
``pytest tests/tui/test_snapshots_80x24.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    FIXED_NOW,
    NAMES,
    SNAPSHOT_ROOT,
    ScriptedEngine,
    fake_services,
    open_probed_preview,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.batch.events import BatchResult
from vpo_tui.engine.job import FileResult, FileStatus, StopReason
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.text import cut_middle

SMALL = (80, 24)


def make_app(engine: Any, *, marked: str = "Movies", **overrides: Any) -> VpoApp:
    lib = touch_library(SNAPSHOT_ROOT / "library", NAMES)
    return VpoApp(
        services=fake_services(engine, clock=lambda: FIXED_NOW, **overrides),
        paths=[lib / marked] if marked else [lib],
        policy="normalize",
        workers=2,
        browse_root=lib,
        display_root=lib,
    )


def test_pick_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(make_app(FakeEngine()), terminal_size=SMALL, press=["down"])


def test_pick_screen_80x24_tab_reaches_the_preview_button(snap_compare: Any) -> None:
    app = make_app(FakeEngine())

    async def to_the_button(pilot: Pilot[Any]) -> None:
        seen = []
        for _ in range(12):
            await pilot.press("tab")
            await pilot.pause()
            focused = app.focused
            assert focused is not None
            seen.append(focused.id)
            # whatever has the focus is on screen: the right column scrolls to it
            assert app.screen.region.contains_region(focused.region), focused.id
            if focused.id == "go":
                break
        assert {"workers-less", "dry-run", "go"} <= set(seen), seen

    assert snap_compare(app, terminal_size=SMALL, run_before=to_the_button)


def test_help_screen_80x24(snap_compare: Any) -> None:
    app = make_app(FakeEngine())

    async def scrolled(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help-box")
        assert box.region.width <= SMALL[0]
        assert box.has_focus  # the arrow keys scroll it
        await pilot.press("pagedown")
        await pilot.pause()
        assert box.scroll_y > 0

    assert snap_compare(app, terminal_size=SMALL, run_before=scrolled)


def test_preview_screen_80x24(snap_compare: Any) -> None:
    app = make_app(ScriptedEngine(), marked="")

    async def probed(pilot: Pilot[Any]) -> None:
        await open_probed_preview(app, pilot)
        await pilot.press("down", "down")

    assert snap_compare(app, terminal_size=SMALL, run_before=probed)


def _run_to_mid_batch(app: VpoApp, now: list[float]) -> Any:
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
        now[0] += 30
        await pilot.press("s")  # the stopping banner must leave the bar in view
        await pilot.pause(0.2)
        # three episodes of one show: cut in the middle, their ends keep them apart
        width = run.table.scrollable_content_region.width
        cells = [run.table.render_line(y).text[:21] for y in range(4, 7)]
        assert len(set(cells)) == 3 and width < 100, cells
        assert [c.rstrip()[-7:] for c in cells] == ["E01.mkv", "E02.mkv", "E03.mkv"], cells

    return mid_batch


def test_run_screen_80x24_stopping(snap_compare: Any) -> None:
    engine = ScriptedEngine()
    now = [FIXED_NOW]
    lib = touch_library(SNAPSHOT_ROOT / "library", NAMES)
    app = VpoApp(
        services=fake_services(engine, clock=lambda: now[0]),
        paths=[lib],
        policy="normalize",
        workers=2,
        browse_root=lib,
        display_root=lib,
    )
    assert snap_compare(app, terminal_size=SMALL, run_before=_run_to_mid_batch(app, now))
    engine.gate.set()


def test_summary_screen_80x24(snap_compare: Any) -> None:
    engine = ScriptedEngine()
    engine.gate.set()
    app = make_app(engine, marked="")

    async def finished(pilot: Pilot[Any]) -> None:
        await open_probed_preview(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")

    assert snap_compare(app, terminal_size=SMALL, run_before=finished)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _history_store() -> HistoryStore:
    """A store at a fixed place (its path is in the title) with three batches."""
    folder = SNAPSHOT_ROOT / "history-80x24"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = HistoryStore(folder / "history.sqlite3")
    lib = SNAPSHOT_ROOT / "library"
    endings = (
        ([FileStatus.OK, FileStatus.FAILED], None),
        ([FileStatus.OK, FileStatus.SKIPPED] + [FileStatus.CANCELLED] * 3, StopReason.USER),
        ([FileStatus.OK] * 12 + [FileStatus.UNCHANGED] * 30, None),
    )
    for n, (statuses, reason) in enumerate(endings):
        batch = store.begin_batch(
            policy_name="normalize",
            policy_digest="d",
            policy_source="builtin:normalize",
            workers=2,
            dry_run=False,
            total=len(statuses),
            roots=[lib],
        )
        files = tuple(
            FileResult(lib / "Series" / f"A long show name S01E{i:02d}.mkv", status)
            for i, status in enumerate(statuses, start=1)
        )
        for position, result in enumerate(files):
            store.job_recorded(batch, position, result)
        store.finish_batch(
            batch,
            BatchResult(files, 1.0, reason is not None, 2, False, stop_reason=reason),
        )
        store.pool.execute_write(
            "UPDATE batches SET started_at = ? WHERE id = ?", (1_750_000_000.0 + 3600 * n, batch)
        )
    return store


def test_history_screen_80x24(snap_compare: Any, utc: Any) -> None:
    store = _history_store()
    app = make_app(FakeEngine(), store=store, wall_clock=lambda: 1_750_100_000.0)

    async def history(pilot: Pilot[Any]) -> None:
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        await pilot.pause()
        from textual.widgets import DataTable

        for selector in ("#batches", "#batch-files"):
            table = app.screen.query_one(selector, DataTable)
            assert table.virtual_size.width <= table.scrollable_content_region.width, selector

    try:
        assert snap_compare(app, terminal_size=SMALL, run_before=history)
    finally:
        store.close()


def test_names_are_cut_in_the_middle_and_stay_distinct() -> None:
    names = [f"Series/A long show name S01E0{i}.mkv" for i in (1, 2, 3)]
    cut = [cut_middle(name, 20) for name in names]
    assert len(set(cut)) == 3
    assert all(
        len(c) == 20 and c.endswith(f"E0{i}.mkv") for i, c in zip((1, 2, 3), cut, strict=True)
    )
    assert cut[0].startswith("Series") and "…" in cut[0]
    assert cut_middle("short.mkv", 20) == "short.mkv"
    assert cut_middle("日本語のとても長い名前のファイル.mkv", 15).endswith(".mkv")
