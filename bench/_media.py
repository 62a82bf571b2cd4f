"""Bench media: N small real files made with vpo_tui.samples, cached under bench/work/.

Encoding 1,000 files with ffmpeg would take minutes and measure ffmpeg, not
vpo-tui, so each kind of file is encoded once (``masters``) and the batch is
made of byte copies of it. Every run gets a *fresh* copy of the batch
(``fresh_batch``) because a remux run rewrites its files and the next run must
start from the same state. Tool wrappers (``logging_tools``) count the tool
processes a run starts.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.samples import AudioSpec, SampleSpec, SubtitleSpec, make_media

WORK = Path(__file__).resolve().parent / "work"
TOOL_NAMES = ("ffprobe", "ffmpeg", "mkvmerge", "mkvpropedit")

# english-only drops the German audio track: one real mkvmerge pass per file.
REMUX_POLICY = "english-only"
NEEDS_REMUX = SampleSpec(
    duration=1.0,
    audio=(AudioSpec("eng", default=True), AudioSpec("ger")),
    subtitles=(SubtitleSpec("eng"),),
)
# Already what english-only asks for: a run probes it and changes nothing.
COMPLIANT = SampleSpec(duration=1.0, audio=(AudioSpec("eng", default=True),))


@dataclass(frozen=True)
class MediaKind:
    name: str
    spec: SampleSpec
    big: bool = False  # made by ``_make_big`` (>= 100 MB), not by ``make_media``


REMUX = MediaKind("remux", NEEDS_REMUX)
ALREADY_COMPLIANT = MediaKind("compliant", COMPLIANT)
# NEEDS_REMUX's tracks in a ~110 MB file: 12 s of 720p noise, x264 at a fixed low QP
BIG_REMUX = MediaKind("remux-big", NEEDS_REMUX, big=True)


def _make_big(path: Path, seconds: float = 12.0) -> None:
    """A >= 100 MB file in ~5 s: noise is what makes it big, ultrafast what makes it quick."""
    srt = path.with_name(path.name + ".srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:09,000\nHello (eng)\n", encoding="utf-8")
    lavfi = ["-f", "lavfi", "-i"]
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    args += [*lavfi, "testsrc=size=1280x720:rate=25,noise=alls=30:allf=t+u"]
    args += [*lavfi, "sine=frequency=440:sample_rate=48000"]
    args += [*lavfi, "sine=frequency=660:sample_rate=48000", "-i", str(srt)]
    args += ["-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-t", str(seconds)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "12", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "64k", "-c:s", "srt"]
    args += ["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=ger"]
    args += ["-metadata:s:s:0", "language=eng", "-disposition:a:0", "default"]
    args += ["-disposition:a:1", "0", "-disposition:s:0", "0", "-f", "matroska", str(path)]
    try:
        subprocess.run(args, check=True, capture_output=True)
    finally:
        srt.unlink(missing_ok=True)


def master(kind: MediaKind) -> Path:
    """The one encoded file of ``kind``, made once and kept in bench/work/masters/."""
    path = WORK / "masters" / f"{kind.name}.mkv"
    if not path.exists():
        partial = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind.big:
            _make_big(partial)
        else:
            make_media(partial, kind.spec)
        partial.replace(path)  # a killed run never leaves a half-written master
    return path


def _names(count: int) -> Iterator[str]:
    # spaces and a leading dash, as real libraries have; sorted order == index order
    for i in range(count):
        yield f"Show {i // 100:03d}/-Episode {i:05d} (x).mkv"


def fresh_batch(kind: MediaKind, count: int, run_name: str) -> Path:
    """A new folder bench/work/runs/RUN_NAME holding ``count`` copies of the master."""
    source = master(kind)
    root = WORK / "runs" / run_name
    if root.exists():
        shutil.rmtree(root)
    for name in _names(count):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def batch_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.mkv") if not p.name.startswith("."))


def logging_tools(log: Path) -> dict[str, str]:
    """Wrapper scripts that append their argv to ``log`` and exec the real tool.

    One line per process, fields separated by \\x1f, so ``tool_calls`` can both
    count the processes and show the exact command lines.
    """
    bin_dir = log.parent / "tool-wrappers"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrappers: dict[str, str] = {}
    for name in TOOL_NAMES:
        real = shutil.which(name)
        if real is None:
            raise RuntimeError(f"{name} is not on PATH; install it (see scripts/ensure-tools.sh)")
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            '{ printf %s "$0"; for a in "$@"; do printf "\\037%s" "$a"; done; echo; }'
            f" >> '{log}'\n"
            f'exec {real} "$@"\n',
            encoding="utf-8",
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        wrappers[name] = str(script)
    return wrappers


def tool_calls(log: Path) -> list[list[str]]:
    """Every logged tool process as its argv (tool name first)."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    calls = [line.split("\x1f") for line in lines if line]
    return [[Path(call[0]).name, *call[1:]] for call in calls]
