"""Every way a batch ends, scripted: a backend that ends it so, and the exit code it gets.

Both front ends' exit-code tests run these (headless in ``tests/integration``, the
app in ``tests/tui``), so one table says what each ending must exit with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from vpo_tui.batch.backend import Abandoned
from vpo_tui.batch.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, StopReason


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
