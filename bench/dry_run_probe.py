"""A preview reads every file in-process; a remux runs one tool (issues 10 and 18).

1. Cold ``vpo-tui --no-tui --dry-run`` (a fresh history database) over 1,000 files
   that all need a remux, against ``xargs -P 2 ffprobe`` over the same files (one
   ffprobe per file, no shell): goal <= 0.15x (issue 18: the probes are read by
   PyAV helpers, not ffprobe processes). The machine is shared, so rounds
   alternate baseline and vpo-tui and the medians are compared.
2. Tool processes per file, counted with logging wrappers on a small mixed batch
   (remux and compliant files): cold run (goal 1: the pass), dry run (goal 0), and
   the run after the dry run (1 per remux, 0 per compliant file).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
from collections import Counter
from pathlib import Path

from bench import Figure, _media, timed, wait_for_quiet
from bench.batch_overhead import run_vpo_tui, write_config

NAME = "dry_run_probe"
GOAL_RATIO = 0.15  # issue 18: the probes in-process (PyAV helpers), not one ffprobe each


def _xargs_ffprobe(root: Path, workers: int) -> tuple[float, float]:
    ffprobe = shlex.quote(shutil.which("ffprobe") or "ffprobe")
    command = (
        f"find {shlex.quote(str(root))} -name '*.mkv' ! -name '.*' -print0 | sort -z"
        f" | xargs -0 -P {workers} -n 1"
        f" {ffprobe} -v error -print_format json -show_streams -show_format >/dev/null"
    )
    done = timed(["sh", "-c", command])
    if done.returncode != 0:
        raise RuntimeError(f"baseline failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.wall_s, done.cpu_s


def _per_file(log: Path, files: list[Path]) -> dict[Path, list[str]]:
    """The tools logged for each file (a temp output counts for its original)."""
    calls = _media.tool_calls(log)

    def on(f: Path, arg: str) -> bool:
        return f"{f.parent}/" in arg and f.name in arg

    return {f: [c[0] for c in calls if any(on(f, arg) for arg in c[1:])] for f in files}


def count_tools(workers: int = 2, each: int = 10) -> list[Figure]:
    work = _media.WORK / f"{NAME}-counts"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "tools.log"
    db = work / "history.sqlite"
    config = write_config(
        work / "config.toml", max_workers=workers, tools=_media.logging_tools(log), database=db
    )
    remux_root = _media.fresh_batch(_media.REMUX, each, f"{NAME}-remux")
    compliant_root = _media.fresh_batch(_media.ALREADY_COMPLIANT, each, f"{NAME}-compliant")
    cold_root = _media.fresh_batch(_media.REMUX, each, f"{NAME}-cold")
    remux = _media.batch_files(remux_root)
    compliant = _media.batch_files(compliant_root)

    def run(root: Path, *extra: str) -> None:
        import os
        import subprocess
        import sys

        argv = [sys.executable, "-m", "vpo_tui", "--no-tui", *extra, str(root)]
        argv += ["--policy", _media.REMUX_POLICY, "--workers", str(workers)]
        argv += ["--config", str(config), "--db", str(db), "--json"]
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, "VPO_TUI_CONFIG": str(config)}
        )
        if done.returncode != 0:
            raise RuntimeError(f"vpo-tui exited {done.returncode}: {done.stderr[-2000:]}")

    run(cold_root)
    cold = _per_file(log, _media.batch_files(cold_root))
    log.unlink(missing_ok=True)
    run(remux_root, "--dry-run")
    run(compliant_root, "--dry-run")
    dry = _per_file(log, remux + compliant)
    log.unlink(missing_ok=True)
    touched = remux[0]
    touched.touch()  # changed after the dry run: must be probed again
    run(remux_root)
    run(compliant_root)
    after = _per_file(log, remux + compliant)
    unchanged = [f for f in remux if f != touched]
    shutil.rmtree(work, ignore_errors=True)
    for root in (remux_root, compliant_root, cold_root):
        shutil.rmtree(root, ignore_errors=True)
    worst = max(len(after[f]) for f in unchanged)
    print(f"{NAME}: cold remux {Counter(x for f in cold for x in cold[f])}")
    print(f"{NAME}: after a dry run, one remux file: {after[unchanged[0]]}")
    print(f"{NAME}: after a dry run, the touched file: {after[touched]}")
    return [
        Figure(
            NAME,
            "tool processes per remux file, cold run",
            max(map(len, cold.values())),
            "",
            1,
            "==",
        ),
        Figure(NAME, "tool processes per file, dry run", max(map(len, dry.values())), "", 0, "=="),
        Figure(NAME, "per unchanged remux file, run after the dry run", worst, "", 1, "<="),
        Figure(
            NAME,
            "per compliant file, run after the dry run",
            max(len(after[f]) for f in compliant),
            "",
            0,
            "==",
        ),
        Figure(
            NAME, "per remux file touched after the dry run (probed again)", len(after[touched])
        ),
    ]


def run(files: int = 1000, workers: int = 2, rounds: int = 3) -> list[Figure]:
    work = _media.WORK / NAME
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work / "config.toml", max_workers=workers)
    root = _media.fresh_batch(_media.REMUX, files, NAME)  # a dry run writes nothing: reused
    shell: list[float] = []
    vpo: list[float] = []
    cpu: list[float] = []  # vpo-tui / baseline, user+sys of all processes
    idle: list[float] = []
    for i in range(rounds):
        idle.append(wait_for_quiet())
        wall, shell_cpu = _xargs_ffprobe(root, workers)
        shell.append(wall)
        db = work / f"history-{i}.sqlite"
        for stale in db.parent.glob(db.name + "*"):
            stale.unlink()  # cold: no kept probe
        idle.append(wait_for_quiet())
        cli = run_vpo_tui(
            root,
            policy=_media.REMUX_POLICY,
            workers=workers,
            config=config,
            db=db,
            extra=("--dry-run",),
        )
        planned = cli.statuses()
        if planned != {"planned": files}:
            raise RuntimeError(f"dry run: expected {files} planned, got {planned}")
        vpo.append(cli.wall_s)
        cpu.append(cli.cpu_s / shell_cpu)
        print(f"{NAME} round {i + 1}: xargs ffprobe {shell[-1]:.2f} s, vpo-tui {vpo[-1]:.2f} s")
    shutil.rmtree(root, ignore_errors=True)
    s, v = statistics.median(shell), statistics.median(vpo)
    ratios = ", ".join(f"{b / a:.2f}" for a, b in zip(shell, vpo, strict=True))
    label = f"{files:,} remux files, {workers} workers, median of {rounds}"
    return [
        Figure(NAME, f"xargs -P {workers} ffprobe ({label})", s, "s"),
        Figure(NAME, "vpo-tui --no-tui --dry-run, cold", v, "s"),
        Figure(NAME, f"ratio vpo-tui / xargs ffprobe (rounds: {ratios})", v / s, "x", GOAL_RATIO),
        Figure(
            NAME, "CPU-time ratio, median (context: robust to load)", statistics.median(cpu), "x"
        ),
        Figure(NAME, "machine idle before the runs (lowest)", min(idle) * 100, "%"),
        *count_tools(workers),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--counts-only", action="store_true")
    args = parser.parse_args(argv)
    from bench import format_table

    if args.counts_only:
        print(format_table(count_tools(args.workers)))
    else:
        print(format_table(run(args.files, args.workers, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
