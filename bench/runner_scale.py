"""Scale: 100,000 queued files through the BatchRunner with a no-op engine.

Goals (issue 3): peak memory <= 250 MB (tracemalloc peak and ru_maxrss) and
runner overhead <= 0.5 ms per file, where overhead = (runner wall time - the
same no-op called in a plain loop) / files.

The measurement runs in a fresh child process so ``ru_maxrss`` (a process-wide
high-water mark) is this benchmark's alone and not whatever ran before it.
Timing runs without tracemalloc (it slows allocation several-fold); the
tracemalloc run is a second, separate pass.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from bench import Figure

NAME = "runner_scale"
FILES = 100_000
WORKERS = 2
GOAL_PEAK_MB = 250.0
GOAL_OVERHEAD_MS = 0.5
REPO = Path(__file__).resolve().parents[1]


def _jobs(files: int) -> list[object]:
    """Fake paths: the no-op engine never opens them, so none need to exist."""
    from vpo_tui.engine.job import FileJob
    from vpo_tui.policy.load import load_policy

    policy = load_policy("mkv-remux")
    root = Path("/bench-library")
    return [
        FileJob(path=root / f"Season {i // 100:04d}" / f"Episode {i:06d}.mkv", policy=policy)
        for i in range(files)
    ]


def _measure(files: int, workers: int) -> dict[str, float]:
    """Runs in the child: baseline loop, timed runner pass, then a tracemalloc pass."""
    from vpo_tui.batch.backend import ThreadsBackend
    from vpo_tui.batch.events import BatchEvent, FileFinished
    from vpo_tui.batch.runner import BatchRunner
    from vpo_tui.engine.control import FileControl
    from vpo_tui.engine.job import FileJob, FileResult, FileStatus

    def noop(job: FileJob, control: FileControl) -> FileResult:
        return FileResult(job.path, FileStatus.UNCHANGED, duration_s=1e-9)

    class CountingListener:
        """As cheap as a listener can be while still proving every file finished."""

        def __init__(self) -> None:
            self.finished = 0

        def on_event(self, event: BatchEvent) -> None:
            if isinstance(event, FileFinished):
                self.finished += 1

    def run_batch(jobs: list[FileJob]) -> tuple[float, int]:
        listener = CountingListener()
        runner = BatchRunner(
            jobs, workers=workers, listener=listener, on_error="skip", backend=ThreadsBackend(noop)
        )
        started = time.perf_counter()
        result = runner.run()
        wall = time.perf_counter() - started
        unchanged = result.count(FileStatus.UNCHANGED)
        if unchanged != len(jobs) or listener.finished != len(jobs):
            raise SystemExit(
                f"runner lost files: {unchanged} unchanged, {listener.finished} finished events"
            )
        return wall, len(result.files)

    jobs: list[FileJob] = _jobs(files)  # type: ignore[assignment]
    control = FileControl()
    started = time.perf_counter()
    for job in jobs:
        noop(job, control)
    baseline = time.perf_counter() - started

    run_batch(jobs[:2000])  # warm up imports, thread start-up and code paths
    wall, _ = run_batch(jobs)
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    del jobs

    # The traced pass counts everything the batch holds: the queue of FileJobs,
    # the runner, and the 100,000 FileResults in the BatchResult.
    tracemalloc.start()
    traced_jobs: list[FileJob] = _jobs(files)  # type: ignore[assignment]
    run_batch(traced_jobs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "files": files,
        "workers": workers,
        "baseline_s": baseline,
        "runner_s": wall,
        "maxrss_mb": maxrss_mb,
        "traced_peak_mb": peak / 1024 / 1024,
    }


def figures_from(m: dict[str, float]) -> list[Figure]:
    files = m["files"]
    overhead_ms = (m["runner_s"] - m["baseline_s"]) / files * 1000
    label = f"{int(files):,} files, {int(m['workers'])} workers"
    return [
        Figure(NAME, f"no-op loop baseline ({label})", m["baseline_s"], "s"),
        Figure(NAME, "BatchRunner wall time", m["runner_s"], "s"),
        Figure(NAME, "runner overhead per file", overhead_ms, "ms", GOAL_OVERHEAD_MS),
        Figure(NAME, "peak memory, tracemalloc", m["traced_peak_mb"], "MB", GOAL_PEAK_MB),
        Figure(NAME, "peak memory, ru_maxrss", m["maxrss_mb"], "MB", GOAL_PEAK_MB),
    ]


def run(files: int = FILES, workers: int = WORKERS) -> list[Figure]:
    """Measure in a fresh interpreter so ru_maxrss belongs to this benchmark only."""
    argv = [sys.executable, "-m", "bench.runner_scale", "--child"]
    argv += ["--files", str(files), "--workers", str(workers)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"runner_scale child failed ({done.returncode}):\n{done.stderr}")
    return figures_from(json.loads(done.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.files, args.workers)))
        return 0
    from bench import format_table

    print(format_table(run(args.files, args.workers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
