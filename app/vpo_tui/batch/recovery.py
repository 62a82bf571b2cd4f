"""Start-up clean-up after a crash or ``kill -9``: both front ends call this first.

Jobs the database still shows as running for a dead process become ``interrupted``,
and vpo-tui temp files whose owning process is gone are removed from the folders
about to be processed. Re-running the same command then redoes only what is not done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.store.history import HistoryStore, JobRecord


@dataclass(frozen=True)
class Recovery:
    interrupted: tuple[JobRecord, ...]
    swept: tuple[Path, ...]
    finished: tuple[tuple[Path, Path], ...] = ()

    def messages(self) -> list[str]:
        lines = [
            f"{job.path}: was interrupted last time (batch {job.batch_id}); marked interrupted"
            for job in self.interrupted
        ]
        lines += [
            f"{path}: removed a stale temporary file from an earlier run" for path in self.swept
        ]
        lines += [
            f"{old}: finished an interrupted container change (now {new.name})"
            for old, new in self.finished
        ]
        return lines


def recover_at_startup(
    store: HistoryStore | None, roots: Iterable[Path], *, recursive: bool = True
) -> Recovery:
    from vpo_tui.engine.safety import finish_interrupted_commits, sweep_stale_temp_files

    interrupted = tuple(store.mark_interrupted()) if store is not None else ()
    folders = {Path(r) for r in roots}
    folders.update(Path(job.path).parent for job in interrupted)
    ordered = sorted(folders)
    finished = tuple(finish_interrupted_commits(ordered, recursive=recursive))
    swept = tuple(sweep_stale_temp_files(ordered, recursive=recursive))
    return Recovery(interrupted=interrupted, swept=swept, finished=finished)
