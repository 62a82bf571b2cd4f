"""``ids_derivable``: when mkvmerge's track IDs follow from the probe (no ``mkvmerge -J``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpo_tui.engine.commands import MkvIds, ids_derivable
from vpo_tui.media import MediaInfo, Track, TrackType

V, A, S = TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE


def _media(container: str, *tracks: Track) -> MediaInfo:
    return MediaInfo(Path(f"/lib/x.{container}"), container, 1000, 1.0, tracks)


ORDINARY = (Track(0, V, "h264"), Track(1, A, "aac"), Track(2, A, "ac3"), Track(3, S, "subrip"))


@pytest.mark.parametrize("container", ["mkv", "webm"])
def test_ordinary_matroska_tracks_are_derived_in_file_order(container: str) -> None:
    media = _media(container, *ORDINARY)
    assert ids_derivable(media)
    assert MkvIds.assumed(media).tracks == {0: 0, 1: 1, 2: 2, 3: 3}


def test_matroska_attachments_and_covers_are_derived_in_their_own_order() -> None:
    font = Track(4, TrackType.ATTACHMENT, "ttf", filename="font.ttf")
    cover = Track(5, V, "mjpeg", attached_pic=True, filename="cover.jpg")
    media = _media("mkv", *ORDINARY, font, cover)
    assert ids_derivable(media)
    ids = MkvIds.assumed(media)
    assert ids.tracks == {0: 0, 1: 1, 2: 2, 3: 3}
    assert ids.attachments == {4: 1, 5: 2}


@pytest.mark.parametrize(
    ("container", "extra"),
    [
        ("mkv", Track(4, TrackType.DATA, "bin_data")),
        ("mkv", Track(4, A, "unknown")),  # a codec mkvmerge may not read: ask it
        ("mp4", None),  # another container: its readers may number tracks differently
        ("mpegts", None),  # mkvmerge cannot read some of what ffprobe reads here
    ],
)
def test_anything_else_is_asked_about(container: str, extra: Track | None) -> None:
    tracks = ORDINARY if extra is None else (*ORDINARY, extra)
    assert not ids_derivable(_media(container, *tracks))
