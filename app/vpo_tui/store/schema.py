"""The history schema and its migrations (``PRAGMA user_version`` is the version).

Each migration moves the database up by exactly one version inside one
transaction, so an old database opens in a new vpo-tui and a crash mid-migration
leaves the previous version intact. A database from a *newer* vpo-tui is refused
rather than damaged.
"""

from __future__ import annotations

from vpo_tui.store.pool import ConnectionPool, StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: batches, one job per file, probe cache
    """
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at REAL NOT NULL,
        finished_at REAL,
        policy_name TEXT NOT NULL,
        policy_digest TEXT NOT NULL,
        policy_source TEXT NOT NULL DEFAULT '',
        workers INTEGER NOT NULL,
        dry_run INTEGER NOT NULL,
        total INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'running',
        pid INTEGER NOT NULL,
        roots TEXT NOT NULL DEFAULT '[]',
        ok INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        planned INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        stopped_early INTEGER NOT NULL DEFAULT 0,
        duration_s REAL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        path TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER,
        started_at REAL,
        finished_at REAL,
        duration_s REAL,
        changes TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        stderr_tail TEXT,
        before TEXT NOT NULL DEFAULT '[]',
        after TEXT NOT NULL DEFAULT '[]',
        output_path TEXT
    );
    CREATE TABLE probe_cache (
        path TEXT NOT NULL,
        policy_digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (path, policy_digest)
    );
    """,
    # 2: lookups the history screens and start-up recovery do often
    """
    CREATE INDEX jobs_by_batch ON jobs(batch_id, position);
    CREATE INDEX jobs_by_status ON jobs(status);
    ALTER TABLE batches ADD COLUMN stop_reason TEXT;
    """,
    # 3: a file gone from under a second run is looked up by path (converted_elsewhere)
    """
    CREATE INDEX jobs_by_path ON jobs(path, status);
    """,
    # 4: the probe cache keeps the probe itself (whatever the policy), so a run after
    # a preview or a dry run does not probe an unchanged file again
    """
    CREATE TABLE probes (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        record TEXT NOT NULL,
        recorded_at REAL NOT NULL
    );
    """,
    # 5: the morning report tells space saved or spent: each file's size before and after
    """
    ALTER TABLE jobs ADD COLUMN size_before INTEGER;
    ALTER TABLE jobs ADD COLUMN size_after INTEGER;
    CREATE INDEX jobs_by_finish ON jobs(finished_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(pool: ConnectionPool) -> int:
    return int(pool.execute_read("PRAGMA user_version")[0][0])


def migrate(pool: ConnectionPool, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to ``target``; returns the version it ends at."""
    version = current_version(pool)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{pool.path}: the history database has schema version {version}, newer than "
            f"this vpo-tui understands ({SCHEMA_VERSION}); use a newer vpo-tui or another --db"
        )
    while version < target:
        script = MIGRATIONS[version]
        with pool.transaction() as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= target:
                break
            script = MIGRATIONS[version]
            for statement in (s.strip() for s in script.split(";")):
                if statement:
                    conn.execute(statement)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
    return version
