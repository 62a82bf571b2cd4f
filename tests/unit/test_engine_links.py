"""The note a change gets when the file has other names (hard links)."""

from __future__ import annotations

import os
from pathlib import Path

from vpo_tui.engine.links import other_names_note


def test_other_names_are_counted_and_the_extra_disk_said(tmp_path: Path) -> None:
    path = tmp_path / "a.mkv"
    path.write_bytes(b"x")
    assert other_names_note(path.stat(), 10) is None
    os.link(path, tmp_path / "b.mkv")
    assert other_names_note(path.stat(), 300_000) == (
        "1 other name (a hard link) keeps the original; the change uses 293 KiB more disk"
    )
    os.link(path, tmp_path / "c.mkv")
    assert other_names_note(path.stat(), 5 * 1024 * 1024) == (
        "2 other names (hard links) keep the original; the change uses 5.0 MiB more disk"
    )


def test_a_cloned_change_shares_the_data(tmp_path: Path) -> None:
    path = tmp_path / "a.mkv"
    path.write_bytes(b"x")
    os.link(path, tmp_path / "b.mkv")
    assert other_names_note(path.stat(), 5 * 1024 * 1024, cloned=True) == (
        "1 other name (a hard link) keeps the original; the change is a clone sharing its "
        "data (little more disk)"
    )
