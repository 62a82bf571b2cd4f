"""The ETA both front ends show: cancelled files (after Stop) must not speed up the pace."""

from __future__ import annotations

import io
from pathlib import Path

from vpo_tui.batch.events import BatchStarted, FileFinished, FileStarted
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.headless import ConsoleListener
from vpo_tui.tui.run_state import RunModel

PATHS = [Path(f"/lib/f{i}.mkv") for i in range(4)]


def _events() -> list[object]:
    """f0 took 10 s; then Stop: f2 and f3 are cancelled at once, f1 is still running."""
    return [
        BatchStarted(total=4, workers=1, dry_run=False, policy_name="p"),
        FileStarted(PATHS[0], 0),
        FileFinished(FileResult(PATHS[0], FileStatus.OK), 0),
        FileStarted(PATHS[1], 1),
        FileFinished(FileResult(PATHS[2], FileStatus.CANCELLED), 2),
        FileFinished(FileResult(PATHS[3], FileStatus.CANCELLED), 3),
    ]


def test_tui_eta_is_paced_by_files_that_did_work() -> None:
    model = RunModel.for_paths(PATHS, Path("/lib"))
    for event in _events():
        model.apply(event, now=0.0)  # type: ignore[arg-type]
    assert model.done == 3 and model.worked == 1
    # 10 s for the one file that did work; one file (f1) left: 10 s, not 3.3 s
    assert model.eta(now=10.0) == 10.0


def test_headless_eta_is_paced_by_files_that_did_work(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    monkeypatch.setattr("vpo_tui.headless.time.monotonic", lambda: now[0])
    out = io.StringIO()
    listener = ConsoleListener(out, tty=True, quiet=False, dry_run=False)
    first, *rest = _events()
    listener.on_event(first)  # type: ignore[arg-type]
    now[0] = 10.0
    for event in rest:
        listener.on_event(event)  # type: ignore[arg-type]
    last = out.getvalue().split("\r\x1b[K")[-1]
    assert last == "Processing: 1/4 files, 2 cancelled [1 active] 0:10 elapsed, ETA 0:10", last
