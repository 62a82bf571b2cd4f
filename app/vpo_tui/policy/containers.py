"""What each output container can carry, and how it rewrites what it carries.

The planner asks two questions of a container: "can this codec go in?" (and if
not, what to convert it to), and "what will ffprobe report after the file is
written?" — the second one is what keeps plans idempotent. Both answers live
here, as data plus one pure function, so prediction and diffing use the same
facts.

Facts measured with ffmpeg/ffprobe 5.1 and mkvmerge 74 (samples.make_media inputs):

* MP4 (ffmpeg's mov muxer): when no track of a type is default, the FIRST track
  of that type (in output order) is written as default — for video, audio AND
  mov_text subtitles (``-disposition:s:0 0`` on the only subtitle probes back as
  default=1). Several default tracks of one type are kept as they are.
* The SDH flag (``hearing_impaired`` disposition) survives MKV and MP4 written
  by ffmpeg and MKV written by mkvmerge/mkvpropedit; WebM drops it.
* MP4: stream titles do not survive (ffprobe shows only ``handler_name`` tags,
  which the probe does not treat as titles). Forced flags DO survive on
  mov_text. Languages survive (``und`` is written as ``und``). The container
  title (``-metadata title=``) survives.
* MKV written by ffmpeg (default_mode passthrough) and by mkvmerge/mkvpropedit:
  default, forced, title and language are kept exactly as set, provided the
  engine sets every default flag explicitly (mkvmerge marks every track of an
  MP4 source default unless told otherwise). A track with language ``und``
  probes back as ``und`` (no tag). Container title survives.
* mkvmerge silently drops MP4 ``mov_text`` subtitles (exit 0), so mov_text must
  be converted to subrip by ffmpeg for an MKV output.
* The codec lists below are what ffmpeg 5.1 stream-copies into the container
  WITHOUT ``-strict experimental`` (``ffmpeg -i x.mka -c copy -f mp4``, exit 0).
  MP4 refuses ``flac`` and ``truehd`` ("... in MP4 support is experimental"),
  ``vp8``, ``webvtt``, ``subrip``/``ass`` and PCM ("could not find tag");
  ``alac`` and ``opus`` go in. WebM takes only what its list says (the muxer
  names the same set). ``dts`` and ``vorbis`` also copy into MP4 but few players
  read them there, so they are left out: such a track goes through
  ``container.on_incompatible``.
* Cover art (an ``attached_pic`` stream): the MP4/MOV muxer keeps it as an
  attached picture with no file name; mkvmerge writes it into MKV as an
  attachment (``cover.jpg``/``cover.png``, image MIME type), which ffprobe shows
  again as an ``attached_pic`` stream. ffmpeg's Matroska muxer would make it a
  second real video track (``V_MJPEG``), so the engine attaches it as a file.
* QuickTime (MOV) is the MP4 muxer with its own codecs: PCM audio, ProRes and
  ``tmcd`` timecode (data) tracks are normal there.
* MPEG-PS (``mpeg``) stores no flags, languages or titles; TS and other
  containers are taken to keep what they have. Neither is written by vpo-tui.
* AVI stores no default/forced flags and no languages (ffmpeg 5.1 writes and
  reads neither); stream titles survive (``strn``). It carries no attachments,
  covers or chapters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from vpo_tui.media import TrackType

# Text subtitle codecs (ffprobe names) that ffmpeg can convert into one another.
TEXT_SUBTITLE_CODECS: frozenset[str] = frozenset(
    {"subrip", "ass", "ssa", "webvtt", "mov_text", "text", "srt"}
)
# Image subtitles cannot be converted to text without OCR.
IMAGE_SUBTITLE_CODECS: frozenset[str] = frozenset(
    {"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub"}
)

# Target codecs a policy may ask for, and the encoder presets each accepts.
_X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
VIDEO_PRESETS: dict[str, tuple[str, ...]] = {
    "h264": _X26X_PRESETS,
    "hevc": _X26X_PRESETS,
    "av1": tuple(str(n) for n in range(14)),  # SVT-AV1 presets 0 (slow) .. 13 (fast)
    "vp9": ("good", "best", "realtime"),  # libvpx deadline
}
VIDEO_CRF_RANGE: dict[str, tuple[int, int]] = {
    "h264": (0, 51),
    "hevc": (0, 51),
    "av1": (0, 63),
    "vp9": (0, 63),
}
AUDIO_TARGET_CODECS: tuple[str, ...] = ("aac", "ac3", "eac3", "opus", "flac", "mp3")

# Spellings people use for codecs, mapped to ffprobe's codec names.
CODEC_ALIASES: dict[str, str] = {
    "x264": "h264",
    "avc": "h264",
    "h.264": "h264",
    "x265": "hevc",
    "h265": "hevc",
    "h.265": "hevc",
    "srt": "subrip",
    "ssa": "ass",
    "pgs": "hdmv_pgs_subtitle",
    "vobsub": "dvd_subtitle",
    "dts-hd": "dts",
    "e-ac3": "eac3",
    "ac-3": "ac3",
}


def canonical_codec(name: str) -> str:
    """ffprobe's name for a codec spelled by a person ("x265" → "hevc")."""
    key = name.strip().lower()
    return CODEC_ALIASES.get(key, key)


