"""No-op re-run: 1,000 compliant files, run twice; the second run must not start a tool.

Goals (issue 3): the second ``vpo-tui --no-tui`` run takes < 2 s (launch to
exit, as the user waits) and starts ZERO tool processes. The config points
``[tools]`` at wrapper scripts that log every process they start, so "zero" is
counted, not assumed; the first run must log at least one process per file, or
the wrappers were not used and a zero would prove nothing.

The files are generated compliant with the policy (the issue allows either), so
the first run probes them and records them in the probe cache without writing.
Since issue 18 a probe is read in-process (no tool at all), so the first run
probes with ``--probe ffprobe``: its one ffprobe per file shows the wrappers work.
"""

from __future__ import annotations

import argparse

from bench import Figure, _media, wait_for_quiet
from bench.batch_overhead import run_vpo_tui, write_config

NAME = "noop_rerun"
FILES = 1000
GOAL_SECONDS = 2.0
GOAL_TOOLS = 0


def run(files: int = FILES, workers: int = 2) -> list[Figure]:
    work = _media.WORK / NAME
    work.mkdir(parents=True, exist_ok=True)
    log = work / "tools.log"
    log.unlink(missing_ok=True)
    tools = _media.logging_tools(log)
    db = work / "history.sqlite"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    config = write_config(work / "config.toml", max_workers=workers, tools=tools, database=db)
    root = _media.fresh_batch(_media.ALREADY_COMPLIANT, files, NAME)

    first = run_vpo_tui(
        root,
        policy=_media.REMUX_POLICY,
        workers=workers,
        config=config,
        db=db,
        expect="unchanged",
        extra=("--probe", "ffprobe"),  # in-process probes start no tool: nothing to count
    )
    first_calls = len(_media.tool_calls(log))
    # one ffprobe per compliant file since issue 10; the check only needs to show that
    # the wrappers ran (a line lost between two concurrent appends must not fail it)
    if first_calls < files // 2:
        raise RuntimeError(
            f"the first run logged {first_calls} tool processes for {files} files: "
            "the wrappers in [tools] were not used, so the zero below would mean nothing"
        )
    log.unlink()

    idle = wait_for_quiet()
    second = run_vpo_tui(
        root,
        policy=_media.REMUX_POLICY,
        workers=workers,
        config=config,
        db=db,
        expect="unchanged",
    )
    second_calls = _media.tool_calls(log)
    label = f"{files:,} compliant files, {workers} workers"
    figures = [
        Figure(NAME, f"first run, --probe ffprobe ({label})", first.wall_s, "s"),
        Figure(NAME, "first run tool processes", float(first_calls)),
        Figure(NAME, "second run, launch to exit", second.wall_s, "s", GOAL_SECONDS, "<"),
        Figure(
            NAME,
            "second run, batch only (JSON duration_s)",
            float(second.report["summary"]["duration_s"]),
            "s",
        ),
        Figure(NAME, "second run tool processes", float(len(second_calls)), "", GOAL_TOOLS, "=="),
        Figure(NAME, "machine idle before the second run", idle * 100, "%"),
    ]
    for call in second_calls[:5]:  # a MISS should say which tool ran
        print(f"{NAME}: second run started: {' '.join(call)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from bench import format_table

    print(format_table(run(args.files, args.workers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
