"""Preview: find the files, dry-run each one in the background, let the user exclude some."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from vpo_tui.batch.discovery import DiscoveryProblem
from vpo_tui.batch.events import BatchFinished, FileFinished, FileProgress
from vpo_tui.engine.job import FileResult, FileStatus, KnownProbe
from vpo_tui.phrasing import plural
from vpo_tui.tui.host import Host, host_of, refuse_for_missing_tools
from vpo_tui.tui.messages import DRAIN_INTERVAL_S, BatchCrashed, EventPipe, RecoveryNotes
from vpo_tui.tui.request import BatchRequest, PreviewChoices
from vpo_tui.tui.services import Runner, for_batch, preview_runner
from vpo_tui.tui.text import cause_text, display_name, where_files_run
from vpo_tui.tui.widgets.file_table import Column, FileTable
from vpo_tui.tui.widgets.filter_input import FilterInput
from vpo_tui.tui.widgets.footer import KeyFooter

SHOWN_PROBLEMS = 8  # discovery problems listed under the count (the rest are counted)

STATE_STYLE = {
    "probing": "dim",
    "will change": "bold yellow",
    "already compliant": "green",
    "skipped": "magenta",
    "error": "bold red",
}


@dataclass
class PreviewRow:
    path: Path
    name: str
    included: bool = True
    result: FileResult | None = None
    state: str = "probing"

    def take(self, result: FileResult) -> None:
        self.result = result
        if result.status is FileStatus.FAILED:
            self.state = "error"
        elif result.status is FileStatus.SKIPPED:
            self.state = "skipped"
        elif result.status is FileStatus.UNCHANGED or not (
            result.changes or result.status is FileStatus.PLANNED
        ):
            self.state = "already compliant"
        else:
            self.state = "will change"

    @property
    def summary(self) -> str:
        result = self.result
        if result is None:
            return ""
        if result.error:
            return cause_text(result).splitlines()[0]
        if result.changes:
            more = len(result.changes) - 1
            return result.changes[0] + (f" (+{more} more)" if more else "")
        return ""


def preview_cells(row: PreviewRow) -> Sequence[str | Text]:
    return (
        Text("run", style="green") if row.included else Text("excl", style="dim"),
        row.name,
        Text(row.state, style=STATE_STYLE.get(row.state, "")),
        row.summary,
    )


@dataclass
class Tally:
    """Counts kept up to date row by row, so the count line never walks all rows.

    ``by_state`` counts the files that will run; an excluded file counts only as
    excluded (``excluded_by_state`` keeps its plan so that including it again, or
    its probe finishing, moves it to the right count).
    """

    by_state: dict[str, int] = field(default_factory=dict)
    excluded_by_state: dict[str, int] = field(default_factory=dict)

    def move(self, old: str | None, new: str, *, included: bool = True) -> None:
        counts = self.by_state if included else self.excluded_by_state
        if old is not None:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1

    def set_included(self, state: str, included: bool) -> None:
        """A file with plan ``state`` was just included (or excluded)."""
        source, target = (
            (self.excluded_by_state, self.by_state)
            if included
            else (self.by_state, self.excluded_by_state)
        )
        source[state] -= 1
        target[state] = target.get(state, 0) + 1

    @property
    def excluded(self) -> int:
        return sum(self.excluded_by_state.values())

    @property
    def included(self) -> int:
        return sum(self.by_state.values())

    @property
    def probing(self) -> int:
        return self.by_state.get("probing", 0) + self.excluded_by_state.get("probing", 0)


class PreviewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x,space", "toggle_exclude", "Exclude/include"),
        Binding("r", "run", "Run"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class FilesFound(Message):
        """Discovery is over: the files to probe, what could not be searched, and how
        many video files were left out for an extension not enabled (``note`` says it)."""

        paths: list[Path]
        problems: list[DiscoveryProblem]
        ignored: int = 0
        note: str = ""

    @dataclass
    class DiscoveryFailed(Message):
        error: str

    @dataclass
    class RunRequested(Message):
        """The user pressed r: run ``paths`` (the app opens the run screen).

        ``known`` holds the preview's probes, which the run reuses, ``durations``
        the playing times already probed (each file's weight in the bar).
        """

        request: BatchRequest
        paths: list[Path]
        known: dict[Path, KnownProbe]
        durations: dict[Path, float]

    def __init__(self, request: BatchRequest) -> None:
        super().__init__()
        self.request = request
        self.rows: list[PreviewRow] = []
        self._by_path: dict[Path, PreviewRow] = {}
        self.discovery_done = False
        self.probing_done = False
        self._runner: Runner | None = None
        self._pipe = EventPipe()
        self._error: str | None = None
        self.tally = Tally()
        self.problems: list[DiscoveryProblem] = []
        self.ignored = 0  # video files left out: their extension is not enabled
        self.durations: dict[Path, float] = {}  # playing time of each probed file
        self._counted_filter = ""  # the filter the count line was last written for

    @property
    def host(self) -> Host:
        return host_of(self)

    def compose(self) -> ComposeResult:
        mode = "dry run" if self.request.dry_run else "will modify files"
        yield Static(
            f"Preview — policy [b]{escape(self.request.policy.name)}[/b], "
            f"{plural(self.request.workers, 'worker')} "
            f"{escape(where_files_run(self.host.session.executor_name))}, {mode}",
            id="title",
        )
        yield Static("Finding files…", id="preview-count")
        yield Static("", id="preview-problems")
        table: FileTable[PreviewRow] = FileTable(
            [
                Column("", 4),
                Column("File", None, 3, cut="middle"),
                Column("Plan", 17),
                Column("Changes", None, 4),
            ],
            preview_cells,
            search_key=lambda row: row.name,
            empty_text="Looking for video files…",
            id="preview-table",
        )
        yield table
        yield FilterInput(table, id="filter")  # type: ignore[arg-type]
        yield Static("", id="preview-detail")
        yield KeyFooter()

    @property
    def table(self) -> FileTable[PreviewRow]:
        return self.query_one("#preview-table", FileTable)

    def on_mount(self) -> None:
        self.table.focus()
        if self._remembered.filter_text:  # as the user left it: open, with its text
            box = self.query_one("#filter", FilterInput)
            box.value = self._remembered.filter_text
            box.add_class("-open")
            self.table.set_filter(box.value)
        self._show_problems()
        self.set_interval(DRAIN_INTERVAL_S, self._drain)
        self._find_and_probe()

    def on_unmount(self) -> None:
        self._shutdown()

    # -- what the user chose here outlives the screen (esc, then n again) ---------------
    def _remember(self) -> None:
        """Keep this preview's exclusions and filter for the next preview of the same paths
        (on each change: a screen being closed has no widgets left to ask)."""
        memory = self.host.preview_memory
        excluded = frozenset(row.path for row in self.rows if not row.included)
        if not self.discovery_done:  # no rows yet: the remembered exclusions still hold
            excluded = self._remembered.excluded
        memory[self.request.paths] = PreviewChoices(excluded, self.table.filter_text)

    @property
    def _remembered(self) -> PreviewChoices:
        return self.host.preview_memory.get(self.request.paths, PreviewChoices())

    def _shutdown(self) -> None:
        self._pipe.close()
        runner = self._runner
        if runner is not None:
            runner.kill()

    def on_recovery_notes(self, message: RecoveryNotes) -> None:
        if self.request.dry_run:  # nothing was recovered: the note says what is pending
            self.notify(message.notes[0], timeout=8, markup=False)
            return
        first = message.notes[0]
        more = f" (+{len(message.notes) - 1} more)" if len(message.notes) > 1 else ""
        self.notify(f"Recovered from an earlier run: {first}{more}", timeout=8, markup=False)

    # -- background work (thread): discovery, then a dry-run batch ---------------
    @work(thread=True, exit_on_error=False, group="preview")
    def _find_and_probe(self) -> None:
        batch = for_batch(self.host.session, self.request)
        try:
            # Recovery first, as headless does: finishing a half-done container
            # change removes the old file, which discovery would otherwise queue.
            # A dry run changes nothing, recovery included: it only says what is pending.
            notes = batch.recover()
            if notes:
                self.post_message(RecoveryNotes(notes))
            found = batch.discover()
        except Exception as exc:  # discover reports problems itself; this is a bug guard
            self.post_message(self.DiscoveryFailed(f"Cannot look for files: {exc}"))
            self.post_message(self.FilesFound([], []))
            return
        files = list(found.files)
        self.post_message(
            self.FilesFound(files, list(found.problems), found.ignored_count, found.ignored_note())
        )
        if not files or self._pipe.closed:
            return
        runner = preview_runner(batch, files, self.request.workers, self._pipe)
        self._runner = runner
        if self._pipe.closed:
            return
        try:
            runner.run()
        except Exception as exc:
            self.post_message(BatchCrashed(self._pipe, exc))

    # -- UI thread ------------------------------------------------------------------
    def on_preview_screen_files_found(self, message: PreviewScreen.FilesFound) -> None:
        new_rows = []
        excluded = self._remembered.excluded
        for path in message.paths:
            if path in self._by_path:
                continue
            row = PreviewRow(path=path, name=display_name(path, self.request.display_root))
            row.included = path not in excluded
            self._by_path[path] = row
            new_rows.append(row)
            self.tally.move(None, row.state, included=row.included)
        self.rows.extend(new_rows)
        self.table.add_rows(new_rows)
        self.discovery_done = True
        if not self.rows:
            self.table.empty_text = "No video files found in the marked paths."
            self.table.refresh()
            self.probing_done = True
        self.problems = message.problems
        self.ignored = message.ignored
        if message.note:  # the count line keeps the number; this says how to include them
            self.notify(message.note, timeout=12, markup=False)
        self._show_problems()
        self._update_count()

    def _show_problems(self) -> None:
        """Folders that could not be searched, symlink loops...: counted and listed."""
        widget = self.query_one("#preview-problems", Static)
        if not self.problems:
            widget.display = False
            return
        n = len(self.problems)
        text = Text(
            f"{plural(n, 'problem')} while looking for files (nothing there is in the list below):",
            style="bold yellow",
        )
        for problem in self.problems[:SHOWN_PROBLEMS]:
            text.append(f"\n  {problem.path}: ", style="yellow")
            text.append(problem.message)
        if n > SHOWN_PROBLEMS:
            text.append(f"\n  …and {n - SHOWN_PROBLEMS} more", style="yellow")
        widget.update(text)
        widget.display = True

    def on_preview_screen_discovery_failed(self, message: PreviewScreen.DiscoveryFailed) -> None:
        self._error = message.error
        self.notify(message.error, severity="error", timeout=10, markup=False)
        self._update_count()

    def _drain(self) -> None:
        """Ten times a second: apply the probe results queued by the dry-run batch."""
        if not self.discovery_done:  # the rows are not there yet: results wait in the pipe
            return
        events = self._pipe.drain()
        if not events:
            return
        current = self.table.current_row
        touched = False
        for event in events:
            if isinstance(event, FileFinished):
                row = self._by_path.get(event.result.path)
                if row is not None:
                    old = row.state
                    row.take(event.result)
                    self.tally.move(old, row.state, included=row.included)
                    self.table.refresh_row(row)
                    touched = touched or row is current
            elif isinstance(event, FileProgress):
                seconds = event.progress.duration_s  # probed: the file's weight in the run
                if seconds is not None and seconds > 0:
                    self.durations[event.path] = seconds
            elif isinstance(event, BatchFinished):
                self.probing_done = True
        self._update_count()
        if touched:
            self._show_detail(current)

    def on_batch_crashed(self, message: BatchCrashed) -> None:
        self.probing_done = True
        self.notify(f"Preview stopped: {message.error}", severity="error", timeout=10)
        self._update_count()

    def _update_count(self) -> None:
        self._counted_filter = self.table.filter_text
        self.query_one("#preview-count", Static).update(self.count_text())

    def count_text(self) -> str:
        """``Found 13 files · probed 13/13 · 1 excluded — press r to run 12 files: …``.

        The plan counts are of the files that will run: an excluded file is
        counted as excluded only, whatever its plan. Once ``r`` can run, they
        are said once, as what it will run (``run_text``).
        """
        tally = self.tally
        found = len(self.rows)
        ready = self.discovery_done and self.probing_done
        finding = "" if self.discovery_done else " (still looking)"
        parts = [
            f"Found {plural(found, 'file')}{finding}",
            f"probed {found - tally.probing}/{found}",
        ]
        if not (ready and tally.included):
            parts += [
                f"{tally.by_state[s]} {s}" if s != "error" else plural(tally.by_state[s], s)
                for s in ("will change", "already compliant", "skipped", "error")
                if tally.by_state.get(s)
            ]
        if tally.excluded:
            parts.append(f"{tally.excluded} excluded")
        if self.problems:
            parts.append(f"{plural(len(self.problems), 'problem')} finding files")
        if self.ignored:
            parts.append(f"{plural(self.ignored, 'other video file')} not considered")
        needle = self.table.filter_text
        if needle:
            parts.append(f"filter “{needle}”: {len(self.table.visible_rows)} shown")
        counts = " · ".join(parts)
        if ready:
            if needle and self.chosen_rows():
                return f"{counts} — press r to run the {self.run_text(shown=True)}"
            if needle and tally.included:
                return f"{counts} — no file shown will run (esc in the filter clears it)"
            if tally.included:
                return f"{counts} — press r to run {self.run_text()}"
            if found:
                return f"{counts} — every file is excluded"
            return f"{counts} — no video files in the marked paths"
        return counts

    def chosen_rows(self) -> list[PreviewRow]:
        """What ``r`` runs: the included files, of those the filter shows if one is set.

        A user who filtered down to three files expects three to run: the filter
        is a selection, and the count line says so.
        """
        rows = self.table.visible_rows if self.table.filter_text else self.rows
        return [row for row in rows if row.included]

    def run_text(self, *, shown: bool = False) -> str:
        """What ``r`` will do: ``7 files: 5 to change, 1 compliant, 1 error``.

        Compliant files are only checked and failing ones fail again, so the
        count says how many of the files run will actually be changed. ``shown``:
        counted over the files the filter shows (``3 files shown: ...``).
        """
        by_state: dict[str, int] = {}
        if shown:
            for row in self.chosen_rows():
                by_state[row.state] = by_state.get(row.state, 0) + 1
        else:
            by_state = self.tally.by_state
        change = by_state.get("will change", 0)
        others = [
            f"{by_state[state]} {word}" if state != "error" else plural(by_state[state], "error")
            for state, word in (
                ("already compliant", "compliant"),
                ("skipped", "skipped"),
                ("error", "error"),
            )
            if by_state.get(state)
        ]
        files = plural(sum(by_state.values()), "file") + (" shown" if shown else "")
        return f"{files}: {', '.join([f'{change} to change', *others])}"

    @on(FileTable.Highlighted, "#preview-table")
    def _highlighted(self, event: FileTable.Highlighted) -> None:
        self._show_detail(event.row)  # type: ignore[arg-type]
        # A new filter re-announces the cursor: it changed what r runs. (A cursor move
        # alone does not touch the count line: Static.update re-lays out the screen.)
        needle = self.table.filter_text
        if needle != self._remembered.filter_text:
            self._remember()
        if needle != self._counted_filter and self.query("#preview-count"):
            self._update_count()

    def _show_detail(self, row: PreviewRow | None) -> None:
        found = self.query("#preview-detail")
        if not found:  # a highlight posted while the screen was still being composed
            return
        detail = found.first(Static)
        if row is None:
            detail.update("")
            return
        text = Text(row.name, style="bold")
        if not row.included:
            text.append("  (excluded)", style="dim")
        result = row.result
        if result is None:
            text.append("\nprobing…", style="dim")
        elif result.error:
            text.append("\n" + result.error, style="red")
        elif result.changes:
            text.append("".join(f"\n  • {change}" for change in result.changes))
        else:
            text.append("\nalready compliant: nothing will be written", style="green")
        detail.update(text)

    # -- actions ---------------------------------------------------------------------------
    def action_toggle_exclude(self) -> None:
        row = self.table.current_row
        if row is None:
            return
        row.included = not row.included
        self.tally.set_included(row.state, row.included)
        self._remember()
        self.table.refresh_row(row)
        self._update_count()
        self._show_detail(row)

    def action_filter(self) -> None:
        self.query_one("#filter", FilterInput).open()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_run(self) -> None:
        if not self.discovery_done:
            self.notify("Still looking for files; run when the count stops growing.")
            return
        chosen = [row.path for row in self.chosen_rows()]
        if not self.rows:  # nothing was found: the user's exclusions are not the reason
            self.notify("Nothing to run: no video files in the marked paths.", severity="warning")
            return
        if not chosen and self.table.filter_text:
            self.notify(
                "Nothing to run: no file the filter shows is included (esc in the filter "
                "clears it).",
                severity="warning",
            )
            return
        if not chosen:
            self.notify("Nothing to run: every file is excluded.", severity="warning")
            return
        if refuse_for_missing_tools(self, dry_run=self.request.dry_run):
            return
        self._shutdown()
        request = dataclasses.replace(self.request, discovery_problems=tuple(self.problems))
        # the preview is the run's first half: its probes go along (the engine reuses
        # each one only if its file is unchanged)
        known = {
            row.path: row.result.probe
            for row in self.chosen_rows()
            if row.result is not None and row.result.probe is not None
        }
        durations = {p: self.durations[p] for p in chosen if p in self.durations}
        self.app.post_message(self.RunRequested(request, chosen, known, durations))
