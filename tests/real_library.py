"""The files real collections are made of, generated small (issue 8).

Rips, web downloads, phone clips and files tagged by media managers: cover art
(an MKV ``cover.jpg`` attachment, an MP4/M4V ``attached_pic``), MP4 chapters,
AVI, QuickTime with PCM and a timecode track, Matroska named ``.mp4``, and the
broader kinds of the test library (WebM, DTS/E-AC3/FLAC, MPEG-2, 10-bit HEVC,
audio before video, several default tracks, B/T language codes, no language).
Each is under a second at 160x90, built with ffmpeg/mkvmerge from
``vpo_tui.samples`` plus the few post-steps ``make_media`` does not do.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vpo_tui.samples import AudioSpec, SampleSpec, SubtitleSpec, make_media

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
MKVMERGE = shutil.which("mkvmerge") or "mkvmerge"

DURATION = 0.8
CHAPTERS = (("Opening", 0.0), ("Middle", 0.3), ("Credits", 0.6))


def _ffmpeg(*args: str) -> None:
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(argv, check=True, capture_output=True)


def add_chapters(path: Path, chapters: tuple[tuple[str, float], ...] = CHAPTERS) -> Path:
    """Give ``path`` a chapter list (rewritten in place by a stream copy)."""
    lines = [";FFMETADATA1"]
    ends = [start for _, start in chapters[1:]] + [DURATION]
    for (title, start), end in zip(chapters, ends, strict=True):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={int(start * 1000)}"]
        lines += [f"END={int(end * 1000)}", f"title={title}"]
    with tempfile.TemporaryDirectory(prefix="vpo-chapters-") as tmp:
        meta = Path(tmp) / "chapters.txt"
        meta.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = Path(tmp) / f"out{path.suffix}"
        fmt = {".mkv": "matroska", ".mov": "mov"}.get(path.suffix, "mp4")
        inputs = ["-i", str(path), "-i", str(meta)]
        _ffmpeg(*inputs, "-map", "0", "-map_chapters", "1", "-c", "copy", "-f", fmt, str(out))
        shutil.copyfile(out, path)
    return path


def add_timecode(path: Path) -> Path:
    """Add a QuickTime ``tmcd`` timecode track, as cameras and screen recorders write."""
    with tempfile.TemporaryDirectory(prefix="vpo-tmcd-") as tmp:
        out = Path(tmp) / "out.mov"
        _ffmpeg("-i", str(path), "-map", "0", "-c", "copy", "-timecode", "01:00:00:00", str(out))
        shutil.copyfile(out, path)
    return path


@dataclass(frozen=True)
class RealFile:
    """One kind of file: its name, what it holds, and any post-step."""

    name: str
    spec: SampleSpec
    post: tuple[Callable[[Path], Path], ...] = field(default=())

    def make(self, folder: Path) -> Path:
        path = make_media(folder / self.name, self.spec, ffmpeg=FFMPEG)
        for step in self.post:
            step(path)
        return path


_TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))

# The cases of issue 8 the engine owns (1-5, 7), each a file a user really has.
CASES: dict[str, RealFile] = {
    "mkv-cover-jpg": RealFile(
        "Cover Movie.mkv", SampleSpec(duration=DURATION, audio=_TWO, cover="jpg")
    ),
    "mkv-cover-png-font": RealFile(
        "Cover and Font.mkv",
        SampleSpec(duration=DURATION, audio=_TWO, cover="png", attachment=True),
    ),
    "mp4-cover": RealFile(
        "iTunes Episode.mp4",
        SampleSpec(container="mp4", duration=DURATION, audio=_TWO[:1], cover="jpg"),
    ),
    "m4v-cover": RealFile(
        "Web Download.m4v",
        SampleSpec(container="mp4", duration=DURATION, audio=_TWO[:1], cover="png"),
    ),
    "mp4-cover-subs": RealFile(
        "Tagged Movie.mp4",
        SampleSpec(
            container="mp4",
            duration=DURATION,
            audio=_TWO,
            subtitles=(SubtitleSpec("eng"), SubtitleSpec("ger")),
            cover="jpg",
        ),
    ),
    "m4v-cover-subs": RealFile(
        "HandBrake Movie.m4v",
        SampleSpec(
            container="mp4",
            duration=DURATION,
            audio=_TWO,
            subtitles=(SubtitleSpec("eng"),),
            cover="jpg",
        ),
    ),
    "mp4-chapters": RealFile(
        "Chaptered.mp4",
        SampleSpec(container="mp4", duration=DURATION, audio=_TWO),
        (add_chapters,),
    ),
    "mkv-chapters": RealFile(
        "Chaptered.mkv", SampleSpec(duration=DURATION, audio=_TWO), (add_chapters,)
    ),
    "avi": RealFile(
        "Old Rip.avi",
        SampleSpec(
            container="avi",
            duration=DURATION,
            video="mpeg4",
            audio=(AudioSpec(None, codec="libmp3lame"),),
        ),
    ),
    "mov-compliant": RealFile(
        "Phone Clip.mov",
        SampleSpec(
            container="mov",
            duration=DURATION,
            audio=(AudioSpec("eng", default=True, codec="pcm_s16le"),),
        ),
        (add_timecode,),
    ),
    "mov-two-languages": RealFile(
        "Camera Clip.mov",
        SampleSpec(
            container="mov",
            duration=DURATION,
            audio=(
                AudioSpec("eng", default=True, codec="pcm_s16le"),
                AudioSpec("ger", codec="pcm_s16le"),
            ),
        ),
        (add_timecode,),
    ),
    "mkv-named-mp4": RealFile(
        "Misnamed.mp4", SampleSpec(container="mkv", duration=DURATION, audio=_TWO)
    ),
    "mp4-named-mkv": RealFile(
        "Misnamed Too.mkv", SampleSpec(container="mp4", duration=DURATION, audio=_TWO)
    ),
}


def make_cases(folder: Path) -> dict[str, Path]:
    """Every case file, made once into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {key: case.make(folder) for key, case in CASES.items()}


