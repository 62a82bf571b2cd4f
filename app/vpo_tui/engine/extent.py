"""Where a file's audio/video data really starts and ends: truncation detection.

A download cut short often keeps its full duration in the header; processing it
would produce a shorter, valid-looking file that hides the damage. So the source's
data is measured from its packets before any tool runs (a cut source is refused),
and the output's is measured the same way, so verification compares like with like.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileFailure
from vpo_tui.engine.known import mkvmerge_identify, probe_timeout
from vpo_tui.engine.probe import PAST_ANY_END_S, ProbeError, measure_end, probe_with_end
from vpo_tui.engine.run import ToolError
from vpo_tui.engine.tools import find_tools
from vpo_tui.engine.verify import Timing, VerifyError
from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.policy.planned import Plan

_END_WINDOW_S = 30.0  # how much of the end of a file is read to find its last packet
_TRUNCATION_SLACK_S = 2.0  # streams may end a little before the container's duration
# How far, as a share of the header's duration, the data may stop short of it. Matroska
# and MP4/MOV write the duration from the real timestamps, so only a little slack is
# needed (a subtitle may outlast the picture); other containers estimate it.
_EXACT_DURATION_CONTAINERS = frozenset({"mkv", "webm", "mp4", "mov"})
_EXACT_SLACK_SHARE = 0.005
_ESTIMATED_SLACK_SHARE = 0.02


@dataclasses.dataclass(frozen=True)
class Extent:
    """Where a file's audio/video data starts and ends (seconds, from its packets)."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def av_streams(media: MediaInfo, indices: set[int] | None = None) -> frozenset[int]:
    """The audio/video streams (cover art aside), of ``indices`` when given."""
    return frozenset(
        t.index
        for t in media.tracks
        if t.type in (TrackType.VIDEO, TrackType.AUDIO)
        and not t.attached_pic
        and (indices is None or t.index in indices)
    )


def data_start(media: MediaInfo, streams: frozenset[int]) -> float:
    """The earliest first timestamp of ``streams`` (the file's, or 0, if ffprobe cannot tell)."""
    starts = [t.start_time for t in media.tracks if t.index in streams and t.start_time is not None]
    if starts:
        return min(starts)
    return media.start_time or 0.0


def end_windows(length: float, start: float) -> tuple[float, ...]:
    """Where to start reading to find the last packets, the likelier place first.

    A header duration is the data's length to some muxers (mkvmerge, MPEG-TS) and
    where the data ends, counted from 0, to others (ffmpeg's Matroska and MP4), so
    the end is near ``start + length`` or near ``length``. When those are within
    one window of each other a single read from the earlier place covers both.
    """
    by_end = max(length - _END_WINDOW_S, 0.0)
    by_length = max(start + length - _END_WINDOW_S, 0.0)
    if abs(by_length - by_end) <= _END_WINDOW_S:
        return (min(by_end, by_length),)
    return (by_length, by_end)


def last_packet_end(
    path: Path,
    ffprobe: str,
    streams: frozenset[int],
    windows: tuple[float, ...],
    settings: EngineSettings,
    control: FileControl,
) -> float | None:
    """``measure_end`` from each window in turn until one finds a packet."""
    for from_s in windows:
        timeout = probe_timeout(settings)
        end = measure_end(
            path,
            ffprobe,
            streams,
            from_s=from_s,
            control=control,
            timeout_s=timeout,
            backend=settings.probe_backend,
        )
        if end is not None:
            return end
    return None


def cut_short(
    header: float, start: float, end: float, *, header_is_length: bool, exact: bool
) -> bool:
    """True when the data stops well before the header's duration.

    Read as a length, the data must run about that long; read as where the data
    ends (counted from 0), it must end there. Where the muxer is known to write a
    length (mkvmerge, MPEG-TS/PS) only that reading counts: a recording that
    starts at 10 min and lost its last 10 min would otherwise "end at the header".
    Elsewhere data that fits either reading is whole. ``exact`` headers (Matroska,
    MP4/MOV) get little slack: a 2-hour film cut 2 minutes short is a cut.
    """
    share = _EXACT_SLACK_SHARE if exact else _ESTIMATED_SLACK_SHARE
    slack = max(_TRUNCATION_SLACK_S, share * header)
    runs_short = header - (end - start) > slack
    ends_at_header = abs(header - end) <= slack
    return runs_short and (header_is_length or not ends_at_header)


