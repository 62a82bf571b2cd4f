"""The container table (policy/containers.py) checked against the real ffmpeg.

A codec the planner lets through must stream-copy into the container with no
experimental flag; a codec ffmpeg refuses must not be in the table, else the
plan promises a remux that fails at run time (FLAC in MP4 did exactly that).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vpo_tui.media import TrackType
from vpo_tui.policy.containers import MOV, MP4, WEBM, ContainerRules

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

# ffprobe codec name -> (lavfi source, ffmpeg encoder)
_SOURCES: dict[str, tuple[str, str]] = {
    "h264": ("testsrc", "libx264"),
    "hevc": ("testsrc", "libx265"),
    "av1": ("testsrc", "libsvtav1"),
    "vp9": ("testsrc", "libvpx-vp9"),
    "vp8": ("testsrc", "libvpx"),
    "mpeg4": ("testsrc", "mpeg4"),
    "aac": ("sine", "aac"),
    "ac3": ("sine", "ac3"),
    "eac3": ("sine", "eac3"),
    "mp3": ("sine", "libmp3lame"),
    "opus": ("sine", "libopus"),
    "vorbis": ("sine", "libvorbis"),
    "flac": ("sine", "flac"),
    "alac": ("sine", "alac"),
    "truehd": ("sine", "truehd"),
    "prores": ("testsrc", "prores_ks"),
    "mjpeg": ("testsrc", "mjpeg"),
    **{f"pcm_{kind}": ("sine", f"pcm_{kind}") for kind in ("s16le", "s16be", "s24le", "s24be")},
    **{f"pcm_{kind}": ("sine", f"pcm_{kind}") for kind in ("s32le", "s32be", "f32le", "f64le")},
    "pcm_u8": ("sine", "pcm_u8"),
    "mov_text": ("srt", "mov_text"),
    "webvtt": ("srt", "webvtt"),
    "subrip": ("srt", "srt"),
}
_TYPES = {"testsrc": TrackType.VIDEO, "sine": TrackType.AUDIO, "srt": TrackType.SUBTITLE}
# Codecs that ffmpeg 5.1 refuses to copy into the container (measured).
_REFUSED = {
    "mp4": ("flac", "truehd", "vp8", "webvtt", "subrip"),
    "webm": ("h264", "hevc", "mpeg4", "aac", "ac3", "flac", "mov_text", "subrip"),
    "mov": ("flac", "truehd", "webvtt", "subrip", "vp9", "av1", "opus"),
}


def _source(tmp_path: Path, codec: str) -> Path:
    """A half-second MKV (MP4 for mov_text) holding one track of ``codec``."""
    kind, encoder = _SOURCES[codec]
    target = tmp_path / f"in-{codec}.{'mp4' if codec == 'mov_text' else 'mkv'}"
    args = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if kind == "srt":
        srt = tmp_path / "in.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:00,400\nHi\n", encoding="utf-8")
        args += ["-i", str(srt)]
    elif kind == "testsrc":
        args += ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=0.5"]
        pixels = {"mjpeg": "yuvj420p", "prores": "yuv422p10le"}.get(codec, "yuv420p")
        args += ["-pix_fmt", pixels]
    else:
        args += ["-f", "lavfi", "-i", "sine=duration=0.5:sample_rate=48000"]
    # -strict only to MAKE the source (truehd's encoder is experimental); the copy has none
    args += ["-map", "0", "-strict", "-2", "-c", encoder, str(target)]
    subprocess.run(args, check=True, capture_output=True)
    return target


def _copies(source: Path, container: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    out = tmp_path / f"out.{container}"
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source)]
    argv += ["-map", "0", "-c", "copy", "-f", container, str(out)]
    return subprocess.run(argv, capture_output=True, text=True)


def _listed(rules: ContainerRules) -> list[tuple[str, str]]:
    out = []
    for codecs in (rules.video, rules.audio, rules.subtitle):
        out += [(rules.name, codec) for codec in sorted(codecs or ())]
    return out


@pytest.mark.parametrize(("container", "codec"), _listed(MP4) + _listed(WEBM) + _listed(MOV))
def test_every_listed_codec_copies_without_experimental_flags(
    tmp_path: Path, container: str, codec: str
) -> None:
    done = _copies(_source(tmp_path, codec), container, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("container", "codec"), [(c, codec) for c, codecs in _REFUSED.items() for codec in codecs]
)
def test_codecs_ffmpeg_refuses_are_not_listed(tmp_path: Path, container: str, codec: str) -> None:
    rules = {"mp4": MP4, "webm": WEBM, "mov": MOV}[container]
    kind = _TYPES[_SOURCES[codec][0]]
    assert not rules.accepts(kind, codec)
    done = _copies(_source(tmp_path, codec), container, tmp_path)
    assert done.returncode != 0  # the measurement still holds for this ffmpeg
