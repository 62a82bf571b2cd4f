"""kill -9 of the whole ``vpo-tui --no-tui`` process at 20 seeded random moments.

Ten moments in a remux batch (mkvmerge, MKV and MP4 sources, container changes) and
ten in a transcode batch (x265, long enough that moments land inside the tool run),
aimed in turn at start-up/probe, a tool run, verification/commit and the moment after
a commit (observed from the process table and the folder), then a seeded random delay.
After each kill:

- no tool process naming the test's folder is alive (parent-death signal);
- every original is byte-identical or completely processed and valid (probe it,
  plan again → compliant);

and after the next start-up, which must finish the batch:

- no temp file is left anywhere;
- the history shows the jobs the kill interrupted as ``interrupted`` (none ``running``);
- every file complies with the policy, and the JSON says ok/unchanged for all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    Workspace,
    assert_all_compliant,
    assert_no_orphans,
    assert_nothing_lost,
    finish,
    kill9,
    run_vpo,
    running_tool,
    sha256,
    snapshot,
    spawn_vpo,
    temp_files,
    tool_processes,
    vpo_argv,
    wait_for,
)
from tests.faults.history import job_rows
from tests.faults.libraries import REMUX_TOML, TRANSCODE_TOML, copy_library
from vpo_tui.engine.safety import TEMP_MARKER

SEEDS = range(10)
FILES = {"remux": 4, "transcode": 2}
# Each seed aims at one phase of the work, observed from outside (the process table,
# the folder), then waits a seeded random delay, so the moments spread over the whole
# protocol whatever the machine's speed:
PHASES = ("probe", "tool", "verify", "between")
TOOL_DELAY = {"remux": 0.25, "transcode": 0.8}  # the upper bound of the delay in a tool run


def _writers(ws: Workspace) -> list[int]:
    """Tool processes writing one of our temp files right now."""
    return [pid for pid, cmd in tool_processes(ws.marker) if TEMP_MARKER in cmd]


def _committed(before: dict[Path, str]) -> bool:
    """At least one original was replaced (or renamed away) already."""
    return any(not p.exists() or sha256(p) != digest for p, digest in before.items())


def _wait_for_the_moment(
    proc: subprocess.Popen[str],
    ws: Workspace,
    before: dict[Path, str],
    phase: str,
    kind: str,
    rng: random.Random,
) -> None:
    """Sleep until the seeded moment of ``phase`` (or until vpo-tui ended on its own)."""

    def seen(condition: Callable[[], object]) -> Callable[[], object]:
        return lambda: condition() or proc.poll() is not None

    if phase == "probe":  # start-up, discovery, the first probes
        time.sleep(rng.uniform(0.05, 0.7))
    elif phase == "tool":  # while mkvmerge / ffmpeg writes the temp file
        wait_for(seen(lambda: _writers(ws)), 60, "a tool writing a temp file")
        time.sleep(rng.uniform(0.0, TOOL_DELAY[kind]))
    elif phase == "verify":  # just after the tool ended: verification, fsync, commit
        wait_for(seen(lambda: _writers(ws)), 60, "a tool writing a temp file")
        first = (_writers(ws) or [0])[0]
        wait_for(seen(lambda: first not in _writers(ws)), 60, "the tool to finish")
        time.sleep(rng.uniform(0.0, 0.12))
    else:  # after a commit: the next file's lock/probe/plan, or the end of the batch
        wait_for(seen(lambda: _committed(before)), 60, "a first committed file")
        time.sleep(rng.uniform(0.0, 0.3))


def _kill_and_recover(
    ws: Workspace, template: Path, toml: str, kind: str, seed: int, tally: Tally
) -> None:
    policy = ws.root / f"{kind}.toml"
    policy.write_text(toml, encoding="utf-8")
    # transcodes sit one folder down: the next start-up must sweep temps recursively
    target = ws.library / "Season 1" if kind == "transcode" else ws.library
    copy_library(template, target, limit=FILES[kind])
    ws.write_config(processing={"workers": 2, "max_workers": 2})
    before = snapshot(ws.library)
    rng = random.Random(f"{kind}-{seed}")
    phase = PHASES[seed % len(PHASES)]

    proc = spawn_vpo(ws, str(policy), [ws.library], "--workers", "2")
    try:
        _wait_for_the_moment(proc, ws, before, phase, kind, rng)
    finally:
        tools_running = running_tool(ws.marker, "ffmpeg") + running_tool(ws.marker, "mkvmerge")
        kill9(proc)
    if tools_running:
        tally.add("kills_in_tool_run")
    tally.add(f"kills_{phase}")

    assert_no_orphans(ws.marker)
    tally.add("orphan_checks")
    left_by_kill = temp_files(ws.library)
    outcome = assert_nothing_lost(before, str(policy))

    rerun = run_vpo(ws, str(policy), [ws.library], "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    statuses = set(rerun.statuses().values())
    assert statuses <= {"ok", "unchanged"}, rerun.document
    assert temp_files(ws.library) == [], "temp files survived the next start-up"
    assert assert_all_compliant(ws.library, str(policy)) == len(before)

    jobs = job_rows(ws.db)
    assert not [j for j in jobs if j.status == "running"], jobs
    killed_batch = min((j.batch_id for j in jobs if j.batch_id is not None), default=None)
    # a temp file proves its file was mid-way when the kill came: its job must say so
    for temp in left_by_kill:
        original = str(temp.with_name(temp.name[1:].split(TEMP_MARKER, 1)[0]))
        mine = [j for j in jobs if j.batch_id == killed_batch and j.path == original]
        assert [j.status for j in mine] == ["interrupted"], (original, jobs)
    tally.add("temps_swept", len(left_by_kill))
    tally.add("interrupted_jobs", sum(1 for j in jobs if j.status == "interrupted"))
    tally.add("kills")
    tally.files(outcome.total)


@pytest.mark.parametrize("seed", SEEDS)
def test_kill9_during_a_remux_batch(
    ws: Workspace, remux_template: Path, seed: int, tally: Tally
) -> None:
    _kill_and_recover(ws, remux_template, REMUX_TOML, "remux", seed, tally)


@pytest.mark.parametrize("seed", SEEDS)
def test_kill9_during_a_transcode_batch(
    ws: Workspace, transcode_template: Path, seed: int, tally: Tally
) -> None:
    _kill_and_recover(ws, transcode_template, TRANSCODE_TOML, "transcode", seed, tally)


def test_kill9_twice_in_a_row_then_finish(
    ws: Workspace, transcode_template: Path, tally: Tally
) -> None:
    """A crash during the recovery run itself: the third start still finishes cleanly."""
    policy = ws.root / "transcode.toml"
    policy.write_text(TRANSCODE_TOML, encoding="utf-8")
    copy_library(transcode_template, ws.library)
    before = snapshot(ws.library)
    for delay in (1.2, 0.9):
        proc = spawn_vpo(ws, str(policy), [ws.library], "--workers", "1")
        time.sleep(delay)
        kill9(proc)
        assert_no_orphans(ws.marker)
        assert_nothing_lost(before, str(policy))
    done = finish(spawn_vpo(ws, str(policy), [ws.library]))
    assert done.returncode == 0, done.stderr
    assert temp_files(ws.library) == []
    assert assert_all_compliant(ws.library, str(policy)) == len(before)
    assert not [j for j in job_rows(ws.db) if j.status == "running"]
    tally.add("kills", 2)
    tally.add("orphan_checks", 2)
    tally.files(len(before))


# The one moment a timer cannot hit: a container change puts ``x.mkv`` in place,
# then removes ``x.mp4``. The process kills itself with SIGKILL exactly between the
# two (os.unlink of the original), the state a kill -9 there leaves behind.
_DIE_BEFORE_UNLINK = """\
import os, signal, sys
target = os.environ["VPO_FAULT_DIE_BEFORE_UNLINK"]
real_unlink = os.unlink
def unlink(path, *args, **kwargs):
    if os.fspath(path) == target:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_unlink(path, *args, **kwargs)
