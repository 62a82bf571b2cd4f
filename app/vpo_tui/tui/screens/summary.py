"""Summary: totals, failed and skipped files with their causes, discovery problems, retry."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from vpo_tui.batch.discovery import DiscoveryProblem
from vpo_tui.batch.events import BatchResult
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.phrasing import plural
from vpo_tui.tui.host import Host, host_of, refuse_for_missing_tools
from vpo_tui.tui.navigation import BackToPick, OpenHistory
from vpo_tui.tui.request import BatchRequest
from vpo_tui.tui.text import cause_text, display_name, format_duration
from vpo_tui.tui.widgets.footer import KeyFooter

TOTAL_ORDER = ("ok", "unchanged", "planned", "failed", "skipped", "cancelled")

# How a batch ended, in the words of the history (`vpo-tui history`), and what that meant.
ENDINGS = {
    "stop": (
        "stopped",
        "Stopped (s): the work in progress was let finish; the files not started yet "
        "were cancelled.",
    ),
    "kill": (
        "killed",
        "Killed (k): the work in progress was stopped and its partial output deleted, "
        "the originals untouched; the files not started yet were cancelled.",
    ),
    "failure": (
        "stopped at a failure",
        'Stopped at the first failure (on_error = "fail"): the rest were cancelled.',
    ),
}


class SummaryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),  # the body says: the failed and cancelled files
        Binding("n", "new", "New batch"),
        Binding("h", "history", "History"),
        Binding("escape", "back", "Run table"),
    ]

    @dataclass
    class RetryRequested(Message):
        """The user pressed r: run ``paths`` again (the app opens a new run screen)."""

        request: BatchRequest
        paths: list[Path]
        durations: dict[Path, float]

    def __init__(
        self,
        request: BatchRequest,
        result: BatchResult,
        durations: Mapping[Path, float] | None = None,
    ) -> None:
        """``durations``: the playing times the batch (or its preview) probed, so a
        retried file keeps its weight in the bar."""
        super().__init__()
        self.request = request
        self.result = result
        self.durations = dict(durations or {})

    @property
    def host(self) -> Host:
        return host_of(self)

    @property
    def retryable(self) -> list[FileResult]:
        """The files ``r`` runs again: failed, or cancelled (Stop, Kill, on_error = "fail")."""
        again = (FileStatus.FAILED, FileStatus.CANCELLED)
        return [f for f in self.result.files if f.status in again]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` is offered only when there is something to run again."""
        if action == "retry":
            return bool(self.retryable)
        return True

    def _causes(self, status: FileStatus) -> list[tuple[str, str]]:
        """(file, why) for every file that ended with ``status``, in queue order."""
        root = self.request.display_root
        return [
            (display_name(f.path, root), cause_text(f) or status.value)
            for f in self.result.files
            if f.status is status
        ]

    @property
    def failed(self) -> list[tuple[str, str]]:
        return self._causes(FileStatus.FAILED)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Left as they were, on purpose (read-only, locked, the policy says skip): why."""
        return self._causes(FileStatus.SKIPPED)

    def compose(self) -> ComposeResult:
        result = self.result
        how, why = ENDINGS.get(result.stop_reason or "", ("finished", ""))
        if result.stopped_early and not why:
            how = "stopped early"
        dry = " (dry run: no media file was written)" if result.dry_run else ""
        files = plural(len(result.files), "file")
        # "11 files killed" would say every file was killed: a cut-short batch says so
        when = f"{files} {how} in" if how == "finished" else f"{files}, batch {how} after"
        yield Static(
            Text(
                f"Summary — {when} {format_duration(result.duration_s)} with "
                f"{plural(result.workers, 'worker')}{dry}"
            ),
            id="title",
        )
        with VerticalScroll(id="summary-body"):
            if why:
                yield Static(Text(why, style="bold yellow"), id="ending")
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
                yield Static(_files_table("Failed files", "cause", failed, "red"), id="failed")
            else:
                yield Static(Text("No file failed.", style="green"), id="failed")
            if self.retryable:
                yield Static("r runs the failed and cancelled files again.", classes="hint")
            skipped = self.skipped
            if skipped:
                table = _files_table("Skipped files", "reason", skipped, "magenta")
                yield Static(table, id="skipped")
            problems = self.request.discovery_problems
            if problems:
                yield Static(_problems_text(problems), id="discovery-problems")
            yield Static(Text(self._where()), id="where")
        yield KeyFooter()

    def _where(self) -> str:
        services = self.host.services
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
        failed = [f.path for f in self.retryable]
        if not failed:
            self.notify("No failed or cancelled files to run again.")
            return
        if refuse_for_missing_tools(self, dry_run=self.result.dry_run):
            return
        # A retry searches no folder: the first batch's discovery problems are not its own.
        request = dataclasses.replace(self.request, discovery_problems=())
        # What the batch (or its preview) probed: each file keeps its weight in the bar.
        durations = {p: d for p in failed if (d := self.durations.get(p)) is not None}
        self.app.post_message(self.RetryRequested(request, failed, durations))

    def action_new(self) -> None:
        self.app.post_message(BackToPick())

    def action_history(self) -> None:
        self.app.post_message(OpenHistory())

    def action_back(self) -> None:
        self.dismiss(None)


def _problems_text(problems: Sequence[DiscoveryProblem]) -> Text:
    """Every place discovery could not search: no file there was in this batch."""
    text = Text(
        f"{plural(len(problems), 'problem')} while looking for files "
        "(nothing there was processed):",
        style="bold yellow",
    )
    for problem in problems:
        text.append(f"\n  {problem.path}: ", style="yellow")
        text.append(problem.message)
    return text


def _files_table(title: str, why: str, rows: list[tuple[str, str]], style: str) -> Table:
    """``Failed files (2)``: one file per row, and why, in the colour of its status."""
    table = Table(title=f"{title} ({len(rows)})", expand=True)
    table.add_column("file", ratio=1)
    table.add_column(why, ratio=2)
    for name, text in rows:
        table.add_row(name, Text(text, style=style))
    return table
