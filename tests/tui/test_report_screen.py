"""The report screen: the history's figures and charts, and a failure group run again with r.

Real files and the real engine: two files "failed" earlier (recorded as the runner
records them), the report groups them by cause, ``r`` runs them again, and the
files are probed afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from tests.conftest import AudioSpec, MakeMedia
from tests.tui.helpers import wait_for
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.report import ReportScreen
from vpo_tui.tui.screens.summary import SummaryScreen
from vpo_tui.tui.services import Services

FFPROBE = shutil.which("ffprobe") or "ffprobe"
SIZE = (120, 40)


async def test_a_failure_group_is_shown_and_run_again_with_r(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    two = (AudioSpec("eng", default=True), AudioSpec("ger"))
    files = [make_file(f"{n}.mkv", folder=lib, audio=two) for n in ("a", "b")]
    store = HistoryStore(tmp_path / "h.db")
    batch = store.begin_batch(
        policy_name="normalize",
        policy_digest="x",
        policy_source="builtin:normalize",
        workers=1,
        dry_run=False,
        total=2,
    )
    for i, path in enumerate(files):
        error = f"{path}: stalled: mkvmerge made no progress for 10 min and was stopped"
        failed = FileResult(path, FileStatus.FAILED, error=error, duration_s=600.0)
        store.job_finished(store.job_started(batch, i, path), failed)

    app = VpoApp(services=Services(cores=4, store=store), browse_root=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_report()
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="report")
        report = app.screen
        assert isinstance(report, ReportScreen)
        await wait_for(pilot, lambda: report.report is not None, what="the report")
        summary = str(report.query_one("#report-summary", Static).render())
        assert "0 processed" in summary and "2 failed" in summary
        assert "time spent 0:20:00" in summary
        table = report.query_one("#report-failures", DataTable)
        assert table.row_count == 1
        count, cause = table.get_row_at(0)
        assert count == "2" and cause.startswith("stalled: mkvmerge made no progress")
        assert len(report.query(PlotextPlot)) == 2
        await pilot.press("r")
        await wait_for(
            pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60, what="summary"
        )
        statuses = sorted(row.status for row in app.last_run.model.rows)
        assert statuses == ["ok", "ok"]
    for path in files:
        assert [t.language for t in probe(path, FFPROBE).tracks if t.type.value == "audio"] == [
            "eng"
        ]
    store.close()
