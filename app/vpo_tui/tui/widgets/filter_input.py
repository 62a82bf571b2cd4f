"""The ``/`` filter line under a file table: hidden until asked for."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from vpo_tui.tui.widgets.file_table import FileTable


class FilterInput(Input):
    """Filters ``table`` by file name as you type; escape clears and hides it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close filter", show=False),
        Binding("enter", "done", "Keep filter", show=False),
    ]

    DEFAULT_CSS = """
    FilterInput { display: none; }
    FilterInput.-open { display: block; }
    """

    def __init__(self, table: FileTable[object], **kwargs: object) -> None:
        super().__init__(placeholder="filter by name (enter keeps, escape clears)", **kwargs)  # type: ignore[arg-type]
        self.table = table

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)

    def action_close(self) -> None:
        self.value = ""
        self.table.set_filter("")
        self.remove_class("-open")
        self.table.focus()

    def action_done(self) -> None:
        if not self.value:
            self.remove_class("-open")
        self.table.focus()
