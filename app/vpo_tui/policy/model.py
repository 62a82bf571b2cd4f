"""The validated policy: a frozen description of the target state of a file.

Every field has the default that means "leave this aspect alone", so a policy
that only says ``[container] format = "mkv"`` changes nothing else. The TOML
keys map one to one onto these fields (``policy/load.py`` does the mapping and
the validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from vpo_tui.media import TrackType


class OnError(str, Enum):
    """What a batch does when one file fails."""

    SKIP = "skip"
    FAIL = "fail"


class AudioFallback(str, Enum):
    """What to do when no audio track matches ``audio.keep``."""

    KEEP_FIRST = "keep_first"
    KEEP_ALL = "keep_all"
    ERROR = "error"


class AudioDefault(str, Enum):
    """How the default audio track is chosen."""

    PREFERRED = "preferred"  # the most preferred language present (languages.audio)
    KEEP = "keep"  # leave the file's default flags alone


class SubtitleDefault(str, Enum):
    """Which subtitle track, if any, gets the default flag."""

    NONE = "none"  # no subtitle is default
    PREFERRED = "preferred"  # the most preferred language present
    FOREIGN_AUDIO = "foreign_audio"  # preferred, only when default audio is not preferred
    KEEP = "keep"  # leave the file's default flags alone


class ContainerFormat(str, Enum):
    MKV = "mkv"
    MP4 = "mp4"
    KEEP = "keep"


class OnIncompatible(str, Enum):
    """What to do when a track's codec cannot go into the target container."""

    ERROR = "error"  # the file fails with a clear message
    SKIP = "skip"  # the file is skipped, untouched
    TRANSCODE = "transcode"  # that track is transcoded to a codec the container takes


DEFAULT_COMMENTARY_PATTERNS: tuple[str, ...] = (
    "commentary",
    "director's comments",
    "directors comments",
    "audio description",
)


@dataclass(frozen=True)
class Languages:
    """Preference order per track type (most preferred first)."""

    audio: tuple[str, ...] = ()
    subtitle: tuple[str, ...] = ()
    reorder: bool = True  # order tracks by type, then this preference, commentary last


@dataclass(frozen=True)
class AudioPolicy:
    keep: tuple[str, ...] | None = None  # None = keep every language
    drop_commentary: bool = False
    min_tracks: int = 1
    fallback: AudioFallback = AudioFallback.KEEP_FIRST
    default: AudioDefault = AudioDefault.PREFERRED


@dataclass(frozen=True)
class SubtitlePolicy:
    keep: tuple[str, ...] | None = None  # None = keep every language; () = none
    keep_forced: bool = True  # forced tracks survive language filtering
    drop_commentary: bool = False
    remove_all: bool = False
    default: SubtitleDefault = SubtitleDefault.KEEP


@dataclass(frozen=True)
class AttachmentPolicy:
    drop: bool = False  # fonts, cover art (MKV attachments and MP4 attached pictures)


@dataclass(frozen=True)
class MetadataPolicy:
    und_language: str | None = None  # language given to audio/subtitle tracks that have none
    clear_titles: tuple[TrackType, ...] = ()  # track types whose titles are cleared
    container_title: str | None = None  # None = keep; "" = clear; "{stem}" = file name stem


@dataclass(frozen=True)
class ContainerPolicy:
    format: ContainerFormat = ContainerFormat.KEEP
    on_incompatible: OnIncompatible = OnIncompatible.ERROR


@dataclass(frozen=True)
class VideoTranscodePolicy:
    codec: str  # h264 | hevc | av1 | vp9
    crf: int | None = None
    bitrate: str | None = None  # e.g. "4M"; crf and bitrate are exclusive
    preset: str | None = None
    max_height: int | None = None  # never upscales
    max_width: int | None = None
    skip_codecs: tuple[str, ...] = ()  # already-acceptable codecs (if within size)


@dataclass(frozen=True)
class AudioTranscodePolicy:
    codec: str  # aac | ac3 | eac3 | opus | flac | mp3
    bitrate: str | None = None
    keep_codecs: tuple[str, ...] = ()  # codecs left untouched


@dataclass(frozen=True)
class Policy:
    """A whole policy. ``source`` is where it came from (a path or ``builtin:NAME``)."""

    name: str
    description: str = ""
    on_error: OnError = OnError.SKIP
    languages: Languages = field(default_factory=Languages)
    audio: AudioPolicy = field(default_factory=AudioPolicy)
    subtitles: SubtitlePolicy = field(default_factory=SubtitlePolicy)
    attachments: AttachmentPolicy = field(default_factory=AttachmentPolicy)
    metadata: MetadataPolicy = field(default_factory=MetadataPolicy)
    container: ContainerPolicy = field(default_factory=ContainerPolicy)
    video_transcode: VideoTranscodePolicy | None = None
    audio_transcode: AudioTranscodePolicy | None = None
    commentary_patterns: tuple[str, ...] = DEFAULT_COMMENTARY_PATTERNS
    source: str = ""
    digest: str = ""  # sha256 of the canonical policy, for caches and history

    @property
    def source_path(self) -> Path | None:
        return None if self.source.startswith("builtin:") or not self.source else Path(self.source)
