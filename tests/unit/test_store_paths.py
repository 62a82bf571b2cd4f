"""File names that are not UTF-8 go into the history and the probe cache and come back.

SQLite text is UTF-8, so a name with a byte such as ``\\xe9`` alone (``caf\\xe9.mkv``)
is stored as a BLOB of its bytes; these tests read it back through the store and,
as an auditor would, with plain SQL.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.paths import path_bytes_b64, path_from_value, path_value, text_value

CAFE = Path(os.fsdecode(b"/lib/caf\xe9.mkv"))  # a PEP 383 str: 'caf\udce9.mkv'
CAFE_MKV = Path(os.fsdecode(b"/lib/b\xe9b\xe9.mkv"))
UTF8 = Path("/lib/ünï ジャ.mkv")


def test_path_values_round_trip_and_utf8_stays_text() -> None:
    assert path_value(UTF8) == str(UTF8)
    assert path_value(CAFE) == b"/lib/caf\xe9.mkv"
    for path in (UTF8, CAFE):
        assert path_from_value(path_value(path)) == str(path)
    assert text_value(f"{CAFE}: not a media file") == "/lib/caf\\xe9.mkv: not a media file"
    assert text_value("plain") == "plain"
    assert text_value("lone \ud800 surrogate").startswith("lone ")  # never raises
    assert path_bytes_b64(CAFE) == "L2xpYi9jYWbpLm1rdg=="


def test_history_and_probe_cache_hold_a_non_utf8_name(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with HistoryStore(db) as store:
        batch = store.begin_batch(
            policy_name="remux", policy_digest="d", workers=1, dry_run=False, total=3,
            roots=[CAFE.parent / os.fsdecode(b"f\xf6lder")],
        )  # fmt: skip
        started = store.job_started(batch, 0, CAFE)
        store.job_finished(
            started,
            FileResult(
                CAFE, FileStatus.OK, changes=(f"rename {CAFE.name} → {CAFE_MKV.name}",),
                output_path=CAFE_MKV,
            ),
        )  # fmt: skip
        store.job_recorded(
            batch, 1, FileResult(CAFE_MKV, FileStatus.FAILED, error=f"{CAFE_MKV}: truncated")
        )
        store.job_recorded(batch, 2, FileResult(UTF8, FileStatus.UNCHANGED))
        store.mark_compliant(CAFE, 10, 20, "digest")
        store.remember_probe(CAFE, (10, 20, 30, 40), '{"probe": 1}')

    with HistoryStore(db) as store:  # a new process reading it back
        jobs = store.batch_jobs(batch)
        assert [j.path for j in jobs] == [str(CAFE), str(CAFE_MKV), str(UTF8)]
        assert jobs[0].output_path == str(CAFE_MKV)
        assert jobs[0].changes == (f"rename {CAFE.name} → {CAFE_MKV.name}",)
        assert jobs[1].error == "/lib/b\\xe9b\\xe9.mkv: truncated"
        assert store.converted_elsewhere(CAFE) == CAFE_MKV
        assert store.is_compliant(CAFE, 10, 20, "digest")
        assert not store.is_compliant(Path("/lib/caf\u00e9.mkv"), 10, 20, "digest")  # UTF-8 é
        assert store.known_probe(CAFE, (10, 20, 30, 40)) == '{"probe": 1}'
        assert store.recent_folders() == [str(CAFE.parent / os.fsdecode(b"f\xf6lder"))]

    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT typeof(path), path FROM jobs ORDER BY position").fetchall()
    finally:
        conn.close()
    assert rows == [
        ("blob", b"/lib/caf\xe9.mkv"),
        ("blob", b"/lib/b\xe9b\xe9.mkv"),
        ("text", str(UTF8)),
    ]
