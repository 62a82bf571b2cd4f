"""Run many files through the engine, a few at a time, with stop / kill / pause.

Why it is shaped like this:

* The queue can be huge (100,000 files), so the runner never creates a future per
  file up front. It keeps at most ``workers`` futures in flight and submits the next
  file only when one finishes (back-pressure), so memory stays flat and ``workers=1``
  processes files strictly in queue order.
* Completion is signalled by each future's done-callback into one wake-up queue,
  which ``stop()``/``kill()``/``pause()``/``set_workers()`` also poke. It plays the
  part of ``as_completed`` (results are handled in completion order), but over a
  window of futures that changes as files are submitted, and a control call from
  any thread wakes the dispatcher at once, where ``as_completed`` only wakes for a
  finished future.
* Stop, kill and an ``on_error = "fail"`` failure set one stop event: no file starts
  after it, queued files are reported cancelled, and pending futures are cancelled.
* Where files run is a ``Backend`` the runner is composed with (threads, Dask):
  the per-file work is ``backend.process(job, control)``, a picklable ``FileJob``
  in, a plain ``FileResult`` out. The runner's own thread pool only waits on it.
* The runner never prints and never imports a UI: everything goes to the listener.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.batch import probe_cache
from vpo_tui.batch.backend import Backend, ThreadsBackend
from vpo_tui.batch.events import (
    BatchEvent,
    BatchFinished,
    BatchListener,
    BatchResult,
    BatchStarted,
    BatchWarning,
    FileFinished,
    FileProgress,
    FileStarted,
)
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.job import (
    FileJob,
    FileResult,
    FileStatus,
    ProgressUpdate,
    StopReason,
)
from vpo_tui.policy.model import OnError

if TYPE_CHECKING:
    from vpo_tui.store.history import HistoryStore

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1  # at most ~10 progress events per second per file


class _ThrottledProgress:
    """Turns engine progress into ``FileProgress`` events, at most ~10/s per file.

    A stage change and the final 100 % are always sent, so a front end never shows
    a file stuck at 97 %.
    """

    def __init__(self, path: Path, emit: Callable[[BatchEvent], None]) -> None:
        self._path = path
        self._emit = emit
        self._last_time = 0.0
        self._last_stage = ""

    def __call__(self, update: ProgressUpdate) -> None:
        now = time.monotonic()
        final = update.fraction >= 1.0
        if (
            final
            or update.stage != self._last_stage
            or now - self._last_time >= PROGRESS_INTERVAL_S
        ):
            self._last_time = now
            self._last_stage = update.stage
            self._emit(FileProgress(self._path, update))


@dataclass
class _InFlight:
    position: int
    job: FileJob
    control: FileControl


class BatchRunner:
    """Processes ``jobs`` with at most ``workers`` files at once; see the module doc."""

    def __init__(
        self,
        jobs: Sequence[FileJob],
        *,
        workers: int,
        listener: BatchListener,
        on_error: OnError | str,
        dry_run: bool = False,
        backend: Backend | None = None,
        store: HistoryStore | None = None,
        max_workers: int | None = None,
        kill_grace_s: float | None = None,
        policy_name: str | None = None,
        roots: Sequence[Path] = (),
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._jobs = jobs
        self._cap = max(max_workers if max_workers is not None else workers, workers)
        self._workers = workers
        self._listener = listener
        self._on_error = OnError(on_error)
        self._dry_run = dry_run
        self._backend: Backend = backend if backend is not None else ThreadsBackend()
        self._store = store
        self._roots = tuple(roots)  # what the user asked for, for history "recent folders"
        first = jobs[0] if len(jobs) else None
        self._kill_grace_s = (
            kill_grace_s
            if kill_grace_s is not None
            else (first.settings.kill_grace_s if first is not None else 3.0)
        )
        self._policy_name = policy_name or (first.policy.name if first is not None else "")

        self._lock = threading.Lock()
        self._wake: queue.SimpleQueue[Future[FileResult] | None] = queue.SimpleQueue()
        self._running: dict[int, FileControl] = {}
        self._started = False
        self._finished = False
        self._stop_reason: StopReason | None = None  # why, for the result; set with the event
        self._stop = threading.Event()  # no new file starts once set (stop, kill, failure)
        self._killed = False
        self._paused = False
        self._batch_id: int | None = None
        self._planned_outputs: dict[str, Path] = {}  # a dry run's outputs, by real path

    # -- control, from any thread -------------------------------------------
    @property
    def workers(self) -> int:
        return self._workers

    @property
    def cap(self) -> int:
        """The largest value ``set_workers`` accepts."""
        return self._cap

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def active(self) -> int:
        """How many files are running right now."""
        with self._lock:
            return len(self._running)

    def stop(self) -> None:
        """Drain: no new file starts, queued files are cancelled, running ones finish.

        Running files must run to finish, so a paused batch is resumed: a stop
        while paused would otherwise wait for ever.
        """
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = StopReason.USER
            self._stop.set()
        self._backend.stop()
        self.resume()
        self._wake.put(None)

    def kill(self) -> None:
        """Stop, and also terminate the running tools (TERM now, KILL after the grace)."""
        with self._lock:
            if self._stop_reason in (None, StopReason.USER, StopReason.FAILURE):
                self._stop_reason = StopReason.KILL
            self._stop.set()
            self._killed = True
            self._paused = False
            controls = list(self._running.values())
        self._backend.kill()
        for control in controls:
            control.cancel()
        self._wake.put(None)

    def abandon(self, reason: StopReason) -> None:
        """Stop for a reason outside the batch (e.g. a cluster gone): no new file starts.

        Files not started are reported cancelled; ``reason`` becomes the result's
        ``stop_reason``, so a front end can say why and exit with a failure.
        """
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
            self._stop.set()
        self.resume()
        self._wake.put(None)

    def pause(self) -> None:
        """Start no new file and suspend the running tool process groups."""
        with self._lock:
            if self._paused or self._finished:
                return
            self._paused = True
            controls = list(self._running.values())
        self._backend.pause()
        for control in controls:
            control.pause()
        self._wake.put(None)

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            controls = list(self._running.values())
        self._backend.resume()
        for control in controls:
            control.resume()
        self._wake.put(None)

    def set_workers(self, n: int) -> int:
        """Change how many files run at once (clamped to 1..cap); returns the new value.

        Lowering it never interrupts a running file: the extra ones just finish.
        """
        n = max(1, min(int(n), self._cap))
        with self._lock:
            self._workers = n
        self._wake.put(None)
        return n

    # -- the batch ------------------------------------------------------------
    def run(self) -> BatchResult:
        """Process every job; blocks until the batch is over. Call it once."""
        with self._lock:
            if self._started:
                raise RuntimeError("BatchRunner.run() may only be called once")
            self._started = True
        start = time.monotonic()
        batch_id = self._store_call(
            "begin the batch",
            lambda s: s.begin_batch(
                policy_name=self._policy_name,
                policy_digest=self._jobs[0].policy.digest if len(self._jobs) else "",
                policy_source=self._jobs[0].policy.source if len(self._jobs) else "",
                workers=self._workers,
                dry_run=self._dry_run,
                total=len(self._jobs),
                roots=self._roots,
            ),
        )
        self._batch_id = batch_id if isinstance(batch_id, int) else None
        self._emit(
            BatchStarted(
                total=len(self._jobs),
                workers=self._workers,
                dry_run=self._dry_run,
                policy_name=self._policy_name,
                batch_id=self._batch_id,
            )
        )
        results: list[FileResult | None] = [None] * len(self._jobs)
        executor = ThreadPoolExecutor(max_workers=self._cap, thread_name_prefix="vpo-worker")
        try:
            self._dispatch(executor, results)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                self._finished = True
            try:
                self._backend.close()
            except Exception:  # the batch is over: its results stand
                log.exception("the backend failed to close")
        files = tuple(r for r in results if r is not None)
        result = BatchResult(
            files=files,
            duration_s=time.monotonic() - start,
            stopped_early=self._stop_reason is not None,
            workers=self._workers,
            dry_run=self._dry_run,
            batch_id=self._batch_id,
            stop_reason=self._stop_reason,
        )
        if self._batch_id is not None:
            batch_id = self._batch_id
            self._store_call("finish the batch", lambda s: s.finish_batch(batch_id, result))
        self._emit(BatchFinished(result))
        return result

    def _dispatch(self, executor: ThreadPoolExecutor, results: list[FileResult | None]) -> None:
        jobs = self._jobs
        total = len(jobs)
        next_pos = 0
        in_flight: dict[Future[FileResult], _InFlight] = {}
        kill_deadline: float | None = None
        force_killed = False
        while True:
            # Start files while there is room, unless stopping or paused.
            while next_pos < total and not self.stopping and not self._paused:
                if len(in_flight) >= self._workers:
                    break
                position = next_pos
                next_pos += 1
                job = self._prepare(jobs[position])
                cached = (
                    probe_cache.cached_result(job, self._store_call)
                    if self._store is not None
                    else None
                )
                if cached is not None:
                    self._emit(FileStarted(job.path, position))
                    self._finish(position, job, None, cached, results)
                    continue
                if self._store is not None:
                    job = probe_cache.with_known_probe(job, self._store_call)
                control = FileControl(on_progress=_ThrottledProgress(job.path, self._emit))
                with self._lock:
                    self._running[position] = control
                    paused = self._paused
                if paused:
                    control.pause()
                future = executor.submit(self._work, position, job, control)
                in_flight[future] = _InFlight(position, job, control)
                future.add_done_callback(self._wake.put)

            if self.stopping:
                # Queued files never start: report them cancelled, untouched.
                if next_pos < total:
                    self._cancel_unstarted(range(next_pos, total), results)
                    next_pos = total
                for future in list(in_flight):
                    future.cancel()  # only succeeds for work the executor has not begun
                if self._killed and kill_deadline is None:
                    kill_deadline = time.monotonic() + self._kill_grace_s

            if not in_flight and (next_pos >= total or self.stopping):
                return

            timeout = None
            if kill_deadline is not None and not force_killed:
                timeout = max(0.0, kill_deadline - time.monotonic())
            try:
                item: Future[FileResult] | None = self._wake.get(timeout=timeout)
            except queue.Empty:
                item = None
            items = [item]
            while True:
                try:
                    items.append(self._wake.get_nowait())
                except queue.Empty:
                    break
            for done in items:
                if done is None or done not in in_flight:
                    continue
                entry = in_flight.pop(done)
                with self._lock:
                    self._running.pop(entry.position, None)
                if done.cancelled():
                    self._finish(
                        entry.position,
                        entry.job,
                        None,
                        FileResult(entry.job.path, FileStatus.CANCELLED, error="cancelled"),
                        results,
                    )
                    continue
                result = done.result()  # _work never raises
                results[entry.position] = result
                if (
                    result.status is FileStatus.FAILED
                    and self._on_error is OnError.FAIL
                    and not self.stopping
                ):
                    with self._lock:
                        if self._stop_reason is None:
                            self._stop_reason = StopReason.FAILURE
                        self._stop.set()
            if kill_deadline is not None and not force_killed and time.monotonic() >= kill_deadline:
                force_killed = True
                for entry in in_flight.values():
                    entry.control.force_kill()

    def _prepare(self, job: FileJob) -> FileJob:
        if self._dry_run and not job.dry_run:
            return dataclasses.replace(job, dry_run=True)
        return job

    def _work(self, position: int, job: FileJob, control: FileControl) -> FileResult:
        """One file on a worker thread: never raises, always ends with FileFinished."""
        self._emit(FileStarted(job.path, position))
        job_id: int | None = None
        if self._batch_id is not None:
            batch_id = self._batch_id
            started = self._store_call(
                "record a started file",
                lambda s: s.job_started(batch_id, position, job.path),
            )
            job_id = started if isinstance(started, int) else None
        began = time.monotonic()
        try:
            if control.cancelled:
                raise Cancelled()
            result = self._backend.process(job, control)
        except Cancelled:
            result = FileResult(job.path, FileStatus.CANCELLED, error="cancelled by the user")
        except Exception as exc:  # a bug in the engine must not end the batch
            log.exception("unexpected error processing %s", job.path)
            result = FileResult(
                job.path,
                FileStatus.FAILED,
                error=f"{job.path}: unexpected error: {type(exc).__name__}: {exc}",
            )
        if result.status is FileStatus.FAILED and not os.path.lexists(job.path):
            result = self._converted_elsewhere(job, result)
        if control.cancelled and result.status is FileStatus.FAILED:
            # Killed by the user: the tool died of our signal, which is not a file failure.
            result = dataclasses.replace(result, status=FileStatus.CANCELLED)
        if result.duration_s == 0.0:
            result = dataclasses.replace(result, duration_s=time.monotonic() - began)
        if result.status is FileStatus.PLANNED:
            result = self._one_output_each(result)
        self._finish(position, job, job_id, result, None)
        abandoned = self._backend.abandoned()
        if abandoned is not None and not self.stopping:
            self.abandon(abandoned.reason)
            self._emit(BatchWarning(abandoned.message))
        return result

    def _one_output_each(self, result: FileResult) -> FileResult:
        """What a dry run must also predict: two files of the batch cannot become one.

        ``a.mp4`` and ``a.m4v`` both remuxed to Matroska would both be ``a.mkv``; the
        real run refuses the second (the name exists by then), so the dry run says so.
        """
        output = result.output_path
        if output is None or output == result.path:
            return result
        with self._lock:
            first = self._planned_outputs.setdefault(os.path.realpath(output), result.path)
        if first == result.path:
            return result
        return dataclasses.replace(
            result,
            status=FileStatus.FAILED,
            error=(
                f"{result.path}: cannot change the container: {output.name} would also be"
                f" written from {first.name} in this batch"
            ),
        )

    def _converted_elsewhere(self, job: FileJob, result: FileResult) -> FileResult:
        """A queued file that another vpo-tui run already converted is not a failure.

        Two runs over one folder both queue ``x.mp4``; the first remuxes it to
        ``x.mkv`` and removes ``x.mp4``, so the second finds it gone. The shared
        history says where it went: report it skipped, naming the new file.
        """
        found = self._store_call(
            "look up the file's other runs", lambda s: s.converted_elsewhere(job.path)
        )
        if isinstance(found, Path) and found.exists():
            why = f"already processed by another vpo-tui run → {found}"
        else:
            # The other run may have swapped the file in but not recorded it yet.
            pid = self._store_call(
                "look up the file's other runs", lambda s: s.running_elsewhere(job.path)
            )
            if not isinstance(pid, int):
                return result
            why = f"being processed by another vpo-tui run (pid {pid})"
        return dataclasses.replace(result, status=FileStatus.SKIPPED, error=f"{job.path}: {why}")

    def _finish(
        self,
        position: int,
        job: FileJob,
        job_id: int | None,
        result: FileResult,
        results: list[FileResult | None] | None,
    ) -> None:
        """Record one file's result (store, cache) and emit its FileFinished."""
        if results is not None:
            results[position] = result
        if self._store is not None:
            if job_id is not None:
                self._store_call("record a finished file", lambda s: s.job_finished(job_id, result))
            elif self._batch_id is not None:
                batch_id = self._batch_id
                self._store_call(
                    "record a file",
                    lambda s: s.job_recorded(batch_id, position, result),
                )
            probe_cache.remember(job, result, self._store_call)
        self._emit(FileFinished(result, position))

    def _cancel_unstarted(self, positions: range, results: list[FileResult | None]) -> None:
        cancelled = []
        for position in positions:
            result = FileResult(
                self._jobs[position].path, FileStatus.CANCELLED, error="not started"
            )
            results[position] = result
            cancelled.append((position, result))
        if self._batch_id is not None:
            batch_id = self._batch_id
            self._store_call(
                "record cancelled files", lambda s: s.jobs_recorded(batch_id, cancelled)
            )
        for position, result in cancelled:
            self._emit(FileFinished(result, position))

    # -- helpers ---------------------------------------------------------------
    def _store_call(
        self,
        what: str,
        call: Callable[[HistoryStore], object],
    ) -> object:
        """Run one store operation; a database problem is a warning, never a lost batch."""
        store = self._store
        if store is None:
            return None
        try:
            value = call(store)
        except Exception as exc:
            log.exception("history store failed to %s", what)
            self._emit(BatchWarning(f"history database: could not {what}: {exc}"))
            return None
        return value

    def _emit(self, event: BatchEvent) -> None:
        try:
            self._listener.on_event(event)
        except Exception:  # a broken front end must not break the batch
            log.exception("batch listener failed on %s", type(event).__name__)
