"""Run: one row per file, the aggregate line, the error log, Stop / Kill / Pause / workers."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Static
from textual.widgets.button import ButtonVariant
from textual.worker import Worker, WorkerState

from vpo_tui.batch.events import BatchFinished, BatchResult, FileFinished
from vpo_tui.batch.session import Session
from vpo_tui.engine.job import FileStatus, KnownProbe
from vpo_tui.phrasing import plural
from vpo_tui.tui.host import Host, host_of
from vpo_tui.tui.messages import (
    DRAIN_INTERVAL_S,
    BatchCrashed,
    BatchOver,
    EventPipe,
    RecoveryNotes,
)
from vpo_tui.tui.navigation import BackToPick
from vpo_tui.tui.request import BatchRequest
from vpo_tui.tui.run_state import PAUSED_ETA, FileRow, RunModel
from vpo_tui.tui.screens.dialogs import ConfirmKill
from vpo_tui.tui.services import Runner, for_batch, run_runner
from vpo_tui.tui.text import cause_text, where_files_run
from vpo_tui.tui.widgets.error_log import ErrorLog
from vpo_tui.tui.widgets.file_table import Column, FileTable
from vpo_tui.tui.widgets.filter_input import FilterInput
from vpo_tui.tui.widgets.footer import KeyFooter

STATUS_STYLE = {
    "queued": "dim",
    "running": "bold cyan",
    "ok": "bold green",
    "unchanged": "green",
    "planned": "yellow",
    "failed": "bold red",
    "skipped": "magenta",
    "cancelled": "dim yellow",
}


WORKERS_PART = re.compile(r"  workers \d+")


class AggregateLine(Widget):
    """The aggregate line and the overall bar, as one widget that repaints without layout.

    ``Static.update`` and ``ProgressBar`` re-lay out or repaint several widgets;
    this is two lines drawn by one ``render``, cheap at ten times a second. A
    ``banner`` (stopping, killing, a crash) gets a line of its own between them,
    so that on a narrow terminal it never pushes the bar out of sight.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "aggregate--done",
        "aggregate--todo",
        "aggregate--banner",
    }
    DEFAULT_CSS = """
    AggregateLine {
        height: auto;
        padding: 0 1;
        & > .aggregate--done { color: $accent; }
        & > .aggregate--todo { color: $foreground 20%; }
        & > .aggregate--banner { color: $warning; text-style: bold; }
    }
    """

    text: reactive[str] = reactive("", layout=False)
    banner: reactive[str] = reactive("", layout=True)  # one more line: laid out again
    fraction: reactive[float] = reactive(0.0, layout=False)
    note: reactive[str] = reactive("", layout=False)  # what the percentage leaves out

    def render(self) -> Text:
        width = self.content_region.width
        text = self.text
        if len(text) > width:  # 80 columns: the worker count gives way to elapsed and ETA
            text = WORKERS_PART.sub("", text, count=1)
        if len(text) > width:  # ... and "ETA paused" to PAUSED, which must stay in view
            text = text.replace(PAUSED_ETA, "PAUSED", 1)
        line = Text(text, no_wrap=True, overflow="ellipsis")
        line.truncate(width, overflow="ellipsis")
        if self.banner:
            banner = Text(self.banner, style=self.get_component_rich_style("aggregate--banner"))
            banner.truncate(width, overflow="ellipsis")
            line.append("\n")
            line.append_text(banner)
        percent = f" {int(self.fraction * 100):3d}%"
        if self.note:
            percent += f" ({self.note})"
        width = max(0, width - len(percent))
        done = round(width * min(1.0, max(0.0, self.fraction)))
        line.append("\n")
        line.append("━" * done, self.get_component_rich_style("aggregate--done"))
        line.append("━" * (width - done), self.get_component_rich_style("aggregate--todo"))
        line.append(percent)
        return line


class ControlButton(Button):
    """Pause / Stop / Kill / Summary: reached with tab, but a click leaves the focus
    where it was (on the table), so the arrow keys go on moving its cursor."""

    FOCUS_ON_CLICK = False


