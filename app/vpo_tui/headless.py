"""``vpo-tui --no-tui``: the batch on a terminal or in a script, with documented exit codes.

A front end only: it prepares the batch (policy, config, tools, discovery, store),
renders the runner's events on stderr, and maps the result to an exit code. What
goes to stdout is the result only: the ``--json`` document, or a dry run's plan
(so ``--dry-run DIR > plan.txt`` keeps it); progress and warnings stay on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

from vpo_tui.batch.events import (
    BatchEvent,
    BatchFinished,
    BatchResult,
    BatchStarted,
    BatchWarning,
    FileFinished,
    FileStarted,
)
from vpo_tui.batch.exit_codes import (
    EXIT_INTERRUPTED,
    EXIT_OK,
)
from vpo_tui.batch.file_entry import file_entry
from vpo_tui.batch.pace import BatchPace
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.batch.session import (
    DEFAULT_POLICY,
    BatchRequest,
    Plumbing,
    Refusal,
    Session,
    prepare,
)
from vpo_tui.config import Config
from vpo_tui.engine.job import FileResult, FileStatus, StopReason
from vpo_tui.hours import next_time
from vpo_tui.phrasing import console_text, files_progress, plural
from vpo_tui.store.paths import path_bytes_b64


@dataclass(frozen=True)
class HeadlessOptions:
    paths: tuple[Path, ...]
    policy: str = DEFAULT_POLICY
    workers: int | None = None
    dry_run: bool = False
    json: bool = False
    config: Config = field(default_factory=Config)
    db: Path | None = None
    recursive: bool = True
    quiet: bool = False
    executor: str | None = None  # --executor; None: [processing] executor, else threads
    end_by: int | None = None  # --end-by: minutes after midnight; the batch ends then

    def request(self) -> BatchRequest:
        return BatchRequest(
            paths=self.paths,
            policy=self.policy,
            workers=self.workers,
            executor=self.executor,
            dry_run=self.dry_run,
            recursive=self.recursive,
            db=self.db,
        )


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ConsoleListener:
    """Renders batch events on stderr; thread-safe (events come from worker threads).

    On a terminal: one aggregate line rewritten in place, with per-file errors
    printed above it. Otherwise: one plain line per finished file. With ``plan``
    (a dry run's stdout) every planned and compliant file goes there instead,
    whatever ``tty`` and ``quiet`` say: that plan is the dry run's result.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        quiet: bool,
        dry_run: bool,
        plan: TextIO | None = None,
    ) -> None:
        self._out = stream
        self._plan = plan
        self._tty = tty
        self._quiet = quiet
        self._dry_run = dry_run
        self._lock = threading.Lock()
        self.total = 0
        self.done = 0
        self.worked = 0  # finished files that were not cancelled: the pace for the ETA
        self._running: set[int] = set()
        self.not_started = 0  # cancelled before they started (Stop, Kill, on_error = fail)
        self.started_at = time.monotonic()
        self._pace = BatchPace()  # the ETA, computed as the app computes it
        self._line_shown = False
        self._last_draw = 0.0

    def on_event(self, event: BatchEvent) -> None:
        with self._lock:
            self._pace.apply(event)
            if isinstance(event, BatchStarted):
                self.total = event.total
                self.started_at = time.monotonic()
            elif isinstance(event, FileStarted):
                self._running.add(event.position)
            elif isinstance(event, FileFinished):
                self.done += 1
                if event.result.status is not FileStatus.CANCELLED:
                    self.worked += 1
                had_started = event.position in self._running
                self._running.discard(event.position)
                self._file_line(event.result, had_started)
            elif isinstance(event, BatchWarning):
                self._print(f"warning: {console_text(event.message)}")
            elif isinstance(event, BatchFinished):
                self._clear()
                if self._tty and not self._quiet and self.not_started:
                    # one line per file would flood the terminal; the count says it all
                    self._print(
                        f"cancelled: {plural(self.not_started, 'file')} not started "
                        "(running the same command again does them)"
                    )
                    self._clear()
                return
            self._draw(force=isinstance(event, FileFinished))

    @property
    def active(self) -> int:
        return len(self._running)

    def tick(self) -> None:
        """Redraw the aggregate line (elapsed/ETA move even when no event arrives)."""
        with self._lock:
            self._draw(force=False)

    def message(self, text: str) -> None:
        with self._lock:
            self._print(text)

    # -- internals (lock held) ----------------------------------------------------
    def _file_line(self, result: FileResult, had_started: bool) -> None:
        status = result.status
        if status is FileStatus.CANCELLED and not had_started:
            self.not_started += 1
        to_plan = self._plan is not None and status in (FileStatus.PLANNED, FileStatus.UNCHANGED)
        if to_plan:
            show = True
        elif self._quiet:
            show = status in (FileStatus.FAILED, FileStatus.SKIPPED)
        elif self._tty:  # the aggregate line counts the rest
            show = status in (FileStatus.FAILED, FileStatus.SKIPPED, FileStatus.PLANNED) or (
                status is FileStatus.CANCELLED and had_started
            )
        else:
            show = True
        if not show:
            return
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"  # no shift at file 10
        head = f"[{count}] {status.value:<9} {console_text(str(result.path))}"
        if result.link_target is not None:
            head += f" (via link to {console_text(str(result.link_target))})"
        if status is FileStatus.CANCELLED and had_started:
            # Only Kill cancels a running file (Stop lets it finish): say so.
            head += ": killed while running (the original is untouched)"
        elif result.error and status is not FileStatus.OK:
            error = result.error.removeprefix(f"{result.path}: ")  # the line names the file
            head += f": {console_text(error)}"
        elif status in (FileStatus.OK, FileStatus.PLANNED):
            head += f" ({plural(len(result.changes), 'change')}, {result.duration_s:.1f} s)"
            if result.output_path not in (None, result.path, result.link_target):
                head += f" -> {console_text(str(result.output_path))}"
        lines = [head]
        if status is FileStatus.PLANNED or (self._dry_run and result.changes):
            lines += [f"    - {console_text(change)}" for change in result.changes]
            if result.how is not None and result.how not in result.changes:
                lines.append(f"    written {console_text(result.how)}")
        if status is FileStatus.FAILED and result.stderr_tail:
            tail = result.stderr_tail.strip().splitlines()[-3:]
            lines += [f"    | {console_text(line)}" for line in tail]
        if to_plan and self._plan is not None:
            self._clear()
            self._plan.write("\n".join(lines) + "\n")
            self._plan.flush()
            self._draw(force=True)
            return
        self._print("\n".join(lines))

    def _print(self, text: str) -> None:
        self._clear()
        self._out.write(text + "\n")
        self._out.flush()
        self._draw(force=True)

    def _clear(self) -> None:
        if self._tty and self._line_shown:
            self._out.write("\r\x1b[K")
            self._line_shown = False

    def _draw(self, *, force: bool) -> None:
        if not self._tty or self._quiet or self.total == 0:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        elapsed = now - self.started_at
        # as the app words it: cancelled files (after Stop) are not processed ones
        files = files_progress(self.worked, self.total, self.done - self.worked)
        line = f"Processing: {files} [{self.active} active] {_clock(elapsed)} elapsed"
        # running files count with their progress; cancelled files are no work
        eta = self._pace.eta(elapsed) if self.done < self.total else None
        if eta is not None:
            line += f", ETA {_clock(eta)}"
        self._out.write("\r\x1b[K" + line)
        self._out.flush()
        self._line_shown = True


