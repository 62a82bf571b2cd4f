"""BatchRunner semantics, proved with the fake engine (concurrency only: no media here)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.fakes import FakeEngine, RecordingListener, fake_jobs
from tests.processes import process_state
from vpo_tui.batch.backend import ThreadsBackend
from vpo_tui.batch.events import (
    BatchFinished,
    BatchStarted,
    BatchWarning,
    FileFinished,
    FileProgress,
    FileStarted,
)
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus

NAMES = [f"f{i:02d}.mkv" for i in range(8)]


def run_in_thread(runner: BatchRunner) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(runner.run()), daemon=True)
    thread.start()
    return thread, out


def statuses(result: object) -> dict[str, str]:
    return {f.path.name: f.status.value for f in result.files}  # type: ignore[attr-defined]


def test_at_most_and_exactly_n_files_run_at_once() -> None:
    engine = FakeEngine(duration=0.15)
    listener = RecordingListener()
    result = BatchRunner(
        fake_jobs(NAMES),
        workers=3,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    assert engine.max_active == 3
    assert result.totals["ok"] == len(NAMES)
    assert len(engine.calls) == len(NAMES)


def test_workers_1_processes_strictly_in_queue_order() -> None:
    engine = FakeEngine(duration=0.01)
    BatchRunner(
        fake_jobs(NAMES),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    assert engine.started_order == NAMES
    for before, after in zip(engine.calls, engine.calls[1:], strict=False):
        assert before.ended is not None and before.ended <= after.started


def test_fail_mode_starts_nothing_after_the_failure_and_cancels_the_rest() -> None:
    engine = FakeEngine(duration=0.01, outcomes={"f02.mkv": FileStatus.FAILED})
    listener = RecordingListener()
    result = BatchRunner(
        fake_jobs(NAMES),
        workers=1,
        listener=listener,
        on_error="fail",
        backend=ThreadsBackend(engine),
    ).run()
    assert engine.started_order == ["f00.mkv", "f01.mkv", "f02.mkv"]
    got = statuses(result)
    assert got["f02.mkv"] == "failed"
    assert all(got[n] == "cancelled" for n in NAMES[3:])
    assert result.stopped_early and result.stop_reason == "failure"
    # Every file is reported exactly once, in queue order.
    assert [f.path.name for f in result.files] == NAMES
    assert sorted(e.position for e in listener.of_type(FileFinished)) == list(range(len(NAMES)))


def test_fail_mode_lets_running_files_finish() -> None:
    # f00 is slow, f01 fails fast: f00 must still finish OK and nothing else may start.
    engine = FakeEngine(
        duration=0.01,
        durations={"f00.mkv": 0.4},
        outcomes={"f01.mkv": FileStatus.FAILED},
    )
    result = BatchRunner(
        fake_jobs(NAMES),
        workers=2,
        listener=RecordingListener(),
        on_error="fail",
        backend=ThreadsBackend(engine),
    ).run()
    assert engine.started_order == ["f00.mkv", "f01.mkv"]
    got = statuses(result)
    assert got["f00.mkv"] == "ok" and got["f01.mkv"] == "failed"
    assert result.count(FileStatus.CANCELLED) == len(NAMES) - 2


def test_skip_mode_reports_every_file() -> None:
    engine = FakeEngine(
        duration=0.01,
        outcomes={"f01.mkv": FileStatus.FAILED, "f05.mkv": FileStatus.SKIPPED},
    )
    result = BatchRunner(
        fake_jobs(NAMES),
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    assert len(result.files) == len(NAMES)
    assert result.totals == {
        "ok": 6,
        "unchanged": 0,
        "planned": 0,
        "failed": 1,
        "skipped": 1,
        "cancelled": 0,
    }
    assert not result.stopped_early
    # A locked (skipped) file is never retried.
    assert engine.started_order.count("f05.mkv") == 1


def test_events_arrive_once_per_file_in_a_sane_order() -> None:
    engine = FakeEngine(duration=0.05, steps=5)
    listener = RecordingListener()
    BatchRunner(
        fake_jobs(NAMES),
        workers=3,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    events = listener.events
    assert isinstance(events[0], BatchStarted) and events[0].total == len(NAMES)
    assert isinstance(events[-1], BatchFinished)
    assert len(listener.of_type(BatchFinished)) == 1
    for name in NAMES:
        mine = [
            e
            for e in events
            if (isinstance(e, (FileStarted, FileProgress)) and e.path.name == name)
            or (isinstance(e, FileFinished) and e.result.path.name == name)
        ]
        kinds = [type(e).__name__ for e in mine]
        assert kinds[0] == "FileStarted" and kinds[-1] == "FileFinished", kinds
        assert kinds.count("FileStarted") == 1 and kinds.count("FileFinished") == 1
        progress = [e for e in mine if isinstance(e, FileProgress)]
        assert progress and progress[-1].progress.fraction == 1.0


def test_progress_is_throttled_but_the_final_100_percent_is_sent() -> None:
    engine = FakeEngine(duration=0.05, steps=50)  # 50 updates in 50 ms
    listener = RecordingListener()
    BatchRunner(
        fake_jobs(["one.mkv"]),
        workers=1,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    progress = listener.of_type(FileProgress)
    assert 1 <= len(progress) <= 5
    assert progress[-1].progress.fraction == 1.0  # type: ignore[attr-defined]


def test_stop_drains_running_files_and_cancels_the_queue() -> None:
    engine = FakeEngine(duration=0.3)
    listener = RecordingListener()
    runner = BatchRunner(
        fake_jobs(NAMES),
        workers=2,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    engine.expect_active(2)
    thread, out = run_in_thread(runner)
    assert engine.all_running.wait(5)
    runner.stop()
    runner.stop()  # idempotent
    thread.join(10)
    result = out[0]
    assert statuses(result)["f00.mkv"] == "ok" and statuses(result)["f01.mkv"] == "ok"
    assert result.count(FileStatus.CANCELLED) == len(NAMES) - 2  # type: ignore[attr-defined]
    assert engine.started_order == ["f00.mkv", "f01.mkv"]
    assert result.stop_reason == "stop"  # type: ignore[attr-defined]


def test_kill_terminates_running_tool_processes() -> None:
    engine = FakeEngine(duration=30, spawn=True)
    runner = BatchRunner(
        fake_jobs(NAMES),
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    engine.expect_active(2)
    thread, out = run_in_thread(runner)
    assert engine.all_running.wait(5)
    began = time.monotonic()
    runner.kill()
    thread.join(10)
    assert time.monotonic() - began < 3
    result = out[0]
    assert result.count(FileStatus.CANCELLED) == len(NAMES)  # type: ignore[attr-defined]
    assert result.stop_reason == "kill"  # type: ignore[attr-defined]
    assert len(engine.processes) == 2
    assert all(p.poll() is not None for p in engine.processes)


def test_kill_escalates_to_sigkill_after_the_grace_period() -> None:
    stubborn = ("sh", "-c", "trap '' TERM; sleep 30")
    engine = FakeEngine(spawn=True, spawn_command=stubborn)
    runner = BatchRunner(
        fake_jobs(NAMES[:2]),
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
        kill_grace_s=0.3,
    )
    engine.expect_active(2)
    thread, out = run_in_thread(runner)
    assert engine.all_running.wait(5)
    time.sleep(0.1)  # let sh install its trap
    runner.kill()
    thread.join(10)
    assert not thread.is_alive()
    assert all(p.poll() is not None for p in engine.processes)
    assert out[0].count(FileStatus.CANCELLED) == 2  # type: ignore[attr-defined]


def _wait_for_a_tool(engine: FakeEngine) -> None:
    deadline = time.monotonic() + 5
    while not engine.processes and time.monotonic() < deadline:
        time.sleep(0.005)


def _wait_until_stopped(pid: int) -> str | None:
    """The tool's process state once SIGSTOP has taken (``T``), or after 2 s."""
    deadline = time.monotonic() + 2
    while process_state(pid) != "T" and time.monotonic() < deadline:
        time.sleep(0.01)
    return process_state(pid)


