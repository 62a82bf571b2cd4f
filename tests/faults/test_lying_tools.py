"""Tools that lie, configured the way a user would: ``[tools]`` in ``--config``.

The engine's tests call ``process_file`` with fake tool paths; here the whole
headless run does: config parsing, the batch, the JSON report, the exit code. Each
stand-in exits 0 with an empty / truncated / wrong output, dies by a signal, hangs
past ``[processing] tool_timeout``, or prints garbage progress. Verification must
refuse every wrong output (status ``failed``, the cause named per file), the
originals stay byte-identical, no temp file or tool process is left, and the batch
goes on to the next file under ``on_error = "skip"``.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    ENGINE_FAKE_TOOLS,
    Workspace,
    assert_all_compliant,
    assert_no_orphans,
    assert_nothing_lost,
    finish,
    run_vpo,
    snapshot,
    spawn_vpo,
    temp_files,
)
from vpo_tui.policy.load import parse_policy
from vpo_tui.samples import AudioSpec, SampleSpec, make_media

TO_MP4 = 'name = "to-mp4"\non_error = "skip"\n[container]\nformat = "mp4"\n'  # ffmpeg pass
REMUX = 'name = "remux"\non_error = "skip"\n[audio]\nkeep = ["eng"]\n'  # mkvmerge pass
REMUX_POLICY = parse_policy(REMUX, "remux.toml")

LIARS = [
    # (tool, stand-in, policy, what the per-file error must say)
    ("ffmpeg", "write_empty", TO_MP4, "verification failed"),
    ("ffmpeg", "ffmpeg_truncated", TO_MP4, "verification failed"),
    ("ffmpeg", "ffmpeg_wrong_file", TO_MP4, "verification failed"),
    ("ffmpeg", "write_garbage", TO_MP4, "verification failed"),
    ("mkvmerge", "mkvmerge_truncated", REMUX, "verification failed"),
    ("ffmpeg", "sigkill_self", TO_MP4, "killed by SIGKILL"),
    # mkvmerge's exit 1 means "warnings, output written": its empty output is refused
    ("mkvmerge", "exit_nonzero", REMUX, "verification failed"),
    ("mkvmerge", "mkvmerge_exit2", REMUX, "exit code 2"),
    ("ffmpeg", "hang", TO_MP4, "timed out"),
]


def _library(ws: Workspace) -> dict[Path, str]:
    spec = SampleSpec(duration=1.5, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    for name in ("first movie.mkv", "second movie.mkv"):
        make_media(ws.library / name, spec)
    return snapshot(ws.library)


@pytest.mark.parametrize(
    ("tool", "liar", "toml", "cause"), LIARS, ids=[f"{t}-{liar}" for t, liar, *_ in LIARS]
)
def test_a_lying_tool_never_replaces_an_original(
    ws: Workspace, tally: Tally, tool: str, liar: str, toml: str, cause: str
) -> None:
    before = _library(ws)
    policy = ws.root / "policy.toml"
    policy.write_text(toml, encoding="utf-8")
    ws.write_config(
        tools={tool: ENGINE_FAKE_TOOLS / liar},
        processing={"tool_timeout": 1.5, "workers": 1},
    )
    result = run_vpo(ws, str(policy), [ws.library])
    assert result.returncode == 1, (result.returncode, result.stderr)
    files = result.by_path()
    assert set(files) == set(before), "every file is reported: the batch went on"
    for path in before:
        entry = files[path]
        assert entry["status"] == "failed", entry
        assert str(path) in entry["error"] and cause in entry["error"], entry["error"]
    assert temp_files(ws.library) == []
    assert_no_orphans(ws.marker)
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.processed == ()
    assert not list(ws.library.glob("*.mp4")), "no output may appear next to the original"
    tally.add("lying_tools")
    tally.add("orphan_checks")
    tally.files(outcome.total)


def test_garbage_progress_is_ignored_and_the_work_still_done(ws: Workspace, tally: Tally) -> None:
    before = _library(ws)
    policy = ws.root / "policy.toml"
    policy.write_text(TO_MP4, encoding="utf-8")
    ws.write_config(tools={"ffmpeg": ENGINE_FAKE_TOOLS / "ffmpeg_garbage_progress"})
    result = run_vpo(ws, str(policy), [ws.library])
    assert result.returncode == 0, result.stderr
    assert set(result.statuses().values()) == {"ok"}, result.document
    assert temp_files(ws.library) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == len(before)
    assert assert_all_compliant(ws.library, str(policy)) == len(before)
    tally.add("lying_tools")
    tally.files(outcome.total)


def test_a_missing_configured_tool_stops_before_touching_anything(
    ws: Workspace, tally: Tally
) -> None:
    before = _library(ws)
    policy = ws.root / "policy.toml"
    policy.write_text(REMUX, encoding="utf-8")
    ws.write_config(tools={"mkvmerge": ws.root / "no such tool"})
    result = run_vpo(ws, str(policy), [ws.library])
    assert result.returncode in (1, 5), (result.returncode, result.stderr)
    assert "mkvmerge" in result.stderr + result.stdout
    assert temp_files(ws.library) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.processed == ()
    tally.add("lying_tools")
    tally.files(outcome.total)


def test_a_hanging_ffprobe_times_out_like_any_tool(ws: Workspace, tally: Tally) -> None:
    """Found by this suite (BUG-4, fixed in e886b0c): probes waited a fixed 120 s."""
    before = _library(ws)
    policy = ws.root / "policy.toml"
    policy.write_text(REMUX, encoding="utf-8")
    ws.write_config(
        tools={"ffprobe": ENGINE_FAKE_TOOLS / "hang"},
        processing={"tool_timeout": 1.5, "workers": 1},
        # ffprobe's own timeout; a hanging in-process probe: test_probe_helpers.py
        probe={"backend": "ffprobe"},
    )
    proc = spawn_vpo(ws, str(policy), [ws.library])
    try:
        proc.wait(timeout=20)  # two files x 1.5 s, plus the kill grace and start-up
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGTERM)  # vpo-tui's own kill path: tools go too
    result = finish(proc, timeout_s=30)
    assert temp_files(ws.library) == []
    assert assert_nothing_lost(before, REMUX_POLICY).processed == ()
    assert result.returncode == 1, (result.returncode, result.stderr)
    for path in before:
        entry = result.by_path()[path]
        assert entry["status"] == "failed" and "timed out" in entry["error"], entry
    tally.add("lying_tools")
