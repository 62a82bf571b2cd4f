"""Folders that real libraries contain (issue 17), through the real tools, headless.

- a file name that is not valid UTF-8 (``caf\\xe9.mkv``, copied from an old Samba share);
- a FIFO, a socket and a folder named ``*.mkv``, given or found in a folder;
- two names of one inode (hard links), in the batch or outside it;
- symbolic links to files.

Each is processed or reported with its reason: nothing lost, nothing hung, no
traceback, the history complete.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    Workspace,
    assert_no_orphans,
    assert_nothing_lost,
    finish,
    run_vpo,
    running_tool,
    snapshot,
    spawn_vpo,
    temp_files,
    wait_for,
)
from tests.faults.libraries import SLOW_TRANSCODE_TOML, transcode_library
from tests.special_files import bind_here
from vpo_tui.headless import STUCK_AFTER_KILL_S
from vpo_tui.samples import AudioSpec, SampleSpec, make_media
from vpo_tui.store.history import HistoryStore

REMUX_TO_MKV = (
    'name = "remux"\non_error = "skip"\n[container]\nformat = "mkv"\n[audio]\nkeep = ["eng"]\n'
)
SPEC = SampleSpec(duration=1.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))


def _policy(ws: Workspace) -> Path:
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX_TO_MKV, encoding="utf-8")
    return policy


def _vpo(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VPO_TUI_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "vpo_tui", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _history(ws: Workspace, batch: int) -> dict[str, object]:
    done = _vpo(ws, "history", "--db", str(ws.db), "--json", str(batch))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


def test_a_name_that_is_not_utf8_is_a_file_like_any_other(ws: Workspace, tally: Tally) -> None:
    lib = ws.library
    good = make_media(lib / "good.mkv", SPEC)
    cafe = Path(os.fsdecode(bytes(lib) + b"/caf\xe9.mkv"))
    bebe = Path(os.fsdecode(bytes(lib) + b"/b\xe9b\xe9.mp4"))
    make_media(cafe, SPEC)
    make_media(bebe, SPEC)
    before = snapshot(lib)
    assert set(before) == {good, cafe, bebe}
    policy = _policy(ws)

    result = run_vpo(ws, str(policy), [lib])

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr
    assert "warning" not in result.stderr, result.stderr
    files = result.by_path()
    assert {p: f["status"] for p, f in files.items()} == {good: "ok", cafe: "ok", bebe: "ok"}
    for path, entry in files.items():  # the exact bytes, for a strict parser
        assert base64.b64decode(entry["path_bytes_b64"]) == os.fsencode(path)
    bebe_mkv = bebe.with_suffix(".mkv")
    assert base64.b64decode(files[bebe]["output_path_bytes_b64"]) == os.fsencode(bebe_mkv)
    assert os.path.exists(os.fsencode(bebe_mkv)) and not os.path.exists(os.fsencode(bebe))
    assert temp_files(lib) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == 3

    # the history holds every file, with its exact name
    assert result.document is not None
    history = _history(ws, result.document["batch_id"])
    jobs = history["files"]
    assert isinstance(jobs, list)
    assert sorted(base64.b64decode(j["path_bytes_b64"]) for j in jobs) == sorted(
        os.fsencode(p) for p in (good, cafe, bebe)
    )
    shown = _vpo(ws, "history", "--db", str(ws.db), str(result.document["batch_id"]))
    assert "caf\\xe9.mkv" in shown.stdout and "b\\xe9b\\xe9.mp4" in shown.stdout, shown.stdout

    # the probe cache holds them too: a second run finds all three compliant, and the
    # console shows the name visibly escaped, on one line
    again = _vpo(
        ws, "--no-tui", "--policy", str(policy), "--db", str(ws.db),
        "--config", str(ws.config), str(lib),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = [line for line in again.stderr.splitlines() if line.startswith("[")]
    assert sorted(lines) == sorted(
        f"[{n}/3] unchanged {lib}/{name}"
        for n, name in zip((1, 2, 3), ("b\\xe9b\\xe9.mkv", "caf\\xe9.mkv", "good.mkv"), strict=True)
    ), again.stderr
    tally.add("hostile_inputs", 2)
    tally.files(outcome.total)


# -- FIFOs, sockets, devices, folders named *.mkv ---------------------------------------


def _special_files(lib: Path, given: Path) -> None:
    os.mkfifo(lib / "pipe.mkv")
    (lib / "null.mkv").symlink_to("/dev/null")
    os.mkfifo(given)


def test_a_fifo_given_or_found_is_reported_never_opened(ws: Workspace, tally: Tally) -> None:
    lib = ws.library
    make_media(lib / "good.mkv", SPEC)
    inner = make_media(lib / "folder.mkv" / "inner.mkv", SPEC)
    given = ws.root / "given pipe.mkv"
    _special_files(lib, given)
    before = snapshot(lib)
    policy = _policy(ws)
    with socket.socket(socket.AF_UNIX) as sock:
        bind_here(sock, lib / "sock.mkv")
        started = time.monotonic()
        result = run_vpo(ws, str(policy), [lib, given], timeout_s=60)
        took = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.statuses() == {lib / "good.mkv": "ok", inner: "ok"}
    assert result.document is not None
    problems = {Path(p["path"]).name: p for p in result.document["problems"]}
    rest = ", not a regular file: never opened, skipped"
    assert {name: p["message"] for name, p in problems.items()} == {
        "pipe.mkv": "a FIFO (named pipe)" + rest,
        "given pipe.mkv": "a FIFO (named pipe)" + rest,
        "sock.mkv": "a socket" + rest,
        "null.mkv": "a character device" + rest,
    }
    assert not any(p["unreadable"] for p in problems.values())
    for p in problems.values():
        assert base64.b64decode(p["path_bytes_b64"]) == os.fsencode(p["path"])
    assert took < 30, f"{took:.1f} s: something waited on the FIFO"
    assert temp_files(lib) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == 2
    jobs = _history(ws, result.document["batch_id"])["files"]
    assert isinstance(jobs, list) and len(jobs) == 2
    tally.add("hostile_inputs", 4)
    tally.files(outcome.total)


def test_sigterm_ends_a_run_with_a_fifo_within_seconds(ws: Workspace, tally: Tally) -> None:
    """A slow encode running, a FIFO given beside it: SIGTERM ends the process in seconds."""
    policy = ws.root / "slow.toml"
    policy.write_text(SLOW_TRANSCODE_TOML, encoding="utf-8")
    transcode_library(ws.library, count=2, duration=3.0)
    given = ws.root / "pipe.mkv"
    os.mkfifo(given)
    ws.write_config(processing={"workers": 2, "max_workers": 2})
    before = snapshot(ws.library)
    proc = spawn_vpo(ws, str(policy), [ws.library, given])
    wait_for(lambda: running_tool(ws.marker, "ffmpeg"), 30, "ffmpeg to start")
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGTERM)
    sent = time.monotonic()
    result = finish(proc, timeout_s=30)
    took = time.monotonic() - sent
    assert took < 5.0, f"vpo-tui took {took:.1f} s to end after SIGTERM"
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert_no_orphans(ws.marker)
    assert temp_files(ws.library) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.processed == ()
    tally.add("hostile_inputs")
    tally.add("signals")
    tally.files(outcome.total)


@pytest.mark.parametrize(
    "signals", [(signal.SIGTERM,), (signal.SIGINT, signal.SIGINT)], ids=["sigterm", "ctrl-c-twice"]
)
def test_sigterm_ends_vpo_tui_whatever_its_threads_are_blocked_on(
    ws: Workspace, tally: Tally, signals: tuple[signal.Signals, ...]
) -> None:
    """Another program holds the history database locked (SQLite waits 15 s for it):
    SIGTERM, or Ctrl-C twice, still ends vpo-tui within seconds, with exit 130 and one
    JSON document."""
    make_media(ws.library / "good.mkv", SPEC)
    before = snapshot(ws.library)
    policy = _policy(ws)
    HistoryStore(ws.db).close()  # the database exists, at the current schema
    holder = sqlite3.connect(ws.db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        proc = spawn_vpo(ws, str(policy), [ws.library])
        time.sleep(2.0)  # started, and waiting on the database
        assert proc.poll() is None, proc.communicate()
        for sig in signals:
            os.kill(proc.pid, sig)
            time.sleep(0.2)
        sent = time.monotonic()
        result = finish(proc, timeout_s=30)
        took = time.monotonic() - sent
    finally:
        holder.close()
    assert took < STUCK_AFTER_KILL_S + 2.0, f"vpo-tui took {took:.1f} s to end after SIGTERM"
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.document is not None and result.document["exit_code"] == 130
    assert "did not end" in result.document["error"], result.document
    assert_no_orphans(ws.marker)
    assert temp_files(ws.library) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.intact
    tally.add("hostile_inputs")
    tally.add("signals")
    tally.files(outcome.total)


# -- hard links --------------------------------------------------------------------------


def test_two_names_of_one_file_are_processed_once(ws: Workspace, tally: Tally) -> None:
    """Two workers, two names of one inode in the batch, a third name outside it."""
    lib = ws.library
    a = make_media(lib / "a.mkv", SPEC)
    b = lib / "b.mkv"
    os.link(a, b)
    seed = ws.root / "seeding" / "a.mkv"  # a torrent client's name for it
    seed.parent.mkdir()
    os.link(a, seed)
    c = make_media(lib / "c.mkv", SPEC)
    before = snapshot(lib)
    seed_bytes = seed.read_bytes()
    policy = _policy(ws)
    ws.write_config(processing={"workers": 2, "max_workers": 2})

    dry = run_vpo(ws, str(policy), [lib], "--dry-run")
    assert dry.statuses() == {a: "planned", c: "planned"}, dry.stderr
    assert any(
        "2 other names (hard links) keep the original" in x for x in dry.by_path()[a]["changes"]
    )

    result = run_vpo(ws, str(policy), [lib, b])

    assert result.returncode == 0, result.stderr
    assert "locked" not in result.stdout + result.stderr
    assert result.statuses() == {a: "ok", c: "ok"}
    assert result.document is not None
    [problem] = result.document["problems"]
    assert problem["path"] == str(b) and not problem["unreadable"]
    assert f"another name (a hard link) of {a}" in problem["message"]
    note = [x for x in result.by_path()[a]["changes"] if "other names" in x]
    assert len(note) == 1 and note[0].startswith("2 other names (hard links) keep the original")
    assert "more disk" in note[0]
    # the other names still have the original; the processed name is a new file
    assert b.read_bytes() == seed.read_bytes() == seed_bytes
    assert os.stat(a).st_nlink == 1 and os.stat(b).st_nlink == 2
    outcome = assert_nothing_lost(before, str(policy))
    assert set(outcome.processed) == {a, c} and outcome.intact == (b,)
    assert temp_files(lib) == []
    assert result.document is not None
    jobs = _history(ws, result.document["batch_id"])["files"]
    assert isinstance(jobs, list) and sorted(j["path"] for j in jobs) == [str(a), str(c)]
    tally.add("hostile_inputs")
    tally.files(outcome.total)


# -- symbolic links ----------------------------------------------------------------------


def test_links_to_files_are_followed_and_said_and_a_container_change_refused(
    ws: Workspace, tally: Tally
) -> None:
    lib = ws.library
    outside = ws.root / "outside"
    movie = make_media(outside / "movie.mkv", SPEC)
    clip = make_media(outside / "clip.mp4", SPEC)
    (lib / "alias.mkv").symlink_to(movie)  # absolute
    (lib / "clip.mp4").symlink_to("../outside/clip.mp4")  # relative; a container change
    own = make_media(lib / "own.mkv", SPEC)
    (lib / "own again.mkv").symlink_to("own.mkv")  # the file itself is in the batch too
    before = {**snapshot(outside), **snapshot(lib)}
    policy = _policy(ws)

    result = run_vpo(ws, str(policy), [lib])

    assert result.returncode == 0, result.stderr
    files = result.by_path()
    assert result.statuses() == {lib / "alias.mkv": "ok", lib / "clip.mp4": "skipped", own: "ok"}
    assert files[lib / "alias.mkv"]["link_target"] == str(movie)
    assert files[lib / "clip.mp4"]["link_target"] == str(clip)
    assert files[own]["link_target"] is None
    assert "leave the link pointing at nothing" in files[lib / "clip.mp4"]["error"]
    # the links are still links to the same files; the linked file was processed in place
    assert os.readlink(lib / "alias.mkv") == str(movie)
    assert os.readlink(lib / "clip.mp4") == "../outside/clip.mp4"
    outcome = assert_nothing_lost(before, str(policy))
    assert set(outcome.processed) == {movie, own} and outcome.intact == (clip,)
    assert temp_files(lib) == [] and temp_files(outside) == []
    assert result.document is not None
    jobs = _history(ws, result.document["batch_id"])["files"]
    assert isinstance(jobs, list) and len(jobs) == 3
    shown = _vpo(ws, "history", "--db", str(ws.db), str(result.document["batch_id"]))
    assert f"ok          {lib}/alias.mkv -> {movie}" in shown.stdout, shown.stdout

    again = _vpo(
        ws, "--no-tui", "--policy", str(policy), "--db", str(ws.db),
        "--config", str(ws.config), str(lib),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"unchanged {lib}/alias.mkv (via link to {movie})" in again.stderr
    assert f"skipped   {lib}/clip.mp4 (via link to {clip}): changing the container" in (
        again.stderr
    )
    tally.add("hostile_inputs", 3)
    tally.files(outcome.total)


# -- the demo library ---------------------------------------------------------------------


def test_the_demo_broken_download_is_found_by_the_truncation_check(
    ws: Workspace, tally: Tally
) -> None:
    from vpo_tui.samples import BROKEN_DOWNLOAD, _broken_download, demo_names

    assert BROKEN_DOWNLOAD in demo_names()
    broken = _broken_download(ws.library / BROKEN_DOWNLOAD, "ffmpeg")
    before = snapshot(ws.library)
    result = run_vpo(ws, "normalize", [ws.library])
    assert result.returncode == 1, result.stderr
    [entry] = result.document["files"] if result.document else []
    assert entry["status"] == "failed"
    assert "truncated or damaged: the header says 6.0 s but the data ends at" in entry["error"]
    assert "not a media file" not in entry["error"]
    assert assert_nothing_lost(before, "normalize").intact == (broken,)
    tally.add("bad_inputs")
    tally.files(1)
