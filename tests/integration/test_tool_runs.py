"""How many tool processes one file costs, counted with logging wrappers (issues 10, 18).

The probes (streams and the source's last packets in one read) and the output's
verification read the files in-process with PyAV (issue 18): a cold remux runs
mkvmerge and nothing else, a dry run and a compliant file no tool at all. With
``[probe] backend = "ffprobe"`` a remux runs ffprobe, mkvmerge and one verifying
ffprobe, a dry run only the probe. A run after a dry run reuses the dry run's
probe of every unchanged file; a file changed in between is probed again (the
in-process reads are counted by the helper pool).
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
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus, ProbeBackend, ToolPaths
from vpo_tui.engine.probe import probe
from vpo_tui.engine.probe_pool import pool
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


def _wrapped(tmp_path: Path, backend: ProbeBackend = "auto") -> tuple[EngineSettings, Path]:
    cfg, log = logging_tools(tmp_path)
    paths = {}
    for line in cfg.read_text().splitlines()[1:]:
        key, value = line.split(" = ")
        paths[key] = json.loads(value)
    return EngineSettings(tools=ToolPaths(**paths), probe_backend=backend), log


def _read_in_process(path: Path) -> int:
    """How many times ``path`` was read by a PyAV helper so far.

    By the whole path, which is this test's own: the pool keeps the last 1,000 reads
    of the process, and under xdist other tests' ``movie.mkv`` share it.
    """
    return sum(1 for read in pool().reads if read == str(path))


def test_a_remux_runs_one_tool_and_a_dry_run_none(make_file: MakeMedia, tmp_path: Path) -> None:
    settings, log = _wrapped(tmp_path)
    dry = make_file("dry.mkv", audio=TWO_AUDIO)
    real = make_file("real.mkv", audio=TWO_AUDIO)
    compliant = make_file("compliant.mkv", audio=(AudioSpec("eng", default=True),))
    reads = pool().read_count
    assert process_file(FileJob(dry, KEEP_ENG, settings, dry_run=True)).status is FileStatus.PLANNED
    assert pool().read_count == reads + 1  # the dry run: one read (streams and last packets)
    result = process_file(FileJob(real, KEEP_ENG, settings))
    assert result.status is FileStatus.OK, result.error
    # the source (its last packets in the same read) and the output
    assert pool().read_count == reads + 3
    assert Path(pool().reads[-1]).name.startswith(".real.mkv.vpo-tmp")  # the output, verified
    done = process_file(FileJob(compliant, KEEP_ENG, settings))
    assert done.status is FileStatus.UNCHANGED, done.error
    assert _calls(log, "dry.mkv") == []
    assert _calls(log, "real.mkv") == ["mkvmerge"]
    assert _calls(log, "compliant.mkv") == []
    assert [t.language for t in probe(real, FFPROBE, backend="ffprobe").tracks[1:]] == ["eng"]


def test_with_the_ffprobe_backend_a_remux_runs_three_tools(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    settings, log = _wrapped(tmp_path, "ffprobe")
    dry = make_file("dry.mkv", audio=TWO_AUDIO)
    real = make_file("real.mkv", audio=TWO_AUDIO)
    reads = pool().read_count
    assert process_file(FileJob(dry, KEEP_ENG, settings, dry_run=True)).status is FileStatus.PLANNED
    result = process_file(FileJob(real, KEEP_ENG, settings))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "dry.mkv") == ["ffprobe"]
    assert _calls(log, "real.mkv") == ["ffprobe", "mkvmerge", "ffprobe"]
    assert pool().read_count == reads  # nothing read in-process


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
    reads = _read_in_process(path)
    again = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True, known=planned.probe))
    assert again.status is FileStatus.PLANNED
    assert _read_in_process(path) == reads + 1  # probed again: the inode differs
    assert again.probe is not None and again.probe != planned.probe
    result = process_file(FileJob(path, KEEP_ENG, settings, known=again.probe))
    assert result.status is FileStatus.OK, result.error
    assert _read_in_process(path) == reads + 1  # the kept probe was used
    assert _calls(log, "movie.mkv") == ["mkvmerge"]


def test_an_unreadable_kept_probe_is_probed_again(make_file: MakeMedia, tmp_path: Path) -> None:
    settings, log = _wrapped(tmp_path)
    path = make_file("movie.mkv", audio=TWO_AUDIO)
    planned = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True))
    assert planned.probe is not None
    broken = type(planned.probe)(planned.probe.fingerprint, '{"version": 0}')
    reads = _read_in_process(path)
    result = process_file(FileJob(path, KEEP_ENG, settings, known=broken))
    assert result.status is FileStatus.OK, result.error
    assert _read_in_process(path) == reads + 1  # probed again
    assert _calls(log, "movie.mkv") == ["mkvmerge"]


def test_mkvmerges_answer_is_kept_with_the_probe(make_file: MakeMedia, tmp_path: Path) -> None:
    """An MP4 source needs ``mkvmerge -J`` (its IDs are not derived): asked by the dry
    run, kept with its probe, not asked again by the run."""
    settings, log = _wrapped(tmp_path)
    path = make_file("movie.mp4", audio=TWO_AUDIO)
    to_mkv = parse_policy('name = "m"\n[container]\nformat = "mkv"\n', "m.toml")
    planned = process_file(FileJob(path, to_mkv, settings, dry_run=True))
    assert planned.status is FileStatus.PLANNED and planned.pass_kind == "mkvmerge"
    assert _calls(log, "movie.mp4") == ["mkvmerge"]  # -J
    log.unlink()
    result = process_file(FileJob(path, to_mkv, settings, known=planned.probe))
    assert result.status is FileStatus.OK, result.error
    assert _calls(log, "movie.") == ["mkvmerge"]  # the pass only
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
    assert not log.exists()  # three files previewed, no tool run

    os.utime(touched)  # changed after the dry run: its probe must not be reused
    done = vpo(tmp_path, "--json", *args)
    assert done.returncode == 0, done.stderr
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(done.stdout)["files"]}
    assert statuses == {"remux.mkv": "ok", "compliant.mkv": "unchanged", "touched.mkv": "ok"}
    assert _calls(log, "remux.mkv") == ["mkvmerge"]
    assert _calls(log, "compliant.mkv") == []
    assert _calls(log, "touched.mkv") == ["mkvmerge"]
    assert Counter(line.split(" ", 1)[0] for line in log.read_text().splitlines()) == {
        "mkvmerge": 2
    }


def test_a_cut_whose_end_the_probe_cannot_reach_is_measured_apart(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    """An MP4 with its index up front, cut short: the index promises samples past the
    end of the file, so the probe's read of the last packets finds none. The end is
    then read near the header's figure (in-process too), and the cut is refused."""
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
    assert _calls(log, "cut.mp4") == []
    assert _read_in_process(cut) == 4  # the probe and the read near the end, twice


def test_a_kept_probe_keeps_the_chapters(make_file: MakeMedia, tmp_path: Path) -> None:
    """The run that reuses a dry run's probe knows the source's chapters, so they are
    carried and verified exactly as on a cold run."""
    settings, log = _wrapped(tmp_path)
    path = add_chapters(make_file("movie.mkv", audio=TWO_AUDIO))
    chapters = probe(path, FFPROBE).chapters
    assert len(chapters) == len(CHAPTERS)
    planned = process_file(FileJob(path, KEEP_ENG, settings, dry_run=True))
    assert planned.probe is not None
    reads = _read_in_process(path)
    result = process_file(FileJob(path, KEEP_ENG, settings, known=planned.probe))
    assert result.status is FileStatus.OK, result.error
    assert _read_in_process(path) == reads  # the kept probe was used
    assert _calls(log, "movie.mkv") == ["mkvmerge"]
    assert probe(path, FFPROBE).chapters == chapters
