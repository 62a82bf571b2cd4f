"""History: past batches from the database, and the files of the chosen one."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from vpo_tui.store.history import BatchRecord, JobRecord
from vpo_tui.tui.host import Host, host_of
from vpo_tui.tui.text import strip_path_prefix

SHOWN_BATCHES = 200
# The counts shown for each batch, in the summary's order. "planned" (dry runs) has
# no column: with it the table no longer fits 100 columns.
COUNTED = ("ok", "unchanged", "failed", "skipped", "cancelled")
# A dry run has no ok files and a real run no planned ones: one column shows either.
BATCH_COLUMNS = ("#", "started", "policy", "files", "ok/plan", *COUNTED[1:], "status")


def when_text(timestamp: float, now: float) -> str:
    """``05-01 14:03`` this year, ``2023-05-01`` before: the year's five columns
    leave room for every count of a batch in a 100-column terminal."""
    started = time.localtime(timestamp)
    if started.tm_year == time.localtime(now).tm_year:
        return time.strftime("%m-%d %H:%M", started)
    return time.strftime("%Y-%m-%d", started)


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[JobRecord] = []  # the shown batch's files, in table order

    @property
    def host(self) -> Host:
        return host_of(self)

    def compose(self) -> ComposeResult:
        services = self.host.services
        where = services.db_path or f"off: {services.store_problem or 'no history database'}"
        yield Static(Text(f"History — {where}"), id="title")
        batches: DataTable[str] = DataTable(id="batches", cursor_type="row")
        batches.border_title = "Batches (enter shows the files)"
        yield batches
        files: DataTable[str | Text] = DataTable(id="batch-files", cursor_type="row")
        files.border_title = "Files"
        yield files
        # The table cuts a long cause at its column; the selected file's whole story is here.
        yield Static("", id="job-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#batches", DataTable)
        table.add_columns(*BATCH_COLUMNS)
        files = self.query_one("#batch-files", DataTable)
        files.add_columns("file", "status", "cause / changes")
        store = self.host.services.store
        if store is None:
            table.add_row("", "history is off", *[""] * (len(BATCH_COLUMNS) - 2))
            return
        try:
            batches = store.list_batches(SHOWN_BATCHES)
        except Exception as exc:
            self.notify(f"Cannot read the history: {exc}", severity="error", markup=False)
            return
        now = self.host.services.wall_clock()
        for batch in batches:
            table.add_row(*batch_cells(batch, now), key=str(batch.id))
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
        store = self.host.services.store
        if store is None:
            return
        try:
            jobs = store.batch_jobs(batch_id)
        except Exception as exc:
            self.notify(f"Cannot read batch {batch_id}: {exc}", severity="error", markup=False)
            return
        self.jobs = list(jobs)
        for job in jobs:
            files.add_row(job.path, job.status, _outcome(job))
        self._show_job(0 if jobs else None)

    @on(DataTable.RowHighlighted, "#batch-files")
    def _job_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_job(event.cursor_row)

    def _show_job(self, index: int | None) -> None:
        detail = self.query_one("#job-detail", Static)
        if index is None or not 0 <= index < len(self.jobs):
            detail.update("")
            return
        detail.update(job_detail(self.jobs[index]))

    def action_back(self) -> None:
        self.dismiss(None)


def batch_cells(batch: BatchRecord, now: float) -> tuple[str, ...]:
    """One line of the batches table: a stopped or killed batch says so, and its
    cancelled files are counted, not hidden behind "0 ok, 0 failed"."""
    status = batch.outcome + (", dry run" if batch.dry_run else "")
    first = "planned" if batch.dry_run else "ok"
    counts = [str(batch.totals.get(name, 0)) for name in (first, *COUNTED[1:])]
    started = when_text(batch.started_at, now)
    return (str(batch.id), started, batch.policy_name, str(batch.total), *counts, status)


def job_detail(job: JobRecord) -> Text:
    """One file in full: its path, status, the whole cause and tool output, or its changes."""
    text = Text(job.path, style="bold")
    text.append(f"  {job.status}")
    if job.error and job.status not in ("ok", "unchanged", "planned"):
        text.append("\n" + strip_path_prefix(job.error, job.path, job.output_path), style="red")
        if job.stderr_tail:
            text.append("\n--- tool stderr (last lines) ---\n", style="dim")
            text.append(job.stderr_tail.rstrip())
    elif job.changes:
        text.append("".join(f"\n  • {change}" for change in job.changes))
    return text


def _outcome(job: JobRecord) -> str | Text:
    if job.error and job.status not in ("ok", "unchanged", "planned"):
        return Text(strip_path_prefix(job.error, job.path, job.output_path), style="red")
    if job.changes:
        more = len(job.changes) - 1
        return job.changes[0] + (f" (+{more} more)" if more else "")
    return ""
