"""Compile a ``Plan`` into the argument list of exactly one tool pass (pure).

No subprocess and no disk access here, so every command line can be unit-tested
and shown in a preview. Paths are passed absolute (``file:`` for ffmpeg) so a
file named ``-x.mkv`` is never read as an option, and every kept track gets its
language, title, default and forced flag set explicitly, so the result does not
depend on a tool's defaults.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.policy.containers import cover_name
from vpo_tui.policy.planned import PassKind, Plan, PlanError, PlannedTrack

FFMPEG_FORMATS = {"mkv": "matroska", "mp4": "mp4", "webm": "webm", "mov": "mov", "avi": "avi"}

VIDEO_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "av1": "libsvtav1",
    "vp9": "libvpx-vp9",
}
AUDIO_ENCODERS = {
    "aac": "aac",
    "opus": "libopus",
    "ac3": "ac3",
    "eac3": "eac3",
    "flac": "flac",
    "mp3": "libmp3lame",
    "vorbis": "libvorbis",
}
SUBTITLE_ENCODERS = {
    "subrip": "srt",
    "srt": "srt",
    "mov_text": "mov_text",
    "ass": "ass",
    "webvtt": "webvtt",
}


@dataclass(frozen=True)
class MkvIds:
    """ffprobe stream index → mkvmerge track ID / attachment ID for one MKV-readable file.

    mkvmerge numbers tracks 0.. in file order and attachments separately;
    ffprobe lists both in one sequence, and shows an image attachment (or an
    MP4 cover) as a video stream with the ``attached_pic`` disposition. The
    attachments are the streams with ``Track.is_attachment``, in order.
    """

    tracks: dict[int, int]
    attachments: dict[int, int]

    @staticmethod
    def assumed(media: MediaInfo) -> MkvIds:
        """The mapping derived from the probe alone (pure; no ``mkvmerge -J`` needed).

        Tracks are numbered 0.. in ffprobe's order with the attachments left out;
        attachments 1.. in Matroska, 0.. for an MP4/MOV cover (mkvmerge 74,
        measured). Valid when mkvmerge sees what ffprobe sees, which
        ``from_mkvmerge_json`` checks when the tool's answer is at hand.
        """
        first_attachment = 1 if media.container in ("mkv", "webm") else 0
        tracks: dict[int, int] = {}
        attachments: dict[int, int] = {}
        for track in media.tracks:
            if track.is_attachment:
                attachments[track.index] = len(attachments) + first_attachment
            else:
                tracks[track.index] = len(tracks)
        return MkvIds(tracks, attachments)

    @staticmethod
    def from_mkvmerge_json(media: MediaInfo, identified: dict[str, object]) -> MkvIds:
        """Zip ``mkvmerge -J`` with the probe; ``PlanError`` if they disagree."""
        mkv_kind = {
            "video": TrackType.VIDEO,
            "audio": TrackType.AUDIO,
            "subtitles": TrackType.SUBTITLE,
        }
        raw_tracks = identified.get("tracks") or []
        raw_attachments = identified.get("attachments") or []
        assert isinstance(raw_tracks, list) and isinstance(raw_attachments, list)
        probed = [t for t in media.tracks if not t.is_attachment]
        probed_attachments = [t for t in media.tracks if t.is_attachment]
        if len(raw_tracks) != len(probed) or len(raw_attachments) != len(probed_attachments):
            raise PlanError(
                f"{media.path}: mkvmerge sees {len(raw_tracks)} tracks and "
                f"{len(raw_attachments)} attachments, ffprobe {len(probed)} and "
                f"{len(probed_attachments)}; refusing to guess the mapping"
            )
        tracks: dict[int, int] = {}
        for track, raw in zip(probed, raw_tracks, strict=True):
            kind = mkv_kind.get(str(raw.get("type")), TrackType.DATA)
            if kind is not track.type:
                raise PlanError(
                    f"{media.path}: mkvmerge track {raw.get('id')} is {raw.get('type')}, "
                    f"ffprobe stream {track.index} is {track.type.value}; refusing to guess"
                )
            tracks[track.index] = int(raw["id"])
        attachments: dict[int, int] = {}
        for track, raw in zip(probed_attachments, raw_attachments, strict=True):
            name = raw.get("file_name")
            if track.filename and name and track.filename != name:
                raise PlanError(
                    f"{media.path}: mkvmerge attachment {raw.get('id')} is {name!r}, "
                    f"ffprobe stream {track.index} is {track.filename!r}; refusing to guess"
                )
            attachments[track.index] = int(raw["id"])
        return MkvIds(tracks, attachments)


def mkvmerge_misses_tracks(media: MediaInfo, identified: dict[str, object]) -> str | None:
    """Why mkvmerge cannot carry this source that ffmpeg can, or ``None`` if it can.

    mkvmerge skips streams it cannot read (MPEG-4 part 2 video in MPEG-TS or
    MPEG-PS) and whole containers (WMV). When it sees less than ffprobe and
    nothing ffprobe does not, an ffmpeg pass does the same job: ffmpeg maps
    streams by ffprobe's indices, as the plan does. Seeing *more* than ffprobe,
    or other kinds of track, is not this case: ffmpeg would lose what ffprobe
    cannot see, so ``MkvIds.from_mkvmerge_json`` refuses those.
    """
    container = identified.get("container")
    if not isinstance(container, dict) or not container.get("supported"):
        kind = container.get("type") if isinstance(container, dict) else None
        return f"mkvmerge cannot read this container ({kind or 'not recognised'})"
    raw_tracks = identified.get("tracks") or []
    raw_attachments = identified.get("attachments") or []
    assert isinstance(raw_tracks, list) and isinstance(raw_attachments, list)
    probed = sum(1 for t in media.tracks if not t.is_attachment)
    probed_attachments = len(media.tracks) - probed
    fewer = len(raw_tracks) < probed or len(raw_attachments) < probed_attachments
    none_more = len(raw_tracks) <= probed and len(raw_attachments) <= probed_attachments
    if fewer and none_more:
        return f"mkvmerge sees {len(raw_tracks)} of the {probed} tracks ffprobe sees"
    return None


# ffprobe codec names of tracks mkvmerge reads from Matroska (every common one;
# anything else is asked about with ``mkvmerge -J``)
_MKVMERGE_READS = frozenset(
    {
        *("h264", "hevc", "av1", "vp8", "vp9", "mpeg1video", "mpeg2video", "mpeg4", "vc1"),
        *("theora", "prores", "ffv1", "msmpeg4v3"),
        *("aac", "ac3", "eac3", "dts", "truehd", "mlp", "flac", "opus", "vorbis", "mp3"),
        *("mp2", "alac", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_s16be"),
        *("subrip", "ass", "ssa", "webvtt", "hdmv_pgs_subtitle", "dvd_subtitle"),
    }
)


def ids_derivable(media: MediaInfo) -> bool:
    """Whether mkvmerge's track IDs follow from the probe alone (no ``mkvmerge -J``).

    In a Matroska file mkvmerge and ffprobe both list the tracks in the file's
    order, and the attachments (fonts, and image attachments that ffprobe shows as
    ``attached_pic`` video) in the order of the Attachments element, so
    ``MkvIds.assumed`` is exact when every other stream is an ordinary video,
    audio or subtitle track of a codec both read. Data streams, other containers
    and unusual codecs are still asked about: there the two tools may number or
    see streams differently, and a wrong mapping could label one track with
    another's language without the verification noticing. (A wrong attachment
    would be caught: verification compares the attachments by name.)
    """
    if media.container not in ("mkv", "webm"):
        return False
    return all(
        t.is_attachment
        or (
            t.type in (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE)
            and t.codec in _MKVMERGE_READS
        )
        for t in media.tracks
    )


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _kept_tracks(plan: Plan) -> tuple[PlannedTrack, ...]:
    return tuple(t for t in plan.tracks if not t.is_attachment)


def _kept_attachments(plan: Plan) -> tuple[PlannedTrack, ...]:
    return tuple(t for t in plan.tracks if t.is_attachment)


def _check_pass(plan: Plan, expected: PassKind) -> None:
    if plan.pass_kind is not expected:
        raise PlanError(
            f"{plan.source.path}: plan is a {plan.pass_kind.value} pass, not {expected.value}"
        )
    sources = [t.source_index for t in plan.tracks]
    known = {t.index for t in plan.source.tracks}
    if len(set(sources)) != len(sources) or not set(sources) <= known:
        raise PlanError(
            f"{plan.source.path}: plan names unknown or repeated source tracks {sources}"
        )


# -- mkvpropedit -------------------------------------------------------------


def mkvpropedit_argv(plan: Plan, tool: str, target: Path, ids: MkvIds) -> list[str]:
    """Edit flags, names and languages of ``target`` (a *copy* of the original) in place.

    mkvpropedit cannot drop, reorder or transcode: a plan that asks for that
    here is a planner bug and is refused.
    """
    _check_pass(plan, PassKind.MKVPROPEDIT)
    source = plan.source
    if plan.dropped or any(t.transcode for t in plan.tracks):
        raise PlanError(f"{source.path}: mkvpropedit cannot drop or transcode tracks")
    if [t.source_index for t in plan.tracks] != [t.index for t in source.tracks]:
        raise PlanError(f"{source.path}: mkvpropedit cannot reorder tracks")
    argv = [tool, str(target.absolute()), "--edit", "info"]
    argv += ["--set", f"title={plan.title}"] if plan.title else ["--delete", "title"]
    for planned in _kept_tracks(plan):
        argv += ["--edit", f"track:{ids.tracks[planned.source_index] + 1}"]
        argv += ["--set", f"language={planned.language or 'und'}"]
        argv += ["--set", f"name={planned.title}"] if planned.title else ["--delete", "name"]
        argv += ["--set", f"flag-default={_flag(planned.default)}"]
        argv += ["--set", f"flag-forced={_flag(planned.forced)}"]
        argv += ["--set", f"flag-hearing-impaired={_flag(planned.hearing_impaired)}"]
    return argv


# -- mkvmerge ----------------------------------------------------------------


def mkvmerge_argv(plan: Plan, tool: str, source: Path, output: Path, ids: MkvIds) -> list[str]:
    """Select, reorder and relabel tracks into a new MKV, streams copied."""
    _check_pass(plan, PassKind.MKVMERGE)
    media = plan.source
    if plan.container != "mkv":
        raise PlanError(f"{media.path}: mkvmerge only writes mkv, the plan wants {plan.container}")
    if any(t.transcode for t in plan.tracks):
        raise PlanError(f"{media.path}: mkvmerge cannot transcode; this needs an ffmpeg pass")
    for planned in plan.tracks:
        if media.track(planned.source_index).codec == "mov_text":
            # mkvmerge drops mov_text silently (exit 0): never let that pass
            raise PlanError(
                f"{media.path}: mkvmerge would silently drop the mov_text subtitle "
                f"{planned.source_index}; it must go through ffmpeg (converted to subrip)"
            )
    kept = _kept_tracks(plan)
    argv = [tool, "--gui-mode", "-o", str(output.absolute())]
    argv += ["--deterministic", str(deterministic_seed(media))]
    argv += ["--title", plan.title or ""]
    selectors = {
        TrackType.VIDEO: ("--video-tracks", "--no-video"),
        TrackType.AUDIO: ("--audio-tracks", "--no-audio"),
        TrackType.SUBTITLE: ("--subtitle-tracks", "--no-subtitles"),
    }
    for kind, (select, none) in selectors.items():
        chosen = [str(ids.tracks[t.source_index]) for t in kept if t.type is kind]
        argv += [select, ",".join(chosen)] if chosen else [none]
    attachments = [str(ids.attachments[t.source_index]) for t in _kept_attachments(plan)]
    argv += ["--attachments", ",".join(attachments)] if attachments else ["--no-attachments"]
    for planned in kept:
        tid = ids.tracks[planned.source_index]
        argv += ["--language", f"{tid}:{planned.language or 'und'}"]
        argv += ["--track-name", f"{tid}:{planned.title or ''}"]
        argv += ["--default-track-flag", f"{tid}:{_flag(planned.default)}"]
        argv += ["--forced-display-flag", f"{tid}:{_flag(planned.forced)}"]
        argv += ["--hearing-impaired-flag", f"{tid}:{_flag(planned.hearing_impaired)}"]
    argv.append(str(source.absolute()))
    if kept:
        argv += ["--track-order", ",".join(f"0:{ids.tracks[t.source_index]}" for t in kept)]
    return argv


# -- ffmpeg ------------------------------------------------------------------


def _disposition(planned: PlannedTrack) -> str:
    wanted = (
        ("default", planned.default),
        ("forced", planned.forced),
        ("hearing_impaired", planned.hearing_impaired),
    )
    if planned.attached_pic:
        return "attached_pic"  # "0" would turn the cover into a second video track
    flags = [name for name, on in wanted if on]
    return "+".join(flags) if flags else "0"


def covers_to_attach(plan: Plan) -> tuple[PlannedTrack, ...]:
    """The kept covers an ffmpeg pass must attach as files, not map as streams.

    ffmpeg's Matroska muxer writes a mapped cover as a real video track
    (``V_MJPEG``); attached from a file (``-attach``) it is the attachment
    mkvmerge and players read as the cover. MP4/MOV keep a mapped cover as it is.
    """
    if plan.container not in ("mkv", "webm"):
        return ()
    return tuple(t for t in plan.tracks if t.attached_pic)


def cover_extract_argv(tool: str, source: Path, index: int, target: Path) -> list[str]:
    """Copy the picture of cover stream ``index`` of ``source`` into ``target``, bytes as is."""
    argv = [tool, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-i", f"file:{source.absolute()}", "-map", f"0:{index}", "-c", "copy"]
    argv += ["-frames:v", "1", "-update", "1", "-f", "image2", f"file:{target.absolute()}"]
    return argv


def _transcode_args(out: int, planned: PlannedTrack, container: str, media: MediaInfo) -> list[str]:
    spec = planned.transcode
    if spec is None:
        if container == "mp4" and planned.codec == "hevc":
            return [f"-tag:{out}", "hvc1"]
        return []
    codec = spec.codec
    if planned.type is TrackType.VIDEO:
        encoder = VIDEO_ENCODERS.get(codec)
    elif planned.type is TrackType.AUDIO:
        encoder = AUDIO_ENCODERS.get(codec)
    elif planned.type is TrackType.SUBTITLE:
        encoder = SUBTITLE_ENCODERS.get(codec)
    else:
        encoder = None
    if encoder is None:
        raise PlanError(f"{media.path}: no encoder for {planned.type.value} codec {codec!r}")
    args = [f"-c:{out}", encoder]
    if spec.crf is not None:
        args += [f"-crf:{out}", str(spec.crf)]
    if spec.bitrate is not None:
        args += [f"-b:{out}", spec.bitrate]
    if spec.preset is not None:
        args += [f"-preset:{out}", spec.preset]
    if planned.type is TrackType.VIDEO:
        if encoder == "libx265":
            args += [f"-x265-params:{out}", "log-level=error"]
        if encoder in ("libx264", "libx265"):
            args += [f"-pix_fmt:{out}", "yuv420p"]
        if codec == "hevc" and container == "mp4":
            args += [f"-tag:{out}", "hvc1"]
        scale = _scale_filter(planned, media)
        if scale:
            args += [f"-filter:{out}", scale]
    return args


def _scale_filter(planned: PlannedTrack, media: MediaInfo) -> str | None:
    """Scale to the planned frame size (never up), even dimensions for the encoders."""
    source = media.track(planned.source_index)
    if planned.width and planned.height:
        if (planned.width, planned.height) != (source.width, source.height):
            return f"scale={planned.width}:{planned.height}"
        return None
    spec = planned.transcode
    if spec is None or (spec.max_width is None and spec.max_height is None):
        return None
    w = spec.max_width or 1 << 30
    h = spec.max_height or 1 << 30
    fit = "force_original_aspect_ratio=decrease:force_divisible_by=2"
    return f"scale='min({w},iw)':'min({h},ih)':{fit}"


def ffmpeg_argv(
    plan: Plan,
    tool: str,
    source: Path,
    output: Path,
    covers: Mapping[int, Path] | None = None,
) -> list[str]:
    """One ffmpeg run: explicit ``-map`` per planned track in output order, copy unless transcoded.

    ``covers`` holds, for each track of ``covers_to_attach(plan)``, the file its
    picture was copied to; those are attached after the mapped streams.
    ``-y`` is safe because ``output`` is always our own freshly created temp file.
    """
    _check_pass(plan, PassKind.FFMPEG)
    media = plan.source
    fmt = FFMPEG_FORMATS.get(plan.container)
    if fmt is None:
        raise PlanError(f"{media.path}: ffmpeg pass cannot write container {plan.container!r}")
    attached = covers_to_attach(plan)
    missing = [t.source_index for t in attached if t.source_index not in (covers or {})]
    if missing:
        raise PlanError(f"{media.path}: cover art {missing} must be attached from a file")
    mapped = [t for t in plan.tracks if t not in attached]
    argv = [tool, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
    argv += ["-progress", "pipe:1", "-y"]
    if media.container in ("mpeg", "mpegts"):
        # MPEG-PS/TS packets may lack a PTS, which Matroska/MP4 refuse to write
        # ("Can't write packet with unknown timestamp"); ffmpeg can fill them in
        argv += ["-fflags", "+genpts"]
    argv += ["-i", f"file:{source.absolute()}"]
    argv += ["-map_metadata", "0", "-map_chapters", "0"]
    for planned in mapped:
        argv += ["-map", f"0:{planned.source_index}"]
    argv += ["-c", "copy"]
    for out, planned in enumerate(mapped):
        argv += _transcode_args(out, planned, plan.container, media)
        if planned.type is TrackType.ATTACHMENT:
            continue
        argv += [f"-disposition:{out}", _disposition(planned)]
        argv += [f"-metadata:s:{out}", f"language={planned.language or 'und'}"]
        argv += [f"-metadata:s:{out}", f"title={planned.title or ''}"]
    first = sum(1 for t in mapped if t.type is TrackType.ATTACHMENT)
    for n, planned in enumerate(attached, start=first):
        picture = (covers or {})[planned.source_index]
        name, mime = cover_name(planned.codec, planned.filename, planned.mime_type)
        argv += ["-attach", str(picture.absolute())]
        argv += [f"-metadata:s:t:{n}", f"mimetype={mime}", f"-metadata:s:t:{n}", f"filename={name}"]
    argv += ["-metadata", f"title={plan.title or ''}"]
    if plan.container in ("mp4", "mov"):
        argv += ["-movflags", "+faststart"]
        if not any(t.codec == "tmcd" for t in plan.tracks):
            # the muxer would write a timecode track again from the video's tag
            argv += ["-write_tmcd", "0"]
    # no random UIDs or dates: the same file comes out byte for byte the same,
    # whichever machine of a cluster writes it
    argv += ["-fflags", "+bitexact", "-f", fmt, f"file:{output.absolute()}"]
    return argv


def deterministic_seed(media: MediaInfo) -> int:
    """mkvmerge's seed for byte-identical output: the same for the same source file.

    Taken from the file's name and size, so a thread here and a worker on another
    machine write the same bytes, while different files still get different UIDs.
    The name is taken as its bytes on disk (``os.fsencode``): a name that is not
    valid UTF-8 (``caf\\xe9.mkv`` from an old Samba share) is a file like any other,
    and a UTF-8 name gets the same seed as before.
    """
    return zlib.crc32(os.fsencode(media.path.name) + b"\0" + str(media.size).encode())


def estimate_output_bytes(plan: Plan) -> int:
    """A generous guess of the output size, for the free-space check.

    A copy or remux needs about the source size (x1.1 for container overhead);
    a transcode with a known bitrate needs bitrate x duration, otherwise the
    source size is the budget (re-encodes rarely grow a file, and the margin
    covers the rest).
    """
    size = plan.source.size
    estimate = int(size * 1.1)
    duration = plan.source.duration or 0.0
    bits_per_s = 0
    for planned in plan.tracks:
        spec = planned.transcode
        if spec is not None and spec.bitrate:
            bits_per_s += _bitrate(spec.bitrate)
    if bits_per_s and duration:
        estimate = max(estimate, int(bits_per_s * duration / 8))
    return estimate


def _bitrate(text: str) -> int:
    units = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    text = text.strip().lower()
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text))
    except ValueError:
        return 0
