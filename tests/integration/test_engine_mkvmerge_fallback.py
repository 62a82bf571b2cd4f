"""Sources mkvmerge cannot read go through ffmpeg, and the dry run says so first.

mkvmerge skips MPEG-4 part 2 video in MPEG-TS / MPEG-PS and cannot open WMV at
all; the planner picks mkvmerge for a plain remux to MKV. The engine asks
``mkvmerge -J`` in the pre-check and carries the same plan out with ffmpeg.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.engine.commands import MkvIds, mkvmerge_misses_tracks
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.engine.probe import measure_end, probe
from vpo_tui.engine.process import process_file
from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.policy.load import load_policy, parse_policy
from vpo_tui.policy.plan import plan
from vpo_tui.policy.planned import PassKind, PlanError

FFPROBE = shutil.which("ffprobe") or "ffprobe"
MPEG4_MP2 = {"video": "mpeg4", "audio": (AudioSpec("eng", default=True, codec="mp2"),)}
WMV = {"video": "wmv2", "audio": (AudioSpec("eng", default=True, codec="wmav2"),)}
ENG_TO_MKV = parse_policy(
    'name = "eng"\n[audio]\nkeep = ["eng"]\n[container]\nformat = "mkv"\n', "eng.toml"
)


def _identify(path: Path) -> dict[str, object]:
    done = subprocess.run(["mkvmerge", "-J", str(path)], check=True, capture_output=True)
    identified: dict[str, object] = json.loads(done.stdout)
    return identified


def _length(media: MediaInfo) -> float:
    av = [t for t in media.tracks if t.type in (TrackType.VIDEO, TrackType.AUDIO)]
    end = measure_end(media.path, FFPROBE, frozenset(t.index for t in av))
    assert end is not None
    return end - min(t.start_time or 0.0 for t in av)


@pytest.mark.parametrize(
    ("name", "spec"),
    [("movie.ts", MPEG4_MP2), ("movie.mpg", MPEG4_MP2), ("movie.wmv", WMV)],
    ids=["mpeg4+mp2.ts", "mpeg4+mp2.mpg", "wmv"],
)
def test_mkv_remux_of_a_source_mkvmerge_cannot_read(
    make_file: MakeMedia, name: str, spec: dict[str, object]
) -> None:
    path = make_file(name, duration=2.0, **spec)
    source = probe(path, FFPROBE)
    policy = load_policy("mkv-remux")
    assert plan(policy, source).pass_kind is PassKind.MKVMERGE  # the premise
    assert mkvmerge_misses_tracks(source, _identify(path))
    length = _length(source)

    dry = process_file(FileJob(path, policy, dry_run=True))
    assert dry.status is FileStatus.PLANNED, dry.error
    assert dry.pass_kind == "ffmpeg"
    result = process_file(FileJob(path, policy))
    assert result.status is FileStatus.OK, result.error
    assert result.pass_kind == dry.pass_kind  # the dry run predicted the real run

    assert result.output_path == path.with_suffix(".mkv") and not path.exists()
    output = probe(result.output_path, FFPROBE)
    assert output.container == "mkv"
    assert [(t.type, t.codec) for t in output.tracks] == [(t.type, t.codec) for t in source.tracks]
    assert _length(output) == pytest.approx(length, abs=0.1)
    assert process_file(FileJob(result.output_path, policy)).status is FileStatus.UNCHANGED


def test_the_ffmpeg_pass_keeps_the_plans_selection_and_flags(make_file: MakeMedia) -> None:
    audio = (
        AudioSpec("ger", "Deutsch", default=True, codec="mp2"),
        AudioSpec("eng", "English", codec="mp2"),
    )
    path = make_file("movie.ts", duration=2.0, video="mpeg4", audio=audio)
    predicted = plan(ENG_TO_MKV, probe(path, FFPROBE))
    assert predicted.pass_kind is PassKind.MKVMERGE
    result = process_file(FileJob(path, ENG_TO_MKV))
    assert result.status is FileStatus.OK, result.error
    assert result.pass_kind == "ffmpeg"
    assert result.output_path is not None
    output = probe(result.output_path, FFPROBE)
    got = [(t.type, t.codec, t.language, t.title, t.default) for t in output.tracks]
    want = [(t.type, t.codec, t.language, t.title, t.default) for t in predicted.tracks]
    assert got == want
    assert [t.language for t in output.of_type(TrackType.AUDIO)] == ["eng"]


def test_an_mkv_mkvmerge_reads_whole_is_not_sent_to_ffmpeg(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("ger", default=True), AudioSpec("eng")))
    result = process_file(FileJob(path, ENG_TO_MKV))
    assert result.status is FileStatus.OK, result.error
    assert result.pass_kind == "mkvmerge"


def test_only_a_mkvmerge_that_sees_less_falls_back(make_file: MakeMedia) -> None:
    """More tracks than ffprobe, or other kinds, stay refused: ffmpeg would lose them."""
    path = make_file(audio=(AudioSpec("eng"), AudioSpec("ger")))
    media = probe(path, FFPROBE)
    identified = _identify(path)
    assert mkvmerge_misses_tracks(media, identified) is None
    MkvIds.from_mkvmerge_json(media, identified)  # agrees: no error

    tracks = identified["tracks"]
    assert isinstance(tracks, list)
    fewer = {**identified, "tracks": tracks[:-1]}
    assert "sees 2 of the 3 tracks" in (mkvmerge_misses_tracks(media, fewer) or "")
    unsupported = {**identified, "container": {"recognized": True, "supported": False}}
    assert mkvmerge_misses_tracks(media, unsupported)

    more = {**identified, "tracks": [*tracks, {**tracks[-1], "id": len(tracks)}]}
    assert mkvmerge_misses_tracks(media, more) is None
    with pytest.raises(PlanError, match="refusing to guess"):
        MkvIds.from_mkvmerge_json(media, more)
    swapped = {**identified, "tracks": [tracks[1], tracks[0], tracks[2]]}
    assert mkvmerge_misses_tracks(media, swapped) is None
    with pytest.raises(PlanError, match="refusing to guess"):
        MkvIds.from_mkvmerge_json(media, swapped)
