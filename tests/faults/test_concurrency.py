"""Two and three vpo-tui processes at once on overlapping folders, one database.

Each file must be processed exactly once (one ``ok`` over all processes; the
others see it locked → ``skipped`` or already compliant → ``unchanged``), end
valid, and the shared SQLite database must pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    FAULT_TOOLS,
    RunResult,
    Workspace,
    assert_all_compliant,
    assert_no_orphans,
    assert_nothing_lost,
    finish,
    run_vpo,
    snapshot,
    spawn_vpo,
    temp_files,
    wait_for,
)
from tests.faults.history import integrity_check, job_rows
from tests.faults.libraries import (
    REMUX_TOML,
    SLOW_TRANSCODE_TOML,
    copy_library,
    transcode_library,
)

# which folders each process is given: every folder is shared by two processes
LAYOUTS = {
    2: (("A", "B"), ("B", "C")),
    3: (("A", "B"), ("B", "C"), ("C", "A")),
}


def _run_overlapping(
    ws: Workspace, template: Path, processes: int
) -> tuple[dict[Path, str], Path, list[RunResult]]:
    for folder in "ABC":
        copy_library(template, ws.library / folder, limit=3)
    before = snapshot(ws.library)
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX_TOML, encoding="utf-8")
    ws.write_config(processing={"workers": 2, "max_workers": 2})
    procs = [
        spawn_vpo(ws, str(policy), [ws.library / f for f in folders])
        for folders in LAYOUTS[processes]
    ]
    return before, policy, [finish(p, timeout_s=120) for p in procs]


@pytest.mark.parametrize("processes", [2, 3])
def test_overlapping_processes_process_each_file_once(
    ws: Workspace, remux_template: Path, tally: Tally, processes: int
) -> None:
    before, policy, results = _run_overlapping(ws, remux_template, processes)
    oks: Counter[Path] = Counter()
    for result in results:
        for path, entry in result.by_path().items():
            status = entry["status"]
            assert status in {"ok", "unchanged", "skipped"}, (path, entry, result.stderr)
            if status == "ok":
                oks[path] += 1
    assert all(n == 1 for n in oks.values()), [p for p, n in oks.items() if n > 1]
    assert set(oks) == set(before), "every file needed work and was done exactly once"
    assert temp_files(ws.library) == []
    assert_no_orphans(ws.marker)
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == len(before)
    assert assert_all_compliant(ws.library, str(policy)) == len(before)
    assert integrity_check(ws.db) == "ok"
    assert not [j for j in job_rows(ws.db) if j.status == "running"]
    tally.add("concurrent_runs", processes)
    tally.files(outcome.total)


def test_a_file_converted_by_another_process_is_not_a_failure(
    ws: Workspace, remux_template: Path
) -> None:
    """Deterministic: the second process has discovered the folder, the first one does it.

    Found by this suite (BUG-2, fixed in c18b308): x.mp4, remuxed to x.mkv by the other
    process, was reported "failed: file vanished" and the run exited 1.
    """
    folder = ws.library / "B"
    copy_library(remux_template, folder, limit=4)
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX_TOML, encoding="utf-8")
    held = replace(ws, config=ws.root / "held.toml")
    # the hold is in ffprobe: that process probes with it, not in-process (issue 18)
    held.write_config(tools={"ffprobe": FAULT_TOOLS / "held_ffprobe"}, probe={"backend": "ffprobe"})
    late = spawn_vpo(held, str(policy), [folder], "--workers", "1")
    wait_for(lambda: (folder / ".vpo-fault-held").exists(), 30, "the held process to probe")
    first = run_vpo(ws, str(policy), [folder])
    # the held process locked its first file: the rest is done here, mp4s become mkv
    assert first.returncode == 0, first.stderr
    assert sorted(first.statuses().values()) == ["ok", "ok", "ok", "skipped"], first.document
    (folder / ".vpo-fault-release").touch()
    second = finish(late)
    failed = {p: e["error"] for p, e in second.by_path().items() if e["status"] == "failed"}
    assert not failed, failed
    assert second.returncode == 0, second.stderr


def test_a_second_start_up_leaves_a_live_runs_temp_and_jobs_alone(
    ws: Workspace, tally: Tally
) -> None:
    """Start-up recovery must tell a dead run from a live one (same db, same folder)."""
    transcode_library(ws.library, count=1, duration=3.0)
    before = snapshot(ws.library)
    (original,) = before
    policy = ws.root / "slow.toml"
    policy.write_text(SLOW_TRANSCODE_TOML, encoding="utf-8")
    first = spawn_vpo(ws, str(policy), [ws.library])
    wait_for(lambda: temp_files(ws.library), 60, "the first run's temp file")
    (temp,) = temp_files(ws.library)
    second = run_vpo(ws, str(policy), [ws.library])
    assert temp.exists(), "the second start-up swept a live run's temp file"
    assert second.statuses() == {original: "skipped"}, second.document
    assert "locked" in second.by_path()[original]["error"]
    done = finish(first)
    assert done.returncode == 0 and done.statuses() == {original: "ok"}, done.stderr
    statuses = sorted(j.status for j in job_rows(ws.db))
    assert statuses == ["ok", "skipped"], statuses  # nothing marked interrupted
    assert temp_files(ws.library) == []
    assert assert_all_compliant(ws.library, str(policy)) == 1
    assert integrity_check(ws.db) == "ok"
    tally.add("concurrent_runs", 2)
    tally.files(1)
