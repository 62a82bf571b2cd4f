"""The run screen's bar, ETA and clock as plain arithmetic: running files count, each
weighed by its duration; paused time is off the clock; a file being verified is done."""

from __future__ import annotations

from pathlib import Path

from vpo_tui.batch.events import (
    BatchFinished,
    BatchResult,
    BatchStarted,
    FileFinished,
    FileProgress,
    FileStarted,
)
from vpo_tui.engine.job import FileResult, FileStatus, ProgressUpdate
from vpo_tui.tui.run_state import RunModel

PATHS = [Path(f"/lib/f{i}.mkv") for i in range(4)]


def _model(*events: object) -> RunModel:
    model = RunModel.for_paths(PATHS, Path("/lib"))
    model.apply(BatchStarted(total=4, workers=2, dry_run=False, policy_name="p"), now=0.0)
    for event in events:
        model.apply(event, now=0.0)  # type: ignore[arg-type]
    return model


def _at(i: int, fraction: float, duration: float | None = None, stage: str = "run") -> object:
    return FileProgress(PATHS[i], ProgressUpdate(stage, fraction, duration_s=duration))


def test_two_files_at_80_percent_move_the_bar_before_either_finishes() -> None:
    model = _model(FileStarted(PATHS[0], 0), FileStarted(PATHS[1], 1), _at(0, 0.8), _at(1, 0.8))
    assert model.done == 0
    assert abs(model.progress() - 0.4) < 1e-9  # 2 x 0.8 of 4 equal files
    assert abs((model.eta(now=4.0) or 0) - 6.0) < 1e-9  # 1.6 files in 4 s: 2.4 files left take 6 s


def test_files_are_weighed_by_their_duration_and_the_unknown_by_the_mean() -> None:
    model = _model(
        FileStarted(PATHS[0], 0),
        _at(0, 0.0, duration=10.0, stage="plan"),
        _at(0, 1.0),
        FileFinished(FileResult(PATHS[0], FileStatus.OK), 0),
        FileStarted(PATHS[1], 1),
        _at(1, 0.5, duration=30.0, stage="plan"),
        _at(1, 0.5),
    )
    # 10 s done + 15 s of 30 s; two files not probed yet weigh the mean, 20 s each
    assert abs(model.progress() - 25 / 80) < 1e-9


def test_cancelled_files_are_not_work_and_do_not_speed_up_the_eta() -> None:
    model = _model(
        FileStarted(PATHS[0], 0),
        FileFinished(FileResult(PATHS[0], FileStatus.OK), 0),
        FileStarted(PATHS[1], 1),
        _at(1, 0.5, duration=4.0, stage="plan"),
        _at(1, 0.5),
        FileFinished(FileResult(PATHS[1], FileStatus.CANCELLED), 1),
        FileFinished(FileResult(PATHS[2], FileStatus.CANCELLED), 2),
    )
    assert model.progress() == 0.5  # f0 done, f3 left; the cancelled ones are out
    assert model.eta(now=10.0) == 10.0


def test_verifying_and_committing_show_100_percent() -> None:
    model = _model(FileStarted(PATHS[0], 0), _at(0, 0.7), _at(0, 0.0, stage="verify"))
    row = model.rows[0]
    assert (row.percent_text, row.rate_text) == ("100%", "verifying")
    model.apply(_at(0, 0.0, stage="commit"), now=0.0)  # type: ignore[arg-type]
    assert row.percent_text == "100%"


def test_no_eta_until_there_is_progress() -> None:
    model = _model(FileStarted(PATHS[0], 0), _at(0, 0.0, stage="probe"))
    assert model.eta(now=5.0) is None
    assert "ETA" not in model.aggregate_text(5.0)


def test_paused_time_is_off_the_clock_and_the_eta_says_paused() -> None:
    model = _model(FileStarted(PATHS[0], 0), _at(0, 0.5))
    assert model.elapsed(10.0) == 10.0
    model.set_paused(True, now=10.0)
    assert model.elapsed(70.0) == 10.0
    text = model.aggregate_text(70.0, paused=True)
    assert "elapsed 0:10  ETA paused" in text, text
    model.set_paused(False, now=70.0)
    assert model.elapsed(75.0) == 15.0
    model.set_paused(True, now=75.0)  # killed while paused: the end closes the pause
    result = BatchResult(files=(), duration_s=0.0, stopped_early=True, workers=2, dry_run=False)
    model.apply(BatchFinished(result), now=100.0)
    assert model.elapsed(500.0) == 15.0


def test_probed_durations_weigh_queued_files_and_the_run_corrects_them() -> None:
    model = RunModel.for_paths(PATHS, Path("/lib"), {PATHS[0]: 10.0, PATHS[1]: 30.0})
    model.apply(BatchStarted(total=4, workers=1, dry_run=False, policy_name="p"), now=0.0)
    model.apply(FileStarted(PATHS[1], 1), now=0.0)
    model.apply(_at(1, 0.5), now=0.0)  # type: ignore[arg-type]
    # 15 s of 10 + 30 + two unknown files at the mean (20 s each)
    assert abs(model.progress() - 15 / 80) < 1e-9
    model.apply(_at(1, 0.5, duration=50.0, stage="plan"), now=0.0)  # type: ignore[arg-type]
    model.apply(_at(1, 0.5), now=0.0)  # type: ignore[arg-type]
    # the file changed since the preview: its own probe wins (10 + 50, mean 30)
    assert abs(model.progress() - 25 / 120) < 1e-9
