"""The watch screen: files settling (with their countdown), running, done and held back.

Drawn from the watcher's events only: the watcher runs on a thread and each of
its events arrives here as a ``WatchScreen.Seen`` message (``post_message`` is
thread-safe); a timer redraws the countdowns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from vpo_tui.batch.watcher import Finished, HeldBack, Note, Settling, Started, WatchEvent
from vpo_tui.engine.job import FileStatus
from vpo_tui.phrasing import console_text

SHOWN_ROWS = 500  # the newest files; older rows leave the table (the history keeps them)


@dataclass
class Row:
    path: Path
    state: str  # settling | running | done | held
    detail: str = ""
    due: float | None = None  # monotonic time a settling file is taken


def state_cell(row: Row, now: float) -> str:
    if row.state == "settling" and row.due is not None:
        return f"settling {max(0.0, row.due - now):.0f} s"
    return row.state


class WatchScreen(Screen[None]):
    DEFAULT_CSS = """
    WatchScreen #watch-title { height: auto; padding: 0 1; }
    WatchScreen #watch-files { height: 1fr; }
    WatchScreen #watch-detail { height: auto; max-height: 4; padding: 0 1; }
    WatchScreen #watch-notes { height: 5; border-top: solid $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Stop watching")]

    @dataclass
    class Seen(Message):
        """One event of the watcher (posted from its thread)."""

        event: WatchEvent

    def __init__(self, title: str, clock: type[time.struct_time] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.rows: dict[Path, Row] = {}
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text), id="watch-title")
        table: DataTable[str] = DataTable(id="watch-files", cursor_type="row")
        table.border_title = "Files (newest last)"
        yield table
        yield Static("", id="watch-detail")  # the selected file in full: the table cuts it
        yield Static("", id="watch-notes")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#watch-files", DataTable).add_columns("file", "state", "detail")
        self.set_interval(0.5, self.redraw_countdowns)

    def on_watch_screen_seen(self, message: WatchScreen.Seen) -> None:
        event = message.event
        now = time.monotonic()
        if isinstance(event, Note):
            self.notes = [*self.notes[-3:], event.text]
            self.query_one("#watch-notes", Static).update(Text("\n".join(self.notes)))
            return
        if isinstance(event, Settling):
            self.put(Row(event.path, "settling", "", now + event.remaining_s))
        elif isinstance(event, Started):
            self.put(Row(event.path, "running"))
        elif isinstance(event, Finished):
            result = event.result
            if event.first_pass and result.status is FileStatus.UNCHANGED:
                self.drop(Path(result.path))  # counted in the first pass's note, not listed
                return
            detail = result.error or "; ".join(result.changes) or "complies"
            detail = detail.removeprefix(f"{result.path}: ")
            self.put(Row(Path(result.path), result.status.value, detail))
        elif isinstance(event, HeldBack):
            self.put(Row(event.path, "held", event.reason))

    def put(self, row: Row) -> None:
        table = self.query_one("#watch-files", DataTable)
        key = str(row.path)
        if row.path in self.rows:
            table.remove_row(key)
        self.rows.pop(row.path, None)
        self.rows[row.path] = row
        name = console_text(row.path.name)
        table.add_row(name, state_cell(row, time.monotonic()), row.detail, key=key)
        while len(self.rows) > SHOWN_ROWS:
            oldest = next(iter(self.rows))
            del self.rows[oldest]
            table.remove_row(str(oldest))
        table.move_cursor(row=table.row_count - 1)
        self.show_selected()

    @on(DataTable.RowHighlighted, "#watch-files")
    def show_selected(self) -> None:
        """The selected file's whole path and detail, which the table's columns cut."""
        table = self.query_one("#watch-files", DataTable)
        detail = self.query_one("#watch-detail", Static)
        row = None
        if table.is_valid_row_index(table.cursor_row):
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
            row = self.rows.get(Path(str(key.value)))
        if row is None:
            detail.update("")
            return
        text = Text(console_text(str(row.path)), style="bold")
        text.append(f"  {row.state}")
        if row.detail:
            text.append(f"\n{row.detail}")
        detail.update(text)

    def drop(self, path: Path) -> None:
        if self.rows.pop(path, None) is not None:
            self.query_one("#watch-files", DataTable).remove_row(str(path))
            self.show_selected()

    def redraw_countdowns(self) -> None:
        table = self.query_one("#watch-files", DataTable)
        now = time.monotonic()
        columns = list(table.columns)
        for row in self.rows.values():
            if row.state == "settling":
                table.update_cell(str(row.path), columns[1], state_cell(row, now))
