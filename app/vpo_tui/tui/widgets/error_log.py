"""The run screen's error log: one entry per failed file (file, cause, stderr tail).

A plain ``Static`` in a scroll view rather than ``RichLog``: RichLog defers
writes while it is hidden, and this log is hidden until the user opens it.
Only the newest entries are drawn so that a batch of thousands of failures
stays cheap; every entry is kept in ``entries`` (and in the history database).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from vpo_tui.phrasing import plural

SHOWN_ENTRIES = 300


class ErrorLog(VerticalScroll):
    DEFAULT_CSS = """
    ErrorLog { height: 1fr; }
    ErrorLog > Static { width: 100%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.entries: list[Text] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("No errors so far.", style="dim"), id="error-log-text")

    def add(self, entry: Text) -> None:
        self.add_many([entry])

    def add_many(self, entries: list[Text]) -> None:
        """Append a burst of entries with one redraw (a tick may bring hundreds)."""
        self.entries.extend(entries)
        shown = self.entries[-SHOWN_ENTRIES:]
        hidden = len(self.entries) - len(shown)
        text = Text()
        if hidden:
            text.append(
                f"({plural(hidden, 'older entry', 'older entries')} not shown)\n", style="dim"
            )
        text.append(Text("\n\n").join(shown))
        self.query_one("#error-log-text", Static).update(text)
        self.scroll_end(animate=False)

    @property
    def plain(self) -> str:
        return "\n".join(entry.plain for entry in self.entries)
