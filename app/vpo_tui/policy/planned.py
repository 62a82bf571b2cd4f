"""The planner's output: what a file should become and the cheapest way there.

A ``Plan`` is plain frozen data so that it can be shown in a preview, stored in
history, sent to another process, and compared with what the tools produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vpo_tui.media import MediaInfo, TrackType


class PassKind(str, Enum):
    """The single tool pass that carries a plan out (the fewest passes rule)."""

    NONE = "none"  # already compliant: nothing is written
    MKVPROPEDIT = "mkvpropedit"  # flags / titles / languages on an MKV, edited in place
    MKVMERGE = "mkvmerge"  # filter / reorder / remux to MKV, streams copied
    FFMPEG = "ffmpeg"  # any transcode, any MP4 target, anything mkvmerge cannot carry


@dataclass(frozen=True)
class Transcode:
    """How one track is re-encoded. ``codec`` uses ffprobe's codec names."""

    codec: str  # h264, hevc, av1, vp9, aac, opus, ac3, eac3, flac, mp3, subrip, mov_text, ...
    crf: int | None = None
    bitrate: str | None = None
    preset: str | None = None
    max_width: int | None = None
    max_height: int | None = None


@dataclass(frozen=True)
class PlannedTrack:
    """One track of the predicted output, in output order.

    ``codec`` is the codec after the pass (the transcode target, if any);
    ``width``/``height`` are the predicted frame size for video (after scaling).
    ``attached_pic`` marks cover art (never played, never transcoded);
    ``filename``/``mime_type`` describe an attachment or a cover.
    ``hearing_impaired`` is the SDH flag.
    """

    source_index: int
    type: TrackType
    codec: str
    language: str
    title: str | None
    default: bool
    forced: bool
    transcode: Transcode | None = None
    width: int | None = None
    height: int | None = None
    hearing_impaired: bool = False
    attached_pic: bool = False
    filename: str | None = None
    mime_type: str | None = None

    @property
    def is_attachment(self) -> bool:
        """Carried as an attachment (fonts, cover art), not as a played track."""
        return self.type is TrackType.ATTACHMENT or self.attached_pic


@dataclass(frozen=True)
class Plan:
    """The diff between a probed file and a policy's target state.

    ``changes`` are human-readable lines ("remove audio 3 (fre)"). An empty
    ``changes`` means the file already complies and nothing is written.
    ``skip_reason`` is set when the policy says to skip this file (e.g. a codec
    the target container cannot take and ``on_incompatible = "skip"``).
    """

    source: MediaInfo
    container: str  # the output container: "mkv", "mp4", or the source's own
    tracks: tuple[PlannedTrack, ...]
    title: str | None  # the output container title
    changes: tuple[str, ...]
    pass_kind: PassKind
    skip_reason: str | None = None
    # The output's extension (".mkv") when the name must change although the
    # container does not: Matroska content named .mp4 under a policy that wants MKV.
    suffix: str | None = None

    @property
    def compliant(self) -> bool:
        return not self.changes and self.skip_reason is None

    @property
    def dropped(self) -> tuple[int, ...]:
        """Source indices of tracks that the output will not carry."""
        kept = {t.source_index for t in self.tracks}
        return tuple(t.index for t in self.source.tracks if t.index not in kept)


class PlanError(Exception):
    """The policy cannot be applied to this file (a per-file failure, not a crash)."""
