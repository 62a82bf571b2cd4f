"""Probe a file into a frozen ``MediaInfo``: in-process with PyAV, or with ffprobe.

Both backends produce ffprobe's JSON document (``probe_av`` writes it in a
helper process), so one code path turns either into ``MediaInfo``, judges the
damage, keeps the record and finds the last packets. ``backend`` chooses:
``auto`` (the default) and ``pyav`` read in a helper and hand a file to ffprobe
only when the helper cannot answer for it (a codec or track PyAV cannot name,
a helper that crashed or overran); ``ffprobe`` always runs the tool. ``auto``
also falls back quietly when PyAV is missing or broken; ``pyav`` then fails.

Every way a file can be unprobeable (empty, vanished, unreadable, not media,
truncated, ffprobe missing) becomes a ``ProbeError`` whose message names the
file and the cause, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vpo_tui.engine import probe_pool
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import ProbeBackend
from vpo_tui.engine.run import ToolError, run_tool
from vpo_tui.media import Chapter, MediaInfo, Track, TrackType

PROBE_TIMEOUT_S = 120.0

# ffprobe complaints that mean the file is cut short (reported even with exit 0)
_TRUNCATION_MARKERS = ("ended prematurely", "truncat", "moov atom not found", "invalid data found")


BACKENDS: tuple[ProbeBackend, ...] = ("auto", "pyav", "ffprobe")
READER_KEY = "read_by"  # in a document read in-process: who read it (for messages, records)


class ProbeError(Exception):
    """The file cannot be probed; the message names the file and the cause."""


def _tool_path_arg(path: Path) -> str:
    """An absolute ``file:`` URL so a name like ``-x.mkv`` is never an option."""
    return "file:" + str(path.absolute())


def _load_normalizer() -> Callable[[str], str]:
    """ISO 639-2/B through the policy layer's table; ``und`` for anything unknown."""
    table: Callable[[str | None], str | None] | None
    try:
        from vpo_tui.policy.languages import normalize_language as table
    except ImportError:  # the policy layer's table is not there: a safe subset
        table = None

    def normalize(raw: str) -> str:
        code = raw.strip().lower()
        if not code:
            return "und"
        if table is not None:
            return table(code) or "und"
        return code if len(code) == 3 and code.isalpha() else "und"

    return normalize


normalize_language_code = _load_normalizer()


def container_name(format_name: str, path: Path, major_brand: str = "") -> str:
    """ffprobe's ``format_name`` as vpo-tui's short container name.

    ffprobe names MP4 and QuickTime alike (``mov,mp4,m4a,...``); the file's
    brand tells them apart (``qt`` is QuickTime), the extension when it has none.
    """
    names = set(format_name.split(","))
    if "matroska" in names:
        return "webm" if path.suffix.lower() == ".webm" else "mkv"
    if "mov" in names or "mp4" in names:
        brand = major_brand.strip().lower()
        if brand == "qt" or (not brand and path.suffix.lower() == ".mov"):
            return "mov"
        return "mp4"
    if "avi" in names:
        return "avi"
    return format_name.split(",")[0] if format_name else "unknown"


def _duration_is_length(format_name: str, streams: list[dict[str, Any]]) -> bool:
    """Whether the header's duration is surely the data's length, not where it ends.

    MPEG-TS/PS durations are measured from the first timestamp; mkvmerge (which
    signs its track statistics) writes the segment's length. ffmpeg's Matroska and
    MP4 muxers write where the data ends, counted from 0, which differs only for
    files that start late. Knowing which matters: "ends at the header's figure"
    must not pass for whole when the figure is a length.
    """
    if set(format_name.split(",")) & {"mpegts", "mpeg", "mpegtsraw"}:
        return True
    return any(
        _tags(s).get("_statistics_writing_app", "").lower().startswith("mkvmerge") for s in streams
    )


def _tags(stream: dict[str, Any]) -> dict[str, str]:
    tags = stream.get("tags") or {}
    return {str(k).lower(): str(v) for k, v in tags.items()}


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _timestamp(value: object) -> float | None:
    """A start time: may be negative (encoder delay, edit lists), unlike a duration."""
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