def header_is_length(
    media: MediaInfo, start: float, settings: EngineSettings, control: FileControl
) -> bool:
    """Whether the source's header duration must be read as a length (see ``cut_short``).

    The probe knows for MPEG-TS/PS and for mkvmerge files whose statistics tags
    survive; a cut file loses those (they are written at its end). Matroska keeps
    its writing application in the header, so for a late-starting MKV, the only
    case where the two readings differ, mkvmerge is asked. Unknown means the
    stricter reading: refusing a whole file is safe, hiding a cut is not.
    """
    if media.duration_is_length:
        return True
    if abs(start) <= _TRUNCATION_SLACK_S or media.container not in ("mkv", "webm"):
        return False
    mkvmerge = find_tools(settings.tools).get("mkvmerge")
    if not mkvmerge:
        return True
    try:
        identified = mkvmerge_identify(media, mkvmerge, settings, control)
    except (ToolError, FileFailure):
        return True
    container = identified.get("container")
    properties = container.get("properties") if isinstance(container, dict) else None
    writer = properties.get("writing_application") if isinstance(properties, dict) else None
    return writer is None or not str(writer).startswith("Lavf")


def source_extent(
    plan: Plan,
    ffprobe: str,
    settings: EngineSettings,
    control: FileControl,
    ends: dict[int, float] | None,
) -> Extent | None:
    """Where the kept audio/video of the source really starts and ends.

    A source whose data stops well before its header's duration is refused
    (``ProbeError``) before any tool runs, and the same figure is what the output
    is verified against. The header may give the length or the end (see
    ``end_windows``): data that fits either reading is whole, so a file that
    starts late is never taken for a cut one. The end comes from the probe's own
    read of the last packets (``ends``) when it found any; only otherwise is the
    end read here, near the header's figure.
    """
    kept = {t.source_index for t in plan.tracks}
    streams = av_streams(plan.source, kept)
    if not streams:
        return None
    header = plan.source.duration or 0.0
    start = data_start(plan.source, streams)
    windows = end_windows(header, start)
    known = [end for index, end in (ends or {}).items() if index in streams]
    if known:
        end: float | None = max(known)
    else:
        end = last_packet_end(plan.source.path, ffprobe, streams, windows, settings, control)
    length_only = header > 0 and header_is_length(plan.source, start, settings, control)
    exact = plan.source.container in _EXACT_DURATION_CONTAINERS
    cut = end is None or cut_short(header, start, end, header_is_length=length_only, exact=exact)
    if header > 0 and cut:
        if end is None:
            where = f"stops before {windows[-1]:.1f} s"
        elif abs(start) < 0.5:
            where = f"ends at {end:.1f} s"
        else:
            where = f"runs {end - start:.1f} s (from {start:.1f} s to {end:.1f} s)"
        raise ProbeError(
            f"{plan.source.path}: truncated or damaged: the header says {header:.1f} s"
            f" but the data {where}; left as it is"
        )
    return None if end is None else Extent(start, end)


def probe_output(
    plan: Plan,
    temp: Path,
    ffprobe: str,
    settings: EngineSettings,
    control: FileControl,
    source: Extent | None,
) -> tuple[MediaInfo, Timing]:
    """The output's probe and how long its data runs beside the source's (for ``verify``).

    Compares like with like: the source's kept audio/video vs the output's
    audio/video. The probe reads from the output's last keyframe (a seek past the
    end), so a big output is not read for its last 30 s; only when that finds no
    packet is the end looked for where the source says it is (a tool may keep the
    source's start or shift it to 0, so where either puts it).
    """
    if source is None:
        windows = end_windows(plan.source.duration or 0.0, 0.0)
    else:
        windows = end_windows(source.length, source.start)
    try:
        output, output_end = probe_with_end(
            temp,
            ffprobe,
            av_streams,
            from_s=PAST_ANY_END_S,
            control=control,
            timeout_s=probe_timeout(settings),
            backend=settings.probe_backend,
        )
        if output_end is None:
            output_end = last_packet_end(
                temp, ffprobe, av_streams(output), windows, settings, control
            )
    except ProbeError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise VerifyError(
            f"output verification failed: the tool's output is unusable ({reason})"
        ) from None
    output_length = None
    if output_end is not None:
        output_length = output_end - data_start(output, av_streams(output))
    return output, Timing(None if source is None else source.length, output_length)
