"""A flags-only change on five 800 MB MKVs: vpo-tui vs a bare ffprobe + mkvpropedit loop (issue 21).

The only change is the default audio (French -> English), a few header bytes. The
baseline is what a careless shell user runs, ``ffprobe`` then ``mkvpropedit`` in place
per file under ``xargs -P 2`` (no journal, no verification: a crash mid-edit leaves a
damaged file). vpo-tui runs with ``--workers 2`` and ``[safety] in_place = "auto"``
(journaled in place on this non-reflink disk), and, as context, with ``in_place =
"never"`` (every file copied first: the protocol before issue 21).

Goals: vpo-tui <= 2x the baseline's wall time; bytes written per file < 1 % of its
size; extra disk space during the batch about zero. Bytes written are the
``write_bytes`` of the whole process tree (``/proc/self/io`` of a small parent that
waited for it: Linux adds reaped children's I/O to the parent's), history database
included. Extra space is the peak, sampled every 10 ms, of the allocated blocks in
the batch folder above what the five files held before.

The 800 MB master is one ~10 s x264 noise clip appended to itself with mkvmerge
(seconds, not minutes, to make); the five copies are deleted afterwards unless
``--keep``. Between rounds the files are flipped back with mkvpropedit (not timed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import Figure, _media, wait_for_quiet
from bench.batch_overhead import write_config

NAME = "flags_only"
FILES = 5
TARGET_BYTES = 800 * 1000 * 1000
GOAL_RATIO = 2.0
GOAL_WRITE_SHARE = 1.0  # percent of the file's size
POLICY = """\
name = "default-eng"
description = "English audio default; every track kept in its place."
[languages]
audio = ["eng"]
reorder = false
[audio]
keep = ["eng", "fre"]
default = "preferred"
"""
# run ARGV, then report the I/O of the whole (reaped) process tree as JSON on fd N
_IO_PARENT = """\
import json, os, subprocess, sys
done = subprocess.run(sys.argv[2:])
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
os.write(int(sys.argv[1]), json.dumps({k: int(v) for k, v in io.items()}).encode())
sys.exit(done.returncode)
"""


def _chunk(path: Path, seconds: float = 10.0) -> None:
    """A ~90 MB clip: 720p noise (x264 ultrafast, QP 12), French default + English audio."""
    lavfi = ["-f", "lavfi", "-i"]
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    args += [*lavfi, "testsrc=size=1280x720:rate=25,noise=alls=30:allf=t+u"]
    args += [*lavfi, "sine=frequency=440:sample_rate=48000"]
    args += [*lavfi, "sine=frequency=660:sample_rate=48000"]
    args += ["-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", str(seconds)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "12", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-metadata:s:a:0", "language=fre", "-metadata:s:a:1", "language=eng"]
    args += ["-disposition:a:0", "default", "-disposition:a:1", "0", str(path)]
    subprocess.run(args, check=True, capture_output=True)


def master() -> Path:
    """The 800 MB file, made once into bench/work/masters/ (mkvmerge appends the clip)."""
    path = _media.WORK / "masters" / "flags-800mb.mkv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = path.with_name(".flags-chunk.mkv")
    _chunk(chunk)
    copies = -(-TARGET_BYTES // chunk.stat().st_size)
    partial = path.with_name(f".{path.name}.partial")
    argv = ["mkvmerge", "-q", "-o", str(partial), str(chunk)]
    for _ in range(copies - 1):
        argv += ["+", str(chunk)]
    subprocess.run(argv, check=True, capture_output=True)
    chunk.unlink()
    partial.replace(path)
    return path


def _flip(files: list[Path], english: bool) -> None:
    """Set the default audio without vpo-tui (resets between rounds; not timed)."""
    for path in files:
        argv = ["mkvpropedit", "-q", str(path)]
        argv += ["--edit", "track:a1", "--set", f"flag-default={0 if english else 1}"]
        argv += ["--edit", "track:a2", "--set", f"flag-default={1 if english else 0}"]
        subprocess.run(argv, check=True, capture_output=True)


def _english_default(path: Path) -> bool:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
         "stream=index:stream_tags=language:stream_disposition=default", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    streams = json.loads(out)["streams"]
    return [s["tags"]["language"] for s in streams if s["disposition"]["default"]] == ["eng"]


@dataclass(frozen=True)
class Round:
    wall_s: float
    write_bytes: int
    extra_space: int  # peak allocated bytes in the folder above the start


# On a filesystem of its own (``--folder`` on a loop-mounted btrfs) the space used is
# the filesystem's: a reflink copy's st_blocks count blocks it shares with the original.
_WHOLE_FS: set[Path] = set()


def _allocated(folder: Path) -> int:
    if folder in _WHOLE_FS:
        return shutil.disk_usage(folder).used
    total = 0
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):  # a temp file vanished between listing and stat
            total += entry.stat(follow_symlinks=False).st_blocks * 512
    return total


def _measured(argv: list[str], folder: Path, env: dict[str, str] | None = None) -> Round:
    """Run ``argv`` under the I/O parent while sampling the folder's allocated space."""
    start_space = _allocated(folder)
    peak = [start_space]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], _allocated(folder))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    read, write = os.pipe()
    sampler.start()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _IO_PARENT, str(write), *argv],
        pass_fds=(write,),
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    running.clear()
    sampler.join()
    os.close(write)
    io = json.loads(os.read(read, 65536) or b"{}")
    os.close(read)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return Round(wall, int(io.get("write_bytes", 0)), peak[0] - start_space)