def test_pause_stops_dispatching_and_suspends_the_tool_then_resume_continues() -> None:
    engine = FakeEngine(spawn=True, durations={}, duration=0.6)
    listener = RecordingListener()
    runner = BatchRunner(
        fake_jobs(NAMES[:3]),
        workers=1,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    thread, out = run_in_thread(runner)
    _wait_for_a_tool(engine)
    runner.pause()
    runner.pause()  # idempotent
    assert _wait_until_stopped(engine.processes[0].pid) == "T"  # SIGSTOPped
    time.sleep(0.8)  # longer than the file takes: nothing new may start meanwhile
    assert engine.started_order == ["f00.mkv"]
    assert runner.paused
    runner.resume()
    thread.join(10)
    assert statuses(out[0]) == {n: "ok" for n in NAMES[:3]}


def test_pause_without_a_tool_process_holds_the_work() -> None:
    engine = FakeEngine(duration=0.2, steps=10)
    runner = BatchRunner(
        fake_jobs(NAMES[:2]),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    engine.expect_active(1)
    thread, _ = run_in_thread(runner)
    assert engine.all_running.wait(5)
    runner.pause()
    time.sleep(0.5)
    assert engine.calls[0].ended is None
    runner.resume()
    thread.join(10)
    assert engine.started_order == NAMES[:2]


def test_kill_while_paused_still_ends_everything() -> None:
    engine = FakeEngine(duration=30, spawn=True)
    runner = BatchRunner(
        fake_jobs(NAMES[:3]),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    thread, out = run_in_thread(runner)
    _wait_for_a_tool(engine)
    runner.pause()
    runner.kill()
    thread.join(10)
    assert not thread.is_alive()
    assert out[0].count(FileStatus.CANCELLED) == 3  # type: ignore[attr-defined]
    assert engine.processes[0].poll() is not None


def test_stop_while_paused_resumes_so_running_files_can_finish() -> None:
    engine = FakeEngine(spawn=True, duration=0.6)
    runner = BatchRunner(
        fake_jobs(NAMES[:3]),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    thread, out = run_in_thread(runner)
    _wait_for_a_tool(engine)
    runner.pause()
    assert _wait_until_stopped(engine.processes[0].pid) == "T"
    runner.stop()  # "finish the running files": they cannot while suspended
    assert not runner.paused
    thread.join(10)
    assert not thread.is_alive(), "stop while paused waited for ever"
    assert statuses(out[0]) == {"f00.mkv": "ok", "f01.mkv": "cancelled", "f02.mkv": "cancelled"}


def test_set_workers_while_running_is_clamped_to_the_cap() -> None:
    engine = FakeEngine(duration=0.3)
    runner = BatchRunner(
        fake_jobs(NAMES),
        workers=1,
        max_workers=3,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    assert runner.set_workers(10) == 3
    assert runner.set_workers(0) == 1
    engine.expect_active(1)
    thread, out = run_in_thread(runner)
    assert engine.all_running.wait(5)
    engine.all_running.clear()
    engine.expect_active(3)
    assert runner.set_workers(3) == 3
    assert engine.all_running.wait(5)
    thread.join(10)
    assert engine.max_active == 3
    assert out[0].totals["ok"] == len(NAMES)  # type: ignore[attr-defined]


def test_an_engine_bug_is_a_failed_file_naming_it_not_a_crash() -> None:
    engine = FakeEngine(duration=0.01, raise_for=frozenset({"f01.mkv"}))
    result = BatchRunner(
        fake_jobs(NAMES[:3]),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    ).run()
    bad = result.files[1]
    assert bad.status is FileStatus.FAILED
    assert "f01.mkv" in (bad.error or "") and "fake engine blew up" in (bad.error or "")
    assert result.files[2].status is FileStatus.OK


def test_a_broken_listener_does_not_break_the_batch() -> None:
    class Broken:
        def on_event(self, event: object) -> None:
            raise ValueError("boom")

    result = BatchRunner(
        fake_jobs(NAMES[:3]),
        workers=2,
        listener=Broken(),
        on_error="skip",
        backend=ThreadsBackend(FakeEngine()),
    ).run()
    assert result.totals["ok"] == 3


def test_dry_run_reaches_the_engine() -> None:
    seen: list[bool] = []

    def process(job: FileJob, control: FileControl) -> FileResult:
        seen.append(job.dry_run)
        return FileResult(job.path, FileStatus.PLANNED, changes=("x",))

    result = BatchRunner(
        fake_jobs(NAMES[:2]),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(process),
        dry_run=True,
    ).run()
    assert seen == [True, True]
    assert result.dry_run and result.totals["planned"] == 2


def test_killed_file_that_the_tool_reports_failed_is_cancelled() -> None:
    started = threading.Event()

    def process(job: FileJob, control: FileControl) -> FileResult:
        started.set()
        while not control.cancelled:
            time.sleep(0.01)
        return FileResult(job.path, FileStatus.FAILED, error="ffmpeg exited with signal 15")

    runner = BatchRunner(
        fake_jobs(["a.mkv"]),
        workers=1,
        listener=RecordingListener(),
        on_error="fail",
        backend=ThreadsBackend(process),
    )
    thread, out = run_in_thread(runner)
    assert started.wait(5)
    runner.kill()
    thread.join(5)
    assert out[0].files[0].status is FileStatus.CANCELLED  # type: ignore[attr-defined]


def test_empty_batch_and_kill_before_run() -> None:
    listener = RecordingListener()
    result = BatchRunner(
        [], workers=2, listener=listener, on_error="skip", backend=ThreadsBackend(FakeEngine())
    ).run()
    assert result.files == () and isinstance(listener.events[-1], BatchFinished)

    engine = FakeEngine()
    runner = BatchRunner(
        fake_jobs(NAMES),
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(engine),
    )
    runner.kill()
    result = runner.run()
    assert engine.calls == []
    assert result.count(FileStatus.CANCELLED) == len(NAMES)
    with pytest.raises(RuntimeError):
        runner.run()


def test_many_files_flow_with_bounded_in_flight_work() -> None:
    """A smoke version of the 100k benchmark: no future per file, low overhead."""
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def process(job: FileJob, control: FileControl) -> FileResult:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        with lock:
            in_flight -= 1
        return FileResult(job.path, FileStatus.UNCHANGED)

    jobs = fake_jobs(f"{i}.mkv" for i in range(5000))
    result = BatchRunner(
        jobs,
        workers=2,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(process),
    ).run()
    assert result.totals["unchanged"] == 5000
    assert peak <= 2  # speed and memory: bench/runner_scale.py


def test_store_failure_is_a_warning_not_a_lost_batch(tmp_path: Path) -> None:
    class BrokenStore:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> object:
                raise OSError("disk full")

            return fail

    listener = RecordingListener()
    result = BatchRunner(
        fake_jobs(NAMES[:2]),
        workers=1,
        listener=listener,
        on_error="skip",
        backend=ThreadsBackend(FakeEngine()),
        store=BrokenStore(),  # type: ignore[arg-type]
    ).run()
    assert result.totals["ok"] == 2
    warnings = listener.of_type(BatchWarning)
    assert warnings and "disk full" in warnings[0].message  # type: ignore[attr-defined]


def test_threads_are_gone_after_run() -> None:
    before = {t.ident for t in threading.enumerate()}
    BatchRunner(
        fake_jobs(NAMES),
        workers=3,
        listener=RecordingListener(),
        on_error="skip",
        backend=ThreadsBackend(FakeEngine()),
    ).run()
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftover == []
    assert os.getpid() > 0
