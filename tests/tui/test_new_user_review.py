"""Fixes from a new user's review: a retry weighs its files by their probed duration,
a missing tool is said at once and refuses the run, the summary offers a retry only
when there is one, and the policy list has its own key (fake engines, Pilot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_services, touch_library, wait_for
from tests.tui.test_first_hour import footer_keys
from vpo_tui.engine.job import FileStatus
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.summary import SummaryScreen

SIZE = (120, 40)


async def _run_to_summary(app: VpoApp, pilot: Pilot[Any]) -> SummaryScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    preview = app.screen
    assert isinstance(preview, PreviewScreen)
    await wait_for(pilot, lambda: preview.probing_done, what="probed")
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="summary")
    summary = app.screen
    assert isinstance(summary, SummaryScreen)
    return summary


async def test_the_summary_offers_a_retry_only_when_a_file_failed_or_was_cancelled(
    tmp_path: Path,
) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "b.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake", dry_run=True)
    async with app.run_test(size=SIZE) as pilot:
        summary = await _run_to_summary(app, pilot)
        assert summary.result.totals["planned"] == 2
        assert "retry" not in footer_keys(summary)
        assert not summary.query(".hint")  # nor the line that says what r does

    lib2 = touch_library(tmp_path / "lib2", ["a.mkv", "b.mkv"])
    engine = FakeEngine(outcomes={"b.mkv": FileStatus.FAILED})
    app = VpoApp(services=fake_services(engine), paths=[lib2], policy="fake", dry_run=True)
    async with app.run_test(size=SIZE) as pilot:
        summary = await _run_to_summary(app, pilot)
        assert summary.result.totals["failed"] == 1
        assert "retry" in footer_keys(summary)


async def test_the_policy_list_has_its_own_key_in_the_footer_and_the_help(tmp_path: Path) -> None:
    from textual.widgets import Select

    from vpo_tui.tui.screens.help import HELP_TEXT

    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        select = app.screen.query_one("#policy", Select)
        assert app.screen.marking_tree.has_focus  # type: ignore[attr-defined]
        assert "choose_policy" in footer_keys(app.screen)
        await pilot.press("p")
        await wait_for(pilot, lambda: select.expanded, what="the policy list open")
        assert select.has_focus or select.has_focus_within
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: select.value == "normalize", what="normalize chosen")
        await pilot.press("escape")  # back to the tree: ctrl+o reaches the list from anywhere
        await pilot.press("slash")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: select.expanded, what="open again")
    assert "| `p`, `ctrl+o` | Pick |" in HELP_TEXT
