"""Every kind of bad input in one headless batch under ``on_error = "skip"``.

Each bad file gets its own clear error naming the file and the cause; the batch
goes on and the good files (odd names included) end processed and valid. Files that
vanish or change between probe and commit are made so by a stand-in mkvmerge that
runs the real one, then deletes or appends to the original (as a user might).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.faults.conftest import Tally
from tests.faults.harness import (
    FAULT_TOOLS,
    Workspace,
    assert_no_orphans,
    assert_nothing_lost,
    media_files,
    run_vpo,
    snapshot,
    temp_files,
)
from vpo_tui.samples import AudioSpec, SampleSpec, make_garbage, make_media, make_truncated

REMUX = 'name = "remux"\non_error = "skip"\n[audio]\nkeep = ["eng"]\n'
SPEC = SampleSpec(duration=1.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))

ODD_NAMES = [
    "with  spaces .mkv",
    'quote\'s "double" `back`.mkv',
    "ünïcødé ジャ.mkv",
    "new\nline.mkv",
    "-leading dash.mkv",
    "--output=x.mkv",
    ("é" * 122) + "xy.mkv",  # 250 bytes in UTF-8
]
# name -> (make it, what the error must say)
BAD = {
    "random bytes.mkv": "not a media file",
    "empty.mkv": "empty file",
    "truncated.mkv": "truncated",
    "VANISH me.mkv": "vanished",
    "CHANGE me.mkv": "changed while it was being processed",
}


def _make_bad(folder: Path, good: Path) -> None:
    make_garbage(folder / "random bytes.mkv", size=20_000, seed=7)
    (folder / "empty.mkv").write_bytes(b"")
    make_truncated(good, folder / "truncated.mkv", keep=0.4)
    make_media(folder / "VANISH me.mkv", SPEC)
    make_media(folder / "CHANGE me.mkv", SPEC)


def _make_loops(folder: Path) -> None:
    """A folder cycle (``loop/again -> ..``) and a pair of symlinks pointing at each other."""
    (folder / "loop").mkdir()
    os.symlink("..", folder / "loop" / "again")
    os.symlink("pair-b", folder / "pair-a")
    os.symlink("pair-a", folder / "pair-b")


def test_one_batch_of_every_bad_input(ws: Workspace, tally: Tally) -> None:
    lib = ws.library
    good = make_media(lib / "good.mkv", SPEC)
    for name in ODD_NAMES:
        assert len(name.encode()) <= 250
        make_media(lib / name, SPEC)
    _make_bad(lib, good)
    _make_loops(lib)
    before = snapshot(lib)
    assert len(before) == 1 + len(ODD_NAMES) + len(BAD)
    changed = lib / "CHANGE me.mkv"
    before[changed] = hashlib.sha256(changed.read_bytes() + b"new bytes").hexdigest()
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX, encoding="utf-8")
    ws.write_config(
        tools={"mkvmerge": FAULT_TOOLS / "alter_original_mkvmerge"},
        processing={"workers": 2, "max_workers": 2},
    )

    result = run_vpo(ws, str(policy), [lib])

    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.document is not None
    paths = [Path(f["path"]) for f in result.document["files"]]
    assert len(paths) == len(set(paths)), "a file was queued twice (through the loop?)"
    files = result.by_path()
    assert set(files) == set(before), sorted(set(files) ^ set(before))
    for name, cause in BAD.items():
        entry = files[lib / name]
        assert entry["status"] == "failed", entry
        assert str(lib / name) in entry["error"] and cause in entry["error"], entry["error"]
    for name in ["good.mkv", *ODD_NAMES]:
        entry = files[lib / name]
        assert entry["status"] == "ok", entry
    assert temp_files(lib) == []
    assert_no_orphans(ws.marker)
    outcome = assert_nothing_lost(before, str(policy), allow_missing=[lib / "VANISH me.mkv"])
    assert len(outcome.processed) == 1 + len(ODD_NAMES)
    assert changed.read_bytes().endswith(b"new bytes"), "the user's newer version is kept"
    tally.add("bad_inputs", len(BAD) + len(ODD_NAMES) + 1)  # +1: the symlink loops
    tally.files(outcome.total)


def test_unreadable_file_and_folders_and_a_read_only_folder(
    ws: Workspace, tally: Tally, permissions_enforced: None
) -> None:
    lib = ws.library
    make_media(lib / "good.mkv", SPEC)
    unreadable = make_media(lib / "unreadable.mkv", SPEC)
    locked_dir = lib / "no entry"
    make_media(locked_dir / "hidden away.mkv", SPEC)
    read_only = lib / "read only"
    stuck = make_media(read_only / "stuck.mkv", SPEC)
    before = snapshot(lib)
    policy = ws.root / "remux.toml"
    policy.write_text(REMUX, encoding="utf-8")
    unreadable.chmod(0)
    locked_dir.chmod(0)
    read_only.chmod(0o555)
    try:
        result = run_vpo(ws, str(policy), [lib], "--workers", "1")
    finally:
        unreadable.chmod(0o644)
        locked_dir.chmod(0o755)
        read_only.chmod(0o755)
    assert result.returncode == 1, (result.returncode, result.stderr)
    files = result.by_path()
    assert files[lib / "good.mkv"]["status"] == "ok"
    assert files[unreadable]["status"] == "failed"
    assert "permission denied" in files[unreadable]["error"]
    assert files[stuck]["status"] == "failed"
    assert f"cannot write in folder {read_only}" in files[stuck]["error"]
    assert str(locked_dir) in result.stderr, "an unreadable folder is reported, not fatal"
    assert temp_files(lib) == []
    outcome = assert_nothing_lost(before, str(policy))
    assert outcome.intact and media_files(lib)
    tally.add("bad_inputs", 3)
    tally.files(outcome.total)
