"""Folders that real libraries contain (issue 17), through the real tools, headless.

- a file name that is not valid UTF-8 (``caf\\xe9.mkv``, copied from an old Samba share);
- a FIFO, a socket and a folder named ``*.mkv``, given or found in a folder;
- two names of one inode (hard links), in the batch or outside it;
- symbolic links to files.

Each is processed or reported with its reason: nothing lost, nothing hung, no
traceback, the history complete.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.faults.conftest import Tally
from tests.faults.harness import (
    Workspace,
    assert_nothing_lost,
    run_vpo,
    snapshot,
    temp_files,
)
from vpo_tui.samples import AudioSpec, SampleSpec, make_media

REMUX_TO_MKV = (
    'name = "remux"\non_error = "skip"\n[container]\nformat = "mkv"\n[audio]\nkeep = ["eng"]\n'
)
SPEC = SampleSpec(duration=1.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))


def _policy(ws: Workspace) -> Path:
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX_TO_MKV, encoding="utf-8")
    return policy


def _vpo(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VPO_TUI_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "vpo_tui", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _history(ws: Workspace, batch: int) -> dict[str, object]:
    done = _vpo(ws, "history", "--db", str(ws.db), "--json", str(batch))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


def test_a_name_that_is_not_utf8_is_a_file_like_any_other(ws: Workspace, tally: Tally) -> None:
    lib = ws.library
    good = make_media(lib / "good.mkv", SPEC)
    cafe = Path(os.fsdecode(bytes(lib) + b"/caf\xe9.mkv"))
    bebe = Path(os.fsdecode(bytes(lib) + b"/b\xe9b\xe9.mp4"))
    make_media(cafe, SPEC)
    make_media(bebe, SPEC)
    before = snapshot(lib)
    assert set(before) == {good, cafe, bebe}
    policy = _policy(ws)

    result = run_vpo(ws, str(policy), [lib])

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr
    assert "warning" not in result.stderr, result.stderr
    files = result.by_path()
    assert {p: f["status"] for p, f in files.items()} == {good: "ok", cafe: "ok", bebe: "ok"}
    for path, entry in files.items():  # the exact bytes, for a strict parser
        assert base64.b64decode(entry["path_bytes_b64"]) == os.fsencode(path)
    bebe_mkv = bebe.with_suffix(".mkv")
    assert base64.b64decode(files[bebe]["output_path_bytes_b64"]) == os.fsencode(bebe_mkv)
    assert os.path.exists(os.fsencode(bebe_mkv)) and not os.path.exists(os.fsencode(bebe))
    assert temp_files(lib) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert len(outcome.processed) == 3

    # the history holds every file, with its exact name
    assert result.document is not None
    history = _history(ws, result.document["batch_id"])
    jobs = history["files"]
    assert isinstance(jobs, list)
    assert sorted(base64.b64decode(j["path_bytes_b64"]) for j in jobs) == sorted(
        os.fsencode(p) for p in (good, cafe, bebe)
    )
    shown = _vpo(ws, "history", "--db", str(ws.db), str(result.document["batch_id"]))
    assert "caf\\xe9.mkv" in shown.stdout and "b\\xe9b\\xe9.mp4" in shown.stdout, shown.stdout

    # the probe cache holds them too: a second run finds all three compliant, and the
    # console shows the name visibly escaped, on one line
    again = _vpo(
        ws, "--no-tui", "--policy", str(policy), "--db", str(ws.db),
        "--config", str(ws.config), str(lib),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = [line for line in again.stderr.splitlines() if line.startswith("[")]
    assert sorted(lines) == sorted(
        f"[{n}/3] unchanged {lib}/{name}"
        for n, name in zip((1, 2, 3), ("b\\xe9b\\xe9.mkv", "caf\\xe9.mkv", "good.mkv"), strict=True)
    ), again.stderr
    tally.add("hostile_inputs", 2)
    tally.files(outcome.total)
