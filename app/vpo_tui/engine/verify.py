"""Refuse any tool output that is not exactly what the plan predicted.

A tool that exits 0 is not proof of anything: other tools in this field have
replaced originals with empty or truncated files. The output is probed and
compared track by track with the plan (kind, codec, language, flags, title,
order, frame size of transcoded video), attachment by attachment (cover art
stays cover art, a font stays a font) and chapter by chapter; how long its data
really runs is measured from the packets (a truncated MKV keeps its full header
duration), and its size must be plausible. Only then may it replace the original.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpo_tui.media import Chapter, MediaInfo, Track, TrackType
from vpo_tui.policy.planned import Plan, PlannedTrack

CHAPTER_TOLERANCE_S = 0.1

# ffprobe may name a codec differently from the name a plan uses for it
_CODEC_ALIASES = {"srt": "subrip", "h265": "hevc", "x264": "h264"}


class VerifyError(Exception):
    """The output does not match the plan; the message lists every difference."""


@dataclass(frozen=True)
class Timing:
    """How long (seconds) the source's kept audio/video and the output's audio/video run.

    Lengths, not end times: timestamps need not start at 0 (MPEG-TS starts near
    1.4 s, a cut recording anywhere), and a tool may shift them to 0 or keep them.
    """

    source_length: float | None
    output_length: float | None


def _codec(name: str) -> str:
    name = name.lower()
    return _CODEC_ALIASES.get(name, name)


def duration_tolerance(duration: float | None, configured: float) -> float:
    """The configured tolerance, tightened for short files so a cut is still caught."""
    if not duration:
        return configured
    return min(configured, max(0.1, 0.05 * duration))


def _mp4_implied_defaults(plan: Plan) -> set[int]:
    """Output positions the MP4 muxer will mark default on its own.

    The MP4 muxer marks the first track of a type default when no track of that
    type is default; that is the muxer's rule, not a wrong output.
    """
    implied: set[int] = set()
    if plan.container != "mp4":
        return implied
    for kind in (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE):
        positions = [i for i, t in enumerate(plan.tracks) if t.type is kind and not t.is_attachment]
        if positions and not any(plan.tracks[i].default for i in positions):
            implied.add(positions[0])
    return implied


def _compare_track(pos: int, want: PlannedTrack, got: Track, implied_default: bool) -> list[str]:
    problems: list[str] = []
    label = f"track {pos} (from source {want.source_index})"
    if _kind(got) != _kind(want):
        return [f"{label}: expected {_kind(want)}, found {_kind(got)}"]
    if _codec(got.codec) != _codec(want.codec):
        problems.append(f"{label}: codec {got.codec}, expected {want.codec}")
    if got.language != (want.language or "und"):
        problems.append(f"{label}: language {got.language}, expected {want.language}")
    if got.default != want.default and not (implied_default and got.default):
        problems.append(f"{label}: default={got.default}, expected {want.default}")
    if got.forced != want.forced:
        problems.append(f"{label}: forced={got.forced}, expected {want.forced}")
    if got.hearing_impaired != want.hearing_impaired:
        problems.append(
            f"{label}: hearing_impaired={got.hearing_impaired}, expected {want.hearing_impaired}"
        )
    if (got.title or None) != (want.title or None):
        problems.append(f"{label}: title {got.title!r}, expected {want.title!r}")
    sized = want.type is TrackType.VIDEO and want.width and want.height
    if sized and (got.width, got.height) != (want.width, want.height):
        problems.append(
            f"{label}: frame {got.width}x{got.height}, expected {want.width}x{want.height}"
        )
    return problems


def _kind(track: Track | PlannedTrack) -> str:
    """What a stream is to a viewer: a cover is not "the video", a font not a track."""
    if track.attached_pic:
        return "cover"
    return track.type.value


def _attachment_key(track: Track | PlannedTrack) -> tuple[str, str, str]:
    return (_kind(track), _codec(track.codec), track.filename or "")


def compare_attachments(plan: Plan, output: MediaInfo) -> list[str]:
    """The planned attachments and covers, in any order (their order means nothing)."""
    want = sorted(_attachment_key(t) for t in plan.tracks if t.is_attachment)
    got = sorted(_attachment_key(t) for t in output.tracks if t.is_attachment)
    if want == got:
        return []

    def show(keys: list[tuple[str, str, str]]) -> str:
        return ", ".join(f"{kind} {codec} {name}".strip() for kind, codec, name in keys) or "none"

    return [f"attachments: {show(got)}, expected {show(want)}"]


def compare_chapters(expected: tuple[Chapter, ...], found: tuple[Chapter, ...]) -> list[str]:
    """Same chapters: count, start times within 0.1 s, titles."""
    if len(found) != len(expected):
        return [f"{len(found)} chapters, expected {len(expected)}"]
    problems = []
    for n, (want, got) in enumerate(zip(expected, found, strict=True)):
        if abs(want.start - got.start) > CHAPTER_TOLERANCE_S:
            problems.append(
                f"chapter {n + 1} starts at {got.start:.3f} s, expected {want.start:.3f} s"
            )
        if (want.title or None) != (got.title or None):
            problems.append(f"chapter {n + 1} title {got.title!r}, expected {want.title!r}")
    return problems


def compare(plan: Plan, output: MediaInfo) -> list[str]:
    """Every difference between the predicted and the probed tracks, attachments, chapters."""
    problems: list[str] = []
    if output.container != plan.container:
        problems.append(f"container {output.container}, expected {plan.container}")
    wanted = [t for t in plan.tracks if not t.is_attachment]
    found = [t for t in output.tracks if not t.is_attachment]
    if len(found) != len(wanted):
        got = ", ".join(_kind(t) for t in found) or "none"
        want = ", ".join(_kind(t) for t in wanted) or "none"
        problems.append(f"{len(found)} tracks ({got}), expected {len(wanted)} ({want})")
    implied = _mp4_implied_defaults(plan)
    positions = [i for i, t in enumerate(plan.tracks) if not t.is_attachment]
    for pos, want_track, got_track in zip(positions, wanted, found, strict=False):
        problems += _compare_track(pos, want_track, got_track, pos in implied)
    problems += compare_attachments(plan, output)
    problems += compare_chapters(plan.source.chapters, output.chapters)
    if (output.title or None) != (plan.title or None):
        problems.append(f"container title {output.title!r}, expected {plan.title!r}")
    return problems


def check_timing(plan: Plan, timing: Timing, tolerance_s: float) -> list[str]:
    """The output's audio/video must run as long as the source's (within tolerance)."""
    if timing.source_length is None:
        return []
    if timing.output_length is None:
        return ["output has no audio/video packets"]
    tolerance = duration_tolerance(timing.source_length, tolerance_s)
    if abs(timing.output_length - timing.source_length) > tolerance:
        return [
            f"output runs {timing.output_length:.3f} s, source {timing.source_length:.3f} s "
            f"(tolerance {tolerance:.3f} s): truncated or wrong output"
        ]
    return []


def check_size(plan: Plan, output_size: int) -> list[str]:
    """An empty file is never valid; a pure copy must stay close to the source size."""
    if output_size <= 0:
        return ["output is empty"]
    copies_everything = not plan.dropped and not any(t.transcode for t in plan.tracks)
    source = plan.source.size
    if copies_everything and source > 0 and not 0.5 * source <= output_size <= 2.0 * source:
        return [f"output is {output_size} bytes for a {source}-byte source that was only copied"]
    return []


def verify(plan: Plan, output: MediaInfo, timing: Timing, tolerance_s: float) -> None:
    """Raise ``VerifyError`` listing every way ``output`` differs from ``plan``."""
    problems = compare(plan, output) + check_timing(plan, timing, tolerance_s)
    problems += check_size(plan, output.size)
    if problems:
        raise VerifyError("output verification failed: " + "; ".join(problems))


KEPT_LARGER = "kept: output larger"


def larger_output(plan: Plan, source_size: int, output_size: int, max_ratio: float) -> str | None:
    """Why a transcode's verified output is not worth keeping, or ``None``.

    A video transcode is meant to save space; one that came out larger than
    ``max_ratio`` times the source (``[transcode] max_size_ratio``) keeps the
    original. Remuxes and audio-only transcodes are not judged: they are made
    for compatibility (an MP4 needs AAC), not for size.
    """
    video = [t for t in plan.tracks if t.type is TrackType.VIDEO and not t.attached_pic]
    if not any(t.transcode is not None for t in video):
        return None
    if source_size <= 0 or output_size <= source_size * max_ratio:
        return None
    return (
        f"{KEPT_LARGER} ({_mib(output_size)} from {_mib(source_size)}, above "
        f"[transcode] max_size_ratio = {max_ratio:g}); the original is left as it is"
    )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
