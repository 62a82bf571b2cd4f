"""The daily window and the end time, in-process on real files (the watcher, a batch).

A real session and engine; only the wall clock is the test's, so "22:00" can come
without waiting for it.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.batch.session import BatchRequest, Session, prepare
from vpo_tui.batch.watcher import Finished, HeldBack, Watcher, WatchEvent
from vpo_tui.config import Config
from vpo_tui.hours import TimeWindow

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


def test_end_by_ends_a_headless_batch_killing_the_running_file(
    tmp_path: Path, make_file: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--end-by for a plain batch: at the time, the running file is killed, the original
    kept. The clock is shifted so the next whole minute comes 2 s into the run."""
    from tests.commands import logging_tools
    from tests.conftest import sha256
    from vpo_tui import headless
    from vpo_tui.config import load_config
    from vpo_tui.headless import HeadlessOptions, run_headless

    lib = tmp_path / "lib"
    lib.mkdir()
    target = make_file("slow.mkv", folder=lib, audio=TWO)
    before = sha256(target)
    config, _log = logging_tools(tmp_path, delay=30.0)
    real = datetime.now()
    end = (real + timedelta(minutes=1)).replace(second=0, microsecond=0)
    shift = end - real - timedelta(seconds=2)

    class Shifted(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Shifted:  # type: ignore[override]
            return datetime.now() + shift  # type: ignore[return-value]

    monkeypatch.setattr(headless, "datetime", Shifted)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = run_headless(
        HeadlessOptions(
            paths=(lib,),
            config=load_config(config),
            db=tmp_path / "h.db",
            end_by=end.hour * 60 + end.minute,
            json=True,
        ),
        stdout=out,
        stderr=err,
        install_signals=False,
    )
    took = time.monotonic() - started
    assert code == 130, err.getvalue()
    assert took < 15  # not the tool's 30 s
    assert f"End time {end:%H:%M} reached" in err.getvalue()
    assert [f["status"] for f in json.loads(out.getvalue())["files"]] == ["cancelled"]
    assert sha256(target) == before
    assert [p for p in lib.iterdir() if ".vpo-tmp-" in p.name] == []