def result_document(
    result: BatchResult | None,
    *,
    policy_name: str,
    policy_source: str,
    workers: int,
    dry_run: bool,
    problems: Sequence[Mapping[str, object]] = (),
    warnings: Sequence[str] = (),
    ignored_extensions: Mapping[str, int] | None = None,
    error: str | None = None,
    exit_code: int = EXIT_OK,
) -> dict[str, Any]:
    """The ``--json`` document (the keys named in the issue are fixed; extras are free)."""
    files = result.files if result is not None else ()
    totals = result.totals if result is not None else {s.value: 0 for s in FileStatus}
    return {
        "policy": {"name": policy_name, "source": policy_source},
        "dry_run": dry_run,
        "workers": workers,
        "summary": {
            "total": len(files),
            **totals,
            "duration_s": round(result.duration_s, 3) if result is not None else 0.0,
            "stopped_early": result.stopped_early if result is not None else False,
            "stop_reason": (
                result.stop_reason.value
                if result is not None and result.stop_reason is not None
                else None
            ),
        },
        "files": [file_entry(f) for f in files],
        "batch_id": result.batch_id if result is not None else None,
        "problems": list(problems),
        "warnings": list(warnings),
        # video files left out because their extension is not enabled: {".ts": 3, ...}
        "ignored_extensions": dict(ignored_extensions or {}),
        "error": error,
        "exit_code": exit_code,
    }


