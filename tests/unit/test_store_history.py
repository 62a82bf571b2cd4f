"""The SQLite store: concurrency, migrations, interrupted marking, cache, runner wiring."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fakes import FakeEngine, RecordingListener, fake_jobs, fake_policy
from vpo_tui.batch.backend import ThreadsBackend
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.engine.job import FileJob, FileResult, FileStatus
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.pool import ConnectionPool, StoreError
from vpo_tui.store.schema import MIGRATIONS, SCHEMA_VERSION, current_version, migrate


def test_concurrent_writers_from_threads_lose_nothing(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    batch = store.begin_batch(
        policy_name="p", policy_digest="d", workers=8, dry_run=False, total=400
    )
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(50):
                pos = offset * 50 + i
                job = store.job_started(batch, pos, f"/x/{pos}.mkv")
                store.job_finished(job, FileResult(Path(f"/x/{pos}.mkv"), FileStatus.OK))
                store.mark_compliant(f"/x/{pos}.mkv", pos, pos, "d")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    jobs = store.batch_jobs(batch)
    assert len(jobs) == 400 and {j.status for j in jobs} == {"ok"}
    assert [j.position for j in jobs] == list(range(400))
    assert store.is_compliant("/x/7.mkv", 7, 7, "d")


def test_two_processes_share_the_database(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    HistoryStore(db).close()
    script = (
        "import sys; from vpo_tui.store.history import HistoryStore\n"
        "s = HistoryStore(sys.argv[1])\n"
        "for i in range(100):\n"
        "    s.mark_compliant(f'/{sys.argv[2]}/{i}', i, i, 'd')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), tag]) for tag in ("a", "b")]
    assert [p.wait(60) for p in procs] == [0, 0]
    store = HistoryStore(db)
    rows = store.pool.execute_read("SELECT COUNT(*) FROM probe_cache")
    assert rows[0][0] == 200


def test_migrations_upgrade_an_old_database_and_keep_its_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    pool = ConnectionPool(db)
    assert migrate(pool, target=1) == 1
    pool.execute_write(
        "INSERT INTO batches (started_at, policy_name, policy_digest, workers, dry_run, total,"
        " pid) VALUES (1.0, 'old', 'd', 1, 0, 3, 1)"
    )
    pool.close()
    store = HistoryStore(db)
    assert current_version(store.pool) == SCHEMA_VERSION == len(MIGRATIONS)
    [batch] = store.list_batches()
    assert batch.policy_name == "old" and batch.stop_reason is None


def test_a_newer_database_is_refused_not_damaged(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer"):
        HistoryStore(db)


def test_unopenable_database_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="file"):
        HistoryStore(blocker / "sub" / "h.db")


def test_running_jobs_of_a_dead_process_become_interrupted(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    batch = store.begin_batch(policy_name="p", policy_digest="d", workers=1, dry_run=False, total=2)
    job_dead = store.job_started(batch, 0, "/x/dead.mkv")
    job_live = store.job_started(batch, 1, "/x/live.mkv")
    store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (dead.pid, job_dead))
    store.pool.execute_write("UPDATE batches SET pid = ? WHERE id = ?", (dead.pid, batch))
    marked = store.mark_interrupted()
    assert [j.path for j in marked] == ["/x/dead.mkv"]
    statuses = {j.id: j.status for j in store.batch_jobs(batch)}
    assert statuses == {job_dead: "interrupted", job_live: "running"}  # ours is alive
    assert store.get_batch(batch).status == "interrupted"  # type: ignore[union-attr]
    assert store.mark_interrupted() == []  # idempotent


def test_an_unfinished_batch_counts_its_finished_files(tmp_path: Path) -> None:
    """Totals are written when a batch ends; before that (or after a kill -9) they are
    counted from the jobs, so the history never says 0 ok for files that finished."""
    from vpo_tui.engine.job import FileResult, FileStatus

    store = HistoryStore(tmp_path / "h.db")
    batch = store.begin_batch(policy_name="p", policy_digest="d", workers=1, dry_run=False, total=4)
    store.job_recorded(batch, 0, FileResult(Path("/x/a.mkv"), FileStatus.OK))
    store.job_recorded(batch, 1, FileResult(Path("/x/b.mkv"), FileStatus.FAILED, error="x"))
    store.job_started(batch, 2, "/x/c.mkv")
    record = store.get_batch(batch)
    assert record is not None and record.status == "running"
    assert (record.totals["ok"], record.totals["failed"], record.totals["skipped"]) == (1, 1, 0)
    (listed,) = store.list_batches()
    assert listed.totals == record.totals


def test_probe_cache_needs_same_size_mtime_and_policy(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    store.mark_compliant("/m/a.mkv", 10, 20, "d1")
    assert store.is_compliant("/m/a.mkv", 10, 20, "d1")
    assert not store.is_compliant("/m/a.mkv", 11, 20, "d1")
    assert not store.is_compliant("/m/a.mkv", 10, 21, "d1")
    assert not store.is_compliant("/m/a.mkv", 10, 20, "d2")
    store.mark_compliant("/m/a.mkv", 11, 21, "d1")
    assert store.is_compliant("/m/a.mkv", 11, 21, "d1")


def test_a_kept_probe_needs_the_whole_fingerprint(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    store.remember_probe("/lib/a.mkv", (10, 20, 30, 40), '{"version": 1}')
    assert store.known_probe("/lib/a.mkv", (10, 20, 30, 40)) == '{"version": 1}'
    for changed in ((11, 20, 30, 40), (10, 21, 30, 40), (10, 20, 31, 40), (10, 20, 30, 41)):
        assert store.known_probe("/lib/a.mkv", changed) is None
    assert store.known_probe("/lib/b.mkv", (10, 20, 30, 40)) is None
    store.remember_probe("/lib/a.mkv", (11, 20, 30, 40), "newer")  # one row per file
    assert store.known_probe("/lib/a.mkv", (11, 20, 30, 40)) == "newer"
    assert store.known_probe("/lib/a.mkv", (10, 20, 30, 40)) is None
    store.close()


def test_runner_records_batch_jobs_and_a_cache_hit_spawns_nothing(tmp_path: Path) -> None:
    files = []
    for name in ("a.mkv", "b.mkv", "c.mkv"):
        f = tmp_path / name
        f.write_bytes(b"x" * 100)
        files.append(f)
    st = {f.name: os.stat(f) for f in files}

    def process(job: FileJob, control: object) -> FileResult:
        s = st[job.path.name]
        status = FileStatus.FAILED if job.path.name == "c.mkv" else FileStatus.OK
        return FileResult(
            job.path,
            status,
            changes=("did it",),
            error="bad" if status is FileStatus.FAILED else None,
            fingerprint=(s.st_size, s.st_mtime_ns) if status is FileStatus.OK else None,
        )

    policy = fake_policy(digest="pol1")
    jobs = [FileJob(f, policy) for f in files]
    store = HistoryStore(tmp_path / "h.db")
    first = BatchRunner(
        jobs,
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(process),  # type: ignore[arg-type]
        store=store,
        roots=[tmp_path],
    ).run()
    assert first.batch_id is not None
    batch = store.get_batch(first.batch_id)
    assert batch is not None and batch.status == "finished"
    assert batch.totals["ok"] == 2 and batch.totals["failed"] == 1
    jobs_rec = store.batch_jobs(first.batch_id)
    assert [j.status for j in jobs_rec] == ["ok", "ok", "failed"]
    assert jobs_rec[0].changes == ("did it",)
    assert store.recent_folders() == [str(tmp_path)]

    engine = FakeEngine()
    second = BatchRunner(
        jobs,
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
        store=store,
    ).run()
    # a and b are cached as compliant: only the failed c reaches the engine.
    assert engine.started_order == ["c.mkv"]
    assert [f.status.value for f in second.files[:2]] == ["unchanged", "unchanged"]

    # Touching a file invalidates its cache entry.
    os.utime(files[0], ns=(st["a.mkv"].st_atime_ns, st["a.mkv"].st_mtime_ns + 1000))
    engine = FakeEngine()
    BatchRunner(
        jobs,
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
        store=store,
    ).run()
    assert engine.started_order == ["a.mkv", "c.mkv"]
    assert len(store.list_batches()) == 3
    assert len(store.list_batches(limit=1)) == 1


def test_cancelled_unstarted_files_are_recorded(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    engine = FakeEngine(outcomes={"f1.mkv": FileStatus.FAILED})
    result = BatchRunner(
        fake_jobs([f"f{i}.mkv" for i in range(5)]),
        workers=1,
        listener=RecordingListener(),
        on_error="fail",
        backend=ThreadsBackend(engine),
        store=store,
    ).run()
    assert result.batch_id is not None
    recs = store.batch_jobs(result.batch_id)
    assert [j.status for j in recs] == ["ok", "failed", "cancelled", "cancelled", "cancelled"]
    batch = store.get_batch(result.batch_id)
    assert batch is not None and batch.stopped_early and batch.stop_reason == "failure"


def test_a_file_another_run_converted_is_skipped_not_failed(tmp_path: Path) -> None:
    """Run 1 remuxed x.mp4 → x.mkv; run 2, which had queued x.mp4, finds it gone."""
    store = HistoryStore(tmp_path / "h.db")
    old, new = tmp_path / "x.mp4", tmp_path / "x.mkv"
    new.write_bytes(b"converted")
    first = store.begin_batch(policy_name="p", policy_digest="d", workers=1, dry_run=False, total=1)
    job = store.job_started(first, 0, old)
    store.job_finished(job, FileResult(old, FileStatus.OK, output_path=new))
    assert store.converted_elsewhere(old) == new

    def vanished(job: FileJob, control: object) -> FileResult:
        return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: file vanished")

    jobs = [FileJob(old, fake_policy()), FileJob(tmp_path / "gone.mkv", fake_policy())]
    result = BatchRunner(
        jobs,
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(vanished),
        store=store,
    ).run()
    converted, gone = result.files
    assert converted.status is FileStatus.SKIPPED
    assert "already processed by another vpo-tui run" in (converted.error or "")
    assert str(new) in (converted.error or "")
    assert gone.status is FileStatus.FAILED  # nothing says where it went: still an error


def test_a_file_another_live_run_has_just_swapped_is_skipped(tmp_path: Path) -> None:
    """The other run removed x.mp4 but has not recorded its result yet (its job is open)."""
    store = HistoryStore(tmp_path / "h.db")
    old = tmp_path / "x.mp4"
    other = subprocess.Popen(["sleep", "30"])  # stands in for the other vpo-tui process
    try:
        batch = store.begin_batch(
            policy_name="p", policy_digest="d", workers=1, dry_run=False, total=1
        )
        job = store.job_started(batch, 0, old)
        store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (other.pid, job))
        assert store.running_elsewhere(old) == other.pid

        def vanished(job: FileJob, control: object) -> FileResult:
            return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: file vanished")

        result = BatchRunner(
            [FileJob(old, fake_policy())],
            workers=1,
            listener=RecordingListener(),
            on_error="skip",
            backend=ThreadsBackend(vanished),
            store=store,
        ).run()
        (only,) = result.files
        assert only.status is FileStatus.SKIPPED
        assert f"being processed by another vpo-tui run (pid {other.pid})" in (only.error or "")
    finally:
        other.kill()
        other.wait()
    assert store.running_elsewhere(old) is None  # a dead process's job is no excuse
