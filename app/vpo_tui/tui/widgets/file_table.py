"""A table of files drawn with Textual's Line API.

``DataTable`` re-lays out its rows when cells change; with ten thousand files
updating several times a second that is too slow. This widget only keeps the
row objects and renders the lines on screen when asked, so updating a row in
place costs one ``refresh_line`` whatever the size of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vpo_tui.tui.text import cut_middle

RowT = TypeVar("RowT")
Cell = str | Text


@dataclass(frozen=True)
class Column:
    """A column title and its width; ``width=None`` columns share what is left.

    ``cut="middle"`` shortens a long cell in its middle (file names: their end is
    what tells them apart); otherwise a long cell is cut at its end.
    """

    title: str
    width: int | None = None
    weight: int = 1
    align: str = "left"
    cut: str = "end"


class FileTable(ScrollView, Generic[RowT], can_focus=True):
    """Rows of any object, a cursor, a text filter, and a fixed header line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "file-table--header",
        "file-table--cursor",
        "file-table--empty",
    }

    DEFAULT_CSS = """
    FileTable {
        height: 1fr;
        overflow-x: hidden;
        & > .file-table--header { text-style: bold; background: $panel; }
        & > .file-table--cursor { background: $accent 40%; }
        &:focus > .file-table--cursor { background: $accent; color: $text; }
        & > .file-table--empty { color: $text-muted; }
    }
    """

    cursor: reactive[int] = reactive(0, repaint=False, init=False)

    class Highlighted(Message):
        """The cursor moved to ``row`` (None when the table is empty)."""

        def __init__(self, table: FileTable[object], row: object | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> FileTable[object]:
            return self.table

    class Selected(Message):
        """Enter (or a click) on ``row``."""

        def __init__(self, table: FileTable[object], row: object) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> FileTable[object]:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[RowT], Sequence[Cell]],
        *,
        search_key: Callable[[RowT], str] = str,
        empty_text: str = "No files.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self._cells = cells
        self._search_key = search_key
        self.empty_text = empty_text
        self._rows: list[RowT] = []
        self._visible: list[RowT] = []
        self._position: dict[int, int] = {}  # id(row) -> index in _visible
        self._filter = ""
        self._styles: _LineStyles | None = None
        self._widths_for: tuple[int, list[int]] = (-1, [])

    # -- data -----------------------------------------------------------------
    @property
    def rows(self) -> list[RowT]:
        return self._rows

    @property
    def visible_rows(self) -> list[RowT]:
        return self._visible

    @property
    def filter_text(self) -> str:
        return self._filter

    def set_rows(self, rows: Iterable[RowT]) -> None:
        self._rows = list(rows)
        self._rebuild()

    def add_rows(self, rows: Iterable[RowT]) -> None:
        """Append rows (preview fills in while files are found) without a full rebuild."""
        needle = self._filter.lower()
        for row in rows:
            self._rows.append(row)
            if not needle or needle in self._search_key(row).lower():
                self._position[id(row)] = len(self._visible)
                self._visible.append(row)
        self._resize()
        self.refresh()

    def set_filter(self, text: str) -> None:
        self._filter = text
        self._rebuild()

    def refresh_row(self, row: RowT) -> None:
        """Repaint one row if it is shown (one line, not the whole table)."""
        index = self._position.get(id(row))
        if index is not None:
            self.refresh_line(index + 1)  # virtual line: the header is line 0

    def refresh_rows_by_id(self, row_ids: Container[int]) -> None:
        """Repaint those of the given rows (by ``id()``) that are on screen.

        Walks only the screenful of visible rows, whatever the number of rows
        changed or in the table, and repaints one region spanning them.
        """
        top = int(self.scroll_offset.y)
        bottom = min(len(self._visible), top + max(0, self.scrollable_content_region.height - 1))
        changed = [i for i in range(top, bottom) if id(self._visible[i]) in row_ids]
        if changed:
            self.refresh_lines(changed[0] + 1, changed[-1] - changed[0] + 1)

    @property
    def current_row(self) -> RowT | None:
        if 0 <= self.cursor < len(self._visible):
            return self._visible[self.cursor]
        return None

    def _rebuild(self) -> None:
        current = self.current_row
        needle = self._filter.lower()
        if needle:
            self._visible = [r for r in self._rows if needle in self._search_key(r).lower()]
        else:
            self._visible = list(self._rows)
        self._position = {id(r): i for i, r in enumerate(self._visible)}
        self._resize()
        new_cursor = self._position.get(id(current), 0) if current is not None else 0
        self.cursor = min(new_cursor, max(0, len(self._visible) - 1))
        self._announce()
        self.refresh()

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible) + 1)

    # -- cursor -----------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_to_cursor()
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.current_row))  # type: ignore[arg-type]

    def _scroll_to_cursor(self) -> None:
        rows_on_screen = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows_on_screen:
            self.scroll_to(y=self.cursor - rows_on_screen + 1, animate=False, immediate=True)

    def _move(self, delta: int) -> None:
        if self._visible:
            self.cursor = max(0, min(len(self._visible) - 1, self.cursor + delta))

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_page_up(self) -> None:
        self._move(-max(1, self.scrollable_content_region.height - 2))

    def action_page_down(self) -> None:
        self._move(max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self._move(-len(self._visible))

    def action_last(self) -> None:
        self._move(len(self._visible))

    def action_select(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.Selected(self, row))  # type: ignore[arg-type]

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._visible):
            self.cursor = index
            if event.chain >= 2:
                self.action_select()

    # -- rendering ----------------------------------------------------------------
    def on_resize(self) -> None:
        self._resize()

    def notify_style_update(self) -> None:
        """Theme, focus or CSS changed: the cached line styles are stale."""
        self._styles = None
        self._widths_for = (-1, [])
        super().notify_style_update()

    def _on_focus(self, event: events.Focus) -> None:
        self._styles = None
        super()._on_focus(event)

    def _on_blur(self, event: events.Blur) -> None:
        self._styles = None
        super()._on_blur(event)

    def _line_styles(self) -> _LineStyles:
        """The four styles every line uses, computed once per style change, not per line.

        ``rich_style`` walks the ancestors; per line that was most of the cost of
        drawing a screenful of rows.
        """
        styles = self._styles
        if styles is None:
            base = self.rich_style
            styles = _LineStyles(
                base=base,
                header=base + self.get_component_rich_style("file-table--header"),
                cursor=base + self.get_component_rich_style("file-table--cursor"),
                empty=base + self.get_component_rich_style("file-table--empty"),
            )
            self._styles = styles
        return styles

    def _widths(self, total: int) -> list[int]:
        if self._widths_for[0] == total:
            return self._widths_for[1]
        fixed = sum(c.width or 0 for c in self.columns) + len(self.columns) - 1
        flexible = [c for c in self.columns if c.width is None]
        spare = max(0, total - fixed)
        weights = sum(c.weight for c in flexible) or 1
        widths: list[int] = []
        given = 0
        for column in self.columns:
            if column.width is not None:
                widths.append(column.width)
            elif column is flexible[-1]:
                widths.append(max(1, spare - given))
            else:
                share = max(1, spare * column.weight // weights)
                given += share
                widths.append(share)
        self._widths_for = (total, widths)
        return widths

    def _line(self, cells: Sequence[Cell], width: int, style: Style) -> Strip:
        """One row as segments, built directly (no Text layout: this runs per visible line).

        A cell is a string or a ``Text`` with one style for all of it; control
        characters from file names are removed so they cannot reach the terminal.
        """
        segments: list[Segment] = []
        for i, (column, cell_width, cell) in enumerate(
            zip(self.columns, self._widths(width), cells, strict=False)
        ):
            if i:
                segments.append(Segment(" ", style))
            if isinstance(cell, Text) and cell.spans:  # styled runs inside: let Rich do it
                text = cell.copy()
                text.truncate(cell_width, overflow="ellipsis")
                if column.align == "right":
                    text.pad_left(cell_width - text.cell_len)
                else:
                    text.pad_right(cell_width - text.cell_len)
                text.stylize_before(style)
                segments.extend(text.render(self.app.console))
                continue
            plain, cell_style = (cell.plain, cell.style) if isinstance(cell, Text) else (cell, "")
            if column.cut == "middle":
                plain = cut_middle(_printable(plain), cell_width)
            fitted = _fit(plain, cell_width, column.align)
            segments.append(Segment(fitted, _combine(style, cell_style)))
        return Strip(segments).adjust_cell_length(width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        styles = self._line_styles()
        if y == 0:
            return self._line([c.title for c in self.columns], width, styles.header)
        index = int(self.scroll_offset.y) + y - 1
        if not self._visible and y == 1:
            return Strip([Segment(self.empty_text, styles.empty)]).adjust_cell_length(
                width, styles.base
            )
        if index >= len(self._visible):
            return Strip.blank(width, styles.base)
        row = self._visible[index]
        style = styles.cursor if index == self.cursor else styles.base
        return self._line(self._cells(row), width, style)


@dataclass(frozen=True)
class _LineStyles:
    base: Style
    header: Style
    cursor: Style
    empty: Style


def _fit(text: str, width: int, align: str) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    text = _printable(text)
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - length)
    return pad + text if align == "right" else text + pad


def _printable(text: str) -> str:
    """Control characters from file names never reach the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _combine(base: Style, cell_style: str | Style) -> Style:
    if not cell_style:
        return base
    return base + (Style.parse(cell_style) if isinstance(cell_style, str) else cell_style)