def error_document(
    error: str, exit_code: int, *, policy_name: str = DEFAULT_POLICY, dry_run: bool = False
) -> dict[str, Any]:
    """The ``--json`` document of a run refused before it started (no files, no result)."""
    return result_document(
        None,
        policy_name=policy_name,
        policy_source="",
        workers=0,
        dry_run=dry_run,
        error=error,
        exit_code=exit_code,
    )


def run_headless(
    options: HeadlessOptions,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    install_signals: bool = True,
    plumbing: Plumbing | None = None,
) -> int:
    """Run one batch without the TUI; returns the process exit code.

    ``plumbing`` replaces parts of the session (tests: the engine, the backend).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr

    def say(text: str) -> None:
        if not options.quiet:
            err.write(f"note: {console_text(text)}\n")
            err.flush()

    prepared = prepare(options.request(), options.config, plumbing=plumbing, say=say)
    report = _Report(options, err)
    report.context(prepared)
    if isinstance(prepared, Refusal):
        err.write(f"vpo-tui: {prepared.console}\n")
        return report.finish(out, prepared.exit_code, None, error=prepared.message)
    with prepared as session:
        listener = ConsoleListener(
            err,
            tty=err.isatty() and not options.json,
            quiet=options.quiet or options.json,
            dry_run=options.dry_run,
            plan=out if options.dry_run and not options.json else None,
        )
        try:
            end_at = None
            if options.end_by is not None:
                end_at = next_time(options.end_by, datetime.now())
            # a kill gives the tools their TERM → KILL grace, and a second for clean-up
            stuck_after = max(STUCK_AFTER_KILL_S, session.settings.kill_grace_s + 1.0)
            result = _run(
                session.runner(listener), listener, err, install_signals, stuck_after, end_at
            )
        except _Stuck:
            _leave_stuck(report, out, err, stuck_after)
    code = session.exit_code(result)
    err.write(_summary(result, session.unreadable) + "\n")
    return report.finish(out, code, result)


class _Report:
    """What headless says around a batch: the context on stderr, the ``--json`` document."""

    def __init__(self, options: HeadlessOptions, err: TextIO) -> None:
        self._options = options
        self._err = err
        self.policy_name = options.policy
        self.policy_source = ""
        self.workers = options.workers or 0
        self.warnings: list[str] = []
        self.problems: list[dict[str, Any]] = []
        self.ignored: dict[str, int] = {}

    def context(self, prepared: Session | Refusal) -> None:
        """Say what was resolved (as it happened): where files run, warnings, notes, problems."""
        err, quiet = self._err, self._options.quiet
        policy = prepared.policy
        if policy is not None:
            self.policy_name, self.policy_source = policy.name, policy.source
        workers = prepared.workers
        self.workers = workers if isinstance(workers, int) else workers.workers
        if prepared.executor_note and not quiet:
            err.write(f"note: {prepared.executor_note}\n")
        for text in prepared.warnings:
            self.warnings.append(text)
            err.write(f"warning: {console_text(text)}\n")
        if not quiet:
            for line in prepared.notes:
                err.write(f"note: {console_text(line)}\n")
        found = prepared.found
        if found is None:
            return
        for problem in found.problems:
            self.problems.append(
                {
                    "path": str(problem.path),
                    "path_bytes_b64": path_bytes_b64(problem.path),
                    "message": problem.message,
                    "unreadable": problem.unreadable,
                }
            )
            err.write(f"warning: {console_text(str(problem))}\n")
        self.ignored = dict(found.ignored)
        # Said even with --quiet when nothing was found: then it is the answer to "why not".
        if found.ignored and (not quiet or not found.files):
            err.write(f"note: {found.ignored_note()}\n")

    def finish(
        self, out: TextIO, code: int, result: BatchResult | None, error: str | None = None
    ) -> int:
        if self._options.json:
            doc = result_document(
                result,
                policy_name=self.policy_name,
                policy_source=self.policy_source,
                workers=self.workers,
                dry_run=self._options.dry_run,
                problems=self.problems,
                warnings=self.warnings,
                ignored_extensions=self.ignored,
                error=error,
                exit_code=code,
            )
            out.write(json.dumps(doc, indent=2) + "\n")
            out.flush()
        return code


STUCK_AFTER_KILL_S = 4.0  # at least: past the default TERM → KILL grace (3 s) and clean-up


class _Stuck(Exception):
    """A worker thread still runs long after the kill: blocked in the kernel, not in a tool."""


def _leave_stuck(report: _Report, out: TextIO, err: TextIO, after_s: float) -> NoReturn:
    """End the process now: a blocked thread would keep it alive for ever at exit.

    Nothing is lost by not waiting: an original is only ever replaced by a complete,
    verified file, and the next start-up sweeps temp files and marks the unfinished
    jobs interrupted, exactly as after a ``kill -9`` (which the fault suite proves).
    """
    text = (
        f"a worker did not end {after_s:g} s after the kill (blocked in the "
        "system); leaving without it: originals are untouched, the next start-up "
        "cleans up what it left"
    )
    err.write(f"vpo-tui: {text}\n")
    report.finish(out, EXIT_INTERRUPTED, None, error=text)
    err.flush()
    out.flush()
    os._exit(EXIT_INTERRUPTED)


def _run(
    runner: BatchRunner,
    listener: ConsoleListener,
    err: TextIO,
    install_signals: bool,
    stuck_after_s: float = STUCK_AFTER_KILL_S,
    end_at: datetime | None = None,
) -> BatchResult:
    """Run the batch on a thread; the main thread waits and handles Ctrl-C / SIGTERM / SIGHUP.

    Raises ``_Stuck`` when the batch thread outlives a kill by ``stuck_after_s``.
    """
    outcome: list[BatchResult] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(runner.run())
        except BaseException as exc:  # pragma: no cover - the runner never raises
            failure.append(exc)

    interrupts = 0

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            running = runner.active
            them = "it" if running == 1 else "them"
            listener.message(
                f"Stopping: no new files will start; {plural(running, 'file')} still "
                f"running will finish. Press Ctrl-C again to kill {them}."
            )
            runner.stop()
        else:
            listener.message("Killing the running files (originals are left untouched)...")
            kill()

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        listener.message(f"{signal.Signals(signum).name}: killing the running files...")
        kill()

    killed_at: list[float] = []

    def kill() -> None:
        if not killed_at:
            killed_at.append(time.monotonic())
        runner.kill()

    previous: dict[int, Any] = {}
    if install_signals and threading.current_thread() is threading.main_thread():
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, on_interrupt)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, on_terminate)
    thread = threading.Thread(target=work, name="vpo-batch")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
            listener.tick()
            if end_at is not None and not killed_at and datetime.now() >= end_at:
                # --end-by: the machine is free at the time the user gave
                listener.message(
                    f"End time {end_at:%H:%M} reached: killing the running files "
                    "(originals are left untouched; running the command again does them)"
                )
                killed_at.append(time.monotonic())
                runner.kill()
            if killed_at and time.monotonic() - killed_at[0] > stuck_after_s:
                raise _Stuck
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failure:  # pragma: no cover
        raise failure[0]
    return outcome[0]


def _summary(result: BatchResult, unreadable: int = 0) -> str:
    totals = result.totals
    parts = [f"{n} {name}" for name, n in totals.items() if n]
    text = f"Done: {plural(len(result.files), 'file')} in {result.duration_s:.1f} s"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    if unreadable:
        text += f"; {plural(unreadable, 'path')} could not be read (see the warnings above)"
    reason = result.stop_reason
    if reason is StopReason.FAILURE:
        text += "; stopped at the first failure (on_error = fail)"
    elif reason is not None and reason.by_user:
        text += f"; {reason.outcome} by the user"
    elif reason is not None:
        text += f"; stopped: {reason.outcome}"
    return text
