"""Make small, real video files with ffmpeg: the demo library and the test media.

The same generator serves ``vpo-tui sample DIR`` (a ready library to try the app
on) and the test suite, so what the tests exercise is what a new user sees.
Files are tiny (160x90, a second or two) but real: several audio and subtitle
languages, titles, default/forced flags, commentary, attachments, MP4 with
``mov_text`` and cover art, plus broken files. The demo library adds three longer clips
(30-60 s at 854x480) so that a transcode (``hevc-1080p``) runs long enough to
watch the run screen and try Pause, Stop and Kill.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vpo_tui.phrasing import plural


@dataclass(frozen=True)
class AudioSpec:
    language: str | None = "eng"
    title: str | None = None
    default: bool = False
    codec: str = "aac"  # ffmpeg encoder name
    channels: int = 2


@dataclass(frozen=True)
class SubtitleSpec:
    language: str | None = "eng"
    title: str | None = None
    default: bool = False
    forced: bool = False


@dataclass(frozen=True)
class SampleSpec:
    """What one generated file contains."""

    container: str = "mkv"  # mkv | mp4 | mov | webm | avi | ts | mpg | wmv
    duration: float = 1.0
    video: str | None = "libx264"  # ffmpeg encoder; None = no video track
    width: int = 160
    height: int = 90
    rate: int = 10  # frames per second
    video_language: str | None = None
    audio: tuple[AudioSpec, ...] = (AudioSpec(),)
    subtitles: tuple[SubtitleSpec, ...] = ()
    attachment: bool = False  # an MKV font attachment
    cover: str | None = None  # cover art: "jpg" or "png" (MKV attachment, MP4/MOV attached_pic)
    title: str | None = None
    start_offset: float = 0.0  # seconds added to every timestamp (a recording cut mid-stream)


def _srt(language: str | None, duration: float) -> str:
    end_ms = int(max(duration - 0.1, 0.2) * 1000)
    end = f"00:00:{end_ms // 1000:02d},{end_ms % 1000:03d}"
    return f"1\n00:00:00,000 --> {end}\nHello ({language or 'und'})\n"


def make_media(path: Path, spec: SampleSpec, *, ffmpeg: str = "ffmpeg") -> Path:
    """Write one file described by ``spec`` to ``path`` (overwriting it)."""
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vpo-sample-") as tmp:
        args: list[str] = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        maps: list[str] = []
        n_inputs = 0
        if spec.video is not None:
            args += [
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={spec.width}x{spec.height}:rate={spec.rate}",
            ]
            maps += ["-map", f"{n_inputs}:v"]
            n_inputs += 1
        for i, _audio in enumerate(spec.audio):
            freq = 220 * (i + 2)
            args += ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000"]
            maps += ["-map", f"{n_inputs}:a"]
            n_inputs += 1
        for i, sub in enumerate(spec.subtitles):
            srt = Path(tmp) / f"sub{i}.srt"
            srt.write_text(_srt(sub.language, spec.duration), encoding="utf-8")
            args += ["-i", str(srt)]
            maps += ["-map", f"{n_inputs}:s"]
            n_inputs += 1
        cover = _cover_image(Path(tmp), spec.cover, ffmpeg) if spec.cover else None
        in_mp4 = spec.container in ("mp4", "mov")
        if cover is not None and in_mp4:
            args += ["-i", str(cover)]
            maps += ["-map", f"{n_inputs}:v"]
            n_inputs += 1
        args += maps
        args += ["-t", f"{spec.duration}"]
        if spec.video is not None:
            args += ["-c:v", spec.video]
            if spec.video in ("libx264", "libx265"):
                args += ["-preset", "ultrafast", "-pix_fmt", "yuv420p"]
                if spec.video == "libx265":
                    args += ["-x265-params", "log-level=error"]
            if spec.video_language:
                args += ["-metadata:s:v:0", f"language={spec.video_language}"]
            args += ["-disposition:v:0", "default"]
        for i, audio in enumerate(spec.audio):
            args += [f"-c:a:{i}", audio.codec, f"-ac:a:{i}", str(audio.channels)]
            if audio.codec == "aac":
                args += [f"-b:a:{i}", "64k"]
            if audio.codec in ("dca", "truehd"):
                args += ["-strict", "-2"]  # ffmpeg's DTS and TrueHD encoders are experimental
            args += [f"-metadata:s:a:{i}", f"language={audio.language or 'und'}"]
            if audio.title is not None:
                args += [f"-metadata:s:a:{i}", f"title={audio.title}"]
            args += [f"-disposition:a:{i}", "default" if audio.default else "0"]
        sub_codec = "mov_text" if spec.container in ("mp4", "mov") else "srt"
        if spec.container == "webm":
            sub_codec = "webvtt"
        for i, sub in enumerate(spec.subtitles):
            args += [f"-c:s:{i}", sub_codec]
            args += [f"-metadata:s:s:{i}", f"language={sub.language or 'und'}"]
            if sub.title is not None:
                args += [f"-metadata:s:s:{i}", f"title={sub.title}"]
            flags = [f for f, on in (("default", sub.default), ("forced", sub.forced)) if on]
            args += [f"-disposition:s:{i}", "+".join(flags) if flags else "0"]
        if cover is not None and in_mp4:
            # the picture goes in as it is, marked as cover art (iTunes, HandBrake, taggers)
            pic = 1 if spec.video is not None else 0
            args += [f"-c:v:{pic}", "copy", f"-disposition:v:{pic}", "attached_pic"]
        attached = 0
        if spec.attachment:
            font = Path(tmp) / "DemoFont.ttf"
            font.write_bytes(b"\x00\x01\x00\x00" + os.urandom(256))
            args += ["-attach", str(font)]
            args += ["-metadata:s:t:0", "mimetype=application/x-truetype-font"]
            attached += 1
        if cover is not None and not in_mp4:
            # as media managers add it to an MKV: an image attachment named cover.*
            mime = "image/jpeg" if cover.suffix == ".jpg" else "image/png"
            args += ["-attach", str(cover), f"-metadata:s:t:{attached}", f"mimetype={mime}"]
            args += [f"-metadata:s:t:{attached}", f"filename={cover.name}"]
        if spec.title is not None:
            args += ["-metadata", f"title={spec.title}"]
        if spec.start_offset:
            args += ["-output_ts_offset", f"{spec.start_offset}"]
        fmt = {
            "mkv": "matroska",
            "mp4": "mp4",
            "mov": "mov",
            "webm": "webm",
            "avi": "avi",
            "ts": "mpegts",  # starts at 1.4 s on its own
            "mpg": "mpeg",
            "wmv": "asf",
        }[spec.container]
        args += ["-f", fmt, str(path)]
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return path


def _cover_image(folder: Path, kind: str, ffmpeg: str) -> Path:
    """A small cover picture (``cover.jpg`` or ``cover.png``)."""
    target = folder / f"cover.{kind}"
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1", str(target)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return target


def make_garbage(path: Path, size: int = 4096, seed: int = 1) -> Path:
    """A file with a video extension and random bytes: not media at all."""
    import random

    rng = random.Random(seed)
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(size)))
    return path


def make_truncated(source: Path, path: Path, keep: float = 0.4) -> Path:
    """The first ``keep`` fraction of a real file: a download that stopped."""
    data = source.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


# -- the demo library -------------------------------------------------------


@dataclass(frozen=True)
class _DemoFile:
    name: str
    spec: SampleSpec = field(default_factory=SampleSpec)


_DEMO: tuple[_DemoFile, ...] = (
    _DemoFile(
        "Movies/The Long Walk (2019).mkv",
        SampleSpec(
            duration=2.0,
            audio=(
                AudioSpec("fre", "Français", default=True),
                AudioSpec("eng", "English 2.0"),
                AudioSpec("eng", "Director's Commentary"),
            ),
            subtitles=(
                SubtitleSpec("eng"),
                SubtitleSpec("fre"),
                SubtitleSpec("eng", "Forced", forced=True),
            ),
            attachment=True,
            title="the.long.walk.2019.1080p",
        ),
    ),
    _DemoFile(
        "Movies/Already Fine (2021).mkv",
        SampleSpec(audio=(AudioSpec("eng", default=True),), subtitles=(SubtitleSpec("eng"),)),
    ),
    _DemoFile(
        "Movies/Clip from phone.mp4",
        SampleSpec(
            container="mp4",
            audio=(AudioSpec("eng", default=True),),
            subtitles=(SubtitleSpec("eng"),),
        ),
    ),
    _DemoFile(  # as iTunes, HandBrake and taggers write it: with cover art
        "Movies/Night Train (2018).m4v",
        SampleSpec(
            container="mp4",
            audio=(AudioSpec("eng", default=True), AudioSpec("ger")),
            subtitles=(SubtitleSpec("eng"),),
            cover="jpg",
        ),
    ),
    _DemoFile(
        "Anime/Sora no Kiseki - 01 [ジャ].mkv",
        SampleSpec(
            audio=(AudioSpec("jpn", default=True), AudioSpec("eng", "English Dub")),
            subtitles=(SubtitleSpec("eng", "Full"), SubtitleSpec("ger")),
        ),
    ),
    _DemoFile(
        "Anime/-starts with a dash.mkv",
        SampleSpec(audio=(AudioSpec(None, default=True), AudioSpec("spa"))),
    ),
    _DemoFile(
        "Series/Show S01E01.mkv",
        SampleSpec(
            audio=(AudioSpec("eng", default=True), AudioSpec("ger"), AudioSpec("ita")),
            subtitles=(SubtitleSpec("ger"), SubtitleSpec("eng")),
        ),
    ),
    _DemoFile(
        "Series/Show S01E02.mkv",
        SampleSpec(
            audio=(AudioSpec("ger", default=True), AudioSpec("eng")),
            subtitles=(SubtitleSpec("eng"),),
        ),
    ),
)


def _long_clip(name: str, seconds: float) -> _DemoFile:
    """A clip long enough to watch: ~10-20 s of HEVC encoding each on 2 cores (25 fps)."""
    return _DemoFile(
        f"Long/{name}",
        SampleSpec(
            duration=seconds,
            width=1024,
            height=576,
            rate=25,
            audio=(AudioSpec("fre", default=True), AudioSpec("eng")),
            subtitles=(SubtitleSpec("eng"),),
        ),
    )


# Long enough for the run screen: `hevc-1080p` transcodes them (normalize only remuxes).
_LONG: tuple[_DemoFile, ...] = (
    _long_clip("Documentary Part 1.mkv", 30.0),
    _long_clip("Documentary Part 2.mkv", 45.0),
    _long_clip("Documentary Part 3.mkv", 60.0),
)


def _broken_download(path: Path, ffmpeg: str) -> Path:
    """The first half of a real episode: what a download that stopped leaves behind.

    Its header still promises the whole duration, so it probes fine: the engine's
    truncation check is what finds it (``truncated: …``), as it would a real one.
    """
    spec = SampleSpec(
        duration=6.0,
        audio=(AudioSpec("eng", default=True), AudioSpec("ger")),
        subtitles=(SubtitleSpec("eng"),),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vpo-sample-") as tmp:
        whole = make_media(Path(tmp) / "whole.mkv", spec, ffmpeg=ffmpeg)
        return make_truncated(whole, path, keep=0.5)


class SampleRefused(Exception):
    """The demo library would overwrite something: nothing was written."""


BROKEN_DOWNLOAD = "Series/Show S01E03 (broken download).mkv"


def demo_names() -> list[str]:
    """Every file ``make_demo_library`` writes, relative to its folder."""
    return [demo.name for demo in _DEMO + _LONG] + [BROKEN_DOWNLOAD]


def make_demo_library(root: Path, *, ffmpeg: str = "ffmpeg") -> list[Path]:
    """A small library that shows what vpo-tui does, including one broken file.

    Only into a new or empty folder: a user who types a folder of theirs must not
    lose a file that happens to have a demo file's name (or find demo files mixed in).
    """
    root = Path(root).absolute()
    _refuse_unless_empty(root)
    made: list[Path] = []
    for demo in _DEMO + _LONG:
        made.append(make_media(_fresh(root / demo.name), demo.spec, ffmpeg=ffmpeg))
    made.append(_broken_download(_fresh(root / BROKEN_DOWNLOAD), ffmpeg))
    return made


def _refuse_unless_empty(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise SampleRefused(f"{root} exists and is not a folder")
    if not root.is_dir():
        return
    entries = sorted(p.name for p in root.iterdir())
    if entries:
        shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
        raise SampleRefused(
            f"{root} is not empty ({plural(len(entries), 'entry', 'entries')}: {shown}); "
            "the demo library "
            "goes into a new or empty folder, so nothing of yours is overwritten"
        )


def _fresh(path: Path) -> Path:
    """``path``, checked again just before writing (the folder may fill meanwhile)."""
    if path.exists() or path.is_symlink():
        raise SampleRefused(f"{path} already exists; nothing of yours is overwritten")
    return path
