"""What a probed video file looks like, as plain frozen data.

Both the pure planner (``policy/``) and the engine (``engine/``) speak this
vocabulary, so it lives below both of them and imports nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class TrackType(str, Enum):
    """The kinds of stream a container can carry, in canonical file order."""

    VIDEO = "video"
    AUDIO = "audio"
    SUBTITLE = "subtitle"
    ATTACHMENT = "attachment"
    DATA = "data"

    @property
    def order(self) -> int:
        """Position of this type when tracks are ordered by type."""
        return list(TrackType).index(self)


@dataclass(frozen=True)
class Track:
    """One stream of a media file, as ffprobe reports it (normalised).

    ``index`` is the ffprobe stream index in the *source* file. ``language`` is a
    three-letter ISO 639-2/B code, ``und`` when the file does not say.
    ``attached_pic`` marks cover art that ffprobe reports as a video stream (an
    MP4 cover, or an image attachment of an MKV). ``filename`` and ``mime_type``
    describe an attachment (fonts, covers) as the container names it.
    ``hearing_impaired`` is the SDH flag (Matroska FlagHearingImpaired, the
    ``hearing_impaired`` disposition in ffmpeg's muxers).
    ``start_time`` is the stream's first timestamp in seconds (``None`` when
    ffprobe cannot tell); files need not start at 0 (MPEG-TS, cut recordings).
    """

    index: int
    type: TrackType
    codec: str
    language: str = "und"
    title: str | None = None
    default: bool = False
    forced: bool = False
    channels: int | None = None
    width: int | None = None
    height: int | None = None
    attached_pic: bool = False
    filename: str | None = None
    start_time: float | None = None
    hearing_impaired: bool = False
    mime_type: str | None = None

    @property
    def is_attachment(self) -> bool:
        """Carried as an attachment, not played: MKV attachments and cover art.

        ffprobe shows an image attachment (and an MP4 cover) as a video stream
        with the ``attached_pic`` disposition; mkvmerge lists it as an attachment.
        """
        return self.type is TrackType.ATTACHMENT or self.attached_pic

    @property
    def is_cover(self) -> bool:
        """Cover art: an attached picture, or an attachment with an image MIME type."""
        if self.attached_pic:
            return True
        mime = (self.mime_type or "").lower()
        return self.type is TrackType.ATTACHMENT and mime.startswith("image/")

    def describe(self) -> str:
        """Short human label, e.g. ``audio 2 (eng, aac, "Commentary")``."""
        bits = [self.language, self.codec]
        if self.title:
            bits.append(f'"{self.title}"')
        return f"{self.type.value} {self.index} ({', '.join(bits)})"


@dataclass(frozen=True)
class Chapter:
    """One chapter mark: start (and end) in seconds, and its title if any."""

    start: float
    end: float | None = None
    title: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    """A probed file: container, size, duration and its tracks in file order.

    ``container`` is the short name vpo-tui uses (``mkv``, ``mp4``, ``webm``,
    ``avi``, ``mov``, or ffprobe's own format name when none of these fits).
    ``start_time`` is the file's first timestamp in seconds (``None`` when ffprobe
    cannot tell). ``duration`` is the header's figure, which some muxers write as
    the length of the data and others as where it ends (counted from 0).
    """

    path: Path
    container: str
    size: int
    duration: float | None
    tracks: tuple[Track, ...]
    title: str | None = None
    start_time: float | None = None
    # True when the muxer is known to write ``duration`` as the data's length
    # (mkvmerge, MPEG-TS/PS); False when it may be where the data ends instead.
    duration_is_length: bool = False
    # Chapter marks (``ffprobe -show_chapters``). An MP4/MOV keeps them in a
    # text track of its own; that track is these chapters, not one of ``tracks``.
    chapters: tuple[Chapter, ...] = ()

    def of_type(self, kind: TrackType) -> tuple[Track, ...]:
        """The tracks of one type, in file order."""
        return tuple(t for t in self.tracks if t.type is kind)

    def track(self, index: int) -> Track:
        """The track with the given source index."""
        for t in self.tracks:
            if t.index == index:
                return t
        raise KeyError(index)
