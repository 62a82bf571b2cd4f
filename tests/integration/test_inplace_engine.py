"""A flags-only change through the engine: in place where safe, on a copy where not.

Real files, the real mkvpropedit, and lying mkvpropedit wrappers written per test
(garbage then exit 2, a wrong edit, a stray write into the media data, a hang).
Every failure must leave the original byte for byte, with no journal or temp file.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia, sha256
from vpo_tui.engine import edit_journal
from vpo_tui.engine.clone import folder_can_clone
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileJob, FileResult, FileStatus, ToolPaths
from vpo_tui.engine.matroska_layout import CLUSTER_ID, read_layout
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.policy.load import parse_policy
from vpo_tui.policy.model import Policy

DEFAULT_ENG = parse_policy(
    'name = "default-eng"\n[languages]\naudio = ["eng"]\nreorder = false\n'
    '[audio]\nkeep = ["eng", "fre"]\ndefault = "preferred"\n',
    "default-eng.toml",
)
REAL = shutil.which("mkvpropedit") or "mkvpropedit"


def _movie(make_file: MakeMedia, name: str = "movie.mkv") -> Path:
    path = make_file(name, duration=2.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    if folder_can_clone(path.parent):
        pytest.skip("this tmp folder can clone: the clone path is taken (test_inplace_clone.py)")
    return path


def _run(
    path: Path, policy: Policy = DEFAULT_ENG, control: FileControl | None = None, **settings: object
) -> FileResult:
    job = FileJob(path, policy, replace(EngineSettings(), **settings))  # type: ignore[arg-type]
    return process_file(job, control)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _english_default(path: Path) -> bool:
    media = probe(path, shutil.which("ffprobe") or "ffprobe")
    defaults = [t.language for t in media.tracks if t.type.value == "audio" and t.default]
    return defaults == ["eng"]


def _fake(tmp_path: Path, name: str, body: str) -> str:
    script = tmp_path / "bin" / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\nREAL="{REAL}"\ntarget="$1"\n{body}\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def _media_bytes(path: Path, layout_of: Path | None = None) -> bytes:
    """Every Cluster's bytes, in order (the media data an edit must never write)."""
    layout = read_layout(layout_of or path)
    data = path.read_bytes()
    return b"".join(data[e.offset : e.end] for e in layout.children if e.id == CLUSTER_ID)


def test_a_flags_only_change_is_made_in_place(make_file: MakeMedia) -> None:
    path = _movie(make_file)
    before = path.stat()
    media = _media_bytes(path)
    result = _run(path)
    assert result.status is FileStatus.OK, result
    assert result.how is not None and result.how.startswith("in place, journaled")
    assert path.stat().st_ino == before.st_ino  # the same file, not a replacement
    assert _english_default(path)
    assert _media_bytes(path) == media  # the media data was never written
    assert _leftovers(path.parent) == []


@pytest.mark.parametrize(
    ("settings", "why"),
    [({"in_place": "never"}, 'in_place = "never"'), ({"keep_backups": True}, "keep_backups")],
)
def test_settings_that_keep_the_copy(
    make_file: MakeMedia, settings: dict[str, object], why: str
) -> None:
    path = _movie(make_file)
    inode = path.stat().st_ino
    result = _run(path, **settings)
    assert result.status is FileStatus.OK, result
    assert result.how is not None and why in result.how and result.how.startswith("on a copy")
    assert path.stat().st_ino != inode  # the verified copy replaced it
    assert _english_default(path)


def test_a_hard_linked_file_keeps_its_other_names_bytes(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    path = _movie(make_file)
    seeding = tmp_path / "torrents" / "movie.mkv"
    seeding.parent.mkdir()
    os.link(path, seeding)
    digest = sha256(seeding)
    dry = process_file(FileJob(path, DEFAULT_ENG, dry_run=True))
    assert dry.status is FileStatus.PLANNED and dry.how is not None and "2 hard links" in dry.how
    result = _run(path)
    assert result.status is FileStatus.OK, result
    assert result.how is not None and "2 hard links" in result.how
    assert sha256(seeding) == digest and seeding.stat().st_nlink == 1
    assert _english_default(path) and not _english_default(seeding)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # writes garbage over the header, then fails
        (
            'printf "garbage garbage garbage" | dd of="$target" bs=1 seek=40 conv=notrunc'
            " 2>/dev/null\necho broken >&2\nexit 2",
            "mkvpropedit failed with exit code 2",
        ),
        # a real edit, but the wrong one (both French and English default)
        (
            '"$REAL" "$target" --edit track:a2 --set flag-default=1 >/dev/null\nexit 0',
            "verification failed",
        ),
    ],
)
def test_a_failing_or_lying_edit_is_undone(
    make_file: MakeMedia, tmp_path: Path, body: str, expected: str
) -> None:
    path = _movie(make_file)
    digest = sha256(path)
    tool = _fake(tmp_path, "mkvpropedit", body)
    result = _run(path, tools=ToolPaths(mkvpropedit=tool))
    assert result.status is FileStatus.FAILED, result
    assert expected in (result.error or ""), result.error
    assert sha256(path) == digest
    assert _leftovers(path.parent) == []


