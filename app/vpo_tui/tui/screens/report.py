"""The morning report in the app: the figures, a chart per day, failures grouped by cause.

The same numbers as ``vpo-tui report`` (``store.report``), drawn: people would
rather look than read. ``r`` on a failure group asks the app to run that group
again (a message: the app decides which screen runs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from vpo_tui.store.report import Report, build_report, still_failing
from vpo_tui.tui.host import Host, host_of
from vpo_tui.tui.widgets.footer import KeyFooter

SPANS: tuple[tuple[str, float], ...] = (
    ("24 h", 86400.0),
    ("7 days", 7 * 86400.0),
    ("30 days", 30 * 86400.0),
)
_MIB = 1024 * 1024


def summary_text(report: Report, span: str) -> str:
    saved = report.saved_bytes
    space = (
        f"saved {saved / _MIB:,.1f} MiB"
        if saved > 0
        else f"spent {-saved / _MIB:,.1f} MiB"
        if saved < 0
        else "no change in size"
    )
    hours, rest = divmod(round(report.time_spent_s), 3600)
    return (
        f"Last {span}: {report.processed} processed, {report.unchanged} unchanged, "
        f"{report.failed} failed, {report.skipped} skipped — {space} — "
        f"time spent {hours}:{rest // 60:02d}:{rest % 60:02d}"
    )


class ReportScreen(Screen[None]):
    DEFAULT_CSS = """
    ReportScreen #report-summary { height: auto; padding: 0 1; }
    ReportScreen #report-charts { height: 16; }
    ReportScreen #report-charts PlotextPlot { width: 1fr; }
    ReportScreen #report-failures { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("s", "span", "Span"),
        Binding("r", "retry", "Retry group"),
    ]

    @dataclass
    class RetryGroup(Message):
        """Run these files again with this policy (a name or a TOML path)."""

        paths: tuple[Path, ...]
        policy: str

    def __init__(self) -> None:
        super().__init__()
        self.span = 0
        self.report: Report | None = None

    @property
    def host(self) -> Host:
        return host_of(self)

    def compose(self) -> ComposeResult:
        yield Static("", id="report-summary")
        with Horizontal(id="report-charts"):
            yield PlotextPlot(id="report-files")
            yield PlotextPlot(id="report-space")
        failures: DataTable[str] = DataTable(id="report-failures", cursor_type="row")
        failures.border_title = "Failures by cause (r runs the group again)"
        yield failures
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#report-failures", DataTable).add_columns("files", "cause")
        self.call_after_refresh(self.load)  # the charts inside the row are mounted by then

    def load(self) -> None:
        name, seconds = SPANS[self.span]
        store = self.host.services.store
        summary = self.query_one("#report-summary", Static)
        if store is None:
            summary.update(Text("History is off: no report."))
            return
        now = self.host.services.wall_clock()
        try:
            self.report = build_report(store.pool, now - seconds, now)
        except Exception as exc:
            self.notify(f"Cannot read the history: {exc}", severity="error", markup=False)
            return
        report = self.report
        summary.update(Text(summary_text(report, name)))
        days = [d.day[5:] for d in report.days]  # MM-DD: the bars stay readable
        files = self.query_one("#report-files", PlotextPlot)
        files.plt.clear_data()
        files.plt.title("files processed per day")
        files.plt.bar(days, [d.files for d in report.days])
        files.refresh()
        space = self.query_one("#report-space", PlotextPlot)
        space.plt.clear_data()
        space.plt.title("MiB saved per day (negative: spent)")
        space.plt.bar(days, [round(d.saved_bytes / _MIB, 1) for d in report.days])
        space.refresh()
        table = self.query_one("#report-failures", DataTable)
        table.clear()
        for i, group in enumerate(report.failures):
            table.add_row(str(group.count), group.cause, key=str(i))
        table.focus()

    def action_span(self) -> None:
        self.span = (self.span + 1) % len(SPANS)
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_retry(self) -> None:
        report, store = self.report, self.host.services.store
        table = self.query_one("#report-failures", DataTable)
        if report is None or store is None or not report.failures:
            self.notify("No failure group to run again.")
            return
        group = report.failures[min(table.cursor_row, len(report.failures) - 1)]
        found = still_failing(store.pool, report.since, group.cause)
        existing = [(Path(p), policy) for p, policy in found if Path(p).exists()]
        if not existing:
            self.notify("Those files are gone or no longer failing.")
            return
        policy = existing[0][1]
        paths = tuple(p for p, pol in existing if pol == policy)
        if len(paths) < len(existing):
            self.notify(
                f"{len(existing) - len(paths)} of them failed under another policy: "
                "run them from there, or press r again after this run.",
                markup=False,
            )
        self.post_message(self.RetryGroup(paths, policy))
