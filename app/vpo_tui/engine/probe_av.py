"""Read a file with PyAV (libavformat in this process) into ffprobe's JSON document.

The document has the shape ``ffprobe -show_streams -show_format -show_chapters
[-show_entries packet=...]`` prints, with its numbers formatted as ffprobe formats
them, so everything downstream (``media_from_ffprobe``, the damage check, the
kept record, the last packets) is one code path whatever read the file. What
PyAV cannot tell as ffprobe would (a codec it has no decoder for, a data track it
cannot name) raises ``Unsupported``: that file is then read by ffprobe.

This module runs inside a probe helper process (``probe_helper``), one probe at
a time, which is why it may capture every log line of the process.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

# What libavformat's Matroska demuxer names an attachment after its MIME type
# (``ff_mkv_mime_tags``, the same in FFmpeg 5.1 and in PyAV's FFmpeg). PyAV does
# not expose an attachment's codec; one outside this table is read by ffprobe.
ATTACHMENT_CODECS = {
    "application/x-truetype-font": "ttf",
    "application/x-font": "ttf",
    "application/vnd.ms-opentype": "otf",
    "binary": "bin_data",
}

INT64_MAX = 2**63 - 1


class Unsupported(Exception):
    """PyAV cannot tell something ffprobe would about this file: ask ffprobe."""


class OpenFailed(Exception):
    """libavformat refused the file; the message is what ffprobe would print."""


def ffmpeg_version() -> str:
    """The FFmpeg PyAV is built with, e.g. ``FFmpeg 8.1.2 (libavformat 62.12.102)``."""
    import av

    major, minor, micro = av.library_versions["libavformat"]
    release = getattr(av, "ffmpeg_version_info", None) or "?"
    return f"FFmpeg {release} (libavformat {major}.{minor}.{micro})"


def _time(value: int | None, base: Fraction | None, *, is_duration: bool = False) -> str | None:
    """A timestamp as ffprobe prints it (``%f`` of ``ts * av_q2d(tb)``), None for N/A."""
    if value is None or base is None or (is_duration and value == 0):
        return None
    return f"{value * (base.numerator / base.denominator):f}"


def _codec_name(stream: Any) -> str | None:
    """ffprobe's ``codec_name``: the codec descriptor's name (None: ffprobe shows none)."""
    context = stream.codec_context
    if context is not None:
        return str(context.codec.canonical_name)
    if stream.type == "data":
        name = stream.name
        if name is None:  # a QuickTime timecode track and the like: named by a tag
            raise Unsupported(f"a data track (stream {stream.index}) PyAV cannot name")
        return str(name)
    if stream.type == "attachment":
        mime = str(stream.metadata.get("mimetype", ""))
        if mime.startswith("font/"):  # named by FFmpeg 6 and later, not by 5.1
            raise Unsupported(f"an attachment of MIME type {mime!r}")
        return ATTACHMENT_CODECS.get(mime)
    raise Unsupported(f"a {stream.type} track (stream {stream.index}) PyAV has no decoder for")


_DISPOSITIONS = ("default", "forced", "hearing_impaired", "attached_pic")


def _stream(stream: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"index": stream.index, "codec_type": stream.type}
    name = _codec_name(stream)
    if name == "opus":
        # FFmpeg 5.1 starts Opus (and so the file) at minus its pre-skip, later ones at 0
        raise Unsupported("an Opus track: FFmpeg versions disagree on where it starts")
    if name is not None:
        out["codec_name"] = name
    context = stream.codec_context
    if stream.type == "video" and context is not None:
        out["width"], out["height"] = context.width, context.height
        fmt = context.format
        if fmt is not None:
            out["pix_fmt"] = fmt.name
    if stream.type == "audio" and context is not None:
        out["channels"] = context.channels
    flags = int(stream.disposition)
    out["disposition"] = {
        key: int(bool(flags & int(getattr(type(stream.disposition), key)))) for key in _DISPOSITIONS
    }
    start = _time(stream.start_time, stream.time_base)
    if start is not None:
        out["start_time"] = start
    if stream.metadata:
        out["tags"] = dict(stream.metadata)
    return out


def _format(container: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"format_name": container.format.name}
    base = Fraction(1, 1_000_000)
    start = _time(container.start_time, base)
    if start is not None:
        out["start_time"] = start
    duration = _time(container.duration, base, is_duration=True)
    if duration is not None:
        out["duration"] = duration
    if container.metadata:
        out["tags"] = dict(container.metadata)
    return out


def _chapters(container: Any) -> list[dict[str, Any]]:
    chapters = []
    for raw in container.chapters():
        entry: dict[str, Any] = {"id": raw["id"]}
        entry["start_time"] = _time(raw["start"], raw["time_base"])
        entry["end_time"] = _time(raw["end"], raw["time_base"])
        if raw["metadata"]:
            entry["tags"] = dict(raw["metadata"])
        chapters.append(entry)
    return chapters


def _seek(container: Any, from_s: float) -> None:
    """``avformat_seek_file(-1, -INT64_MAX, ts, INT64_MAX)`` as ffprobe's ``-read_intervals``.

    For the demuxers vpo-tui reads that is a backward ``av_seek_frame``, then, if
    that fails, a seek to the very end and a forward one back to ``ts``.
    """
    import av

    target = int(from_s * 1_000_000)
    try:
        container.seek(target, backward=True)
    except av.error.FFmpegError:
        container.seek(INT64_MAX, backward=True)
        container.seek(target, backward=False)


def _packets(container: Any, from_s: float) -> list[dict[str, Any]]:
    """``stream_index``, ``pts_time`` and ``duration_time`` of each packet from ``from_s`` on."""
    import av

    if from_s > 0:
        try:
            _seek(container, from_s)
        except av.error.FFmpegError as exc:
            position = int(from_s * 1_000_000)
            raise OpenFailed(f"Could not seek to position {position}: {exc.strerror}") from None
    packets: list[dict[str, Any]] = []
    for packet in container.demux():
        if packet.size == 0 and packet.pts is None:  # PyAV's end-of-stream marker
            continue
        base = packet.time_base
        packets.append(
            {
                "stream_index": packet.stream_index,
                "pts_time": _time(packet.pts, base),
                "duration_time": _time(packet.duration, base, is_duration=True),
            }
        )
    return packets


def read_document(path: str, packets_from: float | None) -> tuple[dict[str, Any], str]:
    """The ffprobe JSON document for ``path`` and the error lines libav logged meanwhile.

    Raises ``OpenFailed`` (with ffprobe's words) when libavformat refuses the file,
    ``Unsupported`` when PyAV cannot describe it as ffprobe would.
    """
    import av
    import av.logging

    with av.logging.Capture(local=False) as logs:
        try:
            container = av.open(path, metadata_errors="replace")
        except av.error.FFmpegError as exc:
            raise OpenFailed(f"{path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:  # pragma: no cover - metadata_errors="replace"
            raise Unsupported(f"undecodable metadata ({exc})") from None
        try:
            document: dict[str, Any] = {
                "streams": [_stream(s) for s in container.streams],
                "format": _format(container),
                "chapters": _chapters(container),
            }
            if packets_from is not None:
                if container.format.name == "mpeg":
                    # FFmpeg 5.1 and PyAV's FFmpeg time MPEG-PS's last video packets apart
                    raise Unsupported("the last packets of an MPEG-PS file")
                try:
                    document["packets"] = _packets(container, packets_from)
                except av.error.FFmpegError as exc:
                    raise OpenFailed(str(exc.strerror)) from None
        finally:
            container.close()
    return document, "".join(message for _, _, message in logs)


def prepare_logging() -> None:
    """Collect libav's error lines (as ``ffprobe -v error`` prints them), every one of them."""
    import av.logging

    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)  # a repeat is still this file's complaint
