"""Speed-up: the overhead batch (100 remuxes) with ``--workers 2`` vs ``--workers 1``.

Goal (issue 3): wall(workers 1) / wall(workers 2) >= 1.7 on 2 cores. On 2 cores
the default cap is 1 worker, so the config raises it with ``[processing]
max_workers``; the JSON report's ``workers`` is checked so a silently capped run
cannot pass for a parallel one.

Context figure: the same speed-up for the xargs baseline (``-P 1`` vs ``-P 2``)
with the same commands: what this machine allows at all, since the tools
themselves compete for the two cores.
"""

from __future__ import annotations

import argparse

from bench import Figure, _media, wait_for_quiet
from bench.batch_overhead import (
    baseline_script,
    check_remuxed,
    run_vpo_tui,
    run_xargs,
    write_config,
)

NAME = "batch_speedup"
FILES = 100
GOAL_SPEEDUP = 1.7


def _vpo_wall(files: int, workers: int, tag: str) -> float:
    work = _media.WORK / NAME
    config = write_config(work / "config.toml", max_workers=2)
    db = work / f"history-{tag}.sqlite"
    for stale in db.parent.glob(db.name + "*"):  # the database and its -wal/-shm
        stale.unlink()
    root = _media.fresh_batch(_media.REMUX, files, f"{NAME}-{tag}")
    wait_for_quiet()
    cli = run_vpo_tui(
        root, policy=_media.REMUX_POLICY, workers=workers, config=config, db=db, expect="ok"
    )
    if cli.report.get("workers") != workers:
        raise RuntimeError(f"asked for {workers} workers, vpo-tui ran {cli.report.get('workers')}")
    check_remuxed(root, len(_media.REMUX.spec.audio) + len(_media.REMUX.spec.subtitles))
    return cli.wall_s


def _shell_wall(files: int, workers: int) -> float:
    work = _media.WORK / NAME
    work.mkdir(parents=True, exist_ok=True)
    script, _ = baseline_script(_media.REMUX_POLICY, _media.REMUX, work / "per-file.sh")
    root = _media.fresh_batch(_media.REMUX, files, f"{NAME}-shell-{workers}")
    wait_for_quiet()
    return run_xargs(root, script, workers)[0]


def run(files: int = FILES, repeat: int = 1) -> list[Figure]:
    one: list[float] = []
    two: list[float] = []
    shell_one: list[float] = []
    shell_two: list[float] = []
    for _ in range(repeat):
        one.append(_vpo_wall(files, 1, "w1"))
        two.append(_vpo_wall(files, 2, "w2"))
        shell_one.append(_shell_wall(files, 1))
        shell_two.append(_shell_wall(files, 2))
    t1, t2 = min(one), min(two)
    s1, s2 = min(shell_one), min(shell_two)
    label = f"{files} remuxes, best of {repeat}"
    return [
        Figure(NAME, f"vpo-tui --workers 1 ({label})", t1, "s"),
        Figure(NAME, "vpo-tui --workers 2", t2, "s"),
        Figure(NAME, "speed-up workers 2 vs 1", t1 / t2, "x", GOAL_SPEEDUP, ">="),
        Figure(NAME, "xargs -P 1, same commands", s1, "s"),
        Figure(NAME, "xargs -P 2, same commands", s2, "s"),
        Figure(NAME, "xargs speed-up -P 2 vs -P 1 (context)", s1 / s2, "x"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    from bench import format_table

    print(format_table(run(args.files, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
