"""What a batch tells its front ends, and the result it ends with.

Listeners are called from worker threads: they must be thread-safe and quick
(the TUI turns each event into a ``post_message``; headless prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vpo_tui.engine.job import BatchResult, FileResult, ProgressUpdate

__all__ = [
    "BatchEvent",
    "BatchFinished",
    "BatchListener",
    "BatchResult",
    "BatchStarted",
    "BatchWarning",
    "FileFinished",
    "FileProgress",
    "FileStarted",
]


@dataclass(frozen=True)
class BatchStarted:
    total: int
    workers: int
    dry_run: bool
    policy_name: str
    batch_id: int | None = None


@dataclass(frozen=True)
class FileStarted:
    path: Path
    position: int  # index in the queue


@dataclass(frozen=True)
class FileProgress:
    path: Path
    progress: ProgressUpdate


@dataclass(frozen=True)
class FileFinished:
    result: FileResult
    position: int


@dataclass(frozen=True)
class BatchWarning:
    """Something the user must see that is not a file result (worker cap, unreadable folder)."""

    message: str
    path: Path | None = None


@dataclass(frozen=True)
class BatchFinished:
    result: BatchResult


BatchEvent = BatchStarted | FileStarted | FileProgress | FileFinished | BatchWarning | BatchFinished


class BatchListener(Protocol):
    """Receives every batch event; called from worker threads."""

    def on_event(self, event: BatchEvent) -> None: ...
