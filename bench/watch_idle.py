"""Watching 50,000 files in 5,000 folders: start-up, memory and CPU while idle.

``vpo-tui watch`` on a tree of empty placeholder ``.mkv`` files that the history
already knows as compliant (the probe cache is seeded, as after a first run), so
its first pass is what a restart of a watcher over a compliant library costs: a
walk of 50,000 entries, one batch of cache hits, inotify watches on 5,000 folders.
Then it sits idle for ``IDLE_S`` seconds; its CPU time over that span is read
from ``/proc/PID/stat``. The baseline is bare ``watchfiles`` (the same Rust
watcher, nothing else) started on the same tree in the same run.

Goals (issue 19): idle CPU close to zero (< 0.5 % of one core); start-up and
memory are reported against the bare watcher.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench import Figure
from bench._media import WORK

NAME = "watch_idle"
FOLDERS = 5000
PER_FOLDER = 10
IDLE_S = 30.0
GOAL_IDLE_CPU_PCT = 0.5
_TICK = os.sysconf("SC_CLK_TCK")

_BARE = """
import sys, time
from watchfiles._rust_notify import RustNotify
started = time.perf_counter()
notify = RustNotify([sys.argv[1]], False, False, 300, True, True)
print(f"ready {time.perf_counter() - started:.3f}", flush=True)
notify.watch(1600, 50, int(float(sys.argv[2]) * 1000) + 60000, None)
"""


def make_tree(root: Path, folders: int, per_folder: int) -> int:
    """Empty placeholder files (made once; a rerun reuses them)."""
    marker = root / f".made-{folders}x{per_folder}"
    if marker.exists():
        return folders * per_folder
    for i in range(folders):
        folder = root / f"show {i // 100:02d}" / f"season {i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per_folder):
            (folder / f"episode {j:02d}.mkv").touch()
    marker.touch()
    return folders * per_folder


def seed_cache(db: Path, root: Path) -> None:
    """Record every placeholder as compliant with the policy, as a first run would."""
    from vpo_tui.policy.load import load_policy
    from vpo_tui.store.history import HistoryStore

    digest = load_policy("normalize").digest
    HistoryStore(db).close()  # create and migrate
    rows = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name.endswith(".mkv"):
                path = os.path.realpath(os.path.join(dirpath, name))
                st = os.stat(path)
                rows.append((path, digest, st.st_size, st.st_mtime_ns, time.time()))
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO probe_cache (path, policy_digest, size, mtime_ns, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _rss_mib(pid: int, key: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _wait_line(proc: subprocess.Popen[str], stream: str, needle: str, timeout: float) -> float:
    started = time.perf_counter()
    pipe = proc.stderr if stream == "stderr" else proc.stdout
    assert pipe is not None
    while time.perf_counter() - started < timeout:
        line = pipe.readline()
        if not line:
            raise RuntimeError(f"exited before {needle!r} (code {proc.wait()})")
        if needle in line:
            return time.perf_counter() - started
    raise RuntimeError(f"no {needle!r} within {timeout} s")


def _idle(pid: int, seconds: float) -> float:
    """Percent of one core used over ``seconds`` of idling."""
    before = _cpu_s(pid)
    time.sleep(seconds)
    return (_cpu_s(pid) - before) / seconds * 100


def run(
    folders: int = FOLDERS, per_folder: int = PER_FOLDER, idle_s: float = IDLE_S
) -> list[Figure]:
    work = WORK / NAME
    root = work / "tree"
    root.mkdir(parents=True, exist_ok=True)
    files = make_tree(root, folders, per_folder)
    db = work / "history.sqlite"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    seed_cache(db, root)
    config = work / "config.toml"
    config.write_text("[processing]\nworkers = 2\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"))

    bare = subprocess.Popen(
        [sys.executable, "-c", _BARE, str(root), str(idle_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        launched = time.perf_counter()
        _wait_line(bare, "stdout", "ready", 600)
        bare_start = time.perf_counter() - launched
        bare_rss = _rss_mib(bare.pid)
        bare_idle = _idle(bare.pid, idle_s)
    finally:
        bare.kill()
        bare.wait()

    argv = [sys.executable, "-m", "vpo_tui", "watch", "--json", "--config", str(config)]
    argv += ["--db", str(db), "--settle", "60", str(root)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        launched = time.perf_counter()
        _wait_line(proc, "stderr", "first pass", 1800)
        start = time.perf_counter() - launched
        rss, peak = _rss_mib(proc.pid), _rss_mib(proc.pid, "VmHWM")
        idle = _idle(proc.pid, idle_s)
        proc.terminate()
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 130:
        raise RuntimeError(f"vpo-tui watch ended with {code} on SIGTERM, expected 130")
    label = f"{files:,} files in {folders:,} folders"
    return [
        Figure(NAME, f"start-up to watching, {label} (compliant, cached)", start, "s"),
        Figure(NAME, "bare watchfiles: watches set up on the same tree", bare_start, "s"),
        Figure(NAME, "start-up / bare watchfiles", start / bare_start, "x"),
        Figure(NAME, "memory once watching (RSS)", rss, "MiB"),
        Figure(NAME, "memory peak during the first pass (VmHWM)", peak, "MiB"),
        Figure(NAME, "bare watchfiles memory (RSS)", bare_rss, "MiB"),
        Figure(NAME, f"CPU while idle, {idle_s:g} s", idle, "% of a core", goal=GOAL_IDLE_CPU_PCT),
        Figure(NAME, "bare watchfiles CPU while idle", bare_idle, "% of a core"),
    ]


def main() -> None:
    from bench import format_table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folders", type=int, default=FOLDERS)
    parser.add_argument("--per-folder", type=int, default=PER_FOLDER)
    parser.add_argument("--idle", type=float, default=IDLE_S)
    ns = parser.parse_args()
    print(format_table(run(ns.folders, ns.per_folder, ns.idle)))


if __name__ == "__main__":
    main()
