"""Where a batch's files run: the narrow protocol the runner drives.

The runner owns the queue, back-pressure, the stop event, the history and the
events; a backend only runs one file when asked and passes the batch's controls
on to wherever files run. Threads is the trivial backend (the engine, called on
the runner's worker thread); Dask is the other (``vpo_tui.batch.cluster.client``). A new
executor is a new backend, never a runner subclass (as Harlequin's adapters are
a protocol its app drives).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, StopReason

ProcessFn = Callable[[FileJob, FileControl], FileResult]


@dataclass(frozen=True)
class Abandoned:
    """The backend cannot go on (its cluster is gone): why, and what the user is told."""

    reason: StopReason
    message: str


class Backend(Protocol):
    """One batch's executor. Every method may be called from any thread."""

    def process(self, job: FileJob, control: FileControl) -> FileResult:
        """Run one file and return its result; blocks the runner's worker thread.

        ``control`` carries this file's cancel / pause / progress: a backend that
        runs the file elsewhere forwards them there.
        """
        ...

    def abandoned(self) -> Abandoned | None:
        """Asked after each file: a reason the whole batch must stop, or None."""
        ...

    def stop(self) -> None:
        """The batch is stopping: running files finish, no new file starts."""
        ...

    def kill(self) -> None:
        """The batch is killed: running files are cancelled where they run."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def close(self) -> None:
        """The batch is over: release what it held (never raises)."""
        ...


def _engine_process_file(job: FileJob, control: FileControl) -> FileResult:
    """Imported lazily so that importing the batch layer does not import the engine."""
    from vpo_tui.engine.process import process_file

    return process_file(job, control)


class ThreadsBackend:
    """Files run in this process, on the runner's worker threads.

    Stop, kill, pause and resume reach the running tools through each file's
    ``FileControl``, which the runner drives itself, so there is nothing to
    forward. ``process`` is the engine; tests hand it a fake one.
    """

    def __init__(self, process: ProcessFn | None = None) -> None:
        self._process: ProcessFn = process if process is not None else _engine_process_file

    def process(self, job: FileJob, control: FileControl) -> FileResult:
        return self._process(job, control)

    def abandoned(self) -> Abandoned | None:
        return None

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def close(self) -> None:
        pass
