"""A path input that completes folder and file names as you type."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input


class PathSuggester(Suggester):
    """Suggests the first existing entry that extends what was typed (like shell tab).

    Hidden names (``.config``) are offered once the typed part starts with a dot,
    as a shell completes them.
    """

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        # Split the text itself: Path("x/.") would drop the dot that asks for hidden names.
        head, slash, stem = value.rpartition("/")
        folder = Path((head + slash) or ".").expanduser()
        hidden = stem.startswith(".")
        try:
            names = sorted(
                entry.name
                for entry in folder.iterdir()
                if entry.name.startswith(stem) and (hidden or not entry.name.startswith("."))
            )
        except OSError:
            return None
        if not names:
            return None
        base = value if value.endswith("/") else value[: len(value) - len(stem)]
        candidate = base + names[0]
        if (folder / names[0]).is_dir():
            candidate += "/"
        return candidate if candidate != value else None


class PathInput(Input):
    """The pick screen's path box: ``tab`` takes the completion, as in a shell.

    Without a completion on offer ``tab`` does nothing while a path is being
    typed: a shell user presses it again and again, and the box must not lose the
    focus (and the next typed keys) to another widget. An empty box is only on
    the way: there ``tab`` moves on, as everywhere. ``escape`` leaves the box.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(suggester=PathSuggester(), **kwargs)

    def action_complete(self) -> None:
        if self.cursor_at_end and len(self._suggestion) > len(self.value):
            self.action_cursor_right()  # Input's own way of accepting a suggestion
        elif not self.value:
            self.screen.focus_next()
