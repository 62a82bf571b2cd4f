"""Every policy operation, end to end on real files with the real tools.

Each test writes a policy, runs ``process_file``, probes the result and checks
it against the plan's predicted tracks (and against what the operation means),
then plans again: the second run must find nothing to do (idempotence).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia, SubtitleSpec, sha256
from vpo_tui.engine.job import EngineSettings, FileJob, FileResult, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.media import MediaInfo, TrackType
from vpo_tui.policy.load import load_policy, parse_policy
from vpo_tui.policy.model import Policy
from vpo_tui.policy.plan import plan
from vpo_tui.policy.planned import PassKind, Plan
from vpo_tui.samples import make_truncated

FFPROBE = shutil.which("ffprobe") or "ffprobe"


def _policy(toml: str) -> Policy:
    return parse_policy('name = "test"\n' + toml, "test.toml")


def _shape(media: MediaInfo) -> list[tuple[object, ...]]:
    return [
        (t.type, t.codec, t.language, t.title or None, t.default, t.forced)
        for t in media.tracks
        if t.type is not TrackType.ATTACHMENT
    ]


def _predicted_shape(p: Plan) -> list[tuple[object, ...]]:
    return [
        (t.type, t.codec, t.language, t.title or None, t.default, t.forced)
        for t in p.tracks
        if t.type is not TrackType.ATTACHMENT
    ]


def apply(
    path: Path, policy: Policy, expect_pass: PassKind | None = None
) -> tuple[MediaInfo, Plan]:
    """Process, probe the output, compare with the prediction, check idempotence."""
    before = probe(path, FFPROBE)
    predicted = plan(policy, before)
    assert predicted.changes, "the test file should need changes"
    if expect_pass is not None:
        assert predicted.pass_kind is expect_pass
    result: FileResult = process_file(FileJob(path, policy))
    assert result.status is FileStatus.OK, result.error
    assert result.output_path is not None and result.output_path.exists()
    after = probe(result.output_path, FFPROBE)
    assert _shape(after) == _predicted_shape(predicted)
    assert after.container == predicted.container
    assert result.fingerprint == (
        result.output_path.stat().st_size,
        result.output_path.stat().st_mtime_ns,
    )
    # idempotence: planning again finds nothing, and a second run writes nothing
    assert plan(policy, after).changes == ()
    digest = sha256(result.output_path)
    again = process_file(FileJob(result.output_path, policy))
    assert again.status is FileStatus.UNCHANGED, again
    assert sha256(result.output_path) == digest
    assert not list(path.parent.glob(".*vpo-tmp*"))
    return after, predicted


def test_keep_audio_by_language(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(
            AudioSpec("fre", default=True),
            AudioSpec("eng"),
            AudioSpec("ger"),
            AudioSpec("jpn"),
        ),
    )
    after, _ = apply(path, _policy('[audio]\nkeep = ["eng", "jpn"]\n'), PassKind.MKVMERGE)
    assert [t.language for t in after.of_type(TrackType.AUDIO)] == ["eng", "jpn"]


def test_keep_audio_fallback_keeps_first_when_nothing_matches(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("ger")))
    after, _ = apply(path, _policy('[audio]\nkeep = ["eng"]\nfallback = "keep_first"\n'))
    assert [t.language for t in after.of_type(TrackType.AUDIO)] == ["fre"]


def test_drop_commentary(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(
            AudioSpec("eng", "Main", default=True),
            AudioSpec("eng", "Director's Commentary"),
        ),
        subtitles=(SubtitleSpec("eng"), SubtitleSpec("eng", "Commentary subs")),
    )
    toml = "[audio]\ndrop_commentary = true\n[subtitles]\ndrop_commentary = true\n"
    after, _ = apply(path, _policy(toml))
    titles = [t.title for t in after.tracks]
    assert not any(t and "ommentary" in t for t in titles)
    assert len(after.of_type(TrackType.AUDIO)) == 1
    assert len(after.of_type(TrackType.SUBTITLE)) == 1


def test_keep_subtitles_by_language_and_forced(make_file: MakeMedia) -> None:
    path = make_file(
        subtitles=(SubtitleSpec("ger"), SubtitleSpec("eng"), SubtitleSpec("fre", forced=True)),
    )
    after, _ = apply(path, _policy('[subtitles]\nkeep = ["eng"]\nkeep_forced = true\n'))
    subs = after.of_type(TrackType.SUBTITLE)
    assert sorted(t.language for t in subs) == ["eng", "fre"]
    assert [t.forced for t in subs if t.language == "fre"] == [True]


def test_remove_all_subtitles(make_file: MakeMedia) -> None:
    path = make_file(subtitles=(SubtitleSpec("eng"), SubtitleSpec("ger")))
    after, _ = apply(path, _policy("[subtitles]\nremove_all = true\n"))
    assert after.of_type(TrackType.SUBTITLE) == ()


def test_drop_attachments(make_file: MakeMedia) -> None:
    path = make_file(attachment=True)
    assert probe(path, FFPROBE).of_type(TrackType.ATTACHMENT)
    after, _ = apply(path, _policy("[attachments]\ndrop = true\n"))
    assert after.of_type(TrackType.ATTACHMENT) == ()


def test_attachment_kept_through_a_remux(make_file: MakeMedia) -> None:
    path = make_file(attachment=True, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    after, _ = apply(path, _policy('[audio]\nkeep = ["eng"]\n'), PassKind.MKVMERGE)
    attachments = after.of_type(TrackType.ATTACHMENT)
    assert [a.filename for a in attachments] == ["DemoFont.ttf"]


def test_order_tracks_by_language_preference(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(AudioSpec("ger", default=True), AudioSpec("jpn"), AudioSpec("eng")),
        subtitles=(SubtitleSpec("ger"), SubtitleSpec("eng")),
    )
    toml = '[languages]\naudio = ["eng", "jpn"]\nsubtitle = ["eng"]\n'
    after, _ = apply(path, _policy(toml))
    assert [t.language for t in after.of_type(TrackType.AUDIO)] == ["eng", "jpn", "ger"]
    assert [t.language for t in after.of_type(TrackType.SUBTITLE)] == ["eng", "ger"]
    assert after.tracks[0].type is TrackType.VIDEO


def test_default_and_forced_flags_in_place(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(AudioSpec("jpn", default=True), AudioSpec("eng")),
        subtitles=(SubtitleSpec("eng"),),
    )
    toml = (
        '[languages]\naudio = ["eng"]\nsubtitle = ["eng"]\nreorder = false\n'
        '[subtitles]\ndefault = "preferred"\n'
    )
    after, _ = apply(path, _policy(toml), PassKind.MKVPROPEDIT)
    defaults = [(t.type, t.language) for t in after.tracks if t.default]
    assert (TrackType.AUDIO, "eng") in defaults
    assert (TrackType.AUDIO, "jpn") not in defaults
    assert (TrackType.SUBTITLE, "eng") in defaults


def test_foreign_audio_gets_default_subtitle(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("jpn", default=True),), subtitles=(SubtitleSpec("eng"),))
    toml = (
        '[languages]\naudio = ["eng"]\nsubtitle = ["eng"]\n[subtitles]\ndefault = "foreign_audio"\n'
    )
    after, _ = apply(path, _policy(toml))
    assert [t.default for t in after.of_type(TrackType.SUBTITLE)] == [True]


def test_language_and_titles(make_file: MakeMedia) -> None:
    path = make_file(
        audio=(AudioSpec(None, "Stereo", default=True),),
        subtitles=(SubtitleSpec(None, "Full"),),
        title="some.release.name",
    )
    toml = (
        '[metadata]\nund_language = "eng"\nclear_titles = ["audio", "subtitle"]\n'
        'container_title = "{stem}"\n'
    )
    after, _ = apply(path, _policy(toml))
    assert [t.language for t in after.of_type(TrackType.AUDIO)] == ["eng"]
    assert [t.language for t in after.of_type(TrackType.SUBTITLE)] == ["eng"]
    assert all(t.title is None for t in after.tracks if t.type is not TrackType.VIDEO)
    assert after.title == path.stem


def test_container_mp4_to_mkv_keeps_mov_text_subtitle(make_file: MakeMedia) -> None:
    path = make_file(
        "clip.mp4", audio=(AudioSpec("eng", default=True),), subtitles=(SubtitleSpec("eng"),)
    )
    after, predicted = apply(path, _policy('[container]\nformat = "mkv"\n'))
    assert predicted.pass_kind is PassKind.FFMPEG  # mkvmerge would drop mov_text
    assert after.path.suffix == ".mkv" and not path.exists()
    assert not list(path.parent.glob(".*.vpo-commit-*"))  # the commit journal is gone
    assert [t.codec for t in after.of_type(TrackType.SUBTITLE)] == ["subrip"]


def test_container_mkv_to_mp4(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True), AudioSpec("ger")))
    after, _ = apply(path, _policy('[container]\nformat = "mp4"\n'), PassKind.FFMPEG)
    assert after.container == "mp4" and after.path.suffix == ".mp4"
    assert not path.exists()
    assert len(after.of_type(TrackType.AUDIO)) == 2


def test_transcode_video_hevc_downscaled(make_file: MakeMedia) -> None:
    path = make_file(width=320, height=180)
    toml = (
        '[transcode.video]\ncodec = "hevc"\ncrf = 30\npreset = "ultrafast"\nmax_height = 90\n'
        'skip_codecs = ["hevc"]\n'
    )
    after, _ = apply(path, _policy(toml), PassKind.FFMPEG)
    video = after.of_type(TrackType.VIDEO)[0]
    assert (video.codec, video.width, video.height) == ("hevc", 160, 90)


def test_transcode_audio(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True, codec="flac"), AudioSpec("ger")))
    toml = '[transcode.audio]\ncodec = "opus"\nbitrate = "64k"\nkeep_codecs = ["aac"]\n'
    after, _ = apply(path, _policy(toml), PassKind.FFMPEG)
    assert [t.codec for t in after.of_type(TrackType.AUDIO)] == ["opus", "aac"]


def test_file_without_audio(make_file: MakeMedia) -> None:
    path = make_file(audio=(), subtitles=(SubtitleSpec("ger"), SubtitleSpec("eng")))
    after, _ = apply(path, _policy('[subtitles]\nkeep = ["eng"]\n'))
    assert after.of_type(TrackType.AUDIO) == ()
    assert [t.language for t in after.of_type(TrackType.SUBTITLE)] == ["eng"]


@pytest.mark.parametrize("name", ["with spaces.mkv", "ジャ unicode ü.mkv", "-starts-with-dash.mkv"])
def test_odd_names(make_file: MakeMedia, name: str) -> None:
    path = make_file(name, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    after, _ = apply(path, _policy('[audio]\nkeep = ["eng"]\n'))
    assert after.path.name == name


def test_dry_run_writes_nothing(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    digest = sha256(path)
    result = process_file(FileJob(path, _policy('[audio]\nkeep = ["eng"]\n'), dry_run=True))
    assert result.status is FileStatus.PLANNED and result.changes
    assert sha256(path) == digest
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def _dry_then_real(path: Path, policy: Policy, **settings: object) -> tuple[FileResult, FileResult]:
    """A dry run, then the real run, of one job; the dry run must leave the folder as it was."""
    job = FileJob(path, policy, settings=dataclasses.replace(EngineSettings(), **settings))  # type: ignore[arg-type]
    listing = sorted((p.name, sha256(p)) for p in path.parent.iterdir())
    dry = process_file(dataclasses.replace(job, dry_run=True))
    assert sorted((p.name, sha256(p)) for p in path.parent.iterdir()) == listing
    return dry, process_file(job)


def test_dry_run_predicts_a_read_only_skip(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    path.chmod(0o444)
    dry, real = _dry_then_real(path, _policy('[audio]\nkeep = ["eng"]\n'))
    assert dry.status is real.status is FileStatus.SKIPPED
    assert dry.error == real.error == f"{path}: read-only file (no write permission): left as it is"


def test_dry_run_predicts_an_existing_target_name(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True),))
    path.with_suffix(".mp4").write_bytes(b"someone else's file")
    dry, real = _dry_then_real(path, _policy('[container]\nformat = "mp4"\n'))
    assert dry.status is real.status is FileStatus.FAILED
    assert dry.error == real.error
    assert dry.error == f"{path}: cannot change the container: movie.mp4 already exists"


def test_dry_run_predicts_the_truncation_refusal(make_file: MakeMedia, tmp_path: Path) -> None:
    good = make_file(
        "good.mkv", duration=4.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng"))
    )
    path = make_truncated(good, tmp_path / "cut.mkv", keep=0.3)  # the header still says 4 s
    dry, real = _dry_then_real(path, _policy('[audio]\nkeep = ["eng"]\n'))
    assert dry.status is real.status is FileStatus.FAILED
    assert dry.error == real.error and "truncated or damaged" in (dry.error or "")


def test_dry_run_predicts_a_full_disk(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    dry, real = _dry_then_real(path, _policy('[audio]\nkeep = ["eng"]\n'), min_free_bytes=1 << 60)
    assert dry.status is real.status is FileStatus.FAILED
    # the same message but for the free MiB, which other processes change meanwhile
    assert (dry.error or "").rsplit(", ", 1)[0] == (real.error or "").rsplit(", ", 1)[0]
    assert "not enough free space" in (dry.error or "")


def test_compliant_file_is_not_rewritten(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True),))
    stat = path.stat()
    result = process_file(FileJob(path, _policy('[audio]\nkeep = ["eng"]\n')))
    assert result.status is FileStatus.UNCHANGED
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert result.fingerprint == (stat.st_size, stat.st_mtime_ns)


def test_mp4_says_it_marks_a_subtitle_default_the_policy_did_not_want(make_file: MakeMedia) -> None:
    """The mov muxer cannot store "no default subtitle": the plan must say so, and be right."""
    path = make_file(
        audio=(AudioSpec("eng", default=True),),
        subtitles=(SubtitleSpec("eng"), SubtitleSpec("fre")),
    )
    policy = _policy('[container]\nformat = "mp4"\n[subtitles]\ndefault = "none"\n')
    after, predicted = apply(path, policy, PassKind.FFMPEG)
    assert 'mp4 marks subtitle 2 default (it cannot store "none")' in predicted.changes
    assert [t.default for t in after.of_type(TrackType.SUBTITLE)] == [True, False]


def _ffmpeg_mkv_without_flags(path: Path, video: str) -> Path:
    """What plain ``ffmpeg -i x -c:v ... out.mkv`` writes: no default flag on any track."""
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=1"]
    argv += ["-f", "lavfi", "-i", "sine=duration=1:sample_rate=48000"]
    argv += ["-c:v", video, "-pix_fmt", "yuv420p", "-c:a", "aac"]
    if video == "libx265":
        argv += ["-x265-params", "log-level=error"]
    subprocess.run([*argv, "-metadata:s:a:0", "language=eng", str(path)], check=True)
    return path


@pytest.mark.parametrize(("name", "video"), [("mkv-remux", "libx264"), ("hevc-1080p", "libx265")])
def test_an_mkv_without_a_default_video_flag_is_left_alone(
    tmp_path: Path, name: str, video: str
) -> None:
    """mkv-remux promises to change nothing else; a lone video needs no default flag."""
    path = _ffmpeg_mkv_without_flags(tmp_path / "plain.mkv", video)
    before = probe(path, FFPROBE)
    assert [t.default for t in before.tracks] == [False, False]  # what ffmpeg wrote
    digest, mtime = sha256(path), path.stat().st_mtime_ns
    result = process_file(FileJob(path, load_policy(name)))
    assert result.status is FileStatus.UNCHANGED, (result.changes, result.error)
    assert sha256(path) == digest and path.stat().st_mtime_ns == mtime


def test_keep_backups_and_permissions(make_file: MakeMedia) -> None:
    from dataclasses import replace

    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    path.chmod(0o640)
    digest = sha256(path)
    job = FileJob(path, _policy('[audio]\nkeep = ["eng"]\n'))
    job = replace(job, settings=replace(job.settings, keep_backups=True))
    result = process_file(job)
    assert result.status is FileStatus.OK, result.error
    backups = list(path.parent.glob("*.vpo-backup*"))
    assert len(backups) == 1 and sha256(backups[0]) == digest
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_read_only_file_is_left_alone(make_file: MakeMedia) -> None:
    """chmod a-w is how people protect a file; the folder being writable does not override it."""
    path = make_file(audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    path.chmod(0o444)
    digest = sha256(path)
    result = process_file(FileJob(path, _policy('[audio]\nkeep = ["eng"]\n')))
    assert result.status is FileStatus.SKIPPED
    assert result.error == f"{path}: read-only file (no write permission): left as it is"
    assert sha256(path) == digest and path.stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize(
    ("choice", "status"), [("skip", FileStatus.SKIPPED), ("error", FileStatus.FAILED)]
)
def test_a_codec_the_target_container_cannot_take(
    make_file: MakeMedia, choice: str, status: FileStatus
) -> None:
    """PCM audio cannot go into MP4: skip or fail as the policy says, untouched either way."""
    path = make_file(audio=(AudioSpec("eng", default=True, codec="pcm_s16le"),))
    digest = sha256(path)
    policy = _policy(f'[container]\nformat = "mp4"\non_incompatible = "{choice}"\n')
    result = process_file(FileJob(path, policy))
    assert result.status is status
    assert "pcm_s16le" in (result.error or "") and "mp4" in (result.error or "")
    assert (result.error or "").count(str(path)) == 1  # named once
    assert sha256(path) == digest and sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.parametrize(
    ("choice", "status"), [("skip", FileStatus.SKIPPED), ("error", FileStatus.FAILED)]
)
def test_flac_into_mp4_is_incompatible_not_a_tool_failure(
    make_file: MakeMedia, choice: str, status: FileStatus
) -> None:
    """ffmpeg 5.1 refuses FLAC in MP4 without -strict experimental: the plan must say so."""
    path = make_file(audio=(AudioSpec("eng", default=True, codec="flac"),))
    digest = sha256(path)
    policy = _policy(f'[container]\nformat = "mp4"\non_incompatible = "{choice}"\n')
    result = process_file(FileJob(path, policy))
    assert result.status is status, result.error
    assert "audio 1 (eng): codec flac cannot go into mp4" in (result.error or "")
    assert result.stderr_tail is None  # decided by the plan, no tool ran
    assert sha256(path) == digest and sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_flac_into_mp4_is_transcoded_when_the_policy_says_so(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True, codec="flac"),))
    policy = _policy('[container]\nformat = "mp4"\non_incompatible = "transcode"\n')
    after, _ = apply(path, policy, PassKind.FFMPEG)
    assert after.container == "mp4"
    assert [t.codec for t in after.of_type(TrackType.AUDIO)] == ["aac"]


def test_alac_and_opus_are_copied_into_mp4(make_file: MakeMedia) -> None:
    """Measured: both go into MP4 with ffmpeg 5.1 without experimental flags."""
    path = make_file(
        audio=(
            AudioSpec("eng", default=True, codec="alac"),
            AudioSpec("ger", codec="libopus"),
        )
    )
    policy = _policy('[container]\nformat = "mp4"\non_incompatible = "error"\n')
    after, predicted = apply(path, policy, PassKind.FFMPEG)
    assert all(t.transcode is None for t in predicted.tracks)
    assert [t.codec for t in after.of_type(TrackType.AUDIO)] == ["alac", "opus"]


def test_an_incompatible_codec_can_be_transcoded_instead(make_file: MakeMedia) -> None:
    path = make_file(audio=(AudioSpec("eng", default=True, codec="pcm_s16le"),))
    policy = _policy('[container]\nformat = "mp4"\non_incompatible = "transcode"\n')
    after, _ = apply(path, policy, PassKind.FFMPEG)
    assert [t.codec for t in after.of_type(TrackType.AUDIO)] == ["aac"]
