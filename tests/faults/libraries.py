"""The small libraries and policies the whole-run fault tests work on.

Each library is generated once per session (real media, ffmpeg) and copied into
every test's private folder, so twenty kill moments do not mean twenty encodes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vpo_tui.samples import AudioSpec, SampleSpec, make_media

# mkvmerge passes: drop the French track of MKVs, remux MP4s to MKV (a container change,
# so the commit links the new name before it removes the old one).
REMUX_TOML = """\
name = "fault-remux"
on_error = "skip"
[audio]
keep = ["eng"]
[container]
format = "mkv"
"""

# ffmpeg passes long enough for a kill to land inside the tool run.
TRANSCODE_TOML = """\
name = "fault-x265"
on_error = "skip"
[transcode.video]
codec = "hevc"
crf = 30
preset = "slow"
"""

# one file that takes seconds: signals are sent while it runs
SLOW_TRANSCODE_TOML = TRANSCODE_TOML.replace('"slow"', '"veryslow"').replace(
    "fault-x265", "fault-x265-veryslow"
)

TWO_AUDIO = (AudioSpec("fre", default=True), AudioSpec("eng"))


def remux_library(folder: Path, count: int = 8) -> list[Path]:
    made = []
    for i in range(count):
        if i % 2:
            spec = SampleSpec(container="mp4", duration=1.5, audio=(AudioSpec("eng"),))
            made.append(make_media(folder / f"title {i:02d}.mp4", spec))
        else:
            spec = SampleSpec(duration=1.5, audio=TWO_AUDIO)
            made.append(make_media(folder / f"title {i:02d}.mkv", spec))
    return made


def transcode_library(folder: Path, count: int = 3, duration: float = 4.0) -> list[Path]:
    spec = SampleSpec(duration=duration, width=320, height=180, audio=(AudioSpec("eng"),))
    return [make_media(folder / f"episode {i:02d}.mkv", spec) for i in range(count)]


def copy_library(template: Path, target: Path, limit: int | None = None) -> list[Path]:
    """A fresh copy of (the first ``limit`` files of) a generated library: new inodes."""
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in template.iterdir() if p.is_file())[:limit]
    return [Path(shutil.copy2(p, target / p.name)) for p in sources]
