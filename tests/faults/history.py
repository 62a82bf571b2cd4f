"""Read the history database the way an auditor would: plain SQL, read-only.

The suite checks what the store *recorded* (jobs marked ``interrupted`` after a
kill, no job left ``running``, integrity under concurrent writers) without going
through the store's own code, so a bug there cannot hide itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobRow:
    batch_id: int | None
    path: str
    status: str


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def _jobs_table(conn: sqlite3.Connection) -> tuple[str, list[str]]:
    """The table holding one row per file (it has ``path`` and ``status`` columns)."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for name in sorted(names, key=lambda n: (n != "jobs", n)):
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
        if "path" in columns and "status" in columns:
            return name, columns
    raise AssertionError(f"no jobs table (path, status) in {db_tables(names)}")


def db_tables(names: list[str]) -> str:
    return ", ".join(names) or "an empty database"


def job_rows(db: Path) -> list[JobRow]:
    conn = _connect(db)
    try:
        table, columns = _jobs_table(conn)
        batch = "batch_id" if "batch_id" in columns else "NULL"
        rows = conn.execute(f'SELECT {batch}, path, status FROM "{table}"').fetchall()
    finally:
        conn.close()
    return [JobRow(b, str(p), str(s)) for b, p, s in rows]


def integrity_check(db: Path) -> str:
    conn = _connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
