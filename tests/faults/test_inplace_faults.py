"""Journaled in-place edits under fire: kill -9, a full disk, a meddling program, hard links.

A flags-only change (the default audio, French -> English) is made on the original
under an undo journal (``engine/inplace.py``). Two ~40 MB MKVs (one laid out by ffmpeg,
one by mkvmerge) are made once per module; what mkvpropedit makes of each is made
once too, so "finished" is checked byte for byte, like "original".

kill -9 of the whole ``vpo-tui --no-tui`` process at 21 seeded moments, in turn:

- ``journal_write``: inside the journal write (the process kills itself just before or
  after its k-th write to the journal: a torn journal);
- ``journal_done``: the journal durable, the edit not yet started;
- ``tool``: mkvpropedit writing (slowed by ``strace`` write delays where strace exists,
  so a seeded delay lands inside it), then a seeded random delay;
- ``verify``: just after mkvpropedit ended (the verifying probe, the fsync);
- ``before_discard``: the edit verified and durable, the journal not yet removed;
- ``anywhere``: a seeded random delay after start.

After each kill the tool processes are gone; start-up recovery (the code both front ends
run first) leaves every file the original or the finished file, byte for byte, and no
journal; the next run then finishes every file and leaves no journal or temp file.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.conftest import Tally
from tests.faults.harness import (
    Workspace,
    kill9,
    run_vpo,
    sha256,
    spawn_vpo,
    temp_files,
    tool_processes,
    vpo_argv,
    wait_for,
)
from vpo_tui.batch.recovery import recover_at_startup
from vpo_tui.engine import edit_journal
from vpo_tui.engine.clone import folder_can_clone
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus
from vpo_tui.engine.process import process_file
from vpo_tui.policy.load import parse_policy

POLICY_TOML = """\
name = "default-eng"
[languages]
audio = ["eng"]
reorder = false
[audio]
keep = ["eng", "fre"]
default = "preferred"
"""
POLICY = parse_policy(POLICY_TOML, "default-eng.toml")
PHASES = ("journal_write", "journal_done", "tool", "tool", "verify", "before_discard", "anywhere")
SEEDS = range(21)
STRACE = shutil.which("strace")
# the whole vpo-tui, with a self-kill at one exact moment of the in-place protocol
_LAUNCHER = """\
import os, signal, sys
from vpo_tui.engine import edit_journal
from vpo_tui.engine.clone import folder_can_clone
where, count, when = os.environ["VPO_FAULT_KILL"].split(":")
count = int(count)
calls = [0]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if where == "journal_write":
    real = edit_journal._write_all
    def patched(fd, data, digest):
        calls[0] += 1
        if calls[0] == count and when == "before":
            die()
        real(fd, data, digest)
        if calls[0] == count and when == "after":
            die()
    edit_journal._write_all = patched
elif where == "journal_done":
    real_fsync = edit_journal._fsync_dir
    def fsync_then_die(folder):
        real_fsync(folder)
        die()
    edit_journal._fsync_dir = fsync_then_die
elif where == "before_discard":
    def discard(journal):
        die()
    edit_journal.discard = discard
