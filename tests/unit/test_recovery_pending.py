"""A dry run changes nothing: start-up recovery is only counted, and done by the next real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vpo_tui.batch.recovery import PendingRecovery, pending_recovery
from vpo_tui.batch.session import Session
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.services import Services, start_session


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def leftovers(tmp_path: Path) -> tuple[HistoryStore, Path, Path]:
    """What a ``kill -9`` leaves: a running job and batch of a dead pid, a temp file, a journal."""
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    gone = dead_pid()
    stale = lib / "sub" / f".a.mkv.vpo-tmp-{gone}-0123abcd.mkv"
    stale.write_bytes(b"partial")
    (lib / f".b.mp4.vpo-commit-{gone}").write_text("{}")
    (lib / f".c.mkv.vpo-tmp-{gone}-0123abcd.mkv").mkdir()  # not a file: the sweep skips it
    store = HistoryStore(tmp_path / "h.db")
    batch = store.begin_batch(policy_name="p", policy_digest="d", workers=1, dry_run=False, total=1)
    job = store.job_started(batch, 0, lib / "a.mkv")
    store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (gone, job))
    store.pool.execute_write("UPDATE batches SET pid = ? WHERE id = ?", (gone, batch))
    return store, lib, stale


def test_pending_recovery_counts_without_changing_anything(
    leftovers: tuple[HistoryStore, Path, Path],
) -> None:
    store, lib, stale = leftovers
    before = sorted(p.name for p in lib.rglob("*"))
    pending = pending_recovery(store, [lib])
    assert pending == PendingRecovery(
        stale_temp_files=1, unfinished_commits=1, interrupted_batches=1, interrupted_files=1
    )
    assert pending.summary() == (
        "1 stale temporary file, 1 half-done container change and 1 interrupted batch "
        "will be cleaned up by the next real run (a dry run changes nothing)"
    )
    assert sorted(p.name for p in lib.rglob("*")) == before and stale.exists()
    batch = store.list_batches()[0]
    assert batch.status == "running" and store.batch_jobs(batch.id)[0].status == "running"
    assert pending_recovery(store, [lib], recursive=False).stale_temp_files == 0
    assert pending_recovery(None, [lib / "sub"]).summary() == (
        "1 stale temporary file will be cleaned up by the next real run (a dry run changes nothing)"
    )
    assert PendingRecovery().summary() is None


def test_the_apps_dry_run_recovers_nothing_and_the_real_run_does(
    leftovers: tuple[HistoryStore, Path, Path],
) -> None:
    store, lib, stale = leftovers
    session = start_session(Services(store=store))  # the app's session, on its store
    assert isinstance(session, Session)
    notes = session.recover([lib], dry_run=True)
    assert len(notes) == 1 and "will be cleaned up by the next real run" in notes[0]
    assert stale.exists()
    assert store.list_batches()[0].status == "running"
    notes = session.recover([lib], dry_run=False)  # a real run after the dry run still recovers
    assert not stale.exists() and store.list_batches()[0].status == "interrupted"
    assert any("stale temporary file" in note for note in notes)
    assert session.recover([lib], dry_run=True) == []  # nothing left to announce


def test_an_interrupted_in_place_edit_is_counted_then_restored(tmp_path: Path) -> None:
    """A journal of a dead process: a dry run says so; the real start-up restores the file."""
    from vpo_tui.batch.recovery import recover_at_startup
    from vpo_tui.engine.edit_journal import write_journal
    from vpo_tui.engine.matroska_layout import read_layout
    from vpo_tui.samples import SampleSpec, make_media

    movie = make_media(tmp_path / "movie.mkv", SampleSpec(duration=1.0))
    original = movie.read_bytes()
    journal = write_journal(movie, read_layout(movie), movie.stat(), pid=dead_pid())
    with movie.open("r+b") as f:  # the edit got this far when the process died
        f.seek(60)
        f.write(b"\x00" * 8)
        f.seek(0, 2)
        f.write(b"appended")
    pending = pending_recovery(None, [tmp_path])
    assert pending.unfinished_edits == 1
    assert pending.summary() == (
        "1 interrupted in-place edit will be cleaned up by the next real run"
        " (a dry run changes nothing)"
    )
    recovery = recover_at_startup(None, [tmp_path])
    assert recovery.restored == (movie,)
    assert recovery.messages() == [
        f"{movie}: restored the original after an interrupted in-place edit"
    ]
    assert movie.read_bytes() == original and not journal.exists()
