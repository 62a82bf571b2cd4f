"""Overhead: 100 small files remuxed by ``vpo-tui --no-tui --workers 2`` vs plain ``xargs -P 2``.

Goal (issue 3): vpo-tui wall time / shell baseline wall time <= 1.15.

The baseline runs, per file, *the same tool commands vpo-tui runs*. Rather than
hand-copying them (and drifting when the engine changes), ``baseline_script``
lets the real engine process one scratch file through logging tool wrappers
and turns the logged command lines into a shell script with the file and temp
paths as variables; the script then ``mv``s the temp over the original, as a
plain shell user would. A second, "minimal" baseline runs only the probe and
the remux (no identify, no verification) and is shown as context: it is what
the verification costs, not the goal.

Each timed run gets a fresh copy of the files; runs alternate baseline / vpo-tui
and the best of ``repeat`` is kept, so a slow moment of the machine hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import Figure, _media, timed, wait_for_quiet

NAME = "batch_overhead"
FILES = 100
GOAL_RATIO = 1.15
REPO = Path(__file__).resolve().parents[1]
_TEMP_MARK = re.compile(r"\.vpo-tmp-[^/]*$")


# -- running vpo-tui as a user does -------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    wall_s: float
    cpu_s: float  # user+sys of vpo-tui and every tool it ran
    report: dict[str, Any]  # the --json document
    stderr: str

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.report.get("files", []):
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        return counts


def write_config(
    path: Path,
    *,
    max_workers: int,
    tools: dict[str, str] | None = None,
    database: Path | None = None,
) -> Path:
    """A config.toml that raises the worker cap (2 cores cap at 1) and may point [tools]."""
    lines = ["[processing]", f"max_workers = {max_workers}"]
    if tools:
        lines.append("\n[tools]")
        lines += [f"{name} = {json.dumps(tool)}" for name, tool in tools.items()]
    if database is not None:
        lines += ["\n[paths]", f"database = {json.dumps(str(database))}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_vpo_tui(
    root: Path,
    *,
    policy: str,
    workers: int,
    config: Path,
    db: Path,
    expect: str | None = None,
    extra: tuple[str, ...] = (),
) -> CliRun:
    """``python -m vpo_tui --no-tui ROOT --json [EXTRA]``, timed from launch to exit.

    The wall time includes interpreter start-up and imports: that is what a user
    waits for. ``expect`` checks every file reached that status.
    """
    argv = [sys.executable, "-m", "vpo_tui", "--no-tui", *extra, str(root), "--json"]
    argv += ["--policy", policy, "--workers", str(workers)]
    argv += ["--config", str(config), "--db", str(db)]
    env = {**os.environ, "VPO_TUI_CONFIG": str(config)}
    done = timed(argv, env=env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"vpo-tui exited {done.returncode} without a JSON report:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        ) from None
    run = CliRun(done.wall_s, done.cpu_s, report, done.stderr)
    if expect is not None:
        statuses = run.statuses()
        if statuses != {expect: len(report.get("files", []))} or not report.get("files"):
            raise RuntimeError(f"vpo-tui: expected every file {expect}, got {statuses}")
    return run


# -- the shell baseline ---------------------------------------------------------------


def _shell_word(arg: str, source: str, temp: str) -> str:
    """Quote ``arg`` for sh, with the file paths turned into "$f" / "$tmp"."""
    for path, var in ((temp, '"$tmp"'), (source, '"$f"')):
        if path in arg:
            before, after = arg.split(path, 1)
            return (
                (shlex.quote(before) if before else "")
                + var
                + (shlex.quote(after) if after else "")
            )
    return shlex.quote(arg)


def logged_engine_calls(policy: str, kind: _media.MediaKind) -> tuple[Path, list[list[str]]]:
    """Process one scratch file with the real engine; return it and its tool calls."""
    from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus, ToolPaths
    from vpo_tui.engine.process import process_file
    from vpo_tui.policy.load import load_policy

    root = _media.fresh_batch(kind, 1, "baseline-probe")
    log = root / "tools.log"
    source = _media.batch_files(root)[0]
    settings = EngineSettings(tools=ToolPaths(**_media.logging_tools(log)))
    result = process_file(FileJob(source, load_policy(policy), settings))
    if result.status is not FileStatus.OK:
        raise RuntimeError(f"engine did not remux the probe file: {result.status} {result.error}")
    return source, _media.tool_calls(log)


def baseline_script(policy: str, kind: _media.MediaKind, path: Path) -> tuple[Path, int]:
    """Write the per-file shell script; returns it and how many tool processes it runs."""
    source, calls = logged_engine_calls(policy, kind)
    temps = {arg.removeprefix("file:") for call in calls for arg in call if _TEMP_MARK.search(arg)}
    if len(temps) != 1:
        raise RuntimeError(f"expected one temp file in the engine's calls, found {temps}")
    temp = temps.pop()
    tools = {name: shutil.which(name) or name for name in _media.TOOL_NAMES}
    lines = [
        "#!/bin/sh",
        f"# One file, the commands vpo-tui's engine ran for policy {policy!r}",
        "# (generated by bench/batch_overhead.py from a logged run).",
        "set -e",
        'f="$1"',
        'tmp="$(dirname "$f")/.$(basename "$f").bench-tmp.mkv"',
    ]
    for tool, *args in calls:
        words = [shlex.quote(tools[tool])]
        words += [_shell_word(arg, str(source), temp) for arg in args]
        lines.append(" ".join(words) + " >/dev/null")
    lines.append('mv -f "$tmp" "$f"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, len(calls)


def minimal_script(path: Path) -> Path:
    """Only probe + remux: the literal "ffprobe and mkvmerge per file" reading of the goal."""
    ffprobe = shlex.quote(shutil.which("ffprobe") or "ffprobe")
    mkvmerge = shlex.quote(shutil.which("mkvmerge") or "mkvmerge")
    path.write_text(
        "#!/bin/sh\nset -e\n"
        'f="$1"\ntmp="$(dirname "$f")/.$(basename "$f").bench-tmp.mkv"\n'
        f'{ffprobe} -v error -print_format json -show_streams -show_format "file:$f" >/dev/null\n'
        f'{mkvmerge} -o "$tmp" --audio-tracks 1 "$f" >/dev/null\n'
        'mv -f "$tmp" "$f"\n',
        encoding="utf-8",
    )
    return path


def remux_round(
    kind: _media.MediaKind,
    files: int,
    run_name: str,
    db: Path,
    *,
    workers: int,
    config: Path,
) -> tuple[Path, CliRun, float]:
    """One timed vpo-tui remux of a fresh batch, with a fresh history database.

    Also returns how idle the machine was just before (``wait_for_quiet``)."""
    root = _media.fresh_batch(kind, files, run_name)
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    idle = wait_for_quiet()
    cli = run_vpo_tui(
        root, policy=_media.REMUX_POLICY, workers=workers, config=config, db=db, expect="ok"
    )
    return root, cli, idle


def run_xargs(root: Path, script: Path, workers: int) -> tuple[float, float]:
    """``find | sort | xargs -0 -P N -n 1 sh SCRIPT``: (wall, cpu) seconds; raises on failure."""
    command = (
        f"find {shlex.quote(str(root))} -name '*.mkv' ! -name '.*' -print0 | sort -z"
        f" | xargs -0 -P {workers} -n 1 sh {shlex.quote(str(script))}"
    )
    done = timed(["sh", "-c", command])
    if done.returncode != 0:
        raise RuntimeError(f"baseline failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.wall_s, done.cpu_s


def check_remuxed(root: Path, expected_tracks: int) -> None:
    """The first and last file really lost a track (the run did the work)."""
    files = _media.batch_files(root)
    for path in (files[0], files[-1]):
        out = subprocess.run(
            ["mkvmerge", "-J", str(path)], capture_output=True, text=True, check=True
        )
        tracks = len(json.loads(out.stdout)["tracks"])
        if tracks != expected_tracks:
            raise RuntimeError(f"{path}: {tracks} tracks after the run, expected {expected_tracks}")


# -- the benchmark --------------------------------------------------------------------


def run(files: int = FILES, workers: int = 2, repeat: int = 2) -> list[Figure]:
    work = _media.WORK / NAME
    work.mkdir(parents=True, exist_ok=True)
    kind = _media.REMUX
    script, per_file = baseline_script(_media.REMUX_POLICY, kind, work / "per-file.sh")
    minimal = minimal_script(work / "minimal.sh")
    config = write_config(work / "config.toml", max_workers=workers)
    kept_tracks = len(kind.spec.audio) + len(kind.spec.subtitles)  # one audio track dropped

    base: list[tuple[float, float]] = []
    small: list[tuple[float, float]] = []
    vpo: list[tuple[float, float]] = []
    idle: list[float] = []
    for i in range(repeat):
        root = _media.fresh_batch(kind, files, f"{NAME}-shell")
        idle.append(wait_for_quiet())
        base.append(run_xargs(root, script, workers))
        check_remuxed(root, kept_tracks)

        db = work / f"history-{i}.sqlite"
        root, cli, quiet = remux_round(
            kind, files, f"{NAME}-vpo", db, workers=workers, config=config
        )
        idle.append(quiet)
        vpo.append((cli.wall_s, cli.cpu_s))
        check_remuxed(root, kept_tracks)

        root = _media.fresh_batch(kind, files, f"{NAME}-minimal")
        idle.append(wait_for_quiet())
        small.append(run_xargs(root, minimal, workers))
        check_remuxed(root, kept_tracks)

    b, v, m = min(base), min(vpo), min(small)  # best wall time of the repeats
    label = f"{files} files, {workers} workers, best of {repeat}"
    return [
        Figure(NAME, f"xargs baseline, same {per_file} commands/file ({label})", b[0], "s"),
        Figure(NAME, "vpo-tui --no-tui", v[0], "s"),
        Figure(NAME, "ratio vpo-tui / same-commands baseline", v[0] / b[0], "x", GOAL_RATIO),
        Figure(NAME, "CPU time (user+sys, all processes): baseline", b[1], "s"),
        Figure(NAME, "CPU time (user+sys, all processes): vpo-tui", v[1], "s"),
        Figure(NAME, "CPU-time ratio vpo-tui / baseline (context)", v[1] / b[1], "x"),
        Figure(NAME, "xargs minimal baseline (ffprobe + mkvmerge only)", m[0], "s"),
        Figure(NAME, "ratio vpo-tui / minimal baseline (context)", v[0] / m[0], "x"),
        Figure(NAME, "machine idle before the runs (lowest)", min(idle) * 100, "%"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    from bench import format_table

    print(format_table(run(args.files, args.workers, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
