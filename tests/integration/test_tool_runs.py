"""How many tool processes one file costs, counted with logging wrappers (issue 10).

A remux runs ffprobe (streams and the source's last packets in one run), mkvmerge
and one verifying ffprobe; a dry run only the probe. A run after a dry run reuses
the dry run's probe of every unchanged file: two processes for a remux, none for
a compliant file; a file changed in between is probed again.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

from tests.commands import logging_tools, vpo
from tests.conftest import AudioSpec, MakeMedia
from tests.real_library import CHAPTERS, add_chapters
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus, ToolPaths
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.policy.load import parse_policy

KEEP_ENG = parse_policy('name = "eng"\n[audio]\nkeep = ["eng"]\n', "eng.toml")
TWO_AUDIO = (AudioSpec("eng", default=True), AudioSpec("ger"))
FFPROBE = shutil.which("ffprobe") or "ffprobe"


def _calls(log: Path, name: str) -> list[str]:
    """The logged tools that ran on the file called ``name``, in order."""
    if not log.exists():
        return []
    return [line.split(" ", 1)[0] for line in log.read_text().splitlines() if name in line]


def _wrapped(tmp_path: Path) -> tuple[EngineSettings, Path]:
    cfg, log = logging_tools(tmp_path)
    paths = {}
    for line in cfg.read_text().splitlines()[1:]:
        key, value = line.split(" = ")
        paths[key] = json.loads(value)
    return EngineSettings(tools=ToolPaths(**paths)), log


def test_a_remux_runs_three_tools_and_a_dry_run_one(make_file: MakeMedia, tmp_path: Path) -> None:
    settings, log = _wrapped(tmp_path)
    dry = make_file("dry.mkv", audio=TWO_AUDIO)
    real = make_file("real.mkv", audio=TWO_AUDIO)
    assert process_file(FileJob(dry, KEEP_ENG, settings, dry_run=True)).status is FileStatus.PLANNED
    result = process_file(FileJob(real, KEEP_ENG, settings))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "dry.mkv") == ["ffprobe"]
    assert _calls(log, "real.mkv") == ["ffprobe", "mkvmerge", "ffprobe"]
    assert [t.language for t in probe(real, FFPROBE).tracks[1:]] == ["eng"]


def test_a_kept_probe_is_reused_only_for_the_unchanged_file(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    settings, log = _wrapped(tmp_path)
    path = make_file("movie.mkv", audio=TWO_AUDIO)
    planned = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True))
    assert planned.status is FileStatus.PLANNED and planned.probe is not None
    # the same bytes, size and mtime, but another file (a copy put in its place)
    st = path.stat()
    copy = path.with_name("copy.tmp")
    shutil.copyfile(path, copy)
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(copy, path)
    log.unlink()
    again = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True, known=planned.probe))
    assert again.status is FileStatus.PLANNED
    assert _calls(log, "movie.mkv") == ["ffprobe"]  # probed again: the inode differs
    assert again.probe is not None and again.probe != planned.probe
    log.unlink()
    result = process_file(FileJob(path, KEEP_ENG, settings, known=again.probe))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "movie.mkv") == ["mkvmerge", "ffprobe"]  # the kept probe was used


def test_an_unreadable_kept_probe_is_probed_again(make_file: MakeMedia, tmp_path: Path) -> None:
    settings, log = _wrapped(tmp_path)
    path = make_file("movie.mkv", audio=TWO_AUDIO)
    planned = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True))
    assert planned.probe is not None
    broken = type(planned.probe)(planned.probe.fingerprint, '{"version": 0}')
    log.unlink()
    result = process_file(FileJob(path, KEEP_ENG, settings, known=broken))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "movie.mkv") == ["ffprobe", "mkvmerge", "ffprobe"]


def test_mkvmerges_answer_is_kept_with_the_probe(make_file: MakeMedia, tmp_path: Path) -> None:
    """An MP4 source needs ``mkvmerge -J`` (its IDs are not derived): asked by the dry
    run, kept with its probe, not asked again by the run."""
    settings, log = _wrapped(tmp_path)
    path = make_file("movie.mp4", audio=TWO_AUDIO)
    to_mkv = parse_policy('name = "m"\n[container]\nformat = "mkv"\n', "m.toml")
    planned = process_file(FileJob(path, to_mkv, settings, dry_run=True))
    assert planned.status is FileStatus.PLANNED and planned.pass_kind == "mkvmerge"
    assert _calls(log, "movie.mp4") == ["ffprobe", "mkvmerge"]
    log.unlink()
    result = process_file(FileJob(path, to_mkv, settings, known=planned.probe))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "movie.") == ["mkvmerge", "ffprobe"]
    assert result.output_path == path.with_suffix(".mkv") and not path.exists()


def test_headless_dry_run_then_run_reuses_the_probes(make_file: MakeMedia, tmp_path: Path) -> None:
    cfg, log = logging_tools(tmp_path)
    lib = tmp_path / "lib"
    lib.mkdir()
    make_file("remux.mkv", folder=lib, audio=TWO_AUDIO)
    make_file("compliant.mkv", folder=lib, audio=(AudioSpec("eng", default=True),))
    touched = make_file("touched.mkv", folder=lib, audio=TWO_AUDIO)
    db = tmp_path / "history.sqlite"
    args = ("--config", str(cfg), "--db", str(db), "--policy", "english-only", str(lib))
    dry = vpo(tmp_path, "--dry-run", "--json", *args)
    assert dry.returncode == 0, dry.stderr
    assert Counter(line.split(" ", 1)[0] for line in log.read_text().splitlines()) == {"ffprobe": 3}
    log.unlink()
    os.utime(touched)  # changed after the dry run: its probe must not be reused
    done = vpo(tmp_path, "--json", *args)
    assert done.returncode == 0, done.stderr
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(done.stdout)["files"]}
    assert statuses == {"remux.mkv": "ok", "compliant.mkv": "unchanged", "touched.mkv": "ok"}
    assert _calls(log, "remux.mkv") == ["mkvmerge", "ffprobe"]
    assert _calls(log, "compliant.mkv") == []
    assert _calls(log, "touched.mkv") == ["ffprobe", "mkvmerge", "ffprobe"]


def test_a_cut_whose_end_the_probe_cannot_reach_is_measured_apart(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    """An MP4 with its index up front, cut short: the index promises samples past the
    end of the file, so the probe's read of the last packets finds none. The end is
    then read near the header's figure, one ffprobe more, and the cut is refused."""
    import subprocess

    from tests.conftest import sha256
    from vpo_tui.samples import make_truncated

    settings, log = _wrapped(tmp_path)
    source = make_file("source.mp4", duration=6.0, audio=TWO_AUDIO)
    front = tmp_path / "front.mp4"
    argv = ["ffmpeg", "-v", "error", "-i", str(source), "-map", "0", "-c", "copy"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "10"]  # a keyframe past the cut
    subprocess.run([*argv, "-movflags", "+faststart", str(front)], check=True)
    cut = make_truncated(front, tmp_path / "cut.mp4", keep=0.5)
    digest = sha256(cut)
    for dry_run in (True, False):
        result = process_file(FileJob(cut, KEEP_ENG, settings, dry_run=dry_run))
        assert result.status is FileStatus.FAILED
        assert "truncated or damaged: the header says" in (result.error or ""), result.error
    assert sha256(cut) == digest
    assert _calls(log, "cut.mp4") == ["ffprobe", "ffprobe"] * 2


def test_a_kept_probe_keeps_the_chapters(make_file: MakeMedia, tmp_path: Path) -> None:
    """The run that reuses a dry run's probe knows the source's chapters, so they are
    carried and verified exactly as on a cold run."""
    settings, log = _wrapped(tmp_path)
    path = add_chapters(make_file("movie.mkv", audio=TWO_AUDIO))
    chapters = probe(path, FFPROBE).chapters
    assert len(chapters) == len(CHAPTERS)
    planned = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True))
    assert planned.probe is not None
    log.unlink()
    result = process_file(FileJob(path, KEEP_ENG, settings, known=planned.probe))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "movie.mkv") == ["mkvmerge", "ffprobe"]  # the kept probe was used
    assert probe(path, FFPROBE).chapters == chapters