_TYPES = {
    "video": TrackType.VIDEO,
    "audio": TrackType.AUDIO,
    "subtitle": TrackType.SUBTITLE,
    "attachment": TrackType.ATTACHMENT,
}


def track_from_stream(stream: dict[str, Any]) -> Track:
    """One ffprobe stream as a normalised ``Track``."""
    tags = _tags(stream)
    disposition = stream.get("disposition") or {}
    kind = _TYPES.get(str(stream.get("codec_type")), TrackType.DATA)
    attached_pic = bool(disposition.get("attached_pic"))
    # a QuickTime timecode track has no codec name, only its tag ("tmcd")
    tag = str(stream.get("codec_tag_string") or "") if kind is TrackType.DATA else ""
    tag = tag if tag.isalnum() else ""  # not "[0][0][0][0]"
    codec = str(stream.get("codec_name") or tags.get("mimetype") or tag or "unknown")
    title = tags.get("title") or None  # MP4 handler_name is the muxer's, not a title
    return Track(
        index=int(stream["index"]),
        type=kind,
        codec=codec,
        language=normalize_language_code(tags.get("language", "")),
        title=title,
        default=bool(disposition.get("default")),
        forced=bool(disposition.get("forced")),
        channels=_int(stream.get("channels")) if kind is TrackType.AUDIO else None,
        width=_int(stream.get("width")) if kind is TrackType.VIDEO else None,
        height=_int(stream.get("height")) if kind is TrackType.VIDEO else None,
        attached_pic=attached_pic,
        filename=tags.get("filename") if kind is TrackType.ATTACHMENT or attached_pic else None,
        start_time=_timestamp(stream.get("start_time")),
        hearing_impaired=bool(disposition.get("hearing_impaired")),
        mime_type=tags.get("mimetype") if kind is TrackType.ATTACHMENT or attached_pic else None,
    )


def _chapters(raw: list[Any]) -> tuple[Chapter, ...]:
    chapters = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        start = _timestamp(entry.get("start_time"))
        if start is None:
            continue
        title = _tags(entry).get("title") or None
        chapters.append(Chapter(start, _timestamp(entry.get("end_time")), title))
    return tuple(chapters)


def _is_chapter_track(stream: dict[str, Any], container: str, chapters: bool) -> bool:
    """The text track an MP4/MOV keeps its chapters in (ffmpeg shows it as ``bin_data``).

    It is the file's chapter list, not a track: every pass writes the chapters
    again from the list (``-map_chapters``), so copying the track too would
    leave two (issue: "4 tracks (video, audio, data, data), expected 3").
    """
    return (
        chapters
        and container in ("mp4", "mov")
        and stream.get("codec_type") == "data"
        and stream.get("codec_name") == "bin_data"
    )


