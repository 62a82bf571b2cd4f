"""The counts the TUI writes: real plurals, and cancelled files not counted as processed."""

from __future__ import annotations

from pathlib import Path

from vpo_tui.batch.events import BatchFinished, BatchResult, BatchStarted, FileFinished, FileStarted
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.phrasing import plural
from vpo_tui.tui.run_state import RunModel

PATHS = [Path(f"/lib/f{i:02d}.mkv") for i in range(12)]


def test_plural_says_one_file_and_two_files() -> None:
    assert plural(0, "file") == "0 files"
    assert plural(1, "file") == "1 file"
    assert plural(2, "worker") == "2 workers"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"


def _stopped_model() -> RunModel:
    """f00 finished, f01 still running, then Stop: the ten queued files are cancelled."""
    model = RunModel.for_paths(PATHS, Path("/lib"))
    events: list[object] = [
        BatchStarted(total=12, workers=1, dry_run=False, policy_name="p"),
        FileStarted(PATHS[0], 0),
        FileFinished(FileResult(PATHS[0], FileStatus.OK), 0),
        FileStarted(PATHS[1], 1),
    ]
    events += [
        FileFinished(FileResult(path, FileStatus.CANCELLED), i)
        for i, path in enumerate(PATHS[2:], start=2)
    ]
    for event in events:
        model.apply(event, now=0.0)  # type: ignore[arg-type]
    return model


def test_after_stop_cancelled_files_are_not_counted_as_processed() -> None:
    model = _stopped_model()
    assert model.aggregate_text(10.0).startswith(
        "Processing: 1/12 files, 10 cancelled [1 active]  workers 1  elapsed 0:10  ETA 0:10"
    ), model.aggregate_text(10.0)
    # the running file ends: the batch is over
    model.apply(FileFinished(FileResult(PATHS[1], FileStatus.OK), 1), now=20.0)
    result = BatchResult(
        files=tuple(row.result for row in model.rows if row.result is not None),
        duration_s=20.0,
        stopped_early=True,
        workers=1,
        dry_run=False,
    )
    model.apply(BatchFinished(result), now=20.0)
    assert model.aggregate_text(20.0).startswith("Stopped: 2/12 files, 10 cancelled [0 active]")


def test_without_cancelled_files_the_line_is_as_before() -> None:
    model = RunModel.for_paths(PATHS[:1], Path("/lib"))
    model.apply(BatchStarted(total=1, workers=1, dry_run=False, policy_name="p"), now=0.0)
    assert model.aggregate_text(0.0).startswith("Processing: 0/1 file [0 active]")
    model.apply(FileStarted(PATHS[0], 0), now=0.0)
    model.apply(FileFinished(FileResult(PATHS[0], FileStatus.FAILED, error="x"), 0), now=1.0)
    assert model.aggregate_text(1.0).startswith("Processing: 1/1 file [0 active]")
