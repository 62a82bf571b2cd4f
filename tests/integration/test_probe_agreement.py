"""The in-process probe and ffprobe agree on every media file the suite makes (issue 18).

Equal ``MediaInfo``, the same extent of the last packets (what the truncation
check and the verification measure), the same verdicts (truncated, not media,
empty). Where PyAV cannot describe a file as ffprobe would, the helper says so
and the file goes through ffprobe: those cases are listed here and in the README,
and the test proves they fell back rather than agreeing by luck.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.probe_corpus import make_corpus
from vpo_tui.engine import probe_pool
from vpo_tui.engine.probe import (
    PAST_ANY_END_S,
    ProbeBackend,
    ProbeError,
    measure_end,
    probe,
    probe_with_end,
    probe_with_ends,
)
from vpo_tui.media import MediaInfo, TrackType

FFPROBE = shutil.which("ffprobe") or "ffprobe"

# the files PyAV cannot describe as ffprobe does, and why (the README lists them)
FALLS_BACK = {
    "case:mov-compliant": "data track",  # a QuickTime timecode (tmcd) track
    "case:mov-two-languages": "data track",
    "library:webm-vp9-opus-webvtt": "Opus",  # FFmpeg 5.1 starts Opus at minus its pre-skip
    "library:mpeg2-dvd": "MPEG-PS",  # its last video packets are timed apart (reading them)
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _verdict(exc: ProbeError) -> str:
    """The verdict of a refusal, without who gave it (ffprobe or libavformat)."""
    return re.sub(r"\((ffprobe|libavformat):? ?", "(", str(exc))


def _extent(media: MediaInfo, ends: dict[int, float] | None) -> float | None:
    """Where the audio/video data ends, as the truncation check reads it."""
    av = {t.index for t in media.tracks if t.type in (TrackType.VIDEO, TrackType.AUDIO)}
    known = [end for index, end in (ends or {}).items() if index in av]
    return round(max(known), 6) if known else None


def _with_ends(path: Path, backend: ProbeBackend) -> tuple[object, ...]:
    try:
        media, ends, _ = probe_with_ends(path, FFPROBE, backend=backend)
    except ProbeError as exc:
        return ("refused", _verdict(exc))
    return (media, _extent(media, ends))


def _plain(path: Path, backend: ProbeBackend) -> object:
    try:
        return probe(path, FFPROBE, backend=backend)
    except ProbeError as exc:
        return ("refused", _verdict(exc))


def test_every_file_is_probed_alike(corpus: dict[str, Path]) -> None:
    helpers = probe_pool.pool()
    for name, path in corpus.items():
        before = len(helpers.fallbacks)
        assert _plain(path, "pyav") == _plain(path, "ffprobe"), name
        assert _with_ends(path, "pyav") == _with_ends(path, "ffprobe"), name
        fell_back = [f.reason for f in list(helpers.fallbacks)[before:]]
        if name in FALLS_BACK:
            assert fell_back and all(FALLS_BACK[name] in r for r in fell_back), (name, fell_back)
        else:
            assert not fell_back, (name, fell_back)


def test_the_bad_files_get_their_verdicts(corpus: dict[str, Path]) -> None:
    """Not only equal: the verdicts are the right ones, read in-process."""
    expected = {
        "truncated.mkv": "truncated or damaged file (File ended prematurely)",
        "truncated.mp4": "not a media file",
        "random.mkv": "not a media file",
        "text.mkv": "not a media file",
        "empty.mkv": "empty file (0 bytes)",
    }
    for name, words in expected.items():
        with pytest.raises(ProbeError) as caught:
            probe(corpus[name], FFPROBE, backend="pyav")
        assert words in _verdict(caught.value), (name, str(caught.value))
        assert str(corpus[name]) in str(caught.value)


def _av_of(media: MediaInfo) -> frozenset[int]:
    return frozenset(t.index for t in media.tracks if t.type in (TrackType.VIDEO, TrackType.AUDIO))


def test_the_last_packets_agree_from_any_window(corpus: dict[str, Path]) -> None:
    """``measure_end`` and ``probe_with_end`` (the verification's reads), both backends."""
    for name in ("plain.mkv", "movie.ts", "late.ts", "mov_text.mp4", "case:avi", "truncated.mkv"):
        path = corpus[name]
        cut = name == "truncated.mkv"  # its probe is refused; its packets can still be read
        streams = frozenset(range(3)) if cut else _av_of(probe(path, FFPROBE, backend="ffprobe"))
        for from_s in (0.0, 0.5, 41.0):
            ends = {
                b: measure_end(path, FFPROBE, streams, from_s=from_s, backend=b)
                for b in ("pyav", "ffprobe")
            }
            assert ends["pyav"] == pytest.approx(ends["ffprobe"]), (name, from_s, ends)
        if not cut:
            got = {
                b: probe_with_end(path, FFPROBE, _av_of, from_s=PAST_ANY_END_S, backend=b)
                for b in ("pyav", "ffprobe")
            }
            assert got["pyav"][0] == got["ffprobe"][0], name
            assert got["pyav"][1] == pytest.approx(got["ffprobe"][1]), name
