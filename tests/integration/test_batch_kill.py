"""Kill (the second stage of abort) during a batch of real ffmpeg transcodes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from tests.commands import SLOW_HEVC
from tests.conftest import AudioSpec, MakeMedia, sha256
from tests.fakes import RecordingListener
from vpo_tui.batch.events import BatchEvent, BatchResult, FileProgress
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.store.history import HistoryStore


class KillWhenEncoding(RecordingListener):
    """Calls ``runner.kill()`` from the listener thread once ffmpeg reports progress."""

    def __init__(self) -> None:
        super().__init__()
        self.encoding = threading.Event()

    def on_event(self, event: BatchEvent) -> None:
        super().on_event(event)
        if isinstance(event, FileProgress) and event.progress.stage == "run":
            self.encoding.set()


def _tool_children() -> list[str]:
    """ffmpeg processes still running that were started by this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and cmdline and cmdline[0].endswith(b"ffmpeg"):
            found.append(entry.name)
    return found


def test_kill_during_a_transcode_batch(make_file: MakeMedia, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    files = [
        make_file(
            f"clip {i}.mkv",
            folder=lib,
            duration=4.0,
            width=640,
            height=360,
            audio=(AudioSpec("eng", default=True),),
        )
        for i in range(3)
    ]
    digests = {f: sha256(f) for f in files}
    store = HistoryStore(tmp_path / "h.db")
    listener = KillWhenEncoding()
    runner = BatchRunner(
        [FileJob(f, SLOW_HEVC) for f in files],
        workers=1,
        listener=listener,
        on_error=SLOW_HEVC.on_error,
        store=store,
        kill_grace_s=2.0,
    )
    outcome: list[BatchResult] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run()))
    thread.start()
    assert listener.encoding.wait(60), "ffmpeg never reported progress"
    runner.kill()
    thread.join(30)
    assert not thread.is_alive(), "kill did not end the batch"
    (result,) = outcome
    statuses = [f.status for f in result.files]
    assert statuses == [FileStatus.CANCELLED] * 3, statuses
    for f in files:  # originals byte-identical, no temp file, no tool left running
        assert sha256(f) == digests[f]
    assert sorted(p.name for p in lib.iterdir()) == sorted(f.name for f in files)
    assert _tool_children() == []
    assert result.batch_id is not None and result.stop_reason == "kill"
    jobs = store.batch_jobs(result.batch_id)
    assert [j.status for j in jobs] == ["cancelled"] * 3
