"""Temp names, backup names and the start-up sweep of stale temp files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vpo_tui.engine.safety import (
    NAME_MAX,
    backup_path_for,
    fingerprint_of,
    finish_interrupted_commits,
    is_temp_name,
    journal_path_for,
    stale_journals,
    sweep_stale_temp_files,
    temp_owner,
    temp_path_for,
    write_journal,
)
from vpo_tui.ownership import this_host


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_name_is_hidden_owned_and_keeps_the_suffix(tmp_path: Path) -> None:
    temp = temp_path_for(tmp_path / "My Movie.mkv", ".mp4")
    assert temp.parent == tmp_path and temp.name.startswith(".My Movie.mkv.vpo-tmp-")
    assert temp.suffix == ".mp4" and temp_owner(temp.name) == os.getpid()


def test_temp_name_of_a_250_byte_name_fits_name_max(tmp_path: Path) -> None:
    name = "ü" * 122 + "xy.mkv"
    assert len(name.encode()) == 250
    temp = temp_path_for(tmp_path / name, ".mkv")
    assert len(temp.name.encode()) <= NAME_MAX
    temp.write_bytes(b"x")  # the filesystem accepts it
    assert is_temp_name(temp.name)


def test_backup_name_is_visible_and_never_clobbers(tmp_path: Path) -> None:
    original = tmp_path / "film.mkv"
    first = backup_path_for(original)
    assert first.name == "film.mkv.vpo-backup"
    first.write_bytes(b"old")
    assert backup_path_for(original).name == "film.mkv.vpo-backup-2"


def test_sweep_removes_only_dead_owners_temp_files(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".film.mkv.vpo-tmp-{dead}-deadbeef.mkv"
    live = tmp_path / f".film.mkv.vpo-tmp-{os.getpid()}-cafe1234.mkv"
    media = tmp_path / "film.mkv"
    lookalike = tmp_path / "vpo-tmp-notours.mkv"
    for p in (stale, live, media, lookalike):
        p.write_bytes(b"x")
    removed = sweep_stale_temp_files([tmp_path])
    assert removed == [stale]
    assert not stale.exists() and live.exists() and media.exists() and lookalike.exists()


def test_sweep_never_touches_another_hosts_temp_files(tmp_path: Path) -> None:
    """On shared storage a pid from another machine means nothing here: leave its file."""
    dead = _dead_pid()
    here = tmp_path / f".film.mkv.vpo-tmp-{dead}@{this_host()}-deadbeef.mkv"
    there = tmp_path / f".film.mkv.vpo-tmp-{dead}@other-node-7-cafe1234.mkv"
    for p in (here, there):
        p.write_bytes(b"x")
    assert temp_owner(there.name) == dead and is_temp_name(there.name)
    assert sweep_stale_temp_files([tmp_path]) == [here]
    assert there.exists()
    assert f"@{this_host()}-" in temp_path_for(tmp_path / "a.mkv", ".mkv").name
    journal = journal_path_for(tmp_path / "a.mkv")
    assert journal.name.endswith(f".vpo-commit-{os.getpid()}@{this_host()}")
    other = tmp_path / f".a.mkv.vpo-commit-{dead}@other-node-7"
    other.write_text("{}")
    assert stale_journals([tmp_path]) == []


def test_sweep_recursive_and_unreadable_roots(tmp_path: Path) -> None:
    dead = _dead_pid()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    stale = nested / f".x.mkv.vpo-tmp-{dead}-0a0b0c0d.mkv"
    stale.write_bytes(b"x")
    assert sweep_stale_temp_files([tmp_path]) == []  # non-recursive by default
    assert sweep_stale_temp_files([tmp_path, tmp_path / "missing"], recursive=True) == [stale]


# -- the commit journal of a container change -----------------------------------


def _half_done_commit(tmp_path: Path, pid: int) -> tuple[Path, Path, Path]:
    """x.mp4 still there, x.mkv already in place, the journal of a process ``pid``."""
    original, output = tmp_path / "x.mp4", tmp_path / "x.mkv"
    original.write_bytes(b"original bytes")
    output.write_bytes(b"verified output")
    journal = write_journal(
        original, fingerprint_of(original.stat()), output, fingerprint_of(output.stat())
    )
    named = journal.with_name(journal.name.replace(f"-{os.getpid()}", f"-{pid}"))
    journal.rename(named)
    return original, output, named


def test_a_dead_runs_half_done_container_change_is_finished(tmp_path: Path) -> None:
    original, output, journal = _half_done_commit(tmp_path, _dead_pid())
    assert finish_interrupted_commits([tmp_path]) == [(original, output)]
    assert not original.exists() and output.read_bytes() == b"verified output"
    assert not journal.exists()


def test_a_changed_file_is_left_for_the_user(tmp_path: Path) -> None:
    original, output, journal = _half_done_commit(tmp_path, _dead_pid())
    output.write_bytes(b"someone edited this since")
    assert finish_interrupted_commits([tmp_path]) == []
    assert original.read_bytes() == b"original bytes" and output.exists()
    assert not journal.exists()  # nothing left to finish: both files stay, the journal goes


def test_a_live_runs_commit_is_not_touched(tmp_path: Path) -> None:
    original, output, journal = _half_done_commit(tmp_path, os.getpid())
    assert finish_interrupted_commits([tmp_path]) == []
    assert original.exists() and output.exists() and journal.exists()


def test_journal_names_fit_name_max(tmp_path: Path) -> None:
    original = tmp_path / ("é" * 120 + ".mp4")  # 244 bytes
    assert len(journal_path_for(original).name.encode()) <= 255
