"""A PyAV probe that never returns, or that aborts its process, costs only its file (issue 18).

libavformat runs in probe helper processes; the helper's test hook
(``VPO_TUI_PROBE_FAULT``) makes it hang or ``abort()`` on the files a test
names, standing in for a demuxer that spins or crashes. Each such file must end
read by ffprobe (or as a per-file error), the batch must finish, nothing may be
lost, and no helper may be left running, even when vpo-tui itself is killed.
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
    assert_nothing_lost,
    finish,
    run_vpo,
    snapshot,
    spawn_vpo,
    wait_for,
)
from tests.processes import still_running
from vpo_tui.engine.probe_helper import FAULT_ENV
from vpo_tui.engine.probe_pool import FallBack, HelperPool
from vpo_tui.samples import AudioSpec, SampleSpec, make_media

REMUX = 'name = "remux"\non_error = "skip"\n[audio]\nkeep = ["eng"]\n'
SPEC = SampleSpec(duration=1.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
MARKER_ENV = "VPO_TUI_FAULT_MARKER"  # set for the run, inherited by its helpers: finds them


def helpers_of(marker: str) -> list[int]:
    """Live probe helpers whose environment carries ``marker`` (not this test's own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        wanted = f"{MARKER_ENV}={marker}".encode()
        ours = f"VPO_TUI_PROBE_PARENT={os.getpid()}".encode()
        variables = environ.split(b"\0")
        helper = b"vpo_tui.engine.probe_helper" in cmdline
        if helper and wanted in variables and ours not in variables:
            found.append(int(entry.name))
    return still_running(found, timeout_s=0)


def _gone(marker: str, timeout_s: float = 5.0) -> bool:
    """Whether every helper of ``marker`` is gone (waiting a moment: they end at EOF)."""
    deadline = time.monotonic() + timeout_s
    while helpers_of(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not helpers_of(marker)


def _logging_ffprobe(ws: Workspace) -> Path:
    """An ffprobe that logs the file it was asked about, then is the real one."""
    log = ws.root / "ffprobe.log"
    wrapper = ws.root / "bin" / "ffprobe"
    wrapper.parent.mkdir(exist_ok=True)
    real = "/usr/bin/ffprobe" if Path("/usr/bin/ffprobe").exists() else "ffprobe"
    wrapper.write_text(f'#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> "{log}"\n'
                       f'exec {real} "$@"\n')  # fmt: skip
    wrapper.chmod(0o755)
    return log


def test_a_hanging_and_an_aborting_probe_each_end_as_ffprobe_reads(
    ws: Workspace, tally: Tally, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["good one.mkv", "HANG me.mkv", "CRASH me.mkv", "good two.mkv"]
    for name in names:
        make_media(ws.library / name, SPEC)
    log = _logging_ffprobe(ws)
    ws.write_config(tools={"ffprobe": ws.root / "bin" / "ffprobe"}, processing={"tool_timeout": 4})
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX, encoding="utf-8")
    monkeypatch.setenv(FAULT_ENV, "hang:HANG me|abort:CRASH me")
    monkeypatch.setenv(MARKER_ENV, ws.marker)
    before = snapshot(ws.library)
    started = time.monotonic()
    result = run_vpo(ws, str(policy), [ws.library], "--workers", "2")
    took = time.monotonic() - started
    assert _gone(ws.marker)  # vpo-tui exited: its helpers with it
    assert result.returncode == 0, result.stderr
    statuses = {path.name: status for path, status in result.statuses().items()}
    assert statuses == dict.fromkeys(names, "ok"), result.document
    # read by ffprobe: the two files (and their outputs, which carry the same names)
    asked = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    assert any("HANG me" in line for line in asked) and any("CRASH me" in line for line in asked)
    assert not any("good" in line for line in asked), asked  # the good ones in-process
    # the hang cost its 4 s overrun (source and output), not the batch
    assert took < 60, took
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == len(names)
    tally.add("probe_faults", 2)
    tally.add("orphan_checks")
    tally.files(len(names))


def test_helpers_die_with_a_killed_vpo_tui_even_mid_hang(
    ws: Workspace, tally: Tally, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_media(ws.library / "HANG me.mkv", SPEC)
    monkeypatch.setenv(FAULT_ENV, "hang:HANG me")
    monkeypatch.setenv(MARKER_ENV, ws.marker)
    ws.write_config(processing={"tool_timeout": 60})
    before = snapshot(ws.library)
    proc = spawn_vpo(ws, "english-only", [ws.library])
    try:
        wait_for(lambda: helpers_of(ws.marker), 30, "a probe helper to start")
        time.sleep(1.0)  # it is now stuck in the injected hang
        assert helpers_of(ws.marker)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        finish(proc)
    assert _gone(ws.marker)  # PR_SET_PDEATHSIG: gone with its parent, even mid-hang
    assert snapshot(ws.library) == before
    tally.add("probe_faults")
    tally.add("orphan_checks")
    tally.files(1)


def test_the_pool_replaces_a_stuck_or_dead_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = make_media(tmp_path / "good.mkv", SPEC)
    hang = make_media(tmp_path / "HANG me.mkv", SPEC)
    crash = make_media(tmp_path / "CRASH me.mkv", SPEC)
    monkeypatch.setenv(FAULT_ENV, "hang:HANG me|abort:CRASH me")
    pool = HelperPool()
    try:
        assert pool.read(good, None, timeout_s=30).document["streams"]
        first = pool.pids()
        with pytest.raises(FallBack, match="did not finish within 2 s"):
            pool.read(hang, None, timeout_s=2)
        assert still_running(first) == []  # the stuck helper was killed
        with pytest.raises(FallBack, match="the probe helper died"):
            pool.read(crash, None, timeout_s=30)
        assert pool.read(good, None, timeout_s=30).document["streams"]  # a fresh helper
        assert [f.path for f in pool.fallbacks] == [str(hang), str(crash)]
        alive = pool.pids()
        assert len(alive) == 1
    finally:
        pool.shutdown()
    assert still_running(alive) == []


def test_a_kill_stops_a_stuck_probe_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kill (the batch's second stage) reaches a probe stuck in a helper: no 30 s wait."""
    import threading

    from vpo_tui.engine.control import Cancelled, FileControl

    hang = make_media(tmp_path / "HANG me.mkv", SPEC)
    monkeypatch.setenv(FAULT_ENV, "hang:HANG me")
    pool = HelperPool()
    control = FileControl()
    try:
        pool.status()  # a helper up, so the timing below is the probe's alone
        threading.Timer(0.5, control.cancel).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            pool.read(hang, None, timeout_s=30, control=control)
        assert time.monotonic() - started < 5
        assert list(pool.fallbacks) == [] and pool.pids() == []  # killed; not a fallback
    finally:
        pool.shutdown()
