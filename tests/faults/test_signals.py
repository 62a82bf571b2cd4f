"""Signals to the headless process while a tool is running.

SIGINT once = stop (the running file finishes and is valid, nothing new starts);
SIGINT twice = kill; SIGTERM = kill; SIGHUP (the terminal went away) = kill. In every
case: exit code 130, the originals of unfinished files byte-identical, finished ones
valid, no temp file, and no tool process left in the process table.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    Workspace,
    assert_no_orphans,
    assert_nothing_lost,
    finish,
    running_tool,
    snapshot,
    spawn_vpo,
    temp_files,
    wait_for,
)
from tests.faults.libraries import SLOW_TRANSCODE_TOML, transcode_library


@pytest.fixture
def slow_batch(ws: Workspace) -> tuple[Path, dict[Path, str]]:
    """Two files whose x265 'veryslow' passes take a few seconds each."""
    policy = ws.root / "slow.toml"
    policy.write_text(SLOW_TRANSCODE_TOML, encoding="utf-8")
    transcode_library(ws.library, count=2, duration=3.0)
    ws.write_config(processing={"workers": 1})
    return policy, snapshot(ws.library)


def _start_and_wait_for_the_tool(ws: Workspace, policy: Path):  # type: ignore[no-untyped-def]
    proc = spawn_vpo(ws, str(policy), [ws.library])
    wait_for(lambda: running_tool(ws.marker, "ffmpeg"), 30, "ffmpeg to start")
    time.sleep(0.3)  # well inside the encode
    return proc


@pytest.mark.parametrize(
    "signals",
    [
        (signal.SIGINT, signal.SIGINT),
        (signal.SIGTERM,),
        (signal.SIGHUP,),
    ],
    ids=["sigint-twice", "sigterm", "sighup"],
)
def test_kill_signals_during_a_tool_run(
    ws: Workspace,
    slow_batch: tuple[Path, dict[Path, str]],
    tally: Tally,
    signals: tuple[signal.Signals, ...],
) -> None:
    policy, before = slow_batch
    proc = _start_and_wait_for_the_tool(ws, policy)
    for sig in signals:
        os.kill(proc.pid, sig)
        time.sleep(0.2)
    result = finish(proc, timeout_s=30)
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert_no_orphans(ws.marker)
    assert temp_files(ws.library) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.processed == (), "a killed encode must not be committed"
    if result.document is not None:  # --json: still one document, saying what happened
        statuses = set(result.statuses().values())
        assert statuses <= {"cancelled"}, result.document
        assert result.document["summary"]["stopped_early"] is True
    tally.add("signals")
    tally.add("orphan_checks")
    tally.files(outcome.total)


def test_sigint_once_stops_after_the_running_file(
    ws: Workspace, slow_batch: tuple[Path, dict[Path, str]], tally: Tally
) -> None:
    policy, before = slow_batch
    proc = _start_and_wait_for_the_tool(ws, policy)
    os.kill(proc.pid, signal.SIGINT)
    result = finish(proc, timeout_s=60)
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert "second ctrl-c" in result.stderr.lower() or "again" in result.stderr.lower(), (
        "the stop message should say a second Ctrl-C kills the running files"
    )
    assert_no_orphans(ws.marker)
    assert temp_files(ws.library) == []
    first, second = sorted(before)
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.processed == (first,), "the running file finishes (and is valid)"
    assert outcome.intact == (second,), "nothing new starts after a stop"
    statuses = result.statuses()
    assert statuses[first] == "ok" and statuses[second] == "cancelled", statuses
    tally.add("signals")
    tally.add("orphan_checks")
    tally.files(outcome.total)
