"""An hour of events on compliant files costs no tool run (the issue's proof, counted).

The watcher runs in-process on a real session with logging tool wrappers; its
file system events come from a scripted source instead of inotify: 3,600 events
(one per second of a simulated hour) on three files: the one it processed (its
own commit's echo, readers, chmods), one that already complied, and one renamed
away and back. Every tool process is counted by the wrappers.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.commands import logging_tools
from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.batch.session import BatchRequest, Session, prepare
from vpo_tui.batch.watcher import Finished, Watcher, WatchEvent
from vpo_tui.config import load_config

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))
EVENTS = 3600


class Scripted:
    """A ``Changes`` source the test feeds: ``push`` hands events to the watcher."""

    def __init__(self) -> None:
        self._emit: Callable[[Iterable[tuple[str, str]]], None] | None = None
        self.ready = threading.Event()

    def run(
        self,
        emit: Callable[[Iterable[tuple[str, str]]], None],
        stop: threading.Event,
        ready: threading.Event,
    ) -> None:
        self._emit = emit
        ready.set()
        self.ready.set()
        stop.wait()

    def push(self, kind: str, path: Path) -> None:
        assert self._emit is not None
        self._emit([(kind, str(path))])


class Seen:
    def __init__(self) -> None:
        self.finished: list[Finished] = []

    def on_watch(self, event: WatchEvent) -> None:
        if isinstance(event, Finished):
            self.finished.append(event)


def _wait(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_hour_of_events_on_compliant_files_starts_no_tool(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    config, log = logging_tools(tmp_path)
    fine = make_file("fine.mkv", folder=lib, audio=(AudioSpec("eng", default=True),))
    source = make_file("new.mkv", folder=tmp_path, audio=TWO)
    prepared = prepare(
        BatchRequest(paths=(lib,), db=tmp_path / "h.db"), load_config(config), find_files=False
    )
    assert isinstance(prepared, Session)
    seen, changes = Seen(), Scripted()
    with prepared as session:
        watcher = Watcher(session, seen, settle_s=0.0, changes=changes)
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            _wait(lambda: len(seen.finished) == 1)  # the first pass: fine.mkv, unchanged
            target = lib / "new.mkv"
            shutil.copy(source, target)
            changes.push("added", target)
            _wait(lambda: len(seen.finished) == 2)
            assert seen.finished[-1].result.status.value == "ok"
            runs_before = len(log.read_text().splitlines())
            runs_of_files = watcher.runs
            for second in range(EVENTS):
                path = (target, fine.resolve(), target)[second % 3]
                if second % 100 == 0:
                    with open(path, "rb") as reader:  # a media server reading it
                        reader.read(1024)
                    path.chmod(0o644 if second % 200 else 0o664)
                if second % 300 == 150:
                    moved = path.with_name("away.tmp")
                    os.rename(path, moved)
                    changes.push("deleted", path)
                    os.rename(moved, path)
                changes.push("modified" if second % 2 else "added", path)
            time.sleep(1.5)  # let the watcher work through them
            assert len(log.read_text().splitlines()) == runs_before  # no tool at all
            assert watcher.runs == runs_of_files  # and not even a batch
            assert len(seen.finished) == 2
        finally:
            watcher.stop()
            thread.join(30)
    assert not thread.is_alive()