@dataclass(frozen=True)
class ContainerRules:
    """What one container accepts. ``None`` for a type means "anything"."""

    name: str
    video: frozenset[str] | None
    audio: frozenset[str] | None
    subtitle: frozenset[str] | None
    text_subtitle_codec: str | None  # what text subtitles are converted to
    carries_attachments: bool
    carries_data: bool
    carries_covers: bool  # cover art: an attached picture, or an image attachment in MKV
    default_video: str
    default_audio: str
    first_track_default: bool  # the muxer makes the first track of a type default
    keeps_titles: bool
    keeps_hearing_impaired: bool = True  # the SDH flag survives the muxer
    keeps_flags: bool = True  # default/forced flags survive the muxer
    keeps_languages: bool = True
    names_attachments: bool = True  # covers are named attachments (MKV), not bare pictures
    writable: bool = True  # vpo-tui can write this container (an ffmpeg pass)
    refused_data: frozenset[str] = frozenset()  # data codecs it cannot take (when carries_data)

    def accepts(self, kind: TrackType, codec: str) -> bool:
        """True when a track of this type and codec can be stream-copied in."""
        if kind is TrackType.ATTACHMENT:
            return self.carries_attachments
        if kind is TrackType.DATA:
            return self.carries_data and codec not in self.refused_data
        allowed = {
            TrackType.VIDEO: self.video,
            TrackType.AUDIO: self.audio,
            TrackType.SUBTITLE: self.subtitle,
        }[kind]
        return allowed is None or codec in allowed


MKV = ContainerRules(
    name="mkv",
    video=None,
    audio=None,
    # everything except mov_text (mkvmerge drops it silently) and MP4-only oddities
    subtitle=frozenset(
        {"subrip", "ass", "ssa", "webvtt", "hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"}
    ),
    text_subtitle_codec="subrip",
    carries_attachments=True,
    carries_data=False,
    carries_covers=True,
    default_video="h264",
    default_audio="aac",
    first_track_default=False,
    keeps_titles=True,
)

MP4 = ContainerRules(
    name="mp4",
    video=frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"}),
    # not flac: ffmpeg 5.1 refuses it without -strict experimental
    audio=frozenset({"aac", "ac3", "eac3", "mp3", "opus", "alac"}),
    subtitle=frozenset({"mov_text"}),
    text_subtitle_codec="mov_text",
    carries_attachments=False,
    carries_data=True,
    carries_covers=True,
    default_video="h264",
    default_audio="aac",
    first_track_default=True,
    keeps_titles=False,
    names_attachments=False,
    refused_data=frozenset({"tmcd"}),  # "Could not find tag for codec none" in mp4
)

# QuickTime: the same muxer as MP4 (same flag and title behaviour), more codecs.
MOV = replace(
    MP4,
    name="mov",
    refused_data=frozenset(),
    # measured like MP4's list: vp9, av1 and opus are "only supported in MP4"
    video=frozenset({"h264", "hevc", "prores", "mjpeg", "mpeg4"}),
    audio=frozenset(
        {"aac", "ac3", "eac3", "mp3", "alac", "pcm_u8", "pcm_f32le", "pcm_f64le"}
        | {f"pcm_{kind}" for kind in ("s16le", "s16be", "s24le", "s24be", "s32le", "s32be")}
    ),
)

AVI = ContainerRules(
    name="avi",
    video=None,
    audio=None,
    subtitle=None,
    text_subtitle_codec=None,
    carries_attachments=False,
    carries_data=False,
    carries_covers=False,
    default_video="mpeg4",
    default_audio="mp3",
    first_track_default=False,
    keeps_titles=True,
    keeps_flags=False,
    keeps_languages=False,
)

