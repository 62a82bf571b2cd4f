"""Settle detection: a file is taken only once nothing is writing it any more.

The rules run against a fake clock and fake stat results; the parts that read the
real system (``stat``, ``/proc``) run against a real writer process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path

import pytest

from vpo_tui.batch.settle import (
    Fingerprint,
    SettleTracker,
    Verdict,
    ignored_name,
)
from vpo_tui.engine.writers import open_for_writing


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeFiles:
    def __init__(self) -> None:
        self.state: dict[Path, Fingerprint] = {}
        self.open: dict[Path, int] = {}
        self.writer_checks = 0

    def stat(self, path: Path) -> Fingerprint | None:
        return self.state.get(path)

    def writers(self, paths: Collection[Path]) -> dict[Path, int]:
        self.writer_checks += 1
        return {p: self.open[p] for p in paths if p in self.open}


def tracker(settle: float = 60.0) -> tuple[SettleTracker, FakeClock, FakeFiles]:
    clock, files = FakeClock(), FakeFiles()
    return SettleTracker(settle, clock=clock, stat=files.stat, writers=files.writers), clock, files


A = Path("/lib/a.mkv")


def test_a_quiet_file_is_ready_after_the_settle_time_not_before() -> None:
    t, clock, files = tracker(60)
    files.state[A] = (100, 1, 7)
    assert t.touch(A)
    clock.now += 59.9
    assert t.poll() == []
    assert t.remaining(A) == pytest.approx(0.1)
    clock.now += 0.1
    assert [(s.path, s.verdict) for s in t.poll()] == [(A, Verdict.READY)]
    assert A not in t  # taken: no longer tracked
    assert t.poll() == []


def test_a_growing_file_waits_for_quiet_after_its_last_change() -> None:
    t, clock, files = tracker(60)
    files.state[A] = (100, 1, 7)
    t.touch(A)
    for size in range(200, 2000, 100):  # a slow copy: grows every 30 s, for 9 minutes
        clock.now += 30
        files.state[A] = (size, size, 7)
        assert t.poll() == []
    clock.now += 59
    assert t.poll() == []
    clock.now += 1
    assert [s.verdict for s in t.poll()] == [Verdict.READY]


def test_an_mtime_change_without_growth_restarts_the_wait() -> None:
    t, clock, files = tracker(10)
    files.state[A] = (100, 1, 7)
    t.touch(A)
    clock.now += 9
    files.state[A] = (100, 2, 7)  # rewritten in place, same size
    assert t.poll() == []
    clock.now += 9
    assert t.poll() == []
    clock.now += 1
    assert [s.verdict for s in t.poll()] == [Verdict.READY]


def test_a_file_replaced_by_another_of_the_same_size_restarts_the_wait() -> None:
    t, clock, files = tracker(10)
    files.state[A] = (100, 1, 7)
    t.touch(A)
    clock.now += 9
    files.state[A] = (100, 1, 8)  # a new inode renamed over it
    assert t.poll() == []
    clock.now += 10
    assert [s.verdict for s in t.poll()] == [Verdict.READY]


def test_a_file_deleted_before_it_settles_is_reported_gone_once() -> None:
    t, clock, files = tracker(10)
    files.state[A] = (100, 1, 7)
    t.touch(A)
    clock.now += 5
    del files.state[A]
    assert [(s.path, s.verdict) for s in t.poll()] == [(A, Verdict.GONE)]
    assert t.poll() == []
    assert not t.touch(A)  # an event for a file already gone tracks nothing


def test_an_open_writer_holds_the_file_back_until_it_closes() -> None:
    t, clock, files = tracker(10)
    files.state[A] = (100, 1, 7)
    files.open[A] = 4242  # e.g. a downloader that preallocated the whole file
    t.touch(A)
    clock.now += 10
    assert [(s.verdict, s.pid) for s in t.poll()] == [(Verdict.WRITING, 4242)]
    clock.now += 10
    assert t.poll() == []  # said once, still held
    assert A in t
    del files.open[A]
    clock.now += 1
    assert [s.verdict for s in t.poll()] == [Verdict.READY]


def test_the_writer_check_runs_only_for_files_already_quiet() -> None:
    t, clock, files = tracker(10)
    for i in range(100):
        path = Path(f"/lib/{i}.mkv")
        files.state[path] = (i, i, i)
        t.touch(path)
    clock.now += 5
    assert t.poll() == []
    assert files.writer_checks == 0  # /proc is scanned only when something is due
    clock.now += 5
    assert len(t.poll()) == 100
    assert files.writer_checks == 1  # one scan for all of them


def test_next_due_is_the_soonest_file() -> None:
    t, clock, files = tracker(10)
    files.state[A] = (1, 1, 1)
    b = Path("/lib/b.mkv")
    files.state[b] = (1, 1, 2)
    t.touch(A)
    clock.now += 4
    t.touch(b)
    assert t.next_due() == pytest.approx(6)
    t.forget(A)
    assert t.next_due() == pytest.approx(10)


@pytest.mark.parametrize(
    "name",
    [
        "Movie.mkv.part",
        "Movie.mkv.!qB",
        "Movie.MKV.CRDOWNLOAD",
        ".Movie.mkv.swp",
        ".hidden.mkv",
        ".Movie.mkv.vpo-tmp-12@host-0a1b2c3d.mkv",
        ".Movie.mkv.vpo-commit-12@host",
        "Movie.mkv.vpo-backup",
        "Movie.mkv.vpo-backup-2",
    ],
)
def test_partial_hidden_and_own_names_are_never_taken(name: str) -> None:
    assert ignored_name(name) is not None


@pytest.mark.parametrize("name", ["Movie.mkv", "Part 2.mkv", "the.partisan.mp4", "x.tmp.mkv"])
def test_ordinary_names_may_be_taken(name: str) -> None:
    assert ignored_name(name) is None


# -- the real system ---------------------------------------------------------------

_WRITER = """
import sys, time
with open(sys.argv[1], "ab") as f:
    print("open", flush=True)
    for _ in range(int(sys.argv[2])):
        f.write(b"x" * 4096); f.flush(); time.sleep(0.1)
    sys.stdin.readline()  # hold it open, unchanged, until told to close
