"""Batch history, per-file jobs and the probe cache: the only code that speaks SQL.

The runner records a batch, a job row per file (``running`` with our pid when it
starts, its result when it ends) and, for files known to comply with a policy, a
probe-cache row keyed by real path + size + mtime + policy digest, so a re-run
over a compliant library starts no tool at all. The probe itself is kept too
(keyed by real path, checked against size, mtime, inode and ctime), so a run
after a dry run does not probe an unchanged file again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from vpo_tui.engine.job import FileResult, StopReason
from vpo_tui.ownership import pid_alive
from vpo_tui.phrasing import plural
from vpo_tui.store.paths import (
    optional_path_from_value,
    optional_path_value,
    path_from_value,
    path_value,
    text_value,
)
from vpo_tui.store.pool import ConnectionPool
from vpo_tui.store.schema import SCHEMA_VERSION, migrate

if TYPE_CHECKING:  # the store sits below the batch layer: no runtime import
    from vpo_tui.engine.job import BatchResult

INTERRUPTED = "interrupted"
RUNNING = "running"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("vpo-tui")) / "history.sqlite3"


def describe_database(path: Path) -> tuple[bool, str]:
    """``(usable, words)`` about the history at ``path``, for ``vpo-tui doctor``.

    Opened read-only: checking must never create, migrate or lock anything.
    """
    if not path.exists():
        return True, "not created yet; the first run makes it"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                return False, (
                    f"schema v{version} is newer than this vpo-tui understands "
                    f"(v{SCHEMA_VERSION}); upgrade vpo-tui or use --db"
                )
            if version == 0:
                return True, "empty; the next run sets it up"
            check = str(conn.execute("PRAGMA quick_check").fetchone()[0])
            if check != "ok":
                return False, f"damaged: {check}"
            batches = int(conn.execute("SELECT count(*) FROM batches").fetchone()[0])
            files = int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return False, f"cannot be read: {exc}"
    counted = f"{plural(batches, 'batch', 'batches')}, {plural(files, 'file result')}"
    return True, f"{counted}, schema v{version}"


@dataclass(frozen=True)
class BatchRecord:
    id: int
    started_at: float
    finished_at: float | None
    policy_name: str
    policy_digest: str
    policy_source: str
    workers: int
    dry_run: bool
    total: int
    status: str  # running | finished | interrupted
    roots: tuple[str, ...]
    totals: dict[str, int]
    stopped_early: bool
    stop_reason: str | None
    duration_s: float | None

    @property
    def outcome(self) -> str:
        """How the batch ended, in the words both front ends show."""
        if self.status != "finished" or not self.stop_reason:
            return self.status  # running | interrupted | finished
        try:
            return StopReason(self.stop_reason).outcome
        except ValueError:  # written by a newer vpo-tui
            return f"stopped ({self.stop_reason})"


@dataclass(frozen=True)
class JobRecord:
    id: int
    batch_id: int
    position: int
    path: str
    status: str
    started_at: float | None
    finished_at: float | None
    duration_s: float | None
    changes: tuple[str, ...]
    error: str | None
    stderr_tail: str | None
    before: tuple[str, ...]
    after: tuple[str, ...]
    output_path: str | None


_STATUSES = ("ok", "unchanged", "planned", "failed", "skipped", "cancelled")


def sizes_of(result: FileResult) -> tuple[int | None, int | None]:
    """``(size before, size after)`` in bytes, where the result tells them.

    After: the compliant file's fingerprint. Before: what the engine read, else
    the kept probe's fingerprint (an unchanged file's).
    """
    after = result.fingerprint[0] if result.fingerprint is not None else None
    before = result.source_size
    if before is None and result.probe is not None:
        before = result.probe.fingerprint[0]
    return before, after


class HistoryStore:
    """History and probe cache in one SQLite file (thread-safe, multi-process safe)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._pool = ConnectionPool(self.path)
        migrate(self._pool)

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- start-up recovery ------------------------------------------------------
    def mark_interrupted(self) -> list[JobRecord]:
        """Jobs and batches still ``running`` whose process is gone become ``interrupted``.

        Returns the jobs that were marked, so the caller can tell the user and
        sweep their folders for stale temp files.
        """
        dead, gone = self._running_of_dead_processes()
        now = time.time()
        if dead:
            self._pool.execute_many(
                "UPDATE jobs SET status = ?, finished_at = ?, error = ?"
                " WHERE id = ? AND status = ?",
                [
                    (
                        INTERRUPTED,
                        now,
                        "interrupted: vpo-tui stopped while this file ran",
                        r["id"],
                        RUNNING,
                    )
                    for r in dead
                ],
            )
        if gone:
            self._pool.execute_many(
                "UPDATE batches SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
                [(INTERRUPTED, now, batch_id, RUNNING) for batch_id in gone],
            )
        return [self._job(r) for r in dead]

    def interrupted_pending(self) -> tuple[list[JobRecord], int]:
        """What ``mark_interrupted`` would mark, changing nothing (for a dry run).

        Returns the jobs and the number of batches still ``running`` whose process
        is gone.
        """
        dead, gone = self._running_of_dead_processes()
        return [self._job(r) for r in dead], len(gone)

    def _running_of_dead_processes(self) -> tuple[list[sqlite3.Row], list[int]]:
        rows = self._pool.execute_read(
            "SELECT * FROM jobs WHERE status = ? AND pid IS NOT NULL", (RUNNING,)
        )
        dead = [r for r in rows if not pid_alive(int(r["pid"]))]
        batches = self._pool.execute_read(
            "SELECT id, pid FROM batches WHERE status = ?", (RUNNING,)
        )
        gone = [int(b["id"]) for b in batches if not pid_alive(int(b["pid"]))]
        return dead, gone

    # -- recording (called by the runner, from worker threads) -----------------
    def begin_batch(
        self,
        *,
        policy_name: str,
        policy_digest: str,
        policy_source: str = "",
        workers: int,
        dry_run: bool,
        total: int,
        roots: Sequence[Path | str] = (),
    ) -> int:
        return self._pool.execute_write(
            "INSERT INTO batches (started_at, policy_name, policy_digest, policy_source, workers,"
            " dry_run, total, status, pid, roots) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                policy_name,
                policy_digest,
                policy_source,
                workers,
                int(dry_run),
                total,
                RUNNING,
                os.getpid(),
                json.dumps([str(r) for r in roots]),
            ),
        )

    def job_started(self, batch_id: int, position: int, path: Path | str) -> int:
        return self._pool.execute_write(
            "INSERT INTO jobs (batch_id, position, path, status, pid, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (batch_id, position, path_value(path), RUNNING, os.getpid(), time.time()),
        )

    def job_finished(self, job_id: int, result: FileResult) -> None:
        self._pool.execute_write(
            "UPDATE jobs SET status = ?, finished_at = ?, duration_s = ?, changes = ?, error = ?,"
            " stderr_tail = ?, before = ?, after = ?, output_path = ?, size_before = ?,"
            " size_after = ? WHERE id = ?",
            (*self._result_columns(result), job_id),
        )

    def job_recorded(self, batch_id: int, position: int, result: FileResult) -> None:
        """A file that finished without running (cache hit, never started)."""
        self.jobs_recorded(batch_id, [(position, result)])

    def jobs_recorded(self, batch_id: int, items: Iterable[tuple[int, FileResult]]) -> None:
        self._pool.execute_many(
            "INSERT INTO jobs (batch_id, position, path, status, finished_at, duration_s, changes,"
            " error, stderr_tail, before, after, output_path, size_before, size_after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (batch_id, pos, path_value(result.path), *self._result_columns(result))
                for pos, result in items
            ],
        )

    def finish_batch(self, batch_id: int, result: BatchResult) -> None:
        totals = result.totals
        self._pool.execute_write(
            "UPDATE batches SET finished_at = ?, status = 'finished', ok = ?, unchanged = ?,"
            " planned = ?, failed = ?, skipped = ?, cancelled = ?, stopped_early = ?,"
            " stop_reason = ?, duration_s = ? WHERE id = ?",
            (
                time.time(),
                *(totals.get(s, 0) for s in _STATUSES),
                int(result.stopped_early),
                result.stop_reason.value if result.stop_reason is not None else None,
                result.duration_s,
                batch_id,
            ),
        )

    @staticmethod
    def _result_columns(result: FileResult) -> tuple[object, ...]:
        return (
            result.status.value,
            time.time(),
            result.duration_s,
            json.dumps(list(result.changes)),
            text_value(result.error),
            text_value(result.stderr_tail),
            json.dumps(list(result.before)),
            json.dumps(list(result.after)),
            optional_path_value(result.output_path),
            *sizes_of(result),
        )

    def converted_elsewhere(self, path: Path | str) -> Path | None:
        """Where a successful run wrote ``path`` under a new name, if one did."""
        rows = self._pool.execute_read(
            "SELECT output_path FROM jobs WHERE path = ? AND status = 'ok'"
            " AND output_path IS NOT NULL AND output_path != path ORDER BY id DESC LIMIT 1",
            (path_value(path),),
        )
        return Path(path_from_value(rows[0]["output_path"])) if rows else None

    def running_elsewhere(self, path: Path | str) -> int | None:
        """The pid of another live vpo-tui process whose job on ``path`` is still open."""
        rows = self._pool.execute_read(
            "SELECT pid FROM jobs WHERE path = ? AND status = ? AND pid IS NOT NULL"
            " AND pid != ? ORDER BY id DESC",
            (path_value(path), RUNNING, os.getpid()),
        )
        return next((int(r["pid"]) for r in rows if pid_alive(int(r["pid"]))), None)

    # -- probe cache -------------------------------------------------------------
    def is_compliant(self, path: Path | str, size: int, mtime_ns: int, digest: str) -> bool:
        rows = self._pool.execute_read(
            "SELECT size, mtime_ns FROM probe_cache WHERE path = ? AND policy_digest = ?",
            (path_value(path), digest),
        )
        return bool(rows) and rows[0]["size"] == size and rows[0]["mtime_ns"] == mtime_ns

    def compliant_files(self, digest: str) -> dict[str, tuple[int, int]]:
        """Every path known to comply with the policy ``digest``: ``{path: (size, mtime_ns)}``.

        One query for a whole library, where ``is_compliant`` is one per file: a
        watcher's first pass over 50,000 files asks once.
        """
        rows = self._pool.execute_read(
            "SELECT path, size, mtime_ns FROM probe_cache WHERE policy_digest = ?", (digest,)
        )
        return {path_from_value(r["path"]): (int(r["size"]), int(r["mtime_ns"])) for r in rows}

    def mark_compliant(self, path: Path | str, size: int, mtime_ns: int, digest: str) -> None:
        self._pool.execute_write(
            "INSERT INTO probe_cache (path, policy_digest, size, mtime_ns, recorded_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (path, policy_digest) DO UPDATE SET"
            " size = excluded.size, mtime_ns = excluded.mtime_ns,"
            " recorded_at = excluded.recorded_at",
            (path_value(path), digest, size, mtime_ns, time.time()),
        )

    def known_probe(self, path: Path | str, fingerprint: tuple[int, int, int, int]) -> str | None:
        """The kept probe record of ``path`` if the file still has ``fingerprint``."""
        rows = self._pool.execute_read(
            "SELECT size, mtime_ns, inode, ctime_ns, record FROM probes WHERE path = ?",
            (path_value(path),),
        )
        if not rows:
            return None
        row = rows[0]
        kept = (row["size"], row["mtime_ns"], row["inode"], row["ctime_ns"])
        return str(row["record"]) if kept == tuple(fingerprint) else None

    def remember_probe(
        self, path: Path | str, fingerprint: tuple[int, int, int, int], record: str
    ) -> None:
        """Keep the probe of ``path`` (one row per file: a newer probe replaces it)."""
        self._pool.execute_write(
            "INSERT INTO probes (path, size, mtime_ns, inode, ctime_ns, record, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
            " size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,"
            " ctime_ns = excluded.ctime_ns, record = excluded.record,"
            " recorded_at = excluded.recorded_at",
            (path_value(path), *fingerprint, record, time.time()),
        )

    # -- queries (history command, TUI) ------------------------------------------
    def list_batches(self, limit: int = 20) -> list[BatchRecord]:
        rows = self._pool.execute_read(
            "SELECT * FROM batches ORDER BY id DESC LIMIT ?", (max(0, limit),)
        )
        return [self._with_live_totals(self._batch(r)) for r in rows]

    def get_batch(self, batch_id: int) -> BatchRecord | None:
        rows = self._pool.execute_read("SELECT * FROM batches WHERE id = ?", (batch_id,))
        return self._with_live_totals(self._batch(rows[0])) if rows else None

    def _with_live_totals(self, batch: BatchRecord) -> BatchRecord:
        """A finished batch's totals are written at its end; a running or interrupted
        one's are counted from its job rows, so no front end shows "0 ok" for files
        that did finish."""
        if batch.status == "finished":
            return batch
        rows = self._pool.execute_read(
            "SELECT status, count(*) AS n FROM jobs WHERE batch_id = ? GROUP BY status",
            (batch.id,),
        )
        counted = {str(r["status"]): int(r["n"]) for r in rows}
        totals = {s: counted.get(s, 0) for s in _STATUSES}
        if counted.get(INTERRUPTED):  # only an unfinished batch has these
            totals[INTERRUPTED] = counted[INTERRUPTED]
        return dataclasses.replace(batch, totals=totals)

    def batch_jobs(self, batch_id: int) -> list[JobRecord]:
        rows = self._pool.execute_read(
            "SELECT * FROM jobs WHERE batch_id = ? ORDER BY position, id", (batch_id,)
        )
        return [self._job(r) for r in rows]

    def recent_folders(self, limit: int = 10) -> list[str]:
        """The folders/files most recently given to a batch, newest first, no repeats."""
        seen: list[str] = []
        for row in self._pool.execute_read("SELECT roots FROM batches ORDER BY id DESC LIMIT 200"):
            for root in json.loads(row["roots"] or "[]"):
                if root not in seen:
                    seen.append(root)
                if len(seen) >= limit:
                    return seen
        return seen

    @staticmethod
    def _batch(r: sqlite3.Row) -> BatchRecord:
        return BatchRecord(
            id=r["id"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            policy_name=r["policy_name"],
            policy_digest=r["policy_digest"],
            policy_source=r["policy_source"],
            workers=r["workers"],
            dry_run=bool(r["dry_run"]),
            total=r["total"],
            status=r["status"],
            roots=tuple(json.loads(r["roots"] or "[]")),
            totals={s: int(r[s]) for s in _STATUSES},
            stopped_early=bool(r["stopped_early"]),
            stop_reason=r["stop_reason"],
            duration_s=r["duration_s"],
        )

    @staticmethod
    def _job(r: sqlite3.Row) -> JobRecord:
        return JobRecord(
            id=r["id"],
            batch_id=r["batch_id"],
            position=r["position"],
            path=path_from_value(r["path"]),
            status=r["status"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            duration_s=r["duration_s"],
            changes=tuple(json.loads(r["changes"] or "[]")),
            error=r["error"],
            stderr_tail=r["stderr_tail"],
            before=tuple(json.loads(r["before"] or "[]")),
            after=tuple(json.loads(r["after"] or "[]")),
            output_path=optional_path_from_value(r["output_path"]),
        )