from vpo_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _clip(path: Path, seconds: float = 4.0) -> None:
    """~40 MB: 720p noise (x264 ultrafast, QP 14), French default + English audio."""
    lavfi = ["-f", "lavfi", "-i"]
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    args += [*lavfi, "testsrc=size=1280x720:rate=25,noise=alls=30:allf=t+u"]
    args += [*lavfi, "sine=frequency=440:sample_rate=48000"]
    args += [*lavfi, "sine=frequency=660:sample_rate=48000"]
    args += ["-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", str(seconds)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "14", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-metadata:s:a:0", "language=fre", "-metadata:s:a:1", "language=eng"]
    args += ["-disposition:a:0", "default", "-disposition:a:1", "0", str(path)]
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture(scope="module")
def masters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, str]]:
    """name -> (file, sha256 of the original, sha256 of the finished file)."""
    folder = tmp_path_factory.mktemp("inplace-masters")
    if folder_can_clone(folder):
        pytest.skip("this tmp folder can clone: the clone path is taken, not the journal")
    by_ffmpeg = folder / "by ffmpeg.mkv"
    _clip(by_ffmpeg)
    by_mkvmerge = folder / "by mkvmerge.mkv"
    subprocess.run(["mkvmerge", "-q", "-o", str(by_mkvmerge), str(by_ffmpeg)], check=True)
    made: dict[str, tuple[Path, str, str]] = {}
    for master in (by_ffmpeg, by_mkvmerge):
        scratch = folder / "finished" / master.name
        scratch.parent.mkdir(exist_ok=True)
        shutil.copyfile(master, scratch)
        done = process_file(FileJob(scratch, POLICY, EngineSettings()))
        assert done.status is FileStatus.OK and done.how and done.how.startswith("in place")
        made[master.name] = (master, sha256(master), sha256(scratch))
    return made


def _library(
    ws: Workspace, masters: dict[str, tuple[Path, str, str]]
) -> dict[Path, tuple[str, str]]:
    expected: dict[Path, tuple[str, str]] = {}
    for name, (master, original, finished) in masters.items():
        shutil.copyfile(master, ws.library / name)
        expected[ws.library / name] = (original, finished)
    return expected


def _journals(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if edit_journal.is_journal_name(p.name)]


def _slow_mkvpropedit(ws: Workspace) -> str:
    """mkvpropedit with every write delayed (strace), so a kill can land inside it."""
    real = shutil.which("mkvpropedit") or "mkvpropedit"
    if STRACE is None:
        return real
    script = ws.root / "bin" / "mkvpropedit"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        "#!/bin/sh\n"
        f"exec {STRACE} -f -qq -o /dev/null -e trace=write,pwrite64 "
        f'-e inject=write,pwrite64:delay_exit=40000 {real} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script)


def _editing(ws: Workspace) -> list[tuple[int, str]]:
    return [(pid, cmd) for pid, cmd in tool_processes(ws.marker) if "mkvpropedit" in cmd]


def _kill_tools(ws: Workspace) -> None:
    """The strace wrapper does not pass on the parent-death signal: end its tools too."""
    for pid, _cmd in tool_processes(ws.marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not tool_processes(ws.marker), 10, "the tools to end")


def _spawn(ws: Workspace, policy: Path, phase: str, rng: random.Random) -> subprocess.Popen[str]:
    if phase not in ("journal_write", "journal_done", "before_discard"):
        return spawn_vpo(ws, str(policy), [ws.library], "--workers", "2")
    argv = vpo_argv(ws, str(policy), [ws.library], "--workers", "2")
    argv[1:3] = ["-c", _LAUNCHER]
    # a journal is header + one write per saved range + digest: at least 3 writes
    moment = f"{phase}:{rng.randint(1, 3)}:{rng.choice(['before', 'after'])}"
    env = {**os.environ, "VPO_FAULT_KILL": moment, "PYTHONUNBUFFERED": "1"}
    env.pop("VPO_TUI_CONFIG", None)
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )


def _wait_for_the_moment(
    proc: subprocess.Popen[str], ws: Workspace, phase: str, rng: random.Random
) -> None:
    def or_ended(condition: object) -> bool:
        return bool(condition) or proc.poll() is not None

    if phase in ("journal_write", "journal_done", "before_discard"):
        proc.wait(timeout=60)  # it kills itself at that moment
    elif phase == "tool":
        wait_for(lambda: or_ended(_editing(ws)), 60, "mkvpropedit editing a file")
        time.sleep(rng.uniform(0.0, 0.35))
    elif phase == "verify":
        wait_for(lambda: or_ended(_editing(ws)), 60, "mkvpropedit editing a file")
        wait_for(lambda: or_ended(not _editing(ws)), 60, "mkvpropedit to finish")
        time.sleep(rng.uniform(0.0, 0.15))
    else:
        time.sleep(rng.uniform(0.3, 2.5))