def test_an_edit_that_strays_into_the_media_is_undone_and_copied(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    path = _movie(make_file)
    cluster = next(e for e in read_layout(path).children if e.id == CLUSTER_ID)
    media = _media_bytes(path)
    # the real edit, then (only when editing the original, not a temp copy) two bytes
    # into the first Cluster's head, as a tool that moved media data would
    tool = _fake(
        tmp_path,
        "mkvpropedit",
        '"$REAL" "$@" >/dev/null || exit $?\n'
        'case "$target" in *.vpo-tmp-*) exit 0 ;; esac\n'
        f'printf "\\377\\377" | dd of="$target" bs=1 seek={cluster.offset + 8} conv=notrunc'
        " 2>/dev/null\nexit 0",
    )
    result = _run(path, tools=ToolPaths(mkvpropedit=tool))
    assert result.status is FileStatus.OK, result
    assert result.how is not None and "would have moved media data" in result.how
    assert _english_default(path)
    assert _media_bytes(path) == media
    assert _leftovers(path.parent) == []


def test_a_cancel_during_the_edit_restores_the_original(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    path = _movie(make_file)
    digest = sha256(path)
    started = tmp_path / "started"
    tool = _fake(
        tmp_path,
        "mkvpropedit",
        f'"$REAL" "$@" >/dev/null\ntouch "{started}"\nexec sleep 30',
    )
    control = FileControl()

    def cancel_when_edited() -> None:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        control.cancel()

    threading.Thread(target=cancel_when_edited, daemon=True).start()
    result = _run(path, control=control, tools=ToolPaths(mkvpropedit=tool), kill_grace_s=0.5)
    assert result.status is FileStatus.CANCELLED, result
    assert started.exists()  # the edit had been made before the cancel
    assert sha256(path) == digest
    assert _leftovers(path.parent) == []


def test_a_later_run_restores_an_interrupted_edit_first(make_file: MakeMedia) -> None:
    """A journal of a dead process: a dry run says so; the real run restores, then edits."""
    import subprocess
    import sys

    path = _movie(make_file)
    digest = sha256(path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    journal = edit_journal.write_journal(path, read_layout(path), path.stat(), pid=dead.pid)
    with path.open("r+b") as f:  # the half-made edit the dead process left
        f.seek(45)
        f.write(b"\xde\xad\xbe\xef")
    dry = process_file(FileJob(path, DEFAULT_ENG, dry_run=True))
    assert dry.status is FileStatus.PLANNED
    assert dry.changes and "restores the original first" in dry.changes[0]
    assert journal.exists() and sha256(path) != digest  # a dry run changes nothing
    result = _run(path)
    assert result.status is FileStatus.OK, result
    assert not journal.exists() and _english_default(path)
    assert _leftovers(path.parent) == []


def test_in_place_needs_only_the_journals_space(
    make_file: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The space check asks for the journal, not a film's worth (the copy path would)."""
    import vpo_tui.engine.safety as safety

    path = _movie(make_file)
    size = path.stat().st_size
    real = shutil.disk_usage

    def half_a_film_free(folder: object) -> object:  # a disk with half the file's size free
        return real(folder)._replace(free=size // 2)  # type: ignore[arg-type]

    monkeypatch.setattr(safety.shutil, "disk_usage", half_a_film_free)
    copy = _run(path, in_place="never", min_free_bytes=0)
    assert copy.status is FileStatus.FAILED and "not enough free space" in (copy.error or "")
    result = _run(path, min_free_bytes=0)
    assert result.status is FileStatus.OK, result


def test_a_file_another_host_is_editing_in_place_is_left_alone(make_file: MakeMedia) -> None:
    """A journal of a process elsewhere (another host on shared storage): hands off."""
    path = _movie(make_file)
    journal = edit_journal.write_journal(path, read_layout(path), path.stat())
    elsewhere = journal.with_name(journal.name.rsplit("@", 1)[0] + "@another-host")
    journal.rename(elsewhere)
    digest = sha256(path)
    other = _movie(make_file, "other.mkv")  # a neighbour is not held up by it
    result = _run(path)
    assert result.status is FileStatus.SKIPPED, result
    assert "being edited in place by another vpo-tui" in (result.error or "")
    assert sha256(path) == digest and elsewhere.exists()
    assert _run(other).status is FileStatus.OK


def test_a_confirmed_plan_is_not_applied_to_a_half_edited_file(make_file: MakeMedia) -> None:
    """``apply_plan`` holds a plan made earlier: if an interrupted edit is found, the
    original is restored and the caller must plan again (not edit the half edit)."""
    import subprocess
    import sys

    from vpo_tui.engine.process import apply_plan
    from vpo_tui.policy.plan import plan as make_plan

    path = _movie(make_file)
    digest = sha256(path)
    planned = make_plan(DEFAULT_ENG, probe(path, shutil.which("ffprobe") or "ffprobe"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    journal = edit_journal.write_journal(path, read_layout(path), path.stat(), pid=dead.pid)
    with path.open("r+b") as f:
        f.seek(45)
        f.write(b"\xde\xad\xbe\xef")
    result = apply_plan(planned)
    assert result.status is FileStatus.FAILED and "plan again" in (result.error or "")
    assert sha256(path) == digest and not journal.exists()
    assert apply_plan(planned).status is FileStatus.OK
