"""A real full disk: a 3 MiB tmpfs, filled before the write and during it.

The engine's own test fakes the numbers (``min_free_bytes`` huge); here the kernel
says ENOSPC. Two ways: the output cannot fit (the space check must refuse before any
byte is written), and another program fills the disk while the tool is writing (the
tool fails mid-write: clear error, temp removed, original intact). Both run as a
batch through the real runner so ``on_error`` decides what happens next.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    FAULT_TOOLS,
    assert_nothing_lost,
    make_workspace,
    run_vpo,
    snapshot,
    temp_files,
)
from vpo_tui.batch.events import BatchEvent, BatchResult
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus, ToolPaths
from vpo_tui.policy.load import parse_policy
from vpo_tui.policy.model import Policy
from vpo_tui.samples import AudioSpec, SampleSpec, make_media

REMUX = parse_policy('name = "remux"\n[audio]\nkeep = ["eng"]\n', "remux.toml")
TO_MP4 = parse_policy('name = "mp4"\n[container]\nformat = "mp4"\n', "mp4.toml")
POLICIES = {"mkvmerge": REMUX, "ffmpeg": TO_MP4}
TIGHT = EngineSettings(space_margin=0.05, min_free_bytes=0)


class _Quiet:
    def on_event(self, event: BatchEvent) -> None:
        pass


def _two_audio(path: Path) -> Path:
    spec = SampleSpec(duration=1.0, audio=(AudioSpec("fre", default=True), AudioSpec("eng")))
    return make_media(path, spec)


def _fill_leaving(folder: Path, leave: int) -> Path:
    """Write a filler file so that about ``leave`` bytes stay free."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as f:
        f.write(b"\0" * max(free - leave, 0))
    return filler


