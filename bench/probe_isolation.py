"""How to run libavformat safely: threads in vpo-tui's process, or helper processes (issue 18).

The same probe (streams, format, chapters and the last packets, as the engine's
source probe asks) of the same small MKVs, two at a time, three ways, each in a
fresh process so the CPU and memory figures are its own:

- ``threads``: PyAV in two threads of the measuring process (the fastest possible;
  a hanging demuxer would hang a worker for good, a crash would kill the app);
- ``helpers``: the engine's way, two long-lived helper processes (``probe_pool``);
- ``ffprobe``: ``xargs -P 2 ffprobe`` with the engine's ffprobe arguments.

Printed: wall time and CPU per probe, a helper's start-up, how late the main
thread (standing for the app's UI) wakes from a 10 ms sleep while two threads
probe (the GIL's share: goal p95 <= 100 ms, as the TUI's key latency), and the
memory the probe machinery adds (the parent's RSS growth plus the helpers' PSS):
goal <= 100 MB. The helpers' cost over threads is what isolation costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import Figure, _media, timed, wait_for_quiet

NAME = "probe_isolation"
PAST_END = 99_999_999.0


def _rss_kb(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _two_at_a_time(files: list[Path], probe: object) -> tuple[float, float]:
    """Probe ``files`` on two threads; wall seconds, and the main thread's p95 lateness (ms).

    The main thread stands for the app's UI: it asks to wake every 10 ms while the
    probes run, and how late it wakes is what the GIL costs a key press.
    """
    todo = list(files)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                path = todo.pop()
            probe(path)  # type: ignore[operator]

    threads = [threading.Thread(target=work) for _ in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    late: list[float] = []
    while any(t.is_alive() for t in threads):
        asked = time.perf_counter()
        time.sleep(0.01)
        late.append((time.perf_counter() - asked - 0.01) * 1000)
    for t in threads:
        t.join()
    late.sort()
    p95 = late[int(len(late) * 0.95)] if late else 0.0
    return time.perf_counter() - started, p95


def _measure(mode: str, root: Path) -> dict[str, float]:
    """One mode, in this (fresh) process."""
    files = _media.batch_files(root)
    rss0 = _rss_kb()
    extra_kb = 0.0
    if mode == "threads":
        from vpo_tui.engine.probe_av import prepare_logging, read_document

        prepare_logging()
        wall, p95 = _two_at_a_time(files, lambda p: read_document(str(p), PAST_END))
    else:
        from vpo_tui.engine.probe_pool import pool

        helpers = pool()
        started = time.perf_counter()
        helpers.status()  # one helper up: its start-up, measured apart
        start_s = time.perf_counter() - started
        wall, p95 = _two_at_a_time(files, lambda p: helpers.read(p, PAST_END, timeout_s=30))
        extra_kb = sum(_pss_kb(pid) for pid in helpers.pids())
        helpers.shutdown()
    rss1 = _rss_kb()
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    result = {"wall_s": wall, "cpu_s": cpu, "memory_mb": (rss1 - rss0 + extra_kb) / 1024}
    result["late_p95_ms"] = p95
    if mode == "helpers":
        result["start_s"] = start_s
    return result


def _ffprobe(root: Path) -> tuple[float, float]:
    ffprobe = shlex.quote(shutil.which("ffprobe") or "ffprobe")
    args = "-v error -print_format json -show_streams -show_format -show_chapters"
    args += (
        f" -read_intervals {PAST_END:.3f}% -show_entries packet=stream_index,pts_time,duration_time"
    )
    command = (
        f"find {shlex.quote(str(root))} -name '*.mkv' ! -name '.*' -print0"
        f" | xargs -0 -P 2 -n 1 {ffprobe} {args} >/dev/null"
    )
    done = timed(["sh", "-c", command])
    if done.returncode != 0:
        raise RuntimeError(f"ffprobe baseline failed: {done.stderr[-2000:]}")
    return done.wall_s, done.cpu_s


def _fresh(mode: str, root: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.probe_isolation", "--measure", mode, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(files: int = 300, rounds: int = 3) -> list[Figure]:
    root = _media.fresh_batch(_media.REMUX, files, NAME)
    got: dict[str, list[dict[str, float]]] = {"threads": [], "helpers": [], "ffprobe": []}
    idle: list[float] = []
    try:
        for i in range(rounds):
            idle.append(wait_for_quiet())
            wall, cpu = _ffprobe(root)
            got["ffprobe"].append({"wall_s": wall, "cpu_s": cpu})
            for mode in ("threads", "helpers"):
                idle.append(wait_for_quiet())
                got[mode].append(_fresh(mode, root))
            line = ", ".join(f"{m} {got[m][-1]['wall_s']:.2f} s" for m in got)
            print(f"{NAME} round {i + 1}: {line}")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in got[mode])

    per = 1000 / files
    label = f"{files} small MKVs, 2 at a time, median of {rounds}"
    figures = [
        Figure(NAME, f"xargs -P 2 ffprobe, wall ({label})", median("ffprobe", "wall_s"), "s"),
        Figure(NAME, "PyAV in 2 threads, wall", median("threads", "wall_s"), "s"),
        Figure(NAME, "PyAV in 2 helper processes, wall", median("helpers", "wall_s"), "s"),
        Figure(NAME, "CPU per probe: ffprobe", median("ffprobe", "cpu_s") * per, "ms"),
        Figure(
            NAME, "CPU per probe: threads (whole process)", median("threads", "cpu_s") * per, "ms"
        ),
        Figure(
            NAME, "CPU per probe: helpers (whole process)", median("helpers", "cpu_s") * per, "ms"
        ),
        Figure(
            NAME,
            "helpers / threads, wall (what isolation costs)",
            median("helpers", "wall_s") / median("threads", "wall_s"),
            "x",
        ),
        Figure(
            NAME,
            "helpers / ffprobe, wall",
            median("helpers", "wall_s") / median("ffprobe", "wall_s"),
            "x",
        ),
        Figure(NAME, "a helper's start-up (once per helper)", median("helpers", "start_s"), "s"),
        Figure(
            NAME,
            "main thread wakes late while probing, p95: threads",
            median("threads", "late_p95_ms"),
            "ms",
        ),
        Figure(
            NAME,
            "main thread wakes late while probing, p95: helpers (the app's UI thread)",
            median("helpers", "late_p95_ms"),
            "ms",
            100,
        ),
        Figure(NAME, "memory added: threads (RSS)", median("threads", "memory_mb"), "MB"),
        Figure(
            NAME,
            "memory added: helpers (parent RSS + helpers' PSS)",
            median("helpers", "memory_mb"),
            "MB",
            100,
        ),
        Figure(NAME, "machine idle before the runs (lowest)", min(idle) * 100, "%"),
    ]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.measure[0], Path(args.measure[1]))))
        return 0
    from bench import format_table

    print(format_table(run(args.files, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