WEBM = ContainerRules(
    name="webm",
    video=frozenset({"vp8", "vp9", "av1"}),
    audio=frozenset({"opus", "vorbis"}),
    subtitle=frozenset({"webvtt"}),
    text_subtitle_codec="webvtt",
    carries_attachments=False,
    carries_data=False,
    carries_covers=False,
    default_video="vp9",
    default_audio="opus",
    first_track_default=False,
    keeps_titles=True,
    keeps_hearing_impaired=False,  # ffmpeg's webm mode writes no FlagHearingImpaired
)

# MPEG program streams (DVD rips, .mpg/.vob): no flags, no languages (ffmpeg 5.1
# reads and writes neither), and vpo-tui does not write them: remux to MKV instead.
MPEG_PS = replace(
    AVI,
    name="mpeg",
    default_video="mpeg2video",
    default_audio="ac3",
    keeps_titles=False,
    writable=False,
)

_KNOWN: dict[str, ContainerRules] = {
    "mkv": MKV,
    "mp4": MP4,
    "mov": MOV,
    "webm": WEBM,
    "avi": AVI,
    "mpeg": MPEG_PS,
}


def rules_for(container: str) -> ContainerRules:
    """The rules of a container; an unknown one (ts, mpg, ...) is taken to carry what it has."""
    known = _KNOWN.get(container)
    if known is not None:
        return known
    return ContainerRules(
        name=container,
        video=None,
        audio=None,
        subtitle=None,
        text_subtitle_codec=None,
        carries_attachments=True,
        carries_data=True,
        carries_covers=True,
        default_video="h264",
        default_audio="aac",
        first_track_default=False,
        keeps_titles=True,
        writable=False,
    )


class _TrackLike(Protocol):
    @property
    def type(self) -> TrackType: ...
    @property
    def title(self) -> str | None: ...
    @property
    def default(self) -> bool: ...
    @property
    def hearing_impaired(self) -> bool: ...
    @property
    def attached_pic(self) -> bool: ...
    @property
    def codec(self) -> str: ...
    @property
    def filename(self) -> str | None: ...
    @property
    def mime_type(self) -> str | None: ...


T = TypeVar("T", bound=_TrackLike)


def effective_tracks(container: str, tracks: tuple[T, ...]) -> tuple[T, ...]:
    """The tracks as ffprobe will report them after the container has been written.

    Used for the prediction AND for the diff (on both sides), so that a value the
    container cannot hold never shows up as a change that a rewrite cannot make.
    ``tracks`` are frozen dataclasses (``Track`` or ``PlannedTrack``) in output order.
    """
    rules = rules_for(container)
    out: list[T] = list(tracks)
    if not rules.keeps_titles:
        out = [t if t.title is None else replace(t, title=None) for t in out]  # type: ignore[type-var]
    if not rules.keeps_hearing_impaired:
        out = [replace(t, hearing_impaired=False) if t.hearing_impaired else t for t in out]  # type: ignore[type-var]
    if not rules.keeps_flags:
        out = [replace(t, default=False, forced=False, hearing_impaired=False) for t in out]  # type: ignore[type-var]
    if not rules.keeps_languages:
        out = [replace(t, language="und") for t in out]  # type: ignore[type-var]
    out = [_as_cover(t, rules) if t.attached_pic else t for t in out]
    if rules.first_track_default:
        for kind in (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE):
            positions = [i for i, t in enumerate(out) if t.type is kind and not t.attached_pic]
            if positions and not any(out[i].default for i in positions):
                out[positions[0]] = replace(out[positions[0]], default=True)  # type: ignore[type-var]
    return tuple(out)


# Cover art by codec: the file name and MIME type mkvmerge gives an MP4 cover.
COVER_NAMES: dict[str, tuple[str, str]] = {
    "mjpeg": ("cover.jpg", "image/jpeg"),
    "png": ("cover.png", "image/png"),
    "bmp": ("cover.bmp", "image/bmp"),
    "gif": ("cover.gif", "image/gif"),
    "webp": ("cover.webp", "image/webp"),
}


def cover_name(codec: str, filename: str | None, mime_type: str | None) -> tuple[str, str]:
    """The attachment name and MIME type a cover carries in MKV (its own, else by codec)."""
    fallback = COVER_NAMES.get(codec, (f"cover.{codec}", f"image/{codec}"))
    return filename or fallback[0], mime_type or fallback[1]


def _as_cover(track: T, rules: ContainerRules) -> T:
    """A cover as ffprobe shows it in ``rules``' container: never default or forced,
    named (file name, MIME type) where it is an attachment, bare in MP4/MOV."""
    name: str | None = None
    mime: str | None = None
    if rules.names_attachments:
        name, mime = cover_name(track.codec, track.filename, track.mime_type)
    return replace(  # type: ignore[type-var]
        track, default=False, forced=False, language="und", filename=name, mime_type=mime
    )