def _batch(
    paths: list[Path], settings: EngineSettings, on_error: str, policy: Policy = REMUX
) -> BatchResult:
    jobs = [FileJob(p, policy, settings) for p in paths]
    return BatchRunner(jobs, workers=1, listener=_Quiet(), on_error=on_error).run()


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_output_cannot_fit(small_fs: Path, tally: Tally, on_error: str) -> None:
    full = small_fs / "full"
    full.mkdir()
    first = _two_audio(full / "a first.mkv")
    second = _two_audio(full / "b second.mkv")
    before = snapshot(small_fs)
    _fill_leaving(full, leave=first.stat().st_size // 2)
    result = _batch([first, second], TIGHT, on_error)
    statuses = [f.status for f in result.files]
    assert statuses[0] is FileStatus.FAILED
    error = result.files[0].error or ""
    assert str(first) in error and "not enough free space" in error
    if on_error == "skip":
        assert statuses[1] is FileStatus.FAILED and not result.stopped_early
    else:
        assert statuses[1] is FileStatus.CANCELLED and result.stopped_early
    assert temp_files(small_fs) == []
    tally.files(assert_nothing_lost(before, REMUX).total)
    tally.add("full_disk")


def _fill_during_write(small_fs: Path, tool: str) -> tuple[BatchResult, dict[Path, str]]:
    """The space check passes; then the disk fills while the tool writes (ENOSPC)."""
    folder = small_fs / "lib"
    folder.mkdir()
    _two_audio(folder / "a FILLDISK.mkv")
    _two_audio(folder / "b fine.mkv")
    before = snapshot(small_fs)
    tools = ToolPaths(**{tool: str(FAULT_TOOLS / f"fill_disk_{tool}")})
    result = _batch(sorted(before), replace(TIGHT, tools=tools), "skip", POLICIES[tool])
    return result, before


@pytest.mark.parametrize("tool", ["mkvmerge", "ffmpeg"])
def test_disk_fills_during_the_write(small_fs: Path, tally: Tally, tool: str) -> None:
    result, before = _fill_during_write(small_fs, tool)
    victim, survivor = sorted(before)
    first, second = result.files
    assert first.status is FileStatus.FAILED, first
    assert str(victim) in (first.error or "") and tool in (first.error or "")
    assert second.status is FileStatus.OK, second.error  # the batch went on, space came back
    assert temp_files(small_fs) == []
    assert not (victim.parent / "filler.bin").exists()
    outcome = assert_nothing_lost(before, POLICIES[tool])
    assert outcome.intact == (victim,) and outcome.processed == (survivor,)
    tally.files(outcome.total)
    tally.add("full_disk")


@pytest.mark.parametrize(
    "tool",
    [
        "mkvmerge",
        "ffmpeg",
    ],
)
def test_disk_full_error_names_the_cause(small_fs: Path, tally: Tally, tool: str) -> None:
    result, _before = _fill_during_write(small_fs, tool)
    first = result.files[0]
    told = f"{first.error}\n{first.stderr_tail or ''}".lower()
    assert "no space left" in told or "disk full" in told or "drive may be full" in told, told
    tally.add("full_disk")


def test_disk_full_to_the_last_byte_before_the_temp_file(small_fs: Path, tally: Tally) -> None:
    """Not even the empty temp file can be created: a clear error, not a traceback."""
    folder = small_fs / "lib"
    folder.mkdir()
    path = _two_audio(folder / "movie.mkv")
    before = snapshot(small_fs)
    filler = _fill_leaving(folder, leave=0)
    fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
    try:  # the last partial page too, until the kernel says ENOSPC
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    result = _batch([path], TIGHT, "skip")
    (only,) = result.files
    assert only.status is FileStatus.FAILED
    assert str(path) in (only.error or "") and "space" in (only.error or "")
    assert temp_files(small_fs) == []
    tally.files(assert_nothing_lost(before, REMUX).total)
    tally.add("full_disk")
    os.unlink(filler)


# -- the same through the whole headless process --------------------------------


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_headless_run_on_a_full_disk(
    mount_tmpfs: Callable[[str], Path], tmp_path: Path, tally: Tally, on_error: str
) -> None:
    """Default settings keep 64 MiB spare: on a 3 MiB disk nothing may be written."""
    ws = make_workspace(tmp_path / "ws")
    library = mount_tmpfs("3M")
    for name in ("a.mkv", "b.mkv", "c.mkv"):
        _two_audio(library / name)
    before = snapshot(library)
    policy = ws.root / "remux.toml"
    policy.write_text(f'name = "r"\non_error = "{on_error}"\n[audio]\nkeep = ["eng"]\n')
    result = run_vpo(ws, str(policy), [library], "--workers", "1")
    assert result.returncode == 1, result.stderr
    statuses = [result.statuses()[p] for p in sorted(before)]
    expected = ["failed"] * 3 if on_error == "skip" else ["failed", "cancelled", "cancelled"]
    assert statuses == expected, result.document
    first = result.by_path()[sorted(before)[0]]
    assert "not enough free space" in first["error"] and str(library) in first["error"]
    assert temp_files(library) == []
    tally.files(assert_nothing_lost(before, REMUX).total)
    tally.add("full_disk")


def test_headless_disk_fills_during_the_write(
    mount_tmpfs: Callable[[str], Path], tmp_path: Path, tally: Tally
) -> None:
    """A disk big enough for the space check, filled by 'another program' mid-write."""
    ws = make_workspace(tmp_path / "ws")
    library = mount_tmpfs("72M")  # the default check wants the estimate + 64 MiB
    victim = _two_audio(library / "a FILLDISK.mkv")
    survivor = _two_audio(library / "b fine.mkv")
    before = snapshot(library)
    policy = ws.root / "remux.toml"
    policy.write_text('name = "r"\non_error = "skip"\n[audio]\nkeep = ["eng"]\n')
    ws.write_config(tools={"mkvmerge": FAULT_TOOLS / "fill_disk_mkvmerge"})
    result = run_vpo(ws, str(policy), [library], "--workers", "1")
    assert result.returncode == 1, result.stderr
    files = result.by_path()
    assert files[victim]["status"] == "failed" and str(victim) in files[victim]["error"]
    assert "space" in files[victim]["error"].lower(), files[victim]["error"]
    assert files[survivor]["status"] == "ok", files[survivor]
    assert temp_files(library) == [] and not (library / "filler.bin").exists()
    outcome = assert_nothing_lost(before, REMUX)
    assert outcome.intact == (victim,) and outcome.processed == (survivor,)
    tally.files(outcome.total)
    tally.add("full_disk")
