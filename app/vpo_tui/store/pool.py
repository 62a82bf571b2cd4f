"""One SQLite connection shared by every thread, behind an explicit lock.

Why one connection and a lock rather than a connection per thread: worker threads
write a row or two per file, so contention is tiny, and a single connection keeps
WAL checkpoints and the schema migration simple. ``busy_timeout`` lets a second
vpo-tui process share the same database file (each process has its own pool).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 15_000

Params = Sequence[Any]


class StoreError(Exception):
    """The history database cannot be opened or used (names the file and the cause)."""


class ConnectionPool:
    """Thread-safe access to one SQLite database in WAL mode."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self._lock = threading.RLock()
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path),
                check_same_thread=False,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the history database: {exc}") from exc
        self._closed = False

    def execute_read(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def execute_write(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; returns ``lastrowid``."""
        with self.transaction() as conn:
            cursor = conn.execute(sql, params)
            return int(cursor.lastrowid or 0)

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        with self.transaction() as conn:
            conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error), holding the lock."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the history database is closed")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
