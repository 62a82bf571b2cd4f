"""``vpo-tui --no-tui`` on real media with the real tools, run as a user would (subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands import FFPROBE, env_for, logging_tools, temp_files, vpo, vpo_cmd
from tests.conftest import AudioSpec, MakeMedia, sha256
from vpo_tui.engine.probe import probe
from vpo_tui.samples import make_garbage


@pytest.fixture
def mixed(tmp_path: Path, make_file: MakeMedia) -> dict[str, Path]:
    lib = tmp_path / "lib"
    lib.mkdir()
    two = (AudioSpec("eng", default=True), AudioSpec("ger"))
    files = {
        "broken": make_garbage(lib / "0 broken.mkv"),
        "good": make_file("a good.mkv", folder=lib, audio=two),
        "odd": make_file("-dash ünï 名.mkv", folder=lib, audio=two),
        "compliant": make_file("c compliant.mkv", folder=lib, audio=two),
    }
    (lib / "z link.mkv").symlink_to(files["good"])
    # Make "compliant" really compliant by running the policy on it once.
    done = vpo(tmp_path, "--db", "pre.db", str(files["compliant"]))
    assert done.returncode == 0, done.stderr
    return files


def test_mixed_folder_skip_mode_json_per_file(tmp_path: Path, mixed: dict[str, Path]) -> None:
    broken_hash = sha256(mixed["broken"])
    done = vpo(tmp_path, "--json", "--db", "h.db", "--workers", "1", "lib")
    assert done.returncode == 1, done.stderr  # the broken file failed
    doc = json.loads(done.stdout)  # stdout is exactly one JSON document
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert len(doc["files"]) == 4  # the symlink duplicate is not queued twice
    assert by_name["0 broken.mkv"]["status"] == "failed"
    assert "0 broken.mkv" in by_name["0 broken.mkv"]["error"]
    assert by_name["a good.mkv"]["status"] == "ok" and by_name["a good.mkv"]["changes"]
    assert by_name["-dash ünï 名.mkv"]["status"] == "ok"
    assert by_name["c compliant.mkv"]["status"] == "unchanged"
    assert doc["summary"]["total"] == 4 and doc["summary"]["failed"] == 1
    assert doc["summary"]["ok"] == 2 and doc["summary"]["stopped_early"] is False
    assert doc["policy"]["name"] == "normalize"
    assert sha256(mixed["broken"]) == broken_hash
    for key in ("good", "odd"):
        audio = [t for t in probe(mixed[key], FFPROBE).tracks if t.type.value == "audio"]
        assert [t.language for t in audio] == ["eng"]
    assert temp_files(tmp_path / "lib") == []
    # Not a terminal: one plain line per finished file, no carriage returns.
    assert "\r" not in done.stderr


def test_mixed_folder_fail_mode_stops_and_leaves_the_rest_untouched(
    tmp_path: Path, mixed: dict[str, Path]
) -> None:
    cfg = tmp_path / "fail.toml"
    cfg.write_text('[processing]\non_error = "fail"\n')
    hashes = {k: sha256(p) for k, p in mixed.items()}
    done = vpo(tmp_path, "--json", "--config", str(cfg), "--db", "h.db", "--workers", "1", "lib")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    # Queue order (sorted): "-dash…" first, then "0 broken", then the rest.
    statuses = [(Path(f["path"]).name, f["status"]) for f in doc["files"]]
    assert statuses == [
        ("-dash ünï 名.mkv", "ok"),
        ("0 broken.mkv", "failed"),
        ("a good.mkv", "cancelled"),
        ("c compliant.mkv", "cancelled"),
    ]
    assert doc["summary"]["stopped_early"] is True
    after = {k: sha256(p) for k, p in mixed.items()}
    assert {k: v for k, v in after.items() if k != "odd"} == {
        k: v for k, v in hashes.items() if k != "odd"
    }


def test_plain_lines_when_not_a_terminal(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_file(f"f{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("ger")))
    done = vpo(tmp_path, "--db", "h.db", "--dry-run", "lib")
    assert done.returncode == 0, done.stderr
    # The plan is the dry run's result: on stdout (`> plan.txt` keeps it), each
    # file with its changes; the summary and any warnings stay on stderr.
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 3 and all(" planned " in line for line in lines), done.stdout
    assert done.stdout.count("    - remove audio") == 3, done.stdout
    assert not [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert "\r" not in done.stderr and "Done: 3 files" in done.stderr
    assert "Done" not in done.stdout


def test_rerun_spawns_no_tool(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_file(f"f{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("ger")))
    cfg, log = logging_tools(tmp_path)
    first = vpo(tmp_path, "--json", "--config", str(cfg), "--db", "h.db", "lib")
    assert first.returncode == 0, first.stderr
    assert {f["status"] for f in json.loads(first.stdout)["files"]} == {"ok"}
    assert log.read_text().strip()  # the first run did use the tools
    log.unlink()
    second = vpo(tmp_path, "--json", "--config", str(cfg), "--db", "h.db", "lib")
    assert second.returncode == 0
    assert {f["status"] for f in json.loads(second.stdout)["files"]} == {"unchanged"}
    assert not log.exists()  # not a single tool process


def test_sigterm_during_a_batch_kills_cleanly(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    files = [
        make_file(f"f{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("ger")))
        for i in range(4)
    ]
    hashes = [sha256(f) for f in files]
    cfg, log = logging_tools(tmp_path, delay=30)
    proc = subprocess.Popen(
        vpo_cmd("--json", "--config", str(cfg), "--db", "h.db", "--workers", "2", "lib"),
        cwd=tmp_path,
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and any(
            not line.startswith("ffprobe") for line in log.read_text().splitlines()
        ):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no tool started")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert {f["status"] for f in doc["files"]} == {"cancelled"}
    assert [sha256(f) for f in files] == hashes
    assert temp_files(lib) == []
    # No stray tool processes: the wrapper's sleep would still be alive otherwise.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path / "bin") not in ps


def test_kill_9_then_rerun_marks_interrupted_sweeps_and_finishes(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    files = [
        make_file(f"f{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("ger")))
        for i in range(2)
    ]
    hashes = [sha256(f) for f in files]
    slow_cfg, log = logging_tools(tmp_path, delay=30)
    proc = subprocess.Popen(
        vpo_cmd("--config", str(slow_cfg), "--db", "h.db", "--workers", "1", "lib"),
        cwd=tmp_path,
        env=env_for(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (log.exists() and "mkv" in log.read_text().replace("ffprobe", "")):
        assert time.monotonic() < deadline, "no tool started"
        time.sleep(0.05)
    # A stale temp file as a crash would leave it (owned by the dead process).
    stale = lib / f".f0.vpo-tmp-{proc.pid}-dead.mkv"
    stale.write_bytes(b"partial")
    os.killpg(proc.pid, signal.SIGKILL)  # vpo-tui and its tools, like a power cut
    proc.wait(10)
    assert [sha256(f) for f in files] == hashes  # nothing was committed half-way

    done = vpo(tmp_path, "--db", "h.db", "--workers", "1", "lib")
    assert done.returncode == 0, done.stderr
    assert "interrupted" in done.stderr and "stale temporary file" in done.stderr
    assert temp_files(lib) == []
    history = subprocess.run(
        [sys.executable, "-m", "vpo_tui", "history", "1", "--db", "h.db", "--json"],
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(history.stdout)["files"][0]["status"] == "interrupted"
    for f in files:
        audio = [t for t in probe(f, FFPROBE).tracks if t.type.value == "audio"]
        assert [t.language for t in audio] == ["eng"]


def test_two_processes_on_the_same_folder_process_each_file_once(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        make_file(f"f{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("ger")))
    cfg, _log = logging_tools(tmp_path, delay=0.3)
    procs = [
        subprocess.Popen(
            vpo_cmd("--json", "--config", str(cfg), "--db", "h.db", "lib"),
            cwd=tmp_path,
            env=env_for(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    docs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    ok_paths = [f["path"] for d in docs for f in d["files"] if f["status"] == "ok"]
    assert sorted(ok_paths) == sorted(set(ok_paths))  # never twice
    assert len(ok_paths) == 4
    others = {f["status"] for d in docs for f in d["files"] if f["status"] != "ok"}
    assert others <= {"skipped", "unchanged"}
