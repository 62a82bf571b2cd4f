"""History: past batches from the database, and the files of the chosen one."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from vpo_tui.phrasing import console_text
from vpo_tui.store.history import BatchRecord, JobRecord
from vpo_tui.tui.host import Host, host_of
from vpo_tui.tui.text import cut_middle, strip_path_prefix
from vpo_tui.tui.widgets.footer import KeyFooter

SHOWN_BATCHES = 200
# The counts shown for each batch, in the summary's order. "planned" (dry runs) has
# no column: with it the table no longer fits 100 columns.
COUNTED = ("ok", "unchanged", "failed", "skipped", "cancelled")
# A dry run has no ok files and a real run no planned ones: one column shows either.
BATCH_COLUMNS = ("#", "started", "policy", "files", "ok/plan", *COUNTED[1:], "status")
NARROW = 100  # columns: below this the counts share one column (``narrow_batch_cells``)
NARROW_COLUMNS = ("#", "started", "policy", "files", "how it ended")


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
        self.narrow = False  # laid out for fewer than NARROW columns (set on mount)
        self.file_width = 0

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
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#batches", DataTable)
        # Under 100 columns the counts share one column ("1 ok, 3 cancelled"), and the
        # long columns get fixed widths: every column stays on screen at 80x24.
        self.narrow = self.app.size.width < NARROW
        if self.narrow:
            room = max(20, self.app.size.width - 4)  # the border, the scrollbar
            # "#", started, policy, files: fixed; the results take what is left
            fixed = 3 + 11 + 9 + 5 + 2 * len(NARROW_COLUMNS)
            for title, width in zip(NARROW_COLUMNS, (3, 11, 9, 5, room - fixed), strict=True):
                table.add_column(title, width=width)
        else:
            table.add_columns(*BATCH_COLUMNS)
        files = self.query_one("#batch-files", DataTable)
        if self.narrow:
            room = max(20, self.app.size.width - 4)
            self.file_width = max(10, room * 2 // 5)
            files.add_column("file", width=self.file_width)
            files.add_column("status", width=9)
            files.add_column("cause / changes", width=max(10, room - self.file_width - 9 - 6))
        else:
            files.add_columns("file", "status", "cause / changes")
        store = self.host.services.store
        if store is None:
            columns = len(NARROW_COLUMNS if self.narrow else BATCH_COLUMNS)
            table.add_row("", "history is off", *[""] * (columns - 2))
            return
        try:
            batches = store.list_batches(SHOWN_BATCHES)
        except Exception as exc:
            self.notify(f"Cannot read the history: {exc}", severity="error", markup=False)
            return
        now = self.host.services.wall_clock()
        cells = narrow_batch_cells if self.narrow else batch_cells
        for batch in batches:
            table.add_row(*cells(batch, now), key=str(batch.id))
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
            shown = console_text(job.path)  # a newline or a non-UTF-8 byte, escaped
            path = cut_middle(shown, self.file_width) if self.narrow else shown
            files.add_row(path, job.status, _outcome(job))
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


def narrow_batch_cells(batch: BatchRecord, now: float) -> tuple[str, ...]:
    """``batch_cells`` for a narrow terminal: how it ended and its non-zero counts in
    one column (``stopped: 1 ok, 1 skipped, 3 cancelled``)."""
    number, started, policy, total, *_ = batch_cells(batch, now)
    first = "planned" if batch.dry_run else "ok"
    counts = [f"{n} {name}" for name in (first, *COUNTED[1:]) if (n := batch.totals.get(name, 0))]
    outcome = batch.outcome + (" (dry run)" if batch.dry_run else "")
    return (number, started, policy, total, f"{outcome}: {', '.join(counts) or 'no files'}")


def job_detail(job: JobRecord) -> Text:
    """One file in full: its path, status, the whole cause and tool output, or its changes."""
    text = Text(console_text(job.path), style="bold")
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
