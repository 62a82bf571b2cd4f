"""Summary: totals, failed files with their causes, where the history is, retry."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from vpo_tui.batch.events import BatchResult
from vpo_tui.engine.job import FileStatus
from vpo_tui.tui.run_state import cause_text, display_name, format_duration

if TYPE_CHECKING:
    from vpo_tui.tui.app import VpoApp
    from vpo_tui.tui.screens.run import RunScreen

TOTAL_ORDER = ("ok", "unchanged", "planned", "failed", "skipped", "cancelled")


class SummaryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry failed/cancelled"),
        Binding("n", "new", "New batch"),
        Binding("h", "history", "History"),
        Binding("escape", "back", "Back to the table"),
    ]

    def __init__(self, run_screen: RunScreen, result: BatchResult) -> None:
        super().__init__()
        self.run_screen = run_screen
        self.result = result

    @property
    def vpo(self) -> VpoApp:
        from vpo_tui.tui.app import VpoApp

        assert isinstance(self.app, VpoApp)
        return self.app

    @property
    def failed(self) -> list[tuple[str, str]]:
        root = self.run_screen.request.display_root
        return [
            (display_name(f.path, root), cause_text(f) or "failed")
            for f in self.result.files
            if f.status is FileStatus.FAILED
        ]

    def compose(self) -> ComposeResult:
        result = self.result
        how = "stopped early" if result.stopped_early else "finished"
        dry = " (dry run: nothing was written)" if result.dry_run else ""
        yield Static(
            Text(
                f"Summary — {len(result.files)} files {how} in "
                f"{format_duration(result.duration_s)} with {result.workers} worker(s){dry}"
            ),
            id="title",
        )
        with VerticalScroll(id="summary-body"):
            totals = Table(title="Totals", show_header=False, expand=False)
            totals.add_column("status")
            totals.add_column("files", justify="right")
            for status in TOTAL_ORDER:
                count = result.totals.get(status, 0)
                if count or status in ("ok", "unchanged", "failed"):
                    totals.add_row(status, str(count))
            totals.add_row(Text("total", style="bold"), Text(str(len(result.files)), style="bold"))
            yield Static(totals, id="totals")
            failed = self.failed
            if failed:
                table = Table(title=f"Failed files ({len(failed)})", expand=True)
                table.add_column("file", ratio=1)
                table.add_column("cause", ratio=2)
                for name, cause in failed:
                    table.add_row(name, Text(cause, style="red"))
                yield Static(table, id="failed")
                yield Static("r runs the failed and cancelled files again.", classes="hint")
            else:
                yield Static(Text("No file failed.", style="green"), id="failed")
            yield Static(Text(self._where()), id="where")
        yield Footer()

    def _where(self) -> str:
        services = self.vpo.services
        db = services.db_path
        batch = f" as batch #{self.result.batch_id}" if self.result.batch_id is not None else ""
        if db is None:
            why = f" ({services.store_problem})" if services.store_problem else ""
            return f"History is off{why}: results are only shown here."
        return (
            f"Every file's status, error and tool output is recorded{batch} in the "
            f"history database: {db}  (h shows it)"
        )

    def action_retry(self) -> None:
        # Cancelled files (Stop, Kill, on_error = "fail") were never done either.
        again = (FileStatus.FAILED, FileStatus.CANCELLED)
        failed = [f.path for f in self.result.files if f.status in again]
        if not failed:
            self.notify("No failed or cancelled files to run again.")
            return
        self.vpo.retry(self.run_screen.request, failed)

    def action_new(self) -> None:
        self.vpo.back_to_pick()

    def action_history(self) -> None:
        self.vpo.open_history()

    def action_back(self) -> None:
        self.dismiss(None)
