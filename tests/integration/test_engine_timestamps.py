"""Files whose timestamps do not start at 0, end to end with the real tools.

MPEG-TS starts at 1.4 s on its own, and a recording cut mid-stream can start
anywhere. Verification must compare how long the data runs, not where it ends,
and the check for a download cut short must still see the cut.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia, sha256
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.engine.probe import measure_end, probe
from vpo_tui.engine.process import process_file
from vpo_tui.media import TrackType
from vpo_tui.policy.load import load_policy, parse_policy
from vpo_tui.policy.model import Policy
from vpo_tui.samples import make_truncated

FFPROBE = shutil.which("ffprobe") or "ffprobe"
KEEP_ENG = parse_policy('name = "eng"\n[audio]\nkeep = ["eng"]\n', "eng.toml")  # mkvmerge pass
TWO_AUDIO = (AudioSpec("eng", default=True), AudioSpec("ger"))


def _data_length(path: Path) -> float:
    """How long the audio/video data of ``path`` runs: last packet end minus first timestamp."""
    media = probe(path, FFPROBE)
    av = [t for t in media.tracks if t.type in (TrackType.VIDEO, TrackType.AUDIO)]
    starts = [t.start_time for t in av if t.start_time is not None]
    assert starts, media
    end = measure_end(path, FFPROBE, frozenset(t.index for t in av))
    assert end is not None
    return end - min(starts)


def _start(path: Path) -> float:
    start = probe(path, FFPROBE).start_time
    assert start is not None
    return start


CASES = [
    pytest.param(
        "late.mkv", {"start_offset": 10.0, "audio": TWO_AUDIO}, KEEP_ENG, id="mkv+10s-remux"
    ),
    pytest.param("late.mkv", {"start_offset": 10.0}, "hevc-1080p", id="mkv+10s-hevc"),
    pytest.param("movie.ts", {}, "mkv-remux", id="ts-remux"),
    pytest.param("movie.ts", {}, "hevc-1080p", id="ts-hevc"),
    pytest.param("late.ts", {"start_offset": 40.0}, "mkv-remux", id="ts+40s-remux"),
    pytest.param(
        "movie.mpg",
        {"video": "mpeg2video", "audio": (AudioSpec(codec="mp2"),)},
        "mkv-remux",
        id="mpg-remux",
    ),
]


@pytest.mark.parametrize(("name", "spec", "policy"), CASES)
def test_a_file_that_starts_late_is_processed_and_verified(
    make_file: MakeMedia, name: str, spec: dict[str, object], policy: Policy | str
) -> None:
    chosen = load_policy(policy) if isinstance(policy, str) else policy
    path = make_file(name, duration=2.0, **spec)
    assert _start(path) > 0.5  # the premise: this file does not start at 0
    length = _data_length(path)
    assert length == pytest.approx(2.0, abs=0.15)

    dry = process_file(FileJob(path, chosen, dry_run=True))
    assert dry.status is FileStatus.PLANNED, dry.error
    result = process_file(FileJob(path, chosen))
    assert result.status is FileStatus.OK, result.error
    assert result.pass_kind == dry.pass_kind  # the dry run predicted this run

    assert result.output_path is not None and result.output_path.suffix == ".mkv"
    output = probe(result.output_path, FFPROBE)
    assert output.container == "mkv"
    assert _data_length(result.output_path) == pytest.approx(length, abs=0.1)
    if chosen.name == "hevc-1080p":
        assert output.of_type(TrackType.VIDEO)[0].codec == "hevc"


def _mkvmerge_copy(source: Path, target: Path) -> Path:
    """mkvmerge writes the header duration as the data's length, ffmpeg as its end."""
    subprocess.run(["mkvmerge", "-q", "-o", str(target), str(source)], check=True)
    return target


@pytest.mark.parametrize("muxer", ["ffmpeg", "mkvmerge"])
def test_a_late_starting_download_cut_short_is_still_refused(
    make_file: MakeMedia, muxer: str
) -> None:
    full = make_file("full.mkv", duration=12.0, start_offset=10.0, audio=TWO_AUDIO)
    if muxer == "mkvmerge":
        full = _mkvmerge_copy(full, full.with_name("merged.mkv"))
    assert _start(full) > 9.0
    cut = make_truncated(full, full.with_name("cut.mkv"), keep=0.5)
    digest = sha256(cut)
    for dry_run in (True, False):
        result = process_file(FileJob(cut, KEEP_ENG, dry_run=dry_run))
        assert result.status is FileStatus.FAILED
        assert "truncated or damaged: the header says" in (result.error or "")
    assert sha256(cut) == digest
    assert not list(cut.parent.glob(".*vpo-tmp*"))
    assert process_file(FileJob(full, KEEP_ENG)).status is FileStatus.OK  # the whole file is fine


def test_a_cut_that_ends_exactly_at_a_length_header_is_refused(make_file: MakeMedia) -> None:
    """Review finding: mkvmerge writes the header as a length. A recording that starts at
    10 s and lost its second half ends at absolute 20 s, right at its 20 s header; read
    as "where the data ends" it looked whole, and it would have been remuxed into a
    valid, shorter file that hides the damage."""
    full = make_file("full.mkv", duration=20.0, start_offset=10.0, audio=TWO_AUDIO)
    merged = _mkvmerge_copy(full, full.with_name("merged.mkv"))
    assert probe(merged, FFPROBE).duration_is_length
    cut = make_truncated(merged, merged.with_name("cut.mkv"), keep=0.5)
    media = probe(cut, FFPROBE)
    audio_video = frozenset(t.index for t in media.tracks if t.type is not TrackType.SUBTITLE)
    end = measure_end(cut, FFPROBE, audio_video)
    assert media.duration is not None and end is not None
    assert abs(media.duration - end) <= 2.0  # the case: the cut ends where the header says
    result = process_file(FileJob(cut, KEEP_ENG))
    assert result.status is FileStatus.FAILED
    assert "truncated or damaged: the header says" in (result.error or "")
