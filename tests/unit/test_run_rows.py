"""What a run-table row says while its file is paused, and after it resumes."""

from __future__ import annotations

from pathlib import Path

from vpo_tui.batch.events import BatchStarted, FileFinished, FileProgress, FileStarted
from vpo_tui.engine.job import FileResult, FileStatus, ProgressUpdate
from vpo_tui.tui.run_state import RunModel

PATHS = [Path(f"/lib/f{i}.mkv") for i in range(3)]


def _running_model() -> RunModel:
    """f0 finished, f1 transcoding at 2.5x with 40 s to go, f2 queued."""
    model = RunModel.for_paths(PATHS, Path("/lib"))
    for event in (
        BatchStarted(total=3, workers=1, dry_run=False, policy_name="p"),
        FileStarted(PATHS[0], 0),
        FileFinished(FileResult(PATHS[0], FileStatus.OK), 0),
        FileStarted(PATHS[1], 1),
        FileProgress(PATHS[1], ProgressUpdate("run", 0.5, speed=2.5, eta_s=40.0)),
    ):
        model.apply(event, now=0.0)
    return model


def test_a_paused_row_shows_paused_not_its_last_speed() -> None:
    model = _running_model()
    row = model.rows[1]
    assert (row.rate_text, row.eta_text) == ("2.5x", "0:40")
    changed = model.set_paused(True)
    assert changed == [row]  # only the running file; finished and queued rows stay as they are
    assert (row.rate_text, row.eta_text, row.percent_text) == ("paused", "", " 50%")
    assert model.set_paused(True) == []  # nothing new to repaint


def test_resume_shows_the_speed_again_and_new_progress_replaces_it() -> None:
    model = _running_model()
    row = model.rows[1]
    model.set_paused(True)
    assert model.set_paused(False) == [row]
    assert row.rate_text == "2.5x"
    model.apply(FileProgress(PATHS[1], ProgressUpdate("run", 0.6, speed=1.5, eta_s=30.0)), 1.0)
    assert (row.rate_text, row.eta_text) == ("1.5x", "0:30")


def test_a_row_names_the_cluster_worker_running_it() -> None:
    from vpo_tui.tui.screens.run import run_cells

    model = _running_model()
    row = model.rows[1]
    assert run_cells(row)[0] == "f1.mkv"  # on this machine: just the name
    model.apply(FileProgress(PATHS[1], ProgressUpdate("run", 0.7, worker="node-2")), 1.0)
    model.apply(FileProgress(PATHS[1], ProgressUpdate("run", 0.8)), 1.5)  # kept
    model.apply(FileFinished(FileResult(PATHS[1], FileStatus.OK), 1), 2.0)
    assert run_cells(row)[0] == "f1.mkv  @node-2"  # still says where it ran
