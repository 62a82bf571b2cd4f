"""Every kind of media file the test suite makes, in one folder (issue 18's agreement test).

The real-library cases and the broader library (covers, chapters, MOV with a
timecode track, AVI, MPEG-PS, WebM, 10-bit HEVC, DTS/E-AC3/FLAC, misnamed
containers), plus what other tests make on their own: MPEG-TS (also starting
late), WMV, MP4 with ``mov_text``, ASS with its font, titles, forced and SDH
subtitles, audio-only and video-only files, and the bad ones: truncated MKV and
MP4 (index first and last), random bytes, text, an empty file.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.real_library import CASES, LIBRARY, add_chapters
from vpo_tui.samples import (
    AudioSpec,
    SampleSpec,
    SubtitleSpec,
    make_garbage,
    make_media,
    make_truncated,
)

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
_TWO = (AudioSpec("eng", default=True), AudioSpec("ger", "Kommentar"))

# name -> spec, made with ``make_media``
SPECS: dict[str, SampleSpec] = {
    "plain.mkv": SampleSpec(duration=1.0, audio=_TWO),
    "titled.mkv": SampleSpec(
        duration=1.0,
        audio=_TWO,
        subtitles=(SubtitleSpec("eng", "Forced", forced=True), SubtitleSpec("ger", default=True)),
        title="the.movie.2019.1080p",
        attachment=True,
    ),
    "late.mkv": SampleSpec(duration=1.0, audio=_TWO, start_offset=40.0),
    "mov_text.mp4": SampleSpec(
        container="mp4", duration=1.0, audio=_TWO, subtitles=(SubtitleSpec("eng"),)
    ),
    "movie.ts": SampleSpec(container="ts", duration=1.0, audio=_TWO),
    "late.ts": SampleSpec(container="ts", duration=1.0, start_offset=40.0),
    "mpeg4-mp2.ts": SampleSpec(
        container="ts", duration=1.0, video="mpeg4", audio=(AudioSpec("eng", codec="mp2"),)
    ),
    "movie.wmv": SampleSpec(
        container="wmv", duration=1.0, video="wmv2", audio=(AudioSpec("eng", codec="wmav2"),)
    ),
    "audio-only.mkv": SampleSpec(duration=1.0, video=None, audio=_TWO),
    "video-only.mp4": SampleSpec(container="mp4", duration=1.0, audio=()),
    "surround.mkv": SampleSpec(duration=1.0, audio=(AudioSpec("eng", channels=6, codec="ac3"),)),
    "hevc.mkv": SampleSpec(duration=1.0, video="libx265", audio=_TWO[:1]),
    "webm-vp8.webm": SampleSpec(
        container="webm",
        duration=1.0,
        video="libvpx",
        audio=(AudioSpec("eng", codec="libvorbis"),),
    ),
}

_ASS = """[Script Info]
ScriptType: v4.00+

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:00.90,Default,,0,0,0,,Hello
"""


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def make_ass_with_fonts(path: Path) -> Path:
    """ASS subtitles with the TTF font they use, an .nfo and an OTF font attached."""
    folder = path.parent
    ass = folder / "s.ass"
    ass.write_text(_ASS, encoding="utf-8")
    fonts = []
    for name, mime in (
        ("DemoFont.ttf", "application/x-truetype-font"),
        ("Other.otf", "application/vnd.ms-opentype"),
        ("Episode.nfo", "text/plain"),
    ):
        attached = folder / name
        attached.write_bytes(b"\x00\x01\x00\x00" + bytes(range(256)))
        fonts += ["-attach", str(attached), f"-metadata:s:t:{len(fonts) // 4}", f"mimetype={mime}"]
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-i", str(ass)]
    argv += ["-map", "0:v", "-map", "1:a", "-map", "2:s", "-t", "1"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "64k", "-c:s", "ass"]
    argv += ["-metadata:s:a:0", "language=jpn", "-disposition:a:0", "default"]
    argv += ["-metadata:s:s:0", "language=eng", "-disposition:s:0", "hearing_impaired"]
    _run([*argv, *fonts, str(path)])
    return path


def make_faststart_cut(folder: Path) -> Path:
    """An MP4 with its index first, cut in half: the index promises what is not there."""
    source = make_media(folder / "front-source.mp4", SampleSpec(container="mp4", duration=4.0))
    front = folder / "front.mp4"
    _run([FFMPEG, "-v", "error", "-y", "-i", str(source), "-c", "copy", "-movflags", "+faststart",
          str(front)])  # fmt: skip
    cut = make_truncated(front, folder / "cut-faststart.mp4", keep=0.5)
    source.unlink()
    front.unlink()
    return cut


# name -> a maker of a bad file from a good MKV / MP4 (the verdicts must agree too)
def _bad(folder: Path, good_mkv: Path, good_mp4: Path) -> dict[str, Path]:
    made = {
        "truncated.mkv": make_truncated(good_mkv, folder / "truncated.mkv", keep=0.4),
        "truncated.mp4": make_truncated(good_mp4, folder / "truncated.mp4", keep=0.6),
        "random.mkv": make_garbage(folder / "random.mkv", size=20_000, seed=7),
        "cut-faststart.mp4": make_faststart_cut(folder),
    }
    text = folder / "text.mkv"
    text.write_text("just some text\n" * 50)
    made["text.mkv"] = text
    empty = folder / "empty.mkv"
    empty.write_bytes(b"")
    made["empty.mkv"] = empty
    return made


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every file, made once into ``folder`` (about 15 s of ffmpeg on this machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for key, case in CASES.items():
        made[f"case:{key}"] = case.make(folder / "cases")
    for key, kind in LIBRARY.items():
        made[f"library:{key}"] = kind.make(folder / "library")
    for name, spec in SPECS.items():
        made[name] = make_media(folder / name, spec, ffmpeg=FFMPEG)
    made["chapters.mov"] = add_chapters(
        make_media(folder / "chapters.mov", SampleSpec(container="mov", duration=0.8))
    )
    made["ass-fonts.mkv"] = make_ass_with_fonts(folder / "ass-fonts.mkv")
    made.update(_bad(folder, made["plain.mkv"], made["mov_text.mp4"]))
    return made


Maker = Callable[[Path], dict[str, Path]]