def baseline_script(path: Path) -> Path:
    ffprobe = shlex.quote(shutil.which("ffprobe") or "ffprobe")
    mkvpropedit = shlex.quote(shutil.which("mkvpropedit") or "mkvpropedit")
    path.write_text(
        "#!/bin/sh\nset -e\n"
        f'{ffprobe} -v error -print_format json -show_streams -show_format "file:$1" >/dev/null\n'
        f'{mkvpropedit} -q "$1" --edit track:a1 --set flag-default=0'
        " --edit track:a2 --set flag-default=1\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def _vpo_argv(root: Path, policy: Path, config: Path, db: Path) -> list[str]:
    argv = [sys.executable, "-m", "vpo_tui", "--no-tui", str(root), "--json"]
    argv += ["--policy", str(policy), "--workers", "2"]
    return [*argv, "--config", str(config), "--db", str(db)]


def run(rounds: int = 3, *, keep: bool = False, folder: Path | None = None) -> list[Figure]:
    """``folder``: put the five files there (a filesystem of their own, e.g. btrfs)."""
    work = _media.WORK / NAME
    work.mkdir(parents=True, exist_ok=True)
    root = folder / "library" if folder is not None else work / "library"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if folder is not None:
        _WHOLE_FS.add(root)
    source = master()
    files = [root / f"Film {i} (2024).mkv" for i in range(FILES)]
    shutil.copyfile(source, files[0])
    for target in files[1:]:  # reflink copies where the filesystem can: made in no time
        subprocess.run(["cp", "--reflink=auto", str(files[0]), str(target)], check=True)
    size = source.stat().st_size
    policy = work / "default-eng.toml"
    policy.write_text(POLICY, encoding="utf-8")
    script = baseline_script(work / "bare-loop.sh")
    configs = {}
    for mode in ("auto", "never"):
        configs[mode] = write_config(work / f"config-{mode}.toml", max_workers=2)
        with configs[mode].open("a", encoding="utf-8") as f:
            f.write(f'\n[safety]\nin_place = "{mode}"\n')
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "app")}
    xargs = ["xargs", "-0", "-P", "2", "-n", "1", str(script)]
    results: dict[str, list[Round]] = {"bare": [], "auto": [], "never": []}
    idle: list[float] = []
    try:
        for i in range(rounds):
            for label in ("bare", "auto", "never"):
                _flip(files, english=False)
                idle.append(wait_for_quiet())
                if label == "bare":
                    argv = ["sh", "-c", f'printf "%s\\0" "$@" | {shlex.join(xargs)}', "sh"]
                    measured = _measured([*argv, *map(str, files)], root)
                else:
                    db = work / f"history-{label}-{i}.sqlite"
                    for stale in work.glob(db.name + "*"):
                        stale.unlink()
                    argv = _vpo_argv(root, policy, configs[label], db)
                    measured = _measured(argv, root, env)
                if not all(_english_default(p) for p in files):
                    raise RuntimeError(f"{label}: not every file has English audio default")
                results[label].append(measured)
                print(
                    f"{NAME} round {i + 1} {label}: {measured.wall_s:.2f} s, "
                    f"{measured.write_bytes / FILES / 1e6:.2f} MB written/file, "
                    f"{measured.extra_space / 1e6:.1f} MB extra space"
                )
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(r.wall_s for r in v) for k, v in results.items()}
    per_file = {k: max(r.write_bytes for r in v) / FILES for k, v in results.items()}
    space = {k: max(r.extra_space for r in v) for k, v in results.items()}
    mb = 1e6
    bench = NAME
    return [
        Figure(bench, f"file size (x{FILES}, 2 workers, median of {rounds})", size / mb, "MB"),
        Figure(bench, "bare loop: ffprobe + mkvpropedit in place, xargs -P 2", med["bare"], "s"),
        Figure(bench, 'vpo-tui, in_place = "auto" (journaled in place)', med["auto"], "s"),
        Figure(bench, "ratio vpo-tui / bare loop", med["auto"] / med["bare"], "x", GOAL_RATIO),
        Figure(bench, 'vpo-tui, in_place = "never" (copy first; context)', med["never"], "s"),
        Figure(bench, "ratio copy-first / bare loop (context)", med["never"] / med["bare"], "x"),
        Figure(
            bench,
            "vpo-tui bytes written per file (whole tree, history db included)",
            per_file["auto"] / mb,
            "MB",
        ),
        Figure(
            bench,
            "  as a share of the file's size",
            100 * per_file["auto"] / size,
            "%",
            GOAL_WRITE_SHARE,
            "<",
        ),
        Figure(bench, "bare loop bytes written per file (context)", per_file["bare"] / mb, "MB"),
        Figure(bench, "copy-first bytes written per file (context)", per_file["never"] / mb, "MB"),
        Figure(bench, "vpo-tui peak extra disk space during the batch", space["auto"] / mb, "MB"),
        Figure(bench, "copy-first peak extra disk space (context)", space["never"] / mb, "MB"),
        Figure(bench, "machine idle before the runs (lowest)", 100 * min(idle), "%"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the five copies afterwards")
    parser.add_argument(
        "--folder", type=Path, help="where the five files go (a filesystem of their own)"
    )
    ns = parser.parse_args()
    from bench import format_table

    print(format_table(run(ns.rounds, keep=ns.keep, folder=ns.folder)))


if __name__ == "__main__":
    main()
