"""Probing real files into MediaInfo, and a clear error for every unreadable input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia, SubtitleSpec
from vpo_tui.engine.probe import ProbeError, measure_end, probe, probe_with_end
from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.samples import make_garbage, make_truncated

FFPROBE = shutil.which("ffprobe") or "ffprobe"


def test_mkv_tracks_are_normalised(make_file: MakeMedia) -> None:
    path = make_file(
        "-dash name.mkv",
        audio=(AudioSpec("en", "Main", default=True, channels=1), AudioSpec(None, "Commentary")),
        subtitles=(SubtitleSpec("deu", forced=True),),
        attachment=True,
        title="Film",
    )
    media = probe(path, FFPROBE)
    assert media.container == "mkv" and media.title == "Film"
    assert media.size == path.stat().st_size and media.duration == pytest.approx(1.0, abs=0.1)
    video, main, commentary, sub, font = media.tracks
    assert (video.type, video.codec, video.width, video.height) == (
        TrackType.VIDEO,
        "h264",
        160,
        90,
    )
    assert (main.language, main.title, main.default, main.channels) == ("eng", "Main", True, 1)
    assert (commentary.language, commentary.default) == ("und", False)
    assert (sub.type, sub.language, sub.forced) == (TrackType.SUBTITLE, "ger", True)
    assert (font.type, font.filename) == (TrackType.ATTACHMENT, "DemoFont.ttf")


def test_mp4_handler_name_is_not_a_title(make_file: MakeMedia) -> None:
    path = make_file("clip.mp4", subtitles=(SubtitleSpec("eng"),))
    media = probe(path, FFPROBE)
    assert media.container == "mp4"
    assert all(t.title is None for t in media.tracks)
    assert media.of_type(TrackType.SUBTITLE)[0].codec == "mov_text"


def test_file_without_audio(make_file: MakeMedia) -> None:
    media = probe(make_file(audio=()), FFPROBE)
    assert [t.type for t in media.tracks] == [TrackType.VIDEO]


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        (lambda p, good: make_garbage(p), "not a media file"),
        (lambda p, good: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p, good: make_truncated(good, p), "truncated"),
        (lambda p, good: None, "vanished"),
        (lambda p, good: p.mkdir(), "not a regular file"),
        (lambda p, good: p.write_text("just some text\n" * 50), "not a media file"),
    ],
    ids=["garbage", "empty", "truncated", "vanished", "directory", "text"],
)
def test_unprobeable_inputs(make_file: MakeMedia, tmp_path: Path, setup, cause: str) -> None:  # type: ignore[no-untyped-def]
    good = make_file("good.mkv")
    bad = tmp_path / "bad file.mkv"
    setup(bad, good)
    with pytest.raises(ProbeError) as caught:
        probe(bad, FFPROBE)
    assert str(bad) in str(caught.value) and cause in str(caught.value)
    # named once, without ffprobe's own "file:<path>:" or "[demuxer @ 0x…]" prefixes
    assert str(caught.value).count(str(bad)) == 1 and " @ 0x" not in str(caught.value)


def test_missing_ffprobe(make_file: MakeMedia) -> None:
    with pytest.raises(ProbeError, match="ffprobe missing"):
        probe(make_file(), "/nonexistent/ffprobe")


def test_measure_end_sees_a_cut_that_the_header_hides(make_file: MakeMedia, tmp_path: Path) -> None:
    good = make_file("good.mkv", duration=2.0)
    media = probe(good, FFPROBE)
    streams = frozenset(t.index for t in media.tracks)
    assert measure_end(good, FFPROBE, streams) == pytest.approx(2.0, abs=0.1)
    cut = make_truncated(good, tmp_path / "cut.mkv", keep=0.5)
    end = measure_end(cut, FFPROBE, streams)
    assert end is not None and end < 1.5


def audio_only(media: MediaInfo) -> frozenset[int]:
    return frozenset(t.index for t in media.tracks if t.type is TrackType.AUDIO)


@pytest.mark.parametrize("from_s", [0.0, 1.5])
def test_probe_with_end_is_probe_and_measure_end_in_one_run(
    make_file: MakeMedia, tmp_path: Path, from_s: float
) -> None:
    good = make_file("good.mkv", duration=2.0, audio=(AudioSpec("eng"), AudioSpec("jpn")))
    media, end = probe_with_end(good, FFPROBE, audio_only, from_s=from_s)
    assert media == probe(good, FFPROBE)
    assert end == measure_end(good, FFPROBE, audio_only(media), from_s=from_s)
    assert end == pytest.approx(2.0, abs=0.1)
    cut = make_truncated(good, tmp_path / "cut.mkv", keep=0.5)
    with pytest.raises(ProbeError, match="truncated or damaged"):
        probe_with_end(cut, FFPROBE, audio_only)  # reading its packets runs into the cut
    assert probe_with_end(good, FFPROBE, lambda media: frozenset(), from_s=from_s)[1] is None


@pytest.mark.parametrize("backend", ["auto", "ffprobe"])
def test_a_name_with_a_newline_gives_the_same_cause_as_any_other(
    tmp_path: Path, backend: str
) -> None:
    """The report groups failures by cause: ``name.mkv: Invalid data…`` (the name's last
    line left in it) made a group of its own for such a file."""
    plain, odd = tmp_path / "plain.mkv", tmp_path / "bad\nname.mkv"
    causes = []
    for path in (plain, odd):
        make_garbage(path)
        with pytest.raises(ProbeError) as caught:
            probe(path, FFPROBE, backend=backend)  # type: ignore[arg-type]
        message = str(caught.value)
        assert message.startswith(f"{path}: ")
        causes.append(message.removeprefix(f"{path}: "))
    assert causes[0] == causes[1] and "name.mkv" not in causes[1]
