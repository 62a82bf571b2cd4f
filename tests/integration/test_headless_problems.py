"""``--no-tui`` when discovery hits a problem, a file name is hostile, or a dry run finds
recovery work: real files, real tools, run as a user runs it (subprocess)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import temp_files, vpo
from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.store.history import HistoryStore

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))


@pytest.fixture
def lib(tmp_path: Path, make_file: MakeMedia) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    make_file("movie.mkv", folder=folder, audio=TWO)
    return folder


@pytest.mark.usefixtures("permissions_enforced")
def test_an_unreadable_folder_fails_the_run(tmp_path: Path, lib: Path) -> None:
    locked = lib / "locked"
    locked.mkdir()
    (locked / "x.mkv").write_bytes(b"never seen")
    locked.chmod(0)
    try:
        as_json = vpo(tmp_path, "--json", "--dry-run", "--db", "h.db", "lib")
        text = vpo(tmp_path, "--dry-run", "--db", "h.db", "lib")
    finally:
        locked.chmod(0o755)
    assert as_json.returncode == 1, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["exit_code"] == 1 and [f["status"] for f in doc["files"]] == ["planned"]
    problem = {"path": str(locked), "message": "cannot read folder: Permission denied"}
    exact = base64.b64encode(os.fsencode(locked)).decode()  # the name's bytes
    assert doc["problems"] == [{**problem, "path_bytes_b64": exact, "unreadable": True}]
    assert text.returncode == 1
    assert f"warning: {locked}: cannot read folder: Permission denied\n" in text.stderr
    assert "(1 planned); 1 path could not be read (see the warnings above)" in text.stderr


def test_a_symlink_loop_fails_the_run(tmp_path: Path, lib: Path) -> None:
    (lib / "loop").symlink_to(lib)
    done = vpo(tmp_path, "--json", "--dry-run", "--db", "h.db", "lib")
    assert done.returncode == 1, done.stderr
    assert "warning: " in done.stderr and "loop: symbolic link loop" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == 1 and doc["summary"]["planned"] == 1
    assert [p["path"] for p in doc["problems"]] == [str(lib / "loop")]


def test_a_file_left_out_on_purpose_is_not_a_failure(tmp_path: Path, lib: Path) -> None:
    notes = lib / "notes.txt"
    notes.write_text("x")
    done = vpo(tmp_path, "--dry-run", "--db", "h.db", str(lib / "movie.mkv"), str(notes))
    assert done.returncode == 0, done.stderr
    assert "notes.txt: not a video file" in done.stderr
    assert "Done: 1 file in" in done.stderr and "could not be read" not in done.stderr


def test_a_newline_in_a_file_name_keeps_one_line_per_file(
    tmp_path: Path, lib: Path, make_file: MakeMedia
) -> None:
    odd = make_file("new\nline.mkv", folder=lib, audio=TWO)
    text = vpo(tmp_path, "--dry-run", "--db", "h.db", "lib")
    assert text.returncode == 0, text.stderr
    plan = text.stdout + text.stderr  # the plan on stdout, the summary on stderr
    heads = [line for line in plan.splitlines() if not line.startswith("    ")]
    assert len(heads) == 3, plan
    assert heads[0].startswith(f"[1/2] planned   {lib}/movie.mkv (1 change, ")
    assert heads[1].startswith(f"[2/2] planned   {lib}/new\\nline.mkv (1 change, ")
    assert heads[2].startswith("Done: 2 files in ")
    as_json = vpo(tmp_path, "--json", "--dry-run", "--db", "h.db", "lib")
    paths = [f["path"] for f in json.loads(as_json.stdout)["files"]]
    assert paths == [str(lib / "movie.mkv"), str(odd)]  # JSON has the real name


def test_a_dry_run_leaves_recovery_work_for_the_next_real_run(tmp_path: Path, lib: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = lib / f".movie.mkv.vpo-tmp-{gone.pid}-0123abcd.mkv"
    stale.write_bytes(b"partial")
    with HistoryStore(tmp_path / "h.db") as store:  # a batch killed -9 while movie.mkv ran
        batch = store.begin_batch(
            policy_name="normalize", policy_digest="d", workers=1, dry_run=False, total=1
        )
        job = store.job_started(batch, 0, lib / "movie.mkv")
        store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (gone.pid, job))
        store.pool.execute_write("UPDATE batches SET pid = ? WHERE id = ?", (gone.pid, batch))

    dry = vpo(tmp_path, "--dry-run", "--db", "h.db", "lib")
    assert dry.returncode == 0, dry.stderr
    notes = [line for line in dry.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: 1 stale temporary file and 1 interrupted batch will be cleaned up by the next "
        "real run (a dry run changes nothing)"
    ]
    assert stale.read_bytes() == b"partial"
    with HistoryStore(tmp_path / "h.db") as store:
        assert store.get_batch(batch).status == "running"  # type: ignore[union-attr]
        assert [j.status for j in store.batch_jobs(batch)] == ["running"]

    real = vpo(tmp_path, "--db", "h.db", "lib")
    assert real.returncode == 0, real.stderr
    assert "removed a stale temporary file" in real.stderr and temp_files(lib) == []
    with HistoryStore(tmp_path / "h.db") as store:
        assert store.get_batch(batch).status == "interrupted"  # type: ignore[union-attr]
