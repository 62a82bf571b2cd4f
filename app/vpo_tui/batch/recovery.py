"""Start-up clean-up after a crash or ``kill -9``: both front ends call this first.

Jobs the database still shows as running for a dead process become ``interrupted``,
files an in-place edit of a dead process left are restored from their journal, and
vpo-tui temp files whose owning process is gone are removed from the folders
about to be processed. Re-running the same command then redoes only what is not done.

A dry run must change nothing, so it does not recover; ``pending_recovery`` looks
(read-only) at what the next real run will clean up, so the user can be told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.phrasing import plural
from vpo_tui.store.history import HistoryStore, JobRecord


@dataclass(frozen=True)
class Recovery:
    interrupted: tuple[JobRecord, ...]
    swept: tuple[Path, ...]
    finished: tuple[tuple[Path, Path], ...] = ()
    restored: tuple[Path, ...] = ()

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
        lines += [
            f"{path}: restored the original after an interrupted in-place edit"
            for path in self.restored
        ]
        return lines


def recover_at_startup(
    store: HistoryStore | None, roots: Iterable[Path], *, recursive: bool = True
) -> Recovery:
    from vpo_tui.engine.edit_journal import restore_interrupted_edits
    from vpo_tui.engine.safety import finish_interrupted_commits, sweep_stale_temp_files

    interrupted = tuple(store.mark_interrupted()) if store is not None else ()
    folders = {Path(r) for r in roots}
    folders.update(Path(job.path).parent for job in interrupted)
    ordered = sorted(folders)
    restored = tuple(restore_interrupted_edits(ordered, recursive=recursive))
    finished = tuple(finish_interrupted_commits(ordered, recursive=recursive))
    swept = tuple(sweep_stale_temp_files(ordered, recursive=recursive))
    return Recovery(interrupted=interrupted, swept=swept, finished=finished, restored=restored)


@dataclass(frozen=True)
class PendingRecovery:
    """What ``recover_at_startup`` would do now, counted without doing it."""

    stale_temp_files: int = 0
    unfinished_commits: int = 0
    unfinished_edits: int = 0
    interrupted_batches: int = 0
    interrupted_files: int = 0

    def summary(self) -> str | None:
        """One line for a dry run, or ``None`` when there is nothing to clean up."""
        parts: list[str] = []
        if self.stale_temp_files:
            parts.append(plural(self.stale_temp_files, "stale temporary file"))
        if self.unfinished_commits:
            parts.append(plural(self.unfinished_commits, "half-done container change"))
        if self.unfinished_edits:
            parts.append(plural(self.unfinished_edits, "interrupted in-place edit"))
        if self.interrupted_batches:
            parts.append(plural(self.interrupted_batches, "interrupted batch", "batches"))
        elif self.interrupted_files:
            parts.append(plural(self.interrupted_files, "interrupted file"))
        if not parts:
            return None
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"{listed} will be cleaned up by the next real run (a dry run changes nothing)"


def pending_recovery(
    store: HistoryStore | None, roots: Iterable[Path], *, recursive: bool = True
) -> PendingRecovery:
    """Count what recovery would do under ``roots``, touching no file and no row.

    Mirrors ``recover_at_startup``: running jobs and batches of dead processes,
    temp files and commit journals of dead processes in the roots' folders and in
    the folders of those jobs.
    """
    from vpo_tui.engine.edit_journal import stale_edit_journals
    from vpo_tui.engine.safety import stale_journals, stale_temp_files

    dead_jobs: list[str] = []
    dead_batches = 0
    if store is not None:
        jobs, dead_batches = store.interrupted_pending()
        dead_jobs = [str(job.path) for job in jobs]
    # the roots, and the folders of the interrupted jobs (each folder looked at once)
    folders = [Path(r) for r in roots]
    folders += [Path(path).parent for path in dead_jobs]
    temps = len(stale_temp_files(folders, recursive=recursive))
    journals = len(stale_journals(folders, recursive=recursive))
    edits = len(stale_edit_journals(folders, recursive=recursive))
    return PendingRecovery(
        stale_temp_files=temps,
        unfinished_commits=journals,
        unfinished_edits=edits,
        interrupted_batches=dead_batches,
        interrupted_files=len(dead_jobs),
    )
