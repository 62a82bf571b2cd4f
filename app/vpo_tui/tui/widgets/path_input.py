"""A path input that completes folder and file names as you type."""

from __future__ import annotations

from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first existing entry that extends what was typed (like shell tab)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        if value.endswith("/"):
            folder, stem = typed, ""
        else:
            folder, stem = typed.parent, typed.name
        try:
            names = sorted(
                entry.name
                for entry in folder.iterdir()
                if entry.name.startswith(stem) and not entry.name.startswith(".")
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
