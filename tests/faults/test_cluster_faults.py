"""The Dask cluster's faults: the scheduler killed mid-batch, and strangers at its door.

A real ``dask scheduler`` and ``dask worker`` (subprocesses on 127.0.0.1, always
stopped). The scheduler is ``kill -9``-ed while a worker's ffmpeg encodes: vpo-tui
exits 1 saying so in one line (Dask's traceback goes to its log file), every
original is intact or fully converted, no temp file or tool survives. On a TLS
cluster, a client without the cluster's certificate, with another CA's, or on
plain TCP is refused and its code never runs.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.dask_processes import assert_all_refused, dask_processes, intruders
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
from vpo_tui.batch.cluster.certs import make_certs


def test_the_scheduler_killed_mid_batch(
    ws: Workspace, tally: Tally, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ws.root / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))  # the cluster log, away from $HOME
    policy = ws.root / "slow.toml"
    policy.write_text(SLOW_TRANSCODE_TOML, encoding="utf-8")
    transcode_library(ws.library, count=2, duration=3.0)
    before = snapshot(ws.library)
    with dask_processes(ws.root / "dask", None) as running:
        executor = f"dask://{running.hostport}"
        proc = spawn_vpo(ws, str(policy), [ws.library], "--executor", executor, "--workers", "1")
        try:
            wait_for(lambda: running_tool(ws.marker, "ffmpeg"), 60, "ffmpeg to start on the worker")
            os.killpg(running.scheduler.pid, signal.SIGKILL)
            result = finish(proc, timeout_s=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        # the worker saw its scheduler go: it cancels its file (tool and temp file)
        wait_for(lambda: not running_tool(ws.marker, "ffmpeg"), 30, "the worker's ffmpeg to end")
        wait_for(lambda: temp_files(ws.library) == [], 15, "the temp file to go")
    assert result.returncode == 1, result.stderr
    assert set(result.statuses().values()) == {"cancelled"}, result.document
    assert result.document is not None and result.document["summary"]["stopped_early"] is True
    lost = [line for line in result.stderr.splitlines() if "lost the Dask scheduler" in line]
    assert lost, result.stderr
    assert "Traceback" not in result.stderr and "distributed." not in result.stderr
    log = state / "vpo-tui" / "log" / "cluster.log"
    assert f"Dask's messages: {log}" in result.stderr
    assert "distributed" in log.read_text()
    assert_no_orphans(ws.marker)
    outcome = assert_nothing_lost(before, str(policy))
    tally.add("cluster_faults")
    tally.files(outcome.total)


def test_strangers_cannot_run_code_on_a_tls_cluster(tmp_path: Path, tally: Tally) -> None:
    certs = make_certs(tmp_path / "certs")
    other = make_certs(tmp_path / "other-ca")
    markers = tmp_path / "markers"
    with dask_processes(tmp_path / "dask", certs) as running:
        outcome = intruders(running.address, other, certs, markers)
    assert_all_refused(outcome, markers)
    tally.add("cluster_faults", len(outcome))
