"""History: past batches from the database, and the files of the chosen one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from vpo_tui.store.history import JobRecord
from vpo_tui.tui.run_state import strip_path_prefix

if TYPE_CHECKING:
    from vpo_tui.tui.app import VpoApp

SHOWN_BATCHES = 200


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @property
    def vpo(self) -> VpoApp:
        from vpo_tui.tui.app import VpoApp

        assert isinstance(self.app, VpoApp)
        return self.app

    def compose(self) -> ComposeResult:
        services = self.vpo.services
        where = services.db_path or f"off: {services.store_problem or 'no history database'}"
        yield Static(Text(f"History — {where}"), id="title")
        batches: DataTable[str] = DataTable(id="batches", cursor_type="row")
        batches.border_title = "Batches (enter shows the files)"
        yield batches
        files: DataTable[str | Text] = DataTable(id="batch-files", cursor_type="row")
        files.border_title = "Files"
        yield files
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#batches", DataTable)
        table.add_columns("#", "started", "policy", "files", "ok", "unchanged", "failed", "status")
        files = self.query_one("#batch-files", DataTable)
        files.add_columns("file", "status", "cause / changes")
        store = self.vpo.services.store
        if store is None:
            table.add_row("", "history is off", "", "", "", "", "")
            return
        try:
            batches = store.list_batches(SHOWN_BATCHES)
        except Exception as exc:
            self.notify(f"Cannot read the history: {exc}", severity="error", markup=False)
            return
        for batch in batches:
            status = batch.status
            if batch.stop_reason:
                status += f" ({batch.stop_reason})"
            if batch.dry_run:
                status += ", dry run"
            table.add_row(
                str(batch.id),
                _when(batch.started_at),
                batch.policy_name,
                str(batch.total),
                str(batch.totals.get("ok", 0)),
                str(batch.totals.get("unchanged", 0)),
                str(batch.totals.get("failed", 0)),
                status,
                key=str(batch.id),
            )
        table.focus()
        if batches:
            self.show_files(batches[0].id)

    @on(DataTable.RowSelected, "#batches")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.show_files(int(event.row_key.value))

    def show_files(self, batch_id: int) -> None:
        """Fill the lower table with the files of one batch, as the store recorded them."""
        files = self.query_one("#batch-files", DataTable)
        files.clear()
        files.border_title = f"Files of batch #{batch_id}"
        store = self.vpo.services.store
        if store is None:
            return
        try:
            jobs = store.batch_jobs(batch_id)
        except Exception as exc:
            self.notify(f"Cannot read batch {batch_id}: {exc}", severity="error", markup=False)
            return
        for job in jobs:
            files.add_row(job.path, job.status, _outcome(job))

    def action_back(self) -> None:
        self.dismiss(None)


def _outcome(job: JobRecord) -> str | Text:
    if job.error and job.status not in ("ok", "unchanged", "planned"):
        return Text(strip_path_prefix(job.error, job.path, job.output_path), style="red")
    if job.changes:
        more = len(job.changes) - 1
        return job.changes[0] + (f" (+{more} more)" if more else "")
    return ""