def _check_readable(path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ProbeError(f"{path}: file vanished (no longer exists)") from None
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read ({exc.strerror})") from None
    if not path.is_file():
        raise ProbeError(f"{path}: not a regular file")
    if st.st_size == 0:
        raise ProbeError(f"{path}: empty file (0 bytes)")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise ProbeError(f"{path}: file vanished (no longer exists)") from None
    except PermissionError:
        raise ProbeError(f"{path}: unreadable (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise ProbeError(f"{path}: not a regular file") from None
        raise ProbeError(f"{path}: cannot read ({exc.strerror})") from None
    return st


_DEMUXER_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")


def _without_path(line: str, path: Path) -> str:
    """ffprobe prefixes its messages with the input name (ours already names the
    file) or with a demuxer address like ``[matroska,webm @ 0x55d…]``."""
    line = _DEMUXER_PREFIX.sub("", line)
    for prefix in (f"{_tool_path_arg(path)}: ", f"{path}: "):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line


def _last_line_without_path(output: str, path: Path) -> str:
    """The tool's last line of ``output``, without the file's name ("" when empty).

    The name goes first: one with a newline in it would make its end the last line."""
    text = output.strip()
    for named in (f"{_tool_path_arg(path)}: ", f"{path}: "):
        text = text.replace(named, "")
    return _without_path(text.splitlines()[-1], path) if text else ""


def _run_ffprobe(
    argv: list[str], path: Path, control: FileControl | None, timeout_s: float
) -> tuple[bytes, str]:
    try:
        done = run_tool(
            argv, control=control, timeout_s=timeout_s, capture_stdout=True, name="ffprobe"
        )
    except ToolError as exc:
        cause = _last_line_without_path(exc.stderr_tail, path) or str(exc)
        if exc.timed_out:
            raise ProbeError(f"{path}: {exc}") from None
        if not path.exists():
            raise ProbeError(f"{path}: file vanished (no longer exists)") from None
        if "Invalid data found" in exc.stderr_tail:
            raise ProbeError(f"{path}: not a media file (ffprobe: {cause})") from None
        raise ProbeError(f"{path}: ffprobe could not read it ({cause})") from None
    return done.stdout, done.stderr_tail


def probe(
    path: Path | str,
    ffprobe: str,
    control: FileControl | None = None,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    backend: ProbeBackend = "auto",
) -> MediaInfo:
    """Probe ``path``; raise ``ProbeError`` with a clear cause when it cannot be read."""
    media, _ = _probe(
        Path(path).absolute(), ffprobe, control, timeout_s, packets_from=None, backend=backend
    )
    return media


def probe_with_end(
    path: Path | str,
    ffprobe: str,
    streams_of: Callable[[MediaInfo], frozenset[int]],
    *,
    from_s: float = 0.0,
    control: FileControl | None = None,
    timeout_s: float = PROBE_TIMEOUT_S,
    backend: ProbeBackend = "auto",
) -> tuple[MediaInfo, float | None]:
    """``probe`` and ``measure_end`` in one ffprobe run (one process less per output).

    The streams whose end counts are chosen from the probe itself (``streams_of``),
    which is why verification can ask for both at once: it wants the end of
    whatever audio/video the output turned out to have.
    """
    media, packets = _probe(
        Path(path).absolute(), ffprobe, control, timeout_s, packets_from=from_s, backend=backend
    )
    return media, _last_end(packets, streams_of(media))


def _probe(
    path: Path,
    ffprobe: str,
    control: FileControl | None,
    timeout_s: float,
    *,
    packets_from: float | None,
    backend: ProbeBackend,
) -> tuple[MediaInfo, list[_Packet]]:
    data, stderr, size = _run_probe(path, ffprobe, control, timeout_s, packets_from, backend)
    _refuse_damage(path, data, stderr)
    return media_from_ffprobe(data, path, size), _packets(data)


def _refuse_damage(path: Path, data: dict[str, Any], stderr: str) -> None:
    """``ProbeError`` when the reader complained of damage, quoting its last complaint."""
    if _complains_of_damage(stderr):
        last = _without_path(stderr.strip().splitlines()[-1], path)
        reader = data.get(READER_KEY, "ffprobe")
        raise ProbeError(f"{path}: truncated or damaged file ({reader}: {last})")


def _complains_of_damage(stderr: str) -> bool:
    lowered = stderr.lower()
    return any(marker in lowered for marker in _TRUNCATION_MARKERS)


def _run_probe(
    path: Path,
    ffprobe: str,
    control: FileControl | None,
    timeout_s: float,
    packets_from: float | None,
    backend: ProbeBackend,
) -> tuple[dict[str, Any], str, int]:
    """One probe: ffprobe's JSON document, the error lines and the file's size.

    ffprobe must exist whatever the backend: it is the fallback for every file.
    """
    if not ffprobe or not Path(ffprobe).exists():
        raise ProbeError(f"{path}: ffprobe missing ({ffprobe or 'no path'})")
    st = _check_readable(path)
    if backend != "ffprobe":
        read = _read_in_process(path, packets_from, control, timeout_s, backend)
        if read is not None:
            return {**read.document, READER_KEY: "libavformat"}, read.log, st.st_size
    argv = [ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
    argv.append("-show_chapters")
    if packets_from is not None:
        argv += _packet_args(packets_from)
    stdout, stderr = _run_ffprobe([*argv, _tool_path_arg(path)], path, control, timeout_s)
    try:
        data = json.loads(stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError:
        raise ProbeError(f"{path}: ffprobe gave unreadable output") from None
    if not isinstance(data, dict):
        raise ProbeError(f"{path}: ffprobe gave unreadable output")
    return data, stderr, st.st_size


def _read_in_process(
    path: Path,
    packets_from: float | None,
    control: FileControl | None,
    timeout_s: float,
    backend: ProbeBackend,
) -> probe_pool.Answer | None:
    """The document read by a PyAV helper; None when ffprobe must read this file instead."""
    try:
        return probe_pool.pool().read(path, packets_from, timeout_s=timeout_s, control=control)
    except probe_pool.Refused as exc:
        raise _refused(path, str(exc)) from None
    except probe_pool.FallBack as exc:
        if backend == "pyav" and "PyAV cannot be used" in str(exc):
            raise ProbeError(f'{path}: [probe] backend = "pyav" but {exc}') from None
        return None


def _refused(path: Path, message: str) -> ProbeError:
    """libavformat's refusal in ffprobe's verdicts: vanished, not media, or unreadable."""
    cause = _last_line_without_path(message, path) or message
    if not path.exists():
        return ProbeError(f"{path}: file vanished (no longer exists)")
    if "Invalid data found" in message:
        return ProbeError(f"{path}: not a media file (libavformat: {cause})")
    return ProbeError(f"{path}: libavformat could not read it ({cause})")


def media_from_ffprobe(data: dict[str, Any], path: Path, size: int) -> MediaInfo:
    """``MediaInfo`` from ffprobe's ``-show_streams -show_format`` JSON document.

    Apart from running ffprobe so a probe kept in the history's cache is read
    back exactly as a fresh one is.
    """
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    if not fmt or not streams:
        raise ProbeError(f"{path}: not a media file (no streams found)")
    format_name = str(fmt.get("format_name", ""))
    container = container_name(format_name, path, _tags(fmt).get("major_brand", ""))
    chapters = _chapters(data.get("chapters") or [])
    tracks = tuple(
        track_from_stream(s)
        for s in streams
        if isinstance(s, dict) and not _is_chapter_track(s, container, bool(chapters))
    )
    if not any(t.type in (TrackType.VIDEO, TrackType.AUDIO) for t in tracks):
        raise ProbeError(f"{path}: not a video file (no video or audio track)")
    title = _tags(fmt).get("title") or None
    return MediaInfo(
        path=path,
        container=container,
        size=size,
        duration=_float(fmt.get("duration")),
        tracks=tracks,
        title=title,
        start_time=_timestamp(fmt.get("start_time")),
        duration_is_length=_duration_is_length(format_name, streams),
        chapters=chapters,
    )


def _packets(data: dict[str, Any]) -> list[_Packet]:
    return [
        (
            _int(raw.get("stream_index")),
            _float(raw.get("pts_time")),
            _float(raw.get("duration_time")),
        )
        for raw in data.get("packets") or []
        if isinstance(raw, dict)
    ]


# (stream index, start, duration) of one packet, as ffprobe reports it
_Packet = tuple[int | None, float | None, float | None]


def _packet_args(from_s: float) -> list[str]:
    """Ask ffprobe for the packets from ``from_s`` on (seeking first, so the read is short)."""
    argv = ["-read_intervals", f"{from_s:.3f}%"] if from_s > 0 else []
    return [*argv, "-show_entries", "packet=stream_index,pts_time,duration_time"]


def _last_end(packets: list[_Packet], streams: frozenset[int]) -> float | None:
    """Where the last packet of ``streams`` ends; ``None`` when there is none."""
    end: float | None = None
    for index, start, length in packets:
        if index not in streams or start is None:
            continue
        stop = start + (length or 0.0)
        end = stop if end is None else max(end, stop)
    return end


def measure_end(
    path: Path,
    ffprobe: str,
    streams: frozenset[int],
    *,
    from_s: float = 0.0,
    control: FileControl | None = None,
    timeout_s: float = PROBE_TIMEOUT_S,
    backend: ProbeBackend = "auto",
) -> float | None:
    """The end time of the last packet of ``streams`` actually in the file.

    A truncated MKV still carries its full duration in the header, so the
    header alone cannot prove an output is complete; reading the packets can.
    ``from_s`` seeks first so a long file is not read whole. Returns ``None``
    when no packet of those streams is found after ``from_s``.
    """
    path = Path(path).absolute()
    if backend != "ffprobe":
        read = _read_in_process(path, from_s, control, timeout_s, backend)
        if read is not None:
            return _last_end(_packets(read.document), streams)
    argv = [ffprobe, "-v", "error", *_packet_args(from_s), "-of", "csv=p=0"]
    stdout, _ = _run_ffprobe([*argv, _tool_path_arg(path)], path, control, timeout_s)
    packets: list[_Packet] = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        parts = line.strip().split(",")
        if len(parts) >= 2:
            packets.append(
                (_int(parts[0]), _float(parts[1]), _float(parts[2]) if len(parts) > 2 else None)
            )
    return _last_end(packets, streams)


# -- one probe that also reads the file's last packets --------------------------------

# Seeking this far makes ffprobe start at the last keyframe (MKV/WebM, MP4, MPEG-TS/PS,
# AVI, ASF alike), so the packets it then lists are the file's last ones.
PAST_ANY_END_S = 99_999_999.0
# The layout of a kept probe (``probe_with_ends``'s record): bump it when the ffprobe
# arguments or what is read from their output change, so older records are ignored.
RECORD_VERSION = 2  # 2: chapters kept too


def _stream_ends(packets: list[_Packet]) -> dict[int, float]:
    ends: dict[int, float] = {}
    for index, start, length in packets:
        if index is None or start is None:
            continue
        stop = start + (length or 0.0)
        ends[index] = max(stop, ends.get(index, stop))
    return ends


def probe_with_ends(
    path: Path | str,
    ffprobe: str,
    control: FileControl | None = None,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    backend: ProbeBackend = "auto",
) -> tuple[MediaInfo, dict[int, float] | None, dict[str, Any]]:
    """``probe``, plus where each stream's last packet ends, in one ffprobe run.

    The truncation check needs the source's last packets; reading them in the
    probe itself (a seek past the end lands on the last keyframe) saves a process
    per file. A file this read does not handle cleanly (a failed seek, a complaint
    about damage met on the way to the end) is probed again the plain way, so its
    probe, or its error, is exactly ``probe``'s; its ends are then ``None`` and the
    caller measures them as before. Also returns the probe as a small JSON-ready
    record (no packets) that ``media_from_record`` reads back.
    """
    path = Path(path).absolute()
    ends: dict[int, float] | None = None
    try:
        data, stderr, size = _run_probe(path, ffprobe, control, timeout_s, PAST_ANY_END_S, backend)
    except ProbeError:
        data, stderr, size = {}, "", 0
    if data and not _complains_of_damage(stderr):
        media = media_from_ffprobe(data, path, size)
        ends = _stream_ends(_packets(data)) or None
    else:
        data, stderr, size = _run_probe(path, ffprobe, control, timeout_s, None, backend)
        _refuse_damage(path, data, stderr)
        media = media_from_ffprobe(data, path, size)
    record: dict[str, Any] = {
        "version": RECORD_VERSION,
        "streams": data.get("streams"),
        "format": data.get("format"),
        "chapters": data.get("chapters"),
        READER_KEY: data.get(READER_KEY, "ffprobe"),
        "ends": None if ends is None else {str(k): v for k, v in ends.items()},
    }
    return media, ends, record


def media_from_record(
    record: dict[str, Any], path: Path, size: int
) -> tuple[MediaInfo, dict[int, float] | None]:
    """A kept probe read back; ``ProbeError`` when it is of another version or unreadable."""
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION:
        raise ProbeError(f"{path}: the kept probe is of another version")
    media = media_from_ffprobe(record, path, size)
    raw = record.get("ends")
    if not isinstance(raw, dict):
        return media, None
    try:
        return media, {int(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise ProbeError(f"{path}: the kept probe is unreadable") from None
