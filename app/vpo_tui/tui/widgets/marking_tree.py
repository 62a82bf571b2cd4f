"""A folder tree where several folders and files can be marked with space."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DirectoryTree
from textual.widgets._directory_tree import DirEntry
from textual.widgets._tree import TreeNode

from vpo_tui.phrasing import console_text

VIDEO_SUFFIXES = frozenset({".mkv", ".mp4", ".m4v", ".webm", ".avi", ".mov", ".ts", ".m2ts"})


class MarkingTree(DirectoryTree):
    """``DirectoryTree`` plus a set of marked paths, shown as ``[x]`` before the name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", show=True),
    ]

    class MarksChanged(Message):
        def __init__(self, tree: MarkingTree) -> None:
            super().__init__()
            self.tree = tree

        @property
        def control(self) -> MarkingTree:
            return self.tree

    def __init__(self, path: str | Path, *, marked: Iterable[Path] = (), **kwargs: object) -> None:
        super().__init__(path, **kwargs)  # type: ignore[arg-type]
        self.marked: set[Path] = {Path(p) for p in marked}

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders and video files only; hidden entries (our temp files) stay out of sight."""
        return [
            p
            for p in paths
            if not p.name.startswith(".")
            and (self._safe_is_dir(p) or p.suffix.lower() in VIDEO_SUFFIXES)
        ]

    def toggle(self, path: Path) -> None:
        path = Path(path)
        if path in self.marked:
            self.marked.discard(path)
        else:
            self.marked.add(path)
        self._refresh_marks()

    def set_marked(self, paths: Iterable[Path]) -> None:
        self.marked = {Path(p) for p in paths}
        self._refresh_marks()

    def _refresh_marks(self) -> None:
        self._clear_line_cache()
        self.refresh()
        self.post_message(self.MarksChanged(self))

    def action_toggle_mark(self) -> None:
        node = self.cursor_node
        if node is not None and node.data is not None:
            self.toggle(Path(node.data.path))

    def process_label(self, label: str | Text) -> Text:
        """A newline or a byte that is not UTF-8 in a name shows escaped, as on the console
        (``caf\\xe9.mkv``), not cut at the newline or drawn as a stray surrogate."""
        return super().process_label(console_text(label) if isinstance(label, str) else label)

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is None:
            return label
        path = Path(node.data.path)
        if path in self.marked:
            mark = Text("[x] ", style=Style(bold=True, color="green"))
        elif any(parent in self.marked for parent in path.parents):
            mark = Text("[+] ", style=Style(dim=True))  # inside a marked folder
        else:
            mark = Text("[ ] ", style=Style(dim=True))
        return Text.assemble(mark, label)
