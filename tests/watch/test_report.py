"""The morning report and retrying a failure group, from a real history.

The store part records results as the runner does and checks the figures; the
command part runs real batches with the real tools (one with a failing fake
``mkvmerge``), then ``vpo-tui report`` and ``vpo-tui retry --cause``, and probes
the files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.commands import env_for, vpo
from tests.conftest import AudioSpec, MakeMedia, sha256
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.store.history import HistoryStore
from vpo_tui.store.report import build_report, cause_of, group_failures

FAKE = Path(__file__).parents[1] / "integration" / "fake_tools"
FFPROBE = shutil.which("ffprobe") or "ffprobe"


def command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A subcommand (``report``, ``retry``) as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "vpo_tui", *args],
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _record(store: HistoryStore, results: list[FileResult], *, dry_run: bool = False) -> None:
    batch = store.begin_batch(
        policy_name="normalize",
        policy_digest="d",
        policy_source="builtin:normalize",
        workers=1,
        dry_run=dry_run,
        total=len(results),
    )
    for i, result in enumerate(results):
        store.job_finished(store.job_started(batch, i, result.path), result)


def test_cause_drops_the_file_name_and_the_numbers_that_differ() -> None:
    a = cause_of("/m/a.mkv: mkvmerge failed with exit code 2: cannot read a.mkv", "/m/a.mkv")
    b = cause_of("/m/b b.mkv: mkvmerge failed with exit code 2: cannot read b b.mkv", "/m/b b.mkv")
    assert a == b == "mkvmerge failed with exit code 2: cannot read <file>"
    space = "not enough free space in /m: need 1023.5 MiB, 12.0 MiB free"
    assert cause_of(f"/m/x.mkv: {space}", "/m/x.mkv") == (
        "not enough free space in /m: need # MiB, # MiB free"
    )
    assert cause_of("/m/a.mkv: exit code 1", "/m/a.mkv") != cause_of(
        "/m/a.mkv: exit code 2", "/m/a.mkv"
    )


def test_failures_group_by_cause_each_file_once_in_its_newest_failure() -> None:
    rows = [
        ("/m/a.mkv", "/m/a.mkv: stalled: ffmpeg made no progress for 10 min"),
        ("/m/b.mkv", "/m/b.mkv: stalled: ffmpeg made no progress for 10 min"),
        ("/m/c.mkv", "/m/c.mkv: unreadable (permission denied)"),
        ("/m/a.mkv", "/m/a.mkv: unreadable (permission denied)"),  # older failure of a
    ]
    groups = group_failures(rows)
    assert [(g.cause, g.paths) for g in groups] == [
        ("stalled: ffmpeg made no progress for 10 min", ("/m/a.mkv", "/m/b.mkv")),
        ("unreadable (permission denied)", ("/m/c.mkv",)),
    ]


def test_report_counts_sizes_time_and_days_and_leaves_dry_runs_out(tmp_path: Path) -> None:
    mib = 1024 * 1024
    with HistoryStore(tmp_path / "h.db") as store:
        _record(
            store,
            [
                FileResult(
                    Path("/m/a.mkv"),
                    FileStatus.OK,
                    duration_s=60.0,
                    source_size=10 * mib,
                    fingerprint=(7 * mib, 1),
                ),
                FileResult(
                    Path("/m/b.mkv"),
                    FileStatus.OK,
                    duration_s=30.0,
                    source_size=2 * mib,
                    fingerprint=(3 * mib, 1),
                ),
                FileResult(Path("/m/c.mkv"), FileStatus.UNCHANGED, fingerprint=(mib, 1)),
                FileResult(
                    Path("/m/d.mkv"), FileStatus.FAILED, error="/m/d.mkv: boom", duration_s=5
                ),
            ],
        )
        _record(
            store,
            [FileResult(Path("/m/e.mkv"), FileStatus.PLANNED, duration_s=1000.0)],
            dry_run=True,
        )
        report = build_report(store.pool, time.time() - 3600)
    assert (report.processed, report.unchanged, report.failed) == (2, 1, 1)
    assert report.saved_bytes == (10 + 2 - 7 - 3) * mib
    assert report.time_spent_s == 95.0  # the dry run's 1000 s are not work done
    assert [(g.cause, g.count) for g in report.failures] == [("boom", 1)]
    today = time.strftime("%Y-%m-%d")
    assert report.days[-1].day == today
    assert (report.days[-1].files, report.days[-1].saved_bytes) == (2, 2 * mib)
    assert sum(d.files for d in report.days) == 2


def test_report_of_an_old_window_is_empty(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        _record(store, [FileResult(Path("/m/a.mkv"), FileStatus.OK, duration_s=1.0)])
        report = build_report(store.pool, time.time() - 10 * 86400, time.time() - 9 * 86400)
    assert (report.processed, report.failed, report.time_spent_s) == (0, 0, 0.0)
    assert len(report.days) == 2 and all(d.files == 0 for d in report.days)


def test_a_failure_group_is_retried_at_once_and_reported(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    two = (AudioSpec("eng", default=True), AudioSpec("ger"))
    files = [make_file(f"{n}.mkv", folder=lib, audio=two) for n in ("one", "two", "three")]
    before = {f: sha256(f) for f in files}
    broken = tmp_path / "broken.toml"
    broken.write_text(f'[tools]\nmkvmerge = "{FAKE / "exit_nonzero"}"\n')

    failed = vpo(tmp_path, "--config", str(broken), "--json", str(lib))
    assert failed.returncode == 1, failed.stderr
    assert {f["status"] for f in json.loads(failed.stdout)["files"]} == {"failed"}
    assert {f: sha256(f) for f in files} == before  # originals untouched

    shown = command(tmp_path, "report", "--json")
    doc = json.loads(shown.stdout)
    assert doc["failed"] == 3 and doc["processed"] == 0
    [group] = doc["failures"]
    assert group["count"] == 3 and "output verification failed" in group["cause"]
    assert sorted(group["paths"]) == sorted(str(f) for f in files)
    text = command(tmp_path, "report").stdout
    assert "3 failed" in text and "output verification failed" in text

    nothing = command(tmp_path, "retry", "--cause", "no such cause")
    assert nothing.returncode == 4 and "no file whose last run" in nothing.stderr

    retried = command(tmp_path, "retry", "--cause", "OUTPUT VERIFICATION", "--json")
    assert retried.returncode == 0, retried.stderr
    assert "Retrying 3 files with policy normalize" in retried.stderr
    assert sorted(f["status"] for f in json.loads(retried.stdout)["files"]) == ["ok"] * 3
    for f in files:
        langs = [t.language for t in probe(f, FFPROBE).tracks if t.type.value == "audio"]
        assert langs == ["eng"]

    after = json.loads(command(tmp_path, "report", "--json").stdout)
    assert after["processed"] == 3 and after["failures"] == []  # fixed since: no group
    assert after["saved_bytes"] > 0  # a dropped audio track: each file got smaller
    assert after["bytes_after"] == sum(f.stat().st_size for f in files)
    again = command(tmp_path, "retry", "--cause", "verification")
    assert again.returncode == 4  # nothing left failing
