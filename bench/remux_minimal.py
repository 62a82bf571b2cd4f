"""Remux batch against the *minimal* safe pipeline run by ``xargs -P 2`` (issue 10).

The baseline does, per file, the least a safe remux needs: one ffprobe of the
source, one mkvmerge, one ffprobe of the output, one ``mv`` (in ``sh``, as a shell
user would write it). vpo-tui does the same work with its own checks on top
(lock, plan, truncation check, verification against the plan, fsync, history).

Goals (issue 18: the probe and the verification are read in-process, so vpo-tui
runs one tool per file against the baseline's three): <= 0.8x on 40 small files,
<= 1.0x on 10 files of >= 100 MB each
(``--big``; the big files are made once in ~5 s and deleted afterwards unless
``--keep``). The machine is shared, so rounds alternate baseline and vpo-tui and
the median of each is compared; every round's ratio is printed too.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
from pathlib import Path

from bench import Figure, _media, wait_for_quiet
from bench.batch_overhead import check_remuxed, remux_round, run_xargs, write_config

NAME = "remux_minimal"
GOAL_SMALL = 0.8  # issue 18: probe and verification in-process, the pass the only tool
GOAL_BIG = 1.0


def minimal_script(path: Path) -> Path:
    """ffprobe the source, mkvmerge without the German track, ffprobe the output, mv."""
    ffprobe = shlex.quote(shutil.which("ffprobe") or "ffprobe")
    mkvmerge = shlex.quote(shutil.which("mkvmerge") or "mkvmerge")
    probe = f"{ffprobe} -v error -print_format json -show_streams -show_format"
    path.write_text(
        "#!/bin/sh\nset -e\n"
        'f="$1"\ntmp="$(dirname "$f")/.$(basename "$f").bench-tmp.mkv"\n'
        f'{probe} "file:$f" >/dev/null\n'
        f'{mkvmerge} -o "$tmp" --audio-tracks 1 "$f" >/dev/null\n'
        f'{probe} "file:$tmp" >/dev/null\n'
        'mv -f "$tmp" "$f"\n',
        encoding="utf-8",
    )
    return path


def run(
    files: int = 40, workers: int = 2, rounds: int = 5, *, big: bool = False, keep: bool = False
) -> list[Figure]:
    kind = _media.BIG_REMUX if big else _media.REMUX
    goal = GOAL_BIG if big else GOAL_SMALL
    tag = "big" if big else "small"
    work = _media.WORK / f"{NAME}-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    script = minimal_script(work / "minimal.sh")
    config = write_config(work / "config.toml", max_workers=workers)
    kept = len(kind.spec.audio) + len(kind.spec.subtitles)  # one audio track dropped
    size_mb = _media.master(kind).stat().st_size / 1e6
    shell: list[float] = []
    vpo: list[float] = []
    cpu: list[tuple[float, float]] = []  # (baseline, vpo-tui) user+sys of all processes
    idle: list[float] = []
    try:
        for i in range(rounds):
            root = _media.fresh_batch(kind, files, f"{NAME}-{tag}")
            idle.append(wait_for_quiet())
            wall, shell_cpu = run_xargs(root, script, workers)
            shell.append(wall)
            check_remuxed(root, kept)

            db = work / f"history-{i}.sqlite"
            root, cli, quiet = remux_round(
                kind, files, f"{NAME}-{tag}", db, workers=workers, config=config
            )
            idle.append(quiet)
            vpo.append(cli.wall_s)
            cpu.append((shell_cpu, cli.cpu_s))
            check_remuxed(root, kept)
            print(f"{NAME} {tag} round {i + 1}: xargs {shell[-1]:.2f} s, vpo-tui {vpo[-1]:.2f} s")
    finally:
        shutil.rmtree(_media.WORK / "runs" / f"{NAME}-{tag}", ignore_errors=True)
        if big and not keep:
            (_media.WORK / "masters" / f"{kind.name}.mkv").unlink(missing_ok=True)
    s, v = statistics.median(shell), statistics.median(vpo)
    cpu_ratio = statistics.median(b / a for a, b in cpu)
    ratios = ", ".join(f"{b / a:.2f}" for a, b in zip(shell, vpo, strict=True))
    label = f"{files} files of {size_mb:.0f} MB, {workers} workers, median of {rounds}"
    return [
        Figure(NAME, f"xargs minimal pipeline ({label})", s, "s"),
        Figure(NAME, "vpo-tui --no-tui", v, "s"),
        Figure(NAME, f"ratio vpo-tui / minimal ({tag}; rounds: {ratios})", v / s, "x", goal),
        Figure(NAME, "CPU-time ratio, median of rounds (context: robust to load)", cpu_ratio, "x"),
        Figure(NAME, "machine idle before the runs (lowest)", min(idle) * 100, "%"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=None, help="default 40, or 10 with --big")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="files of >= 100 MB")
    parser.add_argument("--keep", action="store_true", help="keep the big master file")
    args = parser.parse_args(argv)
    from bench import format_table

    files = args.files or (10 if args.big else 40)
    print(format_table(run(files, args.workers, args.rounds, big=args.big, keep=args.keep)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
