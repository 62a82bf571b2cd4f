"""History: past batches from the database, and the files of the chosen one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

if TYPE_CHECKING:
    from vpo_tui.tui.app import VpoApp


def _get(record: Any, name: str, default: Any = "") -> Any:
    """Records may be dataclasses or mappings (sqlite rows); read either."""
    if isinstance(record, dict):
        return record.get(name, default)
    try:
        return record[name]
    except (TypeError, KeyError, IndexError):
        return getattr(record, name, default)


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @property
    def vpo(self) -> VpoApp:
        from vpo_tui.tui.app import VpoApp

        assert isinstance(self.app, VpoApp)
        return self.app

    def compose(self) -> ComposeResult:
        where = self.vpo.services.db_path
        yield Static(f"History — {where or 'no database'}", id="title")
        batches: DataTable[str] = DataTable(id="batches", cursor_type="row")
        batches.border_title = "Batches (enter shows the files)"
        yield batches
        files: DataTable[str] = DataTable(id="batch-files", cursor_type="row")
        files.border_title = "Files"
        yield files
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#batches", DataTable)
        table.add_columns("#", "started", "policy", "files", "ok", "failed", "status")
        store = self.vpo.services.store
        if store is None:
            table.add_row("", "no history database", "", "", "", "", "")
            return
        try:
            batches = list(store.batches())
        except Exception as exc:
            self.notify(f"Cannot read the history: {exc}", severity="error")
            return
        for batch in batches:
            batch_id = _get(batch, "id")
            table.add_row(
                str(batch_id),
                str(_get(batch, "started_at"))[:19],
                str(_get(batch, "policy_name")),
                str(_get(batch, "total")),
                str(_get(batch, "ok")),
                str(_get(batch, "failed")),
                str(_get(batch, "status")),
                key=str(batch_id),
            )
        files = self.query_one("#batch-files", DataTable)
        files.add_columns("file", "status", "error")
        table.focus()

    @on(DataTable.RowSelected, "#batches")
    def _show_files(self, event: DataTable.RowSelected) -> None:
        files = self.query_one("#batch-files", DataTable)
        files.clear()
        key = event.row_key.value
        store = self.vpo.services.store
        if store is None or key is None:
            return
        try:
            rows = list(store.batch_files(int(key)))
        except Exception as exc:
            self.notify(f"Cannot read batch {key}: {exc}", severity="error")
            return
        for row in rows:
            files.add_row(
                str(_get(row, "path")), str(_get(row, "status")), str(_get(row, "error") or "")
            )

    def action_back(self) -> None:
        self.dismiss(None)
