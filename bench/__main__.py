"""``python -m bench [NAME ...]``: run the batch benchmarks and print one table.

Names: runner_scale, noop_rerun, batch_overhead, batch_speedup, remux_minimal,
dry_run_probe, cluster, flags_only, watch_idle, probe_isolation (default: all, cheapest
first; the 100 MB variant of remux_minimal is ``python -m bench.remux_minimal --big``).
``--markdown`` prints the table for bench/RESULTS.md, with the machine description and
the command line. The TUI scale benchmark is its own script (``bench/tui_scale.py``)
and is not run from here. Exit status 1 when any figure misses its goal, so a script
can notice.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable

from bench import Figure, format_table

BENCHMARKS: dict[str, str] = {
    "runner_scale": "100,000 no-op files through BatchRunner: memory and per-file overhead",
    "noop_rerun": "1,000 compliant files run twice: the re-run starts no tool, < 2 s",
    "batch_overhead": "100 remuxes, vpo-tui --workers 2 vs xargs -P 2 with the same commands",
    "batch_speedup": "100 remuxes, --workers 2 vs --workers 1",
    "remux_minimal": "40 remuxes vs the minimal safe pipeline under xargs -P 2",
    "flags_only": "5 x 800 MB default-audio changes vs ffprobe + mkvpropedit in place",
    "dry_run_probe": "cold --dry-run over 1,000 files vs xargs ffprobe; tool runs after a dry run",
    "cluster": "40 remuxes local-cluster:2 vs threads; dispatch per file through Dask",
    "probe_isolation": "300 probes: PyAV threads vs PyAV helpers vs ffprobe; memory",
    "watch_idle": "vpo-tui watch on 50,000 files in 5,000 folders: start-up, memory, idle CPU",
}


def _runner(name: str) -> Callable[[], list[Figure]]:
    module = __import__(f"bench.{name}", fromlist=["run"])
    run: Callable[[], list[Figure]] = module.run
    return run


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "not found"
    return out.splitlines()[0].strip() if out else "unknown"


def machine() -> list[str]:
    """What the figures depend on, for RESULTS.md."""
    import os

    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpus: {os.cpu_count()} (nproc {_version(['nproc'])})",
        f"cpu: {_cpu_model()}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"os: {platform.platform()}",
        f"ffmpeg: {_version(['ffmpeg', '-version'])}",
        f"mkvmerge: {_version(['mkvmerge', '--version'])}",
        f"load average at start: {_loadavg()}",
    ]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as avg:
            return " ".join(avg.read().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--markdown", action="store_true", help="print a RESULTS.md section")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    names = args.names or list(BENCHMARKS)
    header = machine()
    for line in header:
        print(line, flush=True)
    figures: list[Figure] = []
    timings: list[str] = []
    for name in names:
        print(f"\n== {name}: {BENCHMARKS[name]}", flush=True)
        started = time.perf_counter()
        these = _runner(name)()
        timings.append(f"{name}: {time.perf_counter() - started:.0f} s")
        print(format_table(these), flush=True)
        figures += these
    print("\n== all figures")
    print(format_table(figures))
    print("bench runtime: " + ", ".join(timings))
    if args.markdown:
        command = shlex.join([".venv/bin/python", "-m", "bench", *(argv or sys.argv[1:])])
        print("\n" + "\n".join(f"- {line}" for line in header))
        print(f"- command: `{command}`\n")
        print(format_table(figures, markdown=True))
    misses = [f for f in figures if f.verdict == "MISS"]
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
