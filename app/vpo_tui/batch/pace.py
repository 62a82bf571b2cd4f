"""How far a batch has got and how long it still needs: one computation for every front end.

Files are weighed by their media duration once known (the others by the mean known
duration, 1 when none is), running files count with their fraction, and cancelled
files are no work. The ETA is the remaining work at the pace so far. The app's run
model and headless's aggregate line both use ``batch_work`` and ``remaining_s``, so
they never disagree on how long is left; ``BatchPace`` keeps the counts from batch
events for a front end that has no model of its own (headless).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vpo_tui.batch.events import BatchEvent, BatchStarted, FileFinished, FileProgress, FileStarted
from vpo_tui.engine.job import FileStatus

AFTER_TOOL = frozenset({"verify", "commit"})  # the file's tool pass is done: 100 %


def batch_work(
    files: int,
    known_weight: float,
    known_count: int,
    done_known_weight: float,
    done_unknown: int,
    running: Iterable[tuple[float | None, float]],
) -> tuple[float, float]:
    """(work done, work in the batch), in seconds of media where known.

    ``files`` excludes cancelled ones; ``running`` is (duration or None, fraction)
    of each running file.
    """
    mean = known_weight / known_count if known_count else 1.0
    total = known_weight + max(0, files - known_count) * mean
    done = done_known_weight + done_unknown * mean
    for seconds, fraction in running:
        done += (seconds or mean) * fraction
    return done, total


def remaining_s(done: float, total: float, elapsed: float) -> float | None:
    """The remaining work at the pace so far (None until there is any progress)."""
    if done <= 0 or elapsed <= 0:
        return None
    return max(0.0, total - done) * elapsed / done


@dataclass
class _Running:
    seconds: float | None = None
    fraction: float = 0.0


@dataclass
class BatchPace:
    """The counts ``batch_work`` needs, kept from batch events (not thread-safe)."""

    total: int = 0
    cancelled: int = 0
    _running: dict[Path, _Running] = field(default_factory=dict)
    _known_weight: float = 0.0
    _known_count: int = 0
    _done_known_weight: float = 0.0
    _done_unknown: int = 0

    def apply(self, event: BatchEvent) -> None:
        if isinstance(event, FileProgress):
            file = self._running.get(event.path)
            if file is None:
                return  # a late update of a finished file
            update = event.progress
            file.fraction = 1.0 if update.stage in AFTER_TOOL else update.fraction
            seconds = update.duration_s
            if seconds and seconds > 0 and seconds != file.seconds:
                if file.seconds is None:
                    self._known_count += 1
                else:
                    self._known_weight -= file.seconds
                file.seconds = seconds
                self._known_weight += seconds
        elif isinstance(event, FileStarted):
            self._running[event.path] = _Running()
        elif isinstance(event, FileFinished):
            file = self._running.pop(event.result.path, None) or _Running()
            if event.result.status is FileStatus.CANCELLED:
                self.cancelled += 1
                if file.seconds is not None:  # no longer part of the work to do
                    self._known_weight -= file.seconds
                    self._known_count -= 1
            elif file.seconds is not None:
                self._done_known_weight += file.seconds
            else:
                self._done_unknown += 1
        elif isinstance(event, BatchStarted):
            self.total = event.total

    def work(self) -> tuple[float, float]:
        return batch_work(
            max(0, self.total - self.cancelled),
            self._known_weight,
            self._known_count,
            self._done_known_weight,
            self._done_unknown,
            ((f.seconds, f.fraction) for f in self._running.values()),
        )

    def eta(self, elapsed: float) -> float | None:
        done, total = self.work()
        return remaining_s(done, total, elapsed)