os.unlink = unlink
from vpo_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_dying_before_unlink(ws: Workspace, policy: Path, original: Path) -> int:
    argv = vpo_argv(ws, str(policy), [ws.library], "--workers", "1")
    argv[1:3] = ["-c", _DIE_BEFORE_UNLINK]
    env = {**os.environ, "VPO_FAULT_DIE_BEFORE_UNLINK": str(original)}
    done = subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)
    return done.returncode


def _between_link_and_unlink(ws: Workspace, template: Path) -> tuple[Path, Path, dict[Path, str]]:
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX_TOML, encoding="utf-8")
    copy_library(template, ws.library, limit=2)  # title 00.mkv, title 01.mp4
    before = snapshot(ws.library)
    original = ws.library / "title 01.mp4"
    assert original in before
    assert _run_dying_before_unlink(ws, policy, original) == -signal.SIGKILL
    return policy, original, before


def test_kill9_between_the_new_container_file_and_removing_the_original(
    ws: Workspace, remux_template: Path, tally: Tally
) -> None:
    policy, original, before = _between_link_and_unlink(ws, remux_template)
    assert original.exists() and original.with_suffix(".mkv").exists()
    assert_no_orphans(ws.marker)
    outcome = assert_nothing_lost(before, str(policy))
    assert original in outcome.intact
    tally.add("kills")
    tally.add("kills_verify")
    tally.files(outcome.total)


def test_the_next_run_finishes_a_container_change_cut_short(
    ws: Workspace, remux_template: Path
) -> None:
    """Found by this suite (BUG-3, fixed in d29abde): every later run failed x.mp4 with
    "cannot change the container: x.mkv already exists" and never finished it."""
    policy, original, _before = _between_link_and_unlink(ws, remux_template)
    rerun = run_vpo(ws, str(policy), [ws.library])
    assert rerun.returncode == 0, rerun.document
    assert temp_files(ws.library) == []
    assert not original.exists(), "the interrupted commit is completed (or clearly resolved)"
    assert_all_compliant(ws.library, str(policy))
