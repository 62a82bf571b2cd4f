"""What the run screen shows, as plain state updated from batch events.

Kept apart from the widgets so that the arithmetic (counts, ETA, per-file
speed) is testable without a terminal, and so that one drained burst of
events costs one dictionary update each, however many files there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from vpo_tui.batch.events import (
    BatchEvent,
    BatchFinished,
    BatchResult,
    BatchStarted,
    BatchWarning,
    FileFinished,
    FileProgress,
    FileStarted,
)
from vpo_tui.batch.pace import batch_work, remaining_s
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.phrasing import files_progress
from vpo_tui.tui.text import cause_text, display_name, format_duration, namer

QUEUED = "queued"
RUNNING = "running"
FINISHED_STATUSES = frozenset(s.value for s in FileStatus)

# Engine stages (ProgressUpdate.stage) in words, for files whose tool reports no speed.
STAGE_WORDS = {
    "lock": "locking",
    "probe": "probing",
    "plan": "planning",
    "run": "writing",
    "verify": "verifying",
    "commit": "committing",
}
# Stages after the tool pass: the file's work is written, only checks remain.
AFTER_TOOL = frozenset({"verify", "commit"})

PAUSED_ETA = "ETA paused  PAUSED"  # the run screen shortens it to PAUSED at 80 columns


@dataclass(slots=True, eq=False)
class FileRow:
    """One file's line in the run table (mutable: updated in place; one per queued file,
    so slots keep ten thousand of them small and quick to make; identity is equality)."""

    path: Path
    name: str
    status: str = QUEUED
    stage: str = ""
    fraction: float = 0.0
    fps: float | None = None
    speed: float | None = None
    eta_s: float | None = None
    eta_clock: float = 0.0  # the batch's working time when ``eta_s`` was reported
    paused: bool = False  # its tool is suspended: speed and ETA mean nothing now
    duration_s: float | None = None  # playing time, once probed: its weight in the bar
    result: FileResult | None = None
    worker: str | None = None  # the cluster host running it (None: this machine)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent_text(self) -> str:
        if self.status == QUEUED:
            return ""
        if self.finished:
            return "100%" if self.status in ("ok", "unchanged", "planned") else ""
        return f"{int(self.fraction * 100):3d}%"

    @property
    def rate_text(self) -> str:
        """Speed or fps when the tool reports it (ffmpeg), else what the file is doing."""
        if self.status != RUNNING:
            return ""
        if self.paused:
            return "paused"
        # ffmpeg's first report says 0 fps before a frame is out: not a figure to show
        if self.fps:
            return f"{self.fps:.0f} fps"
        if self.speed:
            return f"{self.speed:.1f}x"
        return STAGE_WORDS.get(self.stage, self.stage)

    @property
    def eta_text(self) -> str:
        return format_duration(self.eta_s) if self.status == RUNNING and not self.paused else ""

    @property
    def result_text(self) -> str:
        """One line: the first change, the cause of a failure, or why it was skipped."""
        result = self.result
        if result is None:
            return ""
        if result.error:
            return cause_text(result).splitlines()[0]
        if result.status is FileStatus.UNCHANGED:
            return "already compliant"
        if result.changes:
            more = len(result.changes) - 1
            return result.changes[0] + (f" (+{more} more)" if more else "")
        return ""


@dataclass
class RunModel:
    """Every file of one batch plus the aggregate line, fed by batch events."""

    root: Path | None
    rows: list[FileRow] = field(default_factory=list)
    by_path: dict[Path, FileRow] = field(default_factory=dict)
    total: int = 0
    done: int = 0
    worked: int = 0  # finished and not cancelled: the pace for the ETA
    active: int = 0
    workers: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: BatchResult | None = None
    warnings: list[str] = field(default_factory=list)
    failures: list[FileRow] = field(default_factory=list)
    _finished_seconds: float = 0.0
    # The bar's arithmetic, kept up to date event by event (never a walk over all rows):
    # files are weighed by their duration once known, the others by the mean known one.
    _running: dict[int, FileRow] = field(default_factory=dict)
    _known_weight: float = 0.0  # durations of the known files that are not cancelled
    _known_count: int = 0
    _done_known_weight: float = 0.0  # ... of those, the finished ones
    _done_unknown: int = 0  # finished (not cancelled) files whose duration is unknown
    _paused_total: float = 0.0  # paused time is not counted in elapsed or the ETA
    _paused_since: float | None = None

    @classmethod
    def for_paths(
        cls,
        paths: Iterable[Path],
        root: Path | None,
        durations: Mapping[Path, float] | None = None,
    ) -> RunModel:
        """One queued row per path, in queue order (``rows[position]`` is that file).

        ``durations`` are playing times already probed (by the preview, or by the
        batch a retry repeats): those files weigh their own time in the bar from
        the start, instead of the mean of the files that happened to start first.
        """
        model = cls(root=root)
        name = namer(root)
        model.rows = [FileRow(path=path, name=name(path)) for path in paths]
        model.by_path = {row.path: row for row in model.rows}
        model.total = len(model.rows)
        if durations:
            for row in model.rows:
                seconds = durations.get(row.path)
                if seconds is not None and seconds > 0:
                    row.duration_s = seconds
                    model._known_weight += seconds
                    model._known_count += 1
        return model

    def set_paused(self, paused: bool, now: float | None = None) -> list[FileRow]:
        """Mark the running rows paused (or not); returns the rows that changed.

        With ``now`` the paused time is kept off the clock: elapsed and ETA stand still.
        """
        if now is not None:
            if paused and self._paused_since is None and self.finished_at is None:
                self._paused_since = now
            elif not paused:
                self._close_pause(now)
        changed = []
        for row in self.rows if not paused else self._running_rows():
            if row.paused != paused:
                row.paused = paused
                changed.append(row)
        return changed

    def _running_rows(self) -> list[FileRow]:
        return list(self._running.values())

    def _close_pause(self, now: float) -> None:
        if self._paused_since is not None:
            self._paused_total += max(0.0, now - self._paused_since)
            self._paused_since = None

    def apply(self, event: BatchEvent, now: float) -> FileRow | None:
        """Update the state in O(1); return the row that changed (if one did).

        The common events come first; started/finished files are found by their
        queue position, progress by path.
        """
        kind = type(event)
        if kind is FileProgress:
            assert isinstance(event, FileProgress)
            row = self._row(event.path)
            if row.status != RUNNING:
                return None  # a late progress update must not resurrect a file
            update = event.progress
            row.stage = update.stage
            # verify/commit report their own 0..1; the file's tool pass is done: 100 %
            row.fraction = 1.0 if update.stage in AFTER_TOOL else update.fraction
            seconds = update.duration_s
            if seconds and seconds > 0 and seconds != row.duration_s:
                if row.duration_s is None:
                    self._known_count += 1
                else:  # probed again by the run: the file's own time wins
                    self._known_weight -= row.duration_s
                row.duration_s = seconds
                self._known_weight += seconds
            row.fps = update.fps
            row.speed = update.speed
            row.eta_s = update.eta_s
            row.eta_clock = self.elapsed(now)
            row.worker = update.worker or row.worker
            return row
        if kind is FileStarted:
            assert isinstance(event, FileStarted)
            row = self._at(event.position, event.path)
            if row.status == QUEUED:
                row.status = RUNNING
                self.active += 1
                self._running[id(row)] = row
            return row
        if kind is FileFinished:
            assert isinstance(event, FileFinished)
            return self._finish(event.result, event.position)
        if isinstance(event, BatchStarted):
            self.total = max(self.total, event.total)
            self.workers = event.workers
            self.started_at = now
            return None
        if isinstance(event, BatchWarning):
            where = f"{event.path}: " if event.path else ""
            self.warnings.append(where + event.message)
            return None
        if isinstance(event, BatchFinished):
            self._close_pause(now)
            self.finished_at = now
            # The summary says the run screen's working time: paused time left out.
            self.result = replace(event.result, duration_s=self.elapsed(now))
            self.active = 0
            # Anything the runner never reported (a crash between events) is not left "running".
            for file_result in event.result.files:
                known = self.by_path.get(file_result.path)
                if known is not None and not known.finished:
                    self._finish(file_result)
            return None
        return None

    def _at(self, position: int, path: Path) -> FileRow:
        rows = self.rows
        if 0 <= position < len(rows):
            row = rows[position]
            if row.path is path or row.path == path:
                return row
        return self._row(path)

    def _row(self, path: Path) -> FileRow:
        row = self.by_path.get(path)
        if row is None:  # a file the runner added (should not happen, but never crash on it)
            row = FileRow(path=path, name=display_name(path, self.root))
            self.rows.append(row)
            self.by_path[path] = row
            self.total = max(self.total, len(self.rows))
        return row

    def _finish(self, result: FileResult, position: int = -1) -> FileRow:
        row = self._at(position, result.path)
        if row.status == RUNNING:
            self.active = max(0, self.active - 1)
        self._running.pop(id(row), None)
        first_time = not row.finished
        if first_time:
            self.done += 1
            self._finished_seconds += result.duration_s
            if result.status is not FileStatus.CANCELLED:
                self.worked += 1
                if row.duration_s is not None:
                    self._done_known_weight += row.duration_s
                else:
                    self._done_unknown += 1
            elif row.duration_s is not None:  # no longer part of the work to do
                self._known_weight -= row.duration_s
                self._known_count -= 1
        row.status = result.status.value
        row.result = result
        row.fraction = 1.0
        if first_time and result.status is FileStatus.FAILED:
            self.failures.append(row)
        return row

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.result is None

    def elapsed(self, now: float) -> float:
        """Time the batch has been working: paused time is not counted."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at or now
        paused = self._paused_total
        if self._paused_since is not None:
            paused += max(0.0, end - self._paused_since)
        return max(0.0, end - self.started_at - paused)

    def _work(self) -> tuple[float, float]:
        """(work done, work in the batch), in seconds of media where known.

        A file whose duration is not known yet weighs the mean known duration (1
        when none is); running files count with their fraction, so two transcodes
        at 80 % move the bar before either finishes. Cancelled files are not work.
        """
        return batch_work(  # the computation headless shares
            max(0, self.total - self.cancelled),
            self._known_weight,
            self._known_count,
            self._done_known_weight,
            self._done_unknown,
            ((row.duration_s, row.fraction) for row in self._running.values()),
        )

    def progress(self) -> float:
        """The aggregate bar, 0..1: finished files plus the running files' share.

        An ended batch is at 100 %: whatever it was going to do is done (a Stop's
        cancelled files are not work), never stuck at 99 %.
        """
        if self.result is not None:
            return 1.0
        done, total = self._work()
        if total <= 0:
            return 1.0 if self.result is not None else 0.0
        return min(1.0, max(0.0, done / total))

    def eta(self, now: float) -> float | None:
        """Remaining time from the pace so far (None until there is any progress).

        The pace is work done over working time; cancelled files (after Stop)
        finish instantly and are not work, so they do not speed it up.
        """
        if self.result is not None or self.started_at is None:
            return None
        done, total = self._work()
        elapsed = self.elapsed(now)
        pace = remaining_s(done, total, elapsed)
        # The batch cannot end before its slowest running file says it will (that
        # file's ETA, less the working time since it said so).
        own = [
            row.eta_s - (elapsed - row.eta_clock)
            for row in self._running.values()
            if row.eta_s is not None
        ]
        if own and max(own) > (pace or 0.0):
            return max(own)
        return pace

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = {}
        for row in self.rows:
            tally[row.status] = tally.get(row.status, 0) + 1
        return tally

    @property
    def cancelled(self) -> int:
        """Finished without doing any work (Stop, Kill, on_error = "fail")."""
        return self.done - self.worked

    @property
    def ending(self) -> str:
        """``Processing``, ``Finished``, or how the batch was cut short (``Stopped``)."""
        result = self.result
        if result is None:
            return "Processing"
        if result.stop_reason is not None:
            return result.stop_reason.outcome.capitalize()
        return "Stopped" if result.stopped_early else "Finished"

    def aggregate_text(self, now: float, *, paused: bool = False, stopping: str = "") -> str:
        """``Processing: 3/10 files [2 active]  elapsed 0:12  ETA 0:30``.

        Cancelled files are counted apart (``1/12 files, 10 cancelled``): after Stop
        they finish at once, and counting them as processed would claim work not done.
        """
        verb = self.ending
        files = files_progress(self.worked, self.total, self.cancelled)
        parts = [f"{verb}: {files} [{self.active} active]"]
        parts.append(f"workers {self.workers}")
        parts.append(f"elapsed {format_duration(self.elapsed(now))}")
        eta = self.eta(now)
        if paused and self.result is None:
            parts.append(PAUSED_ETA)
        elif eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        if stopping:
            parts.append(stopping)
        return "  ".join(parts)