def make_hevc_10bit(path: Path) -> Path:
    """10-bit HEVC (Main 10) with AAC, as modern encodes are."""
    args = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-f", "lavfi", "-i", "sine"]
    args += ["-t", str(DURATION), "-c:v", "libx265", "-preset", "ultrafast"]
    args += ["-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le"]
    args += ["-c:a", "aac", "-metadata:s:a:0", "language=eng", str(path)]
    _ffmpeg(*args)
    return path


def audio_first(path: Path) -> Path:
    """Put the audio track before the video (mkvmerge --track-order), as some muxers do."""
    with tempfile.TemporaryDirectory(prefix="vpo-order-") as tmp:
        out = Path(tmp) / "out.mkv"
        argv = [MKVMERGE, "-q", "-o", str(out), "--track-order", "0:1,0:0", str(path)]
        subprocess.run(argv, check=True, capture_output=True)
        shutil.copyfile(out, path)
    return path


def without_language(path: Path) -> Path:
    """Delete the language element of the first audio track (Matroska then means ``eng``)."""
    tool = shutil.which("mkvpropedit") or "mkvpropedit"
    argv = [tool, str(path), "--edit", "track:a1", "--delete", "language"]
    subprocess.run(argv, check=True, capture_output=True)
    return path


@dataclass(frozen=True)
class MadeFile:
    """A file made by a function of its own instead of ``make_media``."""

    name: str
    build: Callable[[Path], Path]

    def make(self, folder: Path) -> Path:
        return self.build(folder / self.name)


_FIRST_DEFAULT = (AudioSpec("eng", default=True),)

# The broader test library: kinds that mostly worked already and must keep working.
LIBRARY: dict[str, RealFile | MadeFile] = {
    "webm-vp9-opus-webvtt": RealFile(
        "Web Download.webm",
        SampleSpec(
            container="webm",
            duration=DURATION,
            video="libvpx-vp9",
            audio=(AudioSpec("eng", default=True, codec="libopus"),),
            subtitles=(SubtitleSpec("eng"),),
        ),
    ),
    "dts-eac3-flac": RealFile(
        "Blu-ray Rip.mkv",
        SampleSpec(
            duration=DURATION,
            audio=(
                AudioSpec("eng", default=True, codec="dca"),
                AudioSpec("eng", "Stereo", codec="eac3"),
                AudioSpec("jpn", codec="flac"),
            ),
        ),
    ),
    "mpeg2-dvd": RealFile(
        "DVD Rip.mpg",
        SampleSpec(
            container="mpg",
            duration=DURATION,
            video="mpeg2video",
            width=176,
            height=144,
            audio=(AudioSpec("eng", codec="ac3"),),
        ),
    ),
    "hevc-10bit": MadeFile("Main10.mkv", make_hevc_10bit),
    "audio-before-video": RealFile(
        "Audio First.mkv", SampleSpec(duration=DURATION, audio=_FIRST_DEFAULT), (audio_first,)
    ),
    "all-default": RealFile(
        "All Default.mkv",
        SampleSpec(
            duration=DURATION,
            audio=(AudioSpec("jpn", default=True), AudioSpec("eng", default=True)),
            subtitles=(SubtitleSpec("eng", default=True), SubtitleSpec("ger", default=True)),
        ),
    ),
    "b-and-t-codes": RealFile(
        "Language Codes.mkv",
        SampleSpec(
            duration=DURATION,
            audio=(AudioSpec("deu", default=True), AudioSpec("eng"), AudioSpec("fra")),
            subtitles=(SubtitleSpec("fre"), SubtitleSpec("ger"), SubtitleSpec("eng")),
        ),
    ),
    "no-language-element": RealFile(
        "No Language.mkv",
        SampleSpec(duration=DURATION, audio=(AudioSpec("eng", default=True), AudioSpec("jpn"))),
        (without_language,),
    ),
}


def make_library(folder: Path) -> dict[str, Path]:
    """Every file of the broader library, made once into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {key: kind.make(folder) for key, kind in LIBRARY.items()}