@pytest.mark.parametrize("seed", SEEDS)
def test_kill9_during_in_place_edits(
    ws: Workspace, masters: dict[str, tuple[Path, str, str]], seed: int, tally: Tally
) -> None:
    policy = ws.root / "default-eng.toml"
    policy.write_text(POLICY_TOML, encoding="utf-8")
    expected = _library(ws, masters)
    ws.write_config(
        tools={"mkvpropedit": _slow_mkvpropedit(ws)}, processing={"workers": 2, "max_workers": 2}
    )
    rng = random.Random(f"inplace-{seed}")
    phase = PHASES[seed % len(PHASES)]
    proc = _spawn(ws, policy, phase, rng)
    try:
        _wait_for_the_moment(proc, ws, phase, rng)
    finally:
        editing = bool(_editing(ws))
        kill9(proc)
        _kill_tools(ws)
    if phase in ("journal_write", "journal_done", "before_discard"):
        assert proc.returncode == -signal.SIGKILL, "the self-kill did not happen"
    left = _journals(ws.library)
    torn = [j for j in left if edit_journal.read_journal(j) is None]

    recovery = recover_at_startup(None, [ws.library])  # what the next start-up does first
    assert _journals(ws.library) == [] and temp_files(ws.library) == []
    states: dict[Path, str] = {}
    for path, (original, finished) in expected.items():
        digest = sha256(path)
        assert digest in (original, finished), f"{path.name}: neither original nor finished"
        states[path] = "original" if digest == original else "finished"
    assert len(recovery.restored) == len(left) - len(torn)
    if phase == "journal_write":  # no journal was whole yet: nothing had been edited
        assert torn and all(s == "original" for s in states.values())
    if phase in ("journal_done", "before_discard"):
        assert len(torn) < len(left)  # a whole journal was there, and its file went back
    rerun = run_vpo(ws, str(policy), [ws.library], "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert set(rerun.statuses().values()) <= {"ok", "unchanged"}, rerun.document
    assert _journals(ws.library) == [] and temp_files(ws.library) == []
    for path, (_original, finished) in expected.items():
        assert sha256(path) == finished, f"{path.name}: not the finished file after the run"

    tally.add("kills")
    tally.add("inplace_kills")
    tally.add(f"inplace_kills_{phase}")
    if editing:
        tally.add("kills_in_tool_run")
        tally.add("inplace_kills_in_edit")
    tally.add("inplace_journals_restored", len(recovery.restored))
    tally.add("inplace_torn_journals", len(torn))
    tally.files(len(expected))


def test_full_disk_while_writing_the_journal(
    mount_tmpfs: object, masters: dict[str, tuple[Path, str, str]], tally: Tally,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The space check passed, then another program filled the disk: the journal
    cannot be written whole. Nothing is edited, no journal is left, the file is intact."""
    assert callable(mount_tmpfs)
    master, original, _finished = masters["by mkvmerge.mkv"]
    library: Path = mount_tmpfs(f"{master.stat().st_size // 1024 + 512}k")
    path = library / "movie.mkv"
    shutil.copyfile(master, path)
    filler = library / "filler.bin"
    real_write = edit_journal.write_journal

    def fill_then_write(*args: object, **kwargs: object) -> Path:
        # another program takes every free byte
        with filler.open("wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(edit_journal, "write_journal", fill_then_write)
    settings = EngineSettings(min_free_bytes=0, space_margin=0.0)
    result = process_file(FileJob(path, POLICY, settings))
    assert result.status is FileStatus.FAILED, result
    assert "in-place journal" in (result.error or "") and "No space left" in (result.error or "")
    assert sha256(path) == original
    assert _journals(library) == [] and temp_files(library) == []
    monkeypatch.undo()
    filler.unlink()  # room again: the next run does the edit
    assert process_file(FileJob(path, POLICY, settings)).status is FileStatus.OK
    tally.add("full_disk")
    tally.add("inplace_faults")
    tally.files(1)


def test_a_file_changed_between_the_journal_and_the_edit(
    tmp_path: Path, masters: dict[str, tuple[Path, str, str]], tally: Tally,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Another program writes the file after the journal was taken: the edit is
    refused (skipped), the journal removed, the other program's bytes kept as they are."""
    master, original, _finished = masters["by ffmpeg.mkv"]
    path = tmp_path / "movie.mkv"
    shutil.copyfile(master, path)
    real_write = edit_journal.write_journal

    def journal_then_meddle(*args: object, **kwargs: object) -> Path:
        journal = real_write(*args, **kwargs)  # type: ignore[arg-type]
        with path.open("r+b") as f:  # e.g. a tagger rewriting a header byte
            f.seek(60)
            byte = f.read(1)
            f.seek(60)
            f.write(bytes([byte[0] ^ 0xFF]))
        return journal

    monkeypatch.setattr(edit_journal, "write_journal", journal_then_meddle)
    meddled = bytearray(master.read_bytes())
    meddled[60] ^= 0xFF
    result = process_file(FileJob(path, POLICY, EngineSettings()))
    assert result.status is FileStatus.SKIPPED, result
    assert "changed by another program" in (result.error or "")
    assert path.read_bytes() == bytes(meddled)  # nothing of ours in it
    assert _journals(tmp_path) == [] and temp_files(tmp_path) == []
    monkeypatch.undo()
    shutil.copyfile(master, path)  # and the next run, undisturbed, does the edit
    assert sha256(path) == original
    assert process_file(FileJob(path, POLICY, EngineSettings())).status is FileStatus.OK
    tally.add("inplace_faults")
    tally.files(1)


def test_a_hard_linked_file_keeps_its_other_names_exact_bytes(
    ws: Workspace, masters: dict[str, tuple[Path, str, str]], tally: Tally
) -> None:
    """A seeding torrent's file, hard-linked into the library: the library's name gets
    the change on a copy; the torrent's name keeps every byte."""
    policy = ws.root / "default-eng.toml"
    policy.write_text(POLICY_TOML, encoding="utf-8")
    master, original, finished = masters["by mkvmerge.mkv"]
    seeding = ws.root / "torrents" / "movie.mkv"
    seeding.parent.mkdir()
    shutil.copyfile(master, seeding)
    path = ws.library / "movie.mkv"
    os.link(seeding, path)
    dry = run_vpo(ws, str(policy), [ws.library], "--dry-run")
    how = dry.by_path()[path]["how"]
    assert how is not None and "2 hard links" in how and how.startswith("on a copy")
    done = run_vpo(ws, str(policy), [ws.library])
    assert done.returncode == 0 and done.statuses() == {path: "ok"}, done.document
    assert sha256(seeding) == original and seeding.stat().st_nlink == 1
    assert sha256(path) == finished  # the copy path's result is the very same bytes
    assert _journals(ws.library) == [] and temp_files(ws.library) == []
    tally.add("inplace_faults")
    tally.files(2)


def test_a_file_open_for_writing_elsewhere_is_not_edited_in_place(
    ws: Workspace, masters: dict[str, tuple[Path, str, str]], tally: Tally
) -> None:
    policy = ws.root / "default-eng.toml"
    policy.write_text(POLICY_TOML, encoding="utf-8")
    master, _original, finished = masters["by ffmpeg.mkv"]
    path = ws.library / "movie.mkv"
    shutil.copyfile(master, path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; f = open(sys.argv[1], 'r+b'); time.sleep(60)",
         str(path)],
    )  # fmt: skip
    try:
        time.sleep(0.5)
        dry = run_vpo(ws, str(policy), [ws.library], "--dry-run")
        how = dry.by_path()[path]["how"]
        assert how is not None and f"pid {holder.pid}" in how and how.startswith("on a copy")
    finally:
        holder.kill()
        holder.wait()
    done = run_vpo(ws, str(policy), [ws.library])
    assert done.statuses() == {path: "ok"}, done.document
    assert sha256(path) == finished
    tally.add("inplace_faults")
    tally.files(1)
