"""Every way a batch ends gives the same exit code headless and in the app.

The two front ends once mapped endings themselves and disagreed (a lost Dask
scheduler exited 1 headless and 0 in the app). Both now run one session and one
``exit_code_for``; this runs each ending through both and compares. Files run on
a scripted backend (a fake engine is fine here: this is about the front ends).
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vpo_tui.batch.backend import Abandoned
from vpo_tui.batch.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NOTHING_FOUND,
    EXIT_OK,
)
from vpo_tui.batch.session import Plumbing, Refusal, prepare
from vpo_tui.config import Config
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, StopReason
from vpo_tui.headless import HeadlessOptions, run_headless


@dataclass
class ScriptedBackend:
    """Ends each file as the ending asks; ``wait`` files block until stopped or killed."""

    ending: str
    started: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lost: bool = False

    def process(self, job: FileJob, control: FileControl) -> FileResult:
        self.started.set()
        if self.ending in ("stopped", "killed"):
            # Runs until the front end's own control reaches it (Stop lets it finish).
            while not self.released.wait(0.02):
                if control.cancelled:
                    return FileResult(job.path, FileStatus.CANCELLED, error="killed")
            return FileResult(job.path, FileStatus.OK)
        if self.ending == "failed file" and job.path.name == "a.mkv":
            return FileResult(job.path, FileStatus.FAILED, error=f"{job.path}: broken")
        if self.ending == "scheduler lost":
            self.lost = True
            return FileResult(job.path, FileStatus.CANCELLED, error="lost the scheduler")
        return FileResult(job.path, FileStatus.OK)

    def abandoned(self) -> Abandoned | None:
        if self.lost:
            return Abandoned(StopReason.CLUSTER_LOST, "lost the Dask scheduler")
        return None

    def stop(self) -> None:
        if self.ending == "stopped":  # a killed file is still running after the Stop
            self.released.set()

    def kill(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def close(self) -> None:
        pass


ENDINGS = {
    "finished": EXIT_OK,
    "failed file": EXIT_FAILED,
    "stopped": EXIT_INTERRUPTED,
    "killed": EXIT_INTERRUPTED,
    "scheduler lost": EXIT_FAILED,
}
REFUSALS = {"bad policy": EXIT_INVALID, "nothing found": EXIT_NOTHING_FOUND}


def _library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("a.mkv", "b.mkv", "c.mkv"):
        (lib / name).write_bytes(b"fake")
    return lib


def _plumbing(backend: ScriptedBackend) -> Plumbing:
    return Plumbing(backend=lambda: backend, check_tools=lambda _tools, _dry: None)


def _headless(tmp_path: Path, ending: str) -> int:
    lib = _library(tmp_path)
    backend = ScriptedBackend(ending)
    if ending in ("stopped", "killed"):
        presses = 1 if ending == "stopped" else 2

        def press_ctrl_c() -> None:  # the user's Ctrl-C, through headless's own handler
            backend.started.wait(10)
            for _ in range(presses):
                os.kill(os.getpid(), signal.SIGINT)
                threading.Event().wait(0.2)

        threading.Thread(target=press_ctrl_c, daemon=True).start()
    options = HeadlessOptions(
        paths=(lib,), workers=1, db=tmp_path / "h.db", quiet=True, config=Config()
    )
    return run_headless(options, plumbing=_plumbing(backend))


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_headless_exit_code_for_each_ending(tmp_path: Path, ending: str) -> None:
    assert _headless(tmp_path, ending) == ENDINGS[ending]


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refused_batch_has_one_exit_code_everywhere(tmp_path: Path, refusal: str) -> None:
    lib = tmp_path / "empty"
    lib.mkdir()
    policy = "no-such-policy" if refusal == "bad policy" else "normalize"
    if refusal == "bad policy":
        (lib / "a.mkv").write_bytes(b"fake")
    options = HeadlessOptions(paths=(lib,), policy=policy, db=tmp_path / "h.db", quiet=True)
    headless = run_headless(options, plumbing=_plumbing(ScriptedBackend("finished")))
    prepared = prepare(options.request(), Config(), plumbing=_plumbing(ScriptedBackend("x")))
    assert isinstance(prepared, Refusal)  # what the app renders and exits with
    assert headless == prepared.exit_code == REFUSALS[refusal]
