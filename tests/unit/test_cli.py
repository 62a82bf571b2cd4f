"""The CLI as a user runs it (``python -m vpo_tui`` in a subprocess): exit codes and outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def vpo(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = dict(os.environ)
    base.pop("VPO_TUI_CONFIG", None)
    base["XDG_CONFIG_HOME"] = str(cwd / "xdg-config")
    base["XDG_DATA_HOME"] = str(cwd / "xdg-data")
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vpo_tui", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_version(tmp_path: Path) -> None:
    done = vpo("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("vpo-tui ")


@pytest.mark.parametrize("args", [("--no-tui", "--workers", "0", "x"), ("--no-tui",), ("--bogus",)])
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = vpo(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""


def test_invalid_policy_exits_3_before_touching_files(tmp_path: Path) -> None:
    media = tmp_path / "a.mkv"
    media.write_bytes(b"not touched")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[audio]\nkeep = ["english"]\n')
    done = vpo("--no-tui", "--policy", str(bad), str(tmp_path), "--db", "h.db", cwd=tmp_path)
    assert done.returncode == 3
    assert "bad.toml" in done.stderr and "audio.keep" in done.stderr
    assert media.read_bytes() == b"not touched"


def test_invalid_config_exits_3_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[processing]\nworkrs = 2\n")
    done = vpo("--no-tui", "--config", str(cfg), str(tmp_path), cwd=tmp_path)
    assert done.returncode == 3 and "workrs" in done.stderr
    done = vpo("--no-tui", str(tmp_path), cwd=tmp_path, env={"VPO_TUI_CONFIG": str(cfg)})
    assert done.returncode == 3 and "workrs" in done.stderr


def test_nothing_found_exits_4_with_json(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = vpo("--no-tui", "--json", "empty", "--db", "h.db", cwd=tmp_path)
    assert done.returncode == 4
    doc = json.loads(done.stdout)
    assert doc["files"] == [] and doc["exit_code"] == 4 and "no video files" in doc["error"]


def test_missing_tool_exits_5_before_touching_files(tmp_path: Path) -> None:
    media = tmp_path / "a.mkv"
    media.write_bytes(b"not touched")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[tools]\nffprobe = "/nonexistent/ffprobe"\n')
    done = vpo("--no-tui", "--config", str(cfg), str(tmp_path), "--db", "h.db", cwd=tmp_path)
    assert done.returncode == 5
    assert "/nonexistent/ffprobe" in done.stderr and "[tools]" in done.stderr
    assert media.read_bytes() == b"not touched"


def test_policy_subcommands(tmp_path: Path) -> None:
    listed = vpo("policy", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "normalize" in listed.stdout
    shown = vpo("policy", "show", "normalize", cwd=tmp_path)
    assert shown.returncode == 0 and 'name = "normalize"' in shown.stdout
    bad = tmp_path / "p.toml"
    bad.write_text("name = \n")
    checked = vpo("policy", "check", str(bad), cwd=tmp_path)
    assert checked.returncode == 3 and "p.toml:1" in checked.stderr


def test_history_on_an_empty_database(tmp_path: Path) -> None:
    done = vpo("history", "--db", "h.db", "--json", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout) == []
    missing = vpo("history", "7", "--db", "h.db", cwd=tmp_path)
    assert missing.returncode == 2 and "no batch #7" in missing.stderr


def test_doctor_reports_tools(tmp_path: Path) -> None:
    done = vpo("doctor", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "ffprobe" in done.stdout and "mkvmerge" in done.stdout
    cfg = tmp_path / "c.toml"
    cfg.write_text('[tools]\nmkvmerge = "/nope/mkvmerge"\n')
    done = vpo("doctor", "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 5 and "MISSING" in done.stdout


def test_doctor_says_what_state_the_history_is_in(tmp_path: Path) -> None:
    def db_line(db: str) -> str:
        done = vpo("doctor", "--db", db, cwd=tmp_path)
        assert done.returncode == 0, done.stdout
        return next(line for line in done.stdout.splitlines() if line.startswith("database:"))

    assert db_line("h.db") == "database: h.db (not created yet; the first run makes it)"
    assert not (tmp_path / "h.db").exists()  # looking never creates it
    (tmp_path / "lib").mkdir()
    vpo("--no-tui", "--db", "h.db", "--dry-run", "lib", cwd=tmp_path)  # no files: exit 4
    assert db_line("h.db") == "database: h.db (0 batches, 0 file results, schema v5)"
    (tmp_path / "bad.db").write_text("not sqlite at all\n" * 100)
    assert db_line("bad.db") == (
        "database: bad.db (PROBLEM: cannot be read: file is not a database)"
    )


def test_not_a_terminal_falls_back_to_headless(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = vpo("empty", "--db", "h.db", cwd=tmp_path)
    assert "not a terminal" in done.stderr
    assert done.returncode == 4


def test_a_mistyped_path_is_a_usage_error_not_a_warning(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.mkv").write_bytes(b"not touched")
    done = vpo("--no-tui", "--json", "lib", "libb", "--dry-run", "--db", "h.db", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    doc = json.loads(done.stdout)
    assert "no such file or folder: libb" in doc["error"] and doc["files"] == []
    assert (tmp_path / "lib" / "a.mkv").read_bytes() == b"not touched"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--no-tui", "--json", "--workers", "0", "x"), 2, "--workers: must be at least 1"),
        (("--json", "--bogus", "x"), 2, "unrecognized arguments: --bogus"),
        (("--js", "--no-tui"), 2, "give at least one file or folder"),
        (("--json", "--config", "bad.toml", "x"), 3, "invalid config"),
    ],
)
def test_with_json_every_refusal_prints_a_json_document(
    tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    (tmp_path / "bad.toml").write_text("[processing]\nworkrs = 2\n")
    done = vpo(*args, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert words in done.stderr  # the message stays on stderr too
    doc = json.loads(done.stdout)  # the same shape as the exit 3/4/5 documents
    assert doc["exit_code"] == code and words in doc["error"]
    assert doc["files"] == [] and doc["summary"]["total"] == 0 and "policy" in doc


def test_reading_the_history_never_creates_a_database(tmp_path: Path) -> None:
    listed = vpo("history", "--db", "nonexist.db", cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout == "No batches yet.\n"
    as_json = vpo("history", "--db", "nonexist.db", "--json", cwd=tmp_path)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
    one = vpo("history", "3", "--db", "nonexist.db", cwd=tmp_path)
    assert one.returncode == 2 and "no batch #3" in one.stderr
    default = vpo("history", cwd=tmp_path)  # the default database, not there yet either
    assert default.returncode == 0
    assert not (tmp_path / "nonexist.db").exists()
    assert not (tmp_path / "xdg-data").exists()


def test_history_says_how_each_batch_ended(tmp_path: Path) -> None:
    from vpo_tui.batch.events import BatchResult
    from vpo_tui.engine.job import FileResult, FileStatus, StopReason
    from vpo_tui.store.history import HistoryStore

    with HistoryStore(tmp_path / "h.db") as store:
        for reason in (None, "stop", "kill", "failure"):
            batch = store.begin_batch(
                policy_name="normalize", policy_digest="d", workers=1, dry_run=False, total=1
            )
            result = BatchResult(
                files=(FileResult(Path("/m/a.mkv"), FileStatus.CANCELLED),),
                duration_s=1.0,
                stopped_early=reason is not None,
                workers=1,
                dry_run=False,
                batch_id=batch,
                stop_reason=StopReason(reason) if reason else None,
            )
            store.finish_batch(batch, result)
    listed = vpo("history", "--db", "h.db", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    # "#4     2026-01-02 10:11  stopped at a failure  normalize  1 file: 1 cancelled"
    words = [
        re.sub(r"^#\d+ +\S+ \S+  (.+?) +normalize .*$", r"\1", line)
        for line in listed.stdout.splitlines()
    ]
    assert words == ["stopped at a failure", "killed", "stopped", "finished"]
    assert all("  1 file: 1 cancelled" in line for line in listed.stdout.splitlines())
    docs = json.loads(vpo("history", "--db", "h.db", "--json", cwd=tmp_path).stdout)
    assert [(d["status"], d["outcome"]) for d in docs] == [
        ("finished", "stopped at a failure"),
        ("finished", "killed"),
        ("finished", "stopped"),
        ("finished", "finished"),
    ]
    detail = vpo("history", "3", "--db", "h.db", cwd=tmp_path)
    assert "(killed, 1 worker)" in detail.stdout.splitlines()[0]
    one = json.loads(vpo("history", "3", "--db", "h.db", "--json", cwd=tmp_path).stdout)
    assert one["outcome"] == "killed" and one["status"] == "finished"


def test_history_counts_the_files_of_an_unfinished_batch(tmp_path: Path) -> None:
    """A batch still marked running (say, kill -9'd) has no totals yet: not "nothing"."""
    import sqlite3

    from vpo_tui.engine.job import FileResult, FileStatus
    from vpo_tui.store.history import HistoryStore

    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        batch = store.begin_batch(
            policy_name="normalize", policy_digest="d", workers=1, dry_run=False, total=4
        )

    def counts() -> str:
        listed = vpo("history", "--db", str(db), cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        return listed.stdout.split("normalize  ", 1)[1].rstrip("\n")

    assert counts() == "4 files: none finished yet"
    with HistoryStore(db) as store:
        store.job_finished(
            store.job_started(batch, 0, "/m/a.mkv"), FileResult(Path("/m/a.mkv"), FileStatus.OK)
        )
        store.job_started(batch, 1, "/m/b.mkv")
    assert counts() == "4 files: 1 ok, 3 not finished yet"
    with sqlite3.connect(db) as con:  # what the next start does to a dead batch
        con.execute("UPDATE batches SET status = 'interrupted'")
        con.execute("UPDATE jobs SET status = 'interrupted' WHERE status = 'running'")
    con.close()
    assert counts() == "4 files: 1 ok, 1 interrupted, 2 not finished"
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM jobs")
    con.close()
    assert counts() == "4 files: none finished"


def test_doctor_points_a_wrong_tool_path_at_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[tools]\nffmpeg = "/nope/ffmpeg"\nmkvmerge = "/nope/mkvmerge"\n')
    done = vpo("doctor", "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 5
    last = done.stdout.splitlines()[-1]
    assert last == f"Some tools are missing; fix the path under [tools] in {cfg} (ffmpeg, mkvmerge)"
    assert "apt-get" not in done.stdout and "brew" not in done.stdout
    # A tool missing from PATH still gets the install hint.
    bare = vpo("doctor", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert bare.returncode == 5 and "install them with" in bare.stdout.splitlines()[-1]


def test_doctor_hint_installs_only_the_missing_package(tmp_path: Path) -> None:
    """With ffmpeg there and mkvtoolnix missing, the hint names mkvtoolnix alone."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("ffprobe", "ffmpeg"):
        (tools / name).symlink_to(shutil.which(name) or f"/usr/bin/{name}")
    done = vpo("doctor", cwd=tmp_path, env={"PATH": str(tools)})
    assert done.returncode == 5
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert done.stdout.splitlines()[-1] == (
        f"Some tools are missing; install them with: {sudo}apt-get install mkvtoolnix"
    )


def test_hints_name_the_command_as_it_can_be_run_from_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vpo_tui.commands.arguments import command_name

    script = tmp_path / "venv" / "bin" / "vpo-tui"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not on PATH: the hint says where it is
    assert command_name() == str(script)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin")  # on PATH: the plain name
    assert command_name() == "vpo-tui"
    monkeypatch.setattr(sys, "argv", ["/x/vpo_tui/__main__.py"])  # python -m vpo_tui
    assert command_name() == f"{sys.executable} -m vpo_tui"


def test_history_pads_the_policy_column(tmp_path: Path) -> None:
    from vpo_tui.store.history import HistoryStore

    with HistoryStore(tmp_path / "h.db") as store:
        for name, dry in (("normalize", False), ("english-only", True), ("anime", False)):
            store.begin_batch(policy_name=name, policy_digest="d", workers=1, dry_run=dry, total=12)
    listed = vpo("history", "--db", "h.db", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and "english-only dry-run  12 files" in lines[1]
    # the file counts start in one column whatever the policy's name
    assert len({line.index("12 files") for line in lines}) == 1, lines


def test_sample_refuses_a_folder_that_holds_anything(tmp_path: Path) -> None:
    mine = tmp_path / "Videos"
    (mine / "Movies").mkdir(parents=True)
    precious = mine / "Movies" / "Already Fine (2021).mkv"  # a name the demo writes
    precious.write_bytes(b"my own movie")
    done = vpo("sample", str(mine), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"vpo-tui: {mine} is not empty (1 entry: Movies)" in done.stderr
    assert "nothing of yours is overwritten" in done.stderr
    assert precious.read_bytes() == b"my own movie"
    assert sorted(p.name for p in mine.rglob("*")) == ["Already Fine (2021).mkv", "Movies"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    done = vpo("sample", str(a_file), cwd=tmp_path)
    assert done.returncode == 2 and "exists and is not a folder" in done.stderr
    assert a_file.read_text() == "x"
