"""The watcher in-process on real files: the daily window and the end time.

A real session and engine; only the wall clock is the test's, so "22:00" can come
without waiting for it.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.batch.session import BatchRequest, Session, prepare
from vpo_tui.config import Config
from vpo_tui.hours import TimeWindow
from vpo_tui.watch.loop import Finished, HeldBack, Watcher, WatchEvent

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))


class Events:
    def __init__(self) -> None:
        self.seen: list[WatchEvent] = []

    def on_watch(self, event: WatchEvent) -> None:
        self.seen.append(event)

    def finished(self) -> list[Finished]:
        return [e for e in self.seen if isinstance(e, Finished)]

    def held(self) -> list[HeldBack]:
        return [e for e in self.seen if isinstance(e, HeldBack)]


def _session(lib: Path, tmp_path: Path) -> Session:
    prepared = prepare(BatchRequest(paths=(lib,), db=tmp_path / "h.db"), Config(), find_files=False)
    assert isinstance(prepared, Session), prepared
    return prepared


def _wait(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_outside_the_hours_files_wait_and_start_when_the_window_opens(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    make_file("waiting.mkv", folder=lib, audio=TWO)
    clock = {"now": datetime(2026, 12, 6, 12, 0)}
    events = Events()
    with _session(lib, tmp_path) as session:
        watcher = Watcher(
            session,
            events,
            settle_s=0.3,
            hours=TimeWindow.parse("22:00-07:00"),
            wall=lambda: clock["now"],
        )
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            _wait(lambda: bool(events.held()))
            assert [h.reason for h in events.held()] == [
                "outside the hours 22:00-07:00: waits until 22:00"
            ]
            time.sleep(1.0)
            assert events.finished() == [] and watcher.runs == 0
            clock["now"] = datetime(2026, 12, 6, 22, 0)
            _wait(lambda: len(events.finished()) == 1, timeout=60)
            assert events.finished()[0].result.status.value == "ok"
        finally:
            watcher.stop()
            thread.join(30)
    assert not thread.is_alive()


def test_the_end_time_ends_the_watch(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    events = Events()
    with _session(lib, tmp_path) as session:
        end_at = datetime.now() + timedelta(seconds=1.5)
        watcher = Watcher(session, events, settle_s=0.3, end_at=end_at)
        started = time.monotonic()
        watcher.run()
    took = time.monotonic() - started
    assert 1.0 < took < 5.0
    assert not watcher.stopping  # ended by the clock, not stopped: exit 0
    shutil.rmtree(lib)