"""


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc")
def test_a_real_slow_writer_is_waited_for_then_the_file_is_taken(tmp_path: Path) -> None:
    target = tmp_path / "arriving.mkv"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(target), "15"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "open\n"
        t = SettleTracker(0.5, clock=time.monotonic)
        assert t.touch(target)
        ready_at: float | None = None
        held: list[int | None] = []
        started = time.monotonic()
        deadline = started + 20
        closed_at: float | None = None
        while ready_at is None and time.monotonic() < deadline:
            for s in t.poll():
                if s.verdict is Verdict.WRITING:
                    held.append(s.pid)
                elif s.verdict is Verdict.READY:
                    ready_at = time.monotonic()
            if held and closed_at is None:
                assert writer.stdin is not None
                writer.stdin.write("\n")
                writer.stdin.flush()
                writer.wait(10)
                closed_at = time.monotonic()
            time.sleep(0.05)
        # appended for ~1.5 s: never taken while growing, then held while still open
        assert held == [writer.pid]
        assert closed_at is not None and ready_at is not None and ready_at >= closed_at
        assert target.stat().st_size == 15 * 4096
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc")
def test_a_file_open_only_for_reading_is_not_a_writer(tmp_path: Path) -> None:
    target = tmp_path / "played.mkv"
    target.write_bytes(b"x" * 100)
    written = tmp_path / "written.mkv"
    with open(target, "rb"), open(written, "ab"):
        found = open_for_writing([target, written])
    assert found == {written: os.getpid()}
    assert open_for_writing([target, written]) == {}