def run_cells(row: FileRow) -> Sequence[str | Text]:
    return (
        f"{row.name}  @{row.worker}" if row.worker else row.name,  # where a cluster runs it
        Text(row.status, style=STATUS_STYLE.get(row.status, "")),
        row.percent_text,
        row.rate_text,
        row.eta_text,
        row.result_text,
    )


def error_text(row: FileRow, *, full: bool = True) -> Text:
    """One file's error: cause, then the tool's stderr tail.

    ``full`` keeps the error exactly as the engine wrote it (path included) for
    the selected-error detail; the log entry already names the file, so there
    the cause is shown without the repeated ``<path>: ``.
    """
    text = Text(row.name, style="bold")
    result = row.result
    if result is None:
        text.append(f"\n{row.status}", style="dim")
        return text
    text.append(f"  {result.status.value}", style=STATUS_STYLE.get(result.status.value, ""))
    if result.error:
        text.append("\n" + (result.error if full else cause_text(result)), style="red")
    if result.stderr_tail:
        text.append("\n--- tool stderr (last lines) ---\n", style="dim")
        text.append(result.stderr_tail.rstrip())
    if not result.error and result.changes:
        text.append("".join(f"\n  • {c}" for c in result.changes))
    return text


class RunScreen(Screen[None]):
    # Focused as the screen mounts, not afterwards: a later focus change makes the
    # footer compose its keys a second time, which is most of opening the screen.
    AUTO_FOCUS = "#run-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "stop", "Stop"),
        Binding("k", "kill", "Kill"),
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),  # the same key; the footer names what it does now
        Binding("plus,equals_sign", "more_workers", "Workers", key_display="+/-"),
        Binding("minus", "fewer_workers", "Fewer workers", show=False),
        Binding("l", "toggle_log", "Error log"),
        Binding("slash", "filter", "Filter"),
        # Ahead of the table's own enter, but only once the batch has ended (check_action).
        Binding("enter", "summary", "Summary", priority=True),
        # esc goes back once the batch has ended; while it runs the footer does not
        # offer it (leaving would kill the batch) and esc only says how to end it.
        Binding("escape", "back", "Back"),
        Binding("escape", "back_while_running", "Back", show=False),
    ]
    # Offered (footer, buttons) only while the batch runs: afterwards they do nothing.
    WHILE_RUNNING = frozenset({"stop", "kill", "more_workers", "fewer_workers"})

    # The controls follow this state through its watchers (and the footer through
    # ``bindings=True``): an action changes the state, never the widgets.
    paused: reactive[bool] = reactive(False, init=False, bindings=True)
    stopping: reactive[str] = reactive("", init=False)  # what the aggregate line says of it
    worker_count: reactive[int] = reactive(0, init=False)
    ended: reactive[bool] = reactive(False, init=False, bindings=True)  # finished or crashed

    @dataclass
    class Finished(Message):
        """A finished run, to sum up: the app shows the summary if the run is on screen.

        ``durations`` are the playing times probed so far: a retry's files keep
        their weight in its bar.
        """

        request: BatchRequest
        result: BatchResult
        durations: dict[Path, float]

    @dataclass
    class RunnerDone(Message):
        """The runner has returned (or crashed): an app waiting to quit may go now."""

    def __init__(
        self,
        request: BatchRequest,
        paths: Sequence[Path],
        known: Mapping[Path, KnownProbe] | None = None,
        durations: Mapping[Path, float] | None = None,
    ) -> None:
        """``known``: the preview's probes (the engine reuses them); ``durations``: playing
        times already probed, each file's weight in the bar."""
        super().__init__()
        self.request = request
        self.paths = list(paths)
        self.known = dict(known or {})
        self.model = RunModel.for_paths(self.paths, request.display_root, durations)
        self.model.workers = request.workers
        self.set_reactive(RunScreen.worker_count, request.workers)
        self.pipe = EventPipe(self)
        self.runner: Runner | None = None
        self.crashed: str | None = None
        self._dirty_rows: set[int] = set()  # id() of rows changed since the last paint
        self._new_errors: list[Text] = []
        self._aggregate_text = ""
        self._detail_for: object = None
        self._kill_dialog: ConfirmKill | None = None

    @property
    def host(self) -> Host:
        return host_of(self)

    @property
    def running(self) -> bool:
        return self.runner is not None and self.model.result is None and self.crashed is None

    def compose(self) -> ComposeResult:
        mode = "  [yellow]DRY RUN: nothing is written[/]" if self.request.dry_run else ""
        where = escape(where_files_run(self.host.session.executor_name))
        policy = escape(self.request.policy.name)
        yield Static(f"Run — policy [b]{policy}[/b], {where}{mode}", id="title")
        yield AggregateLine(id="aggregate")
        # Buttons for the mouse, and reached with tab / shift+tab like any button; the
        # table has the focus first, so keys go to it until the user tabs away.
        with Horizontal(id="run-controls"):
            controls: tuple[tuple[str, str, ButtonVariant], ...] = (
                ("Pause [p]", "pause", "default"),
                ("Stop [s]", "stop", "warning"),
                ("Kill [k]", "kill", "error"),
                ("Summary [enter]", "summary", "primary"),
            )
            for label, name, variant in controls:
                yield ControlButton(Text(label), id=f"run-{name}", variant=variant, compact=True)
        table: FileTable[FileRow] = FileTable(
            [
                Column("File", None, 3, cut="middle"),
                Column("Status", 9),
                Column("%", 4, align="right"),
                Column("Stage / speed", 13),
                Column("ETA", 7),
                Column("Result", None, 3),
            ],
            run_cells,
            search_key=lambda row: row.name,
            id="run-table",
        )
        table.set_rows(self.model.rows)
        yield table
        yield FilterInput(table, id="filter")  # type: ignore[arg-type]
        with Vertical(id="error-panel"):
            yield Static("", id="error-detail")
            log = ErrorLog(id="error-log")
            log.border_title = "Error log  (l hides it; select a row for its whole error)"
            yield log
        yield KeyFooter()

    @property
    def table(self) -> FileTable[FileRow]:
        return self.query_one("#run-table", FileTable)

    def durations(self) -> dict[Path, float]:
        """The playing time of every file probed so far (by the preview or the run)."""
        return {row.path: row.duration_s for row in self.model.rows if row.duration_s is not None}

    def on_mount(self) -> None:
        batch = for_batch(self.host.session, self.request)
        self.runner = run_runner(batch, self.paths, self.request.workers, self.pipe, self.known)
        done = threading.Event()
        self.host.runners.add(self.runner, done)
        self._show_controls()
        self._refresh_aggregate()
        self.set_interval(DRAIN_INTERVAL_S, self._tick)
        self._run_batch(batch, self.runner, done)

    def on_unmount(self) -> None:
        self.pipe.close()
        if self.running and self.runner is not None:
            self.runner.kill()

    @work(thread=True, exit_on_error=False, group="batch", name="batch")
    def _run_batch(self, batch: Session, runner: Runner, done: threading.Event) -> None:
        """The batch thread: start-up recovery (as headless does), then the runner.

        The runner owns its own executor. ``done`` tells the app, even after it
        has exited, that the runner has returned and recorded the batch's end.
        """
        try:
            if not self.request.dry_run:
                notes = batch.recover()
                if notes:
                    self.post_message(RecoveryNotes(notes))
            runner.run()
        except Exception as exc:
            self.post_message(BatchCrashed(self.pipe, exc))
        finally:
            done.set()

    def on_recovery_notes(self, message: RecoveryNotes) -> None:
        entries = [Text(note, style="yellow") for note in message.notes]
        self.query_one("#error-log", ErrorLog).add_many(entries)
        self.notify(
            f"Recovered from an earlier run: {plural(len(entries), 'note')} in the error log (l)",
            timeout=8,
        )

    # -- events from the runner -------------------------------------------------------
    def _tick(self) -> None:
        """Ten times a second: apply every queued event, then paint what changed.

        Applying an event is a dictionary update on the model; painting touches
        only the rows that changed *and* are on screen, the aggregate line and
        the bar. Nothing here walks all the rows, so a key press never waits
        behind a 10,000-file repaint.
        """
        events = self.pipe.drain()
        finished = False
        if events:
            now = self.host.services.clock()
            apply = self.model.apply
            dirty = self._dirty_rows
            for event in events:
                row = apply(event, now)
                if row is not None:
                    dirty.add(id(row))
                    if isinstance(event, FileFinished) and event.result.status is FileStatus.FAILED:
                        self._new_errors.append(error_text(row, full=False))
                elif isinstance(event, BatchFinished):
                    finished = True
        self._repaint()
        if finished:
            self._finished()

    def on_batch_over(self, message: BatchOver) -> None:
        if message.pipe is self.pipe and self.model.result is None:
            self._tick()

    def _repaint(self) -> None:
        if self._new_errors:
            self.query_one("#error-log", ErrorLog).add_many(self._new_errors)
            self._new_errors = []
            self.query_one("#error-panel").add_class("-has-errors")
        if self._dirty_rows:
            dirty = self._dirty_rows
            self._dirty_rows = set()
            self.table.refresh_rows_by_id(dirty)
            aggregate = self.query_one("#aggregate", AggregateLine)
            # finished files and the running files' share; cancelled files are not work
            aggregate.fraction = self.model.progress()
            # After a Stop the bar measures what will still be done: it jumps, and says why.
            aggregate.note = "cancelled files left out" if self.model.cancelled else ""
            current = self.table.current_row
            if current is not None and id(current) in dirty:
                self._refresh_detail()
        self._refresh_aggregate()

    def on_batch_crashed(self, message: BatchCrashed) -> None:
        if message.pipe is not self.pipe:
            return
        self.crashed = f"The batch stopped unexpectedly: {message.error}"
        self.query_one("#error-log", ErrorLog).add_many([Text(self.crashed, style="bold red")])
        self.query_one("#error-panel").add_class("-has-errors")
        self._runner_done()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "batch" and event.state is WorkerState.ERROR:
            self.crashed = f"The batch stopped unexpectedly: {event.worker.error}"
            self._runner_done()

    def _runner_done(self) -> None:
        """The runner has returned: the controls say so, and the app is told."""
        self.ended = True
        self._refresh_aggregate()
        self.host.runners.discard(self.runner)
        self.app.post_message(self.RunnerDone())

    def _finished(self) -> None:
        self.stopping = ""
        self.paused = False
        self._runner_done()
        dialog = self._kill_dialog
        if dialog is not None and dialog.is_current:
            dialog.dismiss(False)  # nothing is left to kill; its answer shows the summary
            return
        # Through the message queue: the timer that got here runs outside it, and
        # what the batch thread posted before the end (recovery notes) comes first.
        self._post_finished()

    def _post_finished(self) -> None:
        result = self.model.result
        if result is not None:
            self.app.post_message(self.Finished(self.request, result, self.durations()))

    def watch_ended(self) -> None:
        self._show_controls()

    def watch_paused(self, paused: bool) -> None:
        changed = self.model.set_paused(paused, self.host.services.clock())
        self.table.refresh_rows_by_id({id(row) for row in changed})
        self.query_one("#run-pause", Button).label = Text("Resume [p]" if paused else "Pause [p]")
        self._refresh_detail()
        self._refresh_aggregate()

    def watch_stopping(self) -> None:
        self._refresh_aggregate()

    def watch_worker_count(self, workers: int) -> None:
        self.model.workers = workers
        self._refresh_aggregate()

    def _show_controls(self) -> None:
        """Buttons offer Stop / Kill / Pause only while they can do something."""
        running = self.running
        for name in ("pause", "stop", "kill"):
            button = self.query_one(f"#run-{name}", Button)
            if not running and button.has_focus:  # it is about to vanish: keys go on working
                self.table.focus()
            button.display = running
        self.query_one("#run-summary", Button).display = self.model.result is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WHILE_RUNNING:
            return self.running
        if action in ("pause", "resume"):
            return self.running and self.paused == (action == "resume")
        if action == "summary":
            return self.model.result is not None
        if action == "back":
            return not self.running
        if action == "back_while_running":
            return self.running
        return True

    @on(Button.Pressed, "#run-controls Button")
    async def _button(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").removeprefix("run-")
        if action == "pause" and self.paused:
            action = "resume"  # one button, two actions: check_action allows one at a time
        await self.run_action(action)

    def _refresh_aggregate(self) -> None:
        now = self.host.services.clock()
        text = self.model.aggregate_text(now, paused=self.paused)
        if self.model.warnings:
            text += f"  ({plural(len(self.model.warnings), 'warning')}: see the error log)"
        aggregate = self.query_one("#aggregate", AggregateLine)
        # Its own line: said in full however narrow the terminal (set only on change).
        banner = self.crashed or (self.stopping if self.model.result is None else "")
        if aggregate.banner != banner:
            aggregate.banner = banner
        if self.model.result is not None:  # over: 100 %, nothing is left out any more
            aggregate.fraction, aggregate.note = 1.0, ""
        if text != self._aggregate_text:  # repaint only on change
            self._aggregate_text = text
            aggregate.text = text

    @on(FileTable.Highlighted, "#run-table")
    def _highlighted(self) -> None:
        self._refresh_detail()

    def _refresh_detail(self) -> None:
        found = self.query("#error-detail")
        if not found:  # a highlight posted while the screen was still being composed
            return
        detail = found.first(Static)
        row = self.table.current_row
        has_error = (
            row is not None
            and row.result is not None
            and bool(row.result.error or row.result.stderr_tail)
        )
        # Static.update re-lays out the screen: only when what it shows changes.
        key = (id(row), row.status) if has_error and row is not None else None
        if key == self._detail_for:
            return
        self._detail_for = key
        if row is None or key is None:
            detail.update("")
            detail.remove_class("-shown")
            return
        detail.update(error_text(row))
        detail.add_class("-shown")

    @on(FileTable.Selected, "#run-table")
    def _selected(self) -> None:
        self.query_one("#error-panel").add_class("-open")
        self._refresh_detail()

    # -- commands ------------------------------------------------------------------------
    def action_stop(self) -> None:
        if not self.running or self.runner is None:
            return
        self.runner.stop()  # resumes a paused batch: running files must run to finish
        self.paused = False
        self.stopping = "STOPPING: running files finish, the rest are cancelled"

    def action_kill(self) -> None:
        if not self.running:
            return

        def answered(yes: bool | None) -> None:
            self._kill_dialog = None
            if yes:
                self.kill_now()
            self._post_finished()  # if the batch ended while the question was open

        self._kill_dialog = ConfirmKill(self.model.active)
        self.app.push_screen(self._kill_dialog, answered)

    def kill_now(self) -> None:
        if self.runner is not None and self.running:
            self.runner.kill()
            self.stopping = "KILLING: running files are stopped, originals untouched"

    def action_resume(self) -> None:
        self.action_pause()

    def action_pause(self) -> None:
        if not self.running or self.runner is None:
            return
        if self.paused:
            self.runner.resume()
        else:
            self.runner.pause()
        self.paused = not self.paused

    def _set_workers(self, n: int) -> None:
        cap, why = self.host.worker_cap, self.host.worker_cap_text
        wanted = max(1, min(cap, n))
        if n > cap:
            self.notify(f"No more workers: {why}", markup=False)
        elif n < 1:
            self.notify("One worker is the fewest (s stops the batch)", markup=False)
        if self.runner is None or not self.running or wanted == self.worker_count:
            return
        self.runner.set_workers(wanted)
        self.worker_count = wanted

    def action_more_workers(self) -> None:
        self._set_workers(self.worker_count + 1)

    def action_fewer_workers(self) -> None:
        self._set_workers(self.worker_count - 1)

    def action_toggle_log(self) -> None:
        self.query_one("#error-panel").toggle_class("-open")

    def action_filter(self) -> None:
        self.query_one("#filter", FilterInput).open()

    def action_summary(self) -> None:
        self._post_finished()

    def action_back(self) -> None:
        if self.running:
            self.action_back_while_running()
            return
        self.app.post_message(BackToPick())

    def action_back_while_running(self) -> None:
        self.notify("The batch is running: s stops it, k kills it; then esc goes back.")
