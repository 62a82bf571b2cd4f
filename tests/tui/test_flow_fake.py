"""The whole flow on a fake engine: pick → preview → run → summary, and the controls."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_services, summary_shown, touch_library, wait_for
from vpo_tui.engine.job import FileStatus
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.summary import SummaryScreen

SIZE = (120, 40)


async def test_pick_preview_run_summary(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "library", ["a.mkv", "b.mkv", "c.mp4", "notes.txt"])
    engine = FakeEngine(duration=0.05, outcomes={"b.mkv": FileStatus.FAILED})
    app = VpoApp(services=fake_services(engine), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="probing")
        assert [r.name for r in preview.rows] == ["a.mkv", "b.mkv", "c.mp4"]
        assert all(r.state == "will change" for r in preview.rows if r.name != "b.mkv"), [
            (r.name, r.state, r.result) for r in preview.rows
        ]
        await pilot.press("down", "x")  # exclude b.mkv
        assert not preview.rows[1].included
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        assert summary.result.totals["ok"] == 2
        # dry-run probes for all three, then the real run without the excluded file
        assert sorted(c.path.name for c in engine.calls) == [
            "a.mkv",
            "a.mkv",
            "b.mkv",
            "c.mp4",
            "c.mp4",
        ]
        run = app.last_run
        assert [r.status for r in run.model.rows] == ["ok", "ok"]
