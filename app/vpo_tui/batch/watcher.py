"""The watcher: a first batch over what is there, then each new or changed file once settled.

Built on the batch session (``batch.session``) and used by the watch front ends
(``vpo-tui watch --no-tui`` and the app's watch screen): files run through
``Session.runner``, so the engine's rules hold unchanged (the probe cache makes a
compliant file cost no tool run, the commit check refuses a file that changed
under it). What the watcher adds:

- **settle**: a file is taken only after ``settle`` seconds without a change and
  with no writer (``watch.settle``); partial-download, hidden and our own
  temp/journal/backup names are never taken;
- **never twice**: the fingerprint (size, mtime) of each file it finished is
  remembered; an event that leaves a file as it was (our own commit, a ``chmod``,
  a reader) starts nothing, not even a probe;
- **hours**: outside ``[watch] hours`` settled files wait; running files finish;
- **end**: ``stop()`` (SIGTERM, ``--end-by``) kills the running files (temp files
  removed by the engine, originals untouched) and returns.

One thread (the caller's, in ``run``) owns all state; file system events, file
results and batch ends reach it through one queue, so nothing here needs a lock.
The watcher says what happens through ``WatchListener`` events only.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from vpo_tui.batch.events import BatchEvent, FileFinished, FileStarted
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.batch.session import Session
from vpo_tui.batch.settle import SettleTracker, Verdict, ignored_name
from vpo_tui.engine.job import FileResult, FileStatus
from vpo_tui.engine.writers import open_for_writing
from vpo_tui.hours import TimeWindow
from vpo_tui.phrasing import plural

IDLE_WAIT_S = 5.0  # the longest the loop sleeps when nothing is due (idle CPU ~ 0)
READY_WAIT_S = 600.0  # setting up the watches of a huge tree may take a while


# -- what the watcher tells its front end ---------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A file the watcher ran, with its result. ``first_pass`` for the start-up batch."""

    result: FileResult
    first_pass: bool = False


@dataclass(frozen=True)
class HeldBack:
    """A file not taken (yet), and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Settling:
    """A file seen changing: taken once quiet for ``remaining_s`` more seconds."""

    path: Path
    remaining_s: float


@dataclass(frozen=True)
class Started:
    path: Path


@dataclass(frozen=True)
class Note:
    """Something to say once (polling instead of inotify, the first pass's totals)."""

    text: str


WatchEvent = Finished | HeldBack | Settling | Started | Note


class WatchListener(Protocol):
    def on_watch(self, event: WatchEvent) -> None: ...


# -- the file system side ------------------------------------------------------------------


class Changes(Protocol):
    """Where changed paths come from: ``watchfiles`` in use, a list in tests."""

    def run(
        self,
        emit: Callable[[Iterable[tuple[str, str]]], None],
        stop: threading.Event,
        ready: threading.Event,
    ) -> None:
        """Set ``ready`` once watching, then ``emit`` ``(kind, path)`` pairs until ``stop``."""
        ...


class WatchfilesChanges:
    """inotify (through ``watchfiles``); polling where inotify cannot be used, said once.

    ``RustNotify`` is used directly (as ``watchfiles.watch`` does inside) because
    its constructor is where the watches are set up: the first pass must start
    only after that, or a file arriving in between would be seen by nobody.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        say: Callable[[str], None],
        *,
        force_polling: bool | None = None,
        poll_delay_ms: int = 2000,
    ) -> None:
        self.roots = list(roots)
        self._say = say
        self._force_polling = force_polling
        self._poll_delay_ms = poll_delay_ms

    def run(
        self,
        emit: Callable[[Iterable[tuple[str, str]]], None],
        stop: threading.Event,
        ready: threading.Event,
    ) -> None:
        from watchfiles import Change
        from watchfiles._rust_notify import RustNotify

        polling = bool(self._force_polling or os.environ.get("WATCHFILES_FORCE_POLLING"))
        every = f"{self._poll_delay_ms / 1000:g} s"
        if polling:
            self._say(f"watching by polling every {every}")
        roots = [str(p) for p in self.roots]
        began_ns = time.time_ns()
        try:
            notify = RustNotify(roots, False, polling, self._poll_delay_ms, True, True)
        except Exception as exc:  # inotify unavailable or its watch limit reached
            if polling:
                raise
            polling = True
            self._say(
                f"cannot watch with inotify ({exc}); polling every {every} instead "
                "(raising fs.inotify.max_user_watches lets inotify work)"
            )
            notify = RustNotify(roots, False, True, self._poll_delay_ms, True, True)
        with notify:
            ready.set()
            try:
                while not stop.is_set():
                    raw = notify.watch(400, 100, 0, stop)
                    if raw in ("stop", "signal"):
                        return
                    if isinstance(raw, set):
                        emit((Change(kind).name, path) for kind, path in raw)
                return
            except Exception as exc:
                if "decode" not in str(exc):
                    raise
                # watchfiles cannot hand over a name that is not UTF-8 (caf\xe9.mkv from
                # an old Samba share), and its queue stays stuck on it: scan instead.
                self._say(
                    f"a file name that is not UTF-8 appeared ({exc}); watching by scanning "
                    f"the folders every {every} instead"
                )
        FolderScan(self.roots, self._poll_delay_ms / 1000, since_ns=began_ns).run(emit, stop, ready)


class FolderScan:
    """Changes found by scanning the folders every ``interval_s``: any name, any filesystem.

    The fallback when ``watchfiles`` cannot go on (a name that is not UTF-8): names
    come from ``os.scandir`` as ``str`` with surrogate escapes, like every path in
    vpo-tui. A scan costs a ``stat`` per file, so it is the fallback, not the rule.
    """

    def __init__(self, roots: Sequence[Path], interval_s: float, *, since_ns: int = 0) -> None:
        self.roots = list(roots)
        self.interval_s = interval_s
        self.since_ns = since_ns  # files changed since then may have had no event yet

    def run(
        self,
        emit: Callable[[Iterable[tuple[str, str]]], None],
        stop: threading.Event,
        ready: threading.Event,
    ) -> None:
        seen = self.scan()
        ready.set()
        # What changed before the scan took over (the name that stopped watchfiles
        # among it) was seen by nobody: a rename changes ctime, a copy mtime.
        missed = [("added", p) for p, (_size, changed) in seen.items() if changed >= self.since_ns]
        if self.since_ns and missed:
            emit(missed)
        while not stop.wait(self.interval_s):
            now = self.scan()
            changes = [("added", p) for p in now.keys() - seen.keys()]
            changes += [("deleted", p) for p in seen.keys() - now.keys()]
            changes += [("modified", p) for p in now.keys() & seen.keys() if now[p] != seen[p]]
            if changes:
                emit(changes)
            seen = now

    def scan(self) -> dict[str, tuple[int, int]]:
        """Every file under the roots: its size and when it last changed (ns)."""
        found: dict[str, tuple[int, int]] = {}
        for root in self.roots:
            for folder, _dirs, names in os.walk(root):
                for name in names:
                    path = os.path.join(folder, name)
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue  # gone between the listing and the stat
                    found[path] = (st.st_size, max(st.st_mtime_ns, st.st_ctime_ns))
        return found


# -- the watcher -----------------------------------------------------------------------------


@dataclass
class _Batch:
    runner: BatchRunner
    thread: threading.Thread
    workers: int
    first_pass: bool


class _Relay:
    """The runner's listener: hands file events to the watcher's queue (any thread)."""

    def __init__(self, inbox: queue.SimpleQueue[tuple[str, object]], first_pass: bool) -> None:
        self._inbox = inbox
        self._first = first_pass

    def on_event(self, event: BatchEvent) -> None:
        if isinstance(event, (FileStarted, FileFinished)):
            self._inbox.put(("file", (event, self._first)))


class Watcher:
    """Watches ``session.request.paths`` and runs what settles, until ``stop()``."""

    def __init__(
        self,
        session: Session,
        listener: WatchListener,
        *,
        settle_s: float,
        hours: TimeWindow | None = None,
        end_at: datetime | None = None,
        changes: Changes | None = None,
        on_done: Callable[[FileResult], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = datetime.now,
        writers: Callable[..., dict[Path, int]] = open_for_writing,
    ) -> None:
        self.session = session
        self._listener = listener
        self.roots = [Path(os.path.realpath(p)) for p in session.request.paths]
        self._hours = hours
        self._end_at = end_at
        self._wall = wall
        self._writers = writers
        self._on_done = on_done
        self._changes = changes or WatchfilesChanges(self.roots, self._note)
        self._tracker = SettleTracker(settle_s, clock=clock, writers=writers)
        self._extensions = tuple(e.lower() for e in session.config.processing.extensions)
        self._inbox: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._stop = threading.Event()  # stop() was called
        self._watch_stop = threading.Event()  # ends the file system thread
        self._watch_ready = threading.Event()  # the file system thread is watching
        self._ready: list[Path] = []  # settled, waiting for a worker or the hours
        self._waiting_said: set[Path] = set()  # told "outside the hours" once
        self._running: set[Path] = set()
        self._dirty: set[Path] = set()  # changed while running
        self._done: dict[Path, tuple[int, int]] = {}  # what each finished file left behind
        self._batches: list[_Batch] = []
        self.runs = 0  # files handed to a batch (tests count them)
        self._folders = [root for root in self.roots if root.is_dir()]  # checked every turn
        self.failed: str | None = None  # why it stopped by itself (the front end's exit 1)
        self._first_counts: dict[str, int] = {}

    # -- control (any thread) -----------------------------------------------------------------
    def stop(self) -> None:
        """End soon: running files are killed (originals untouched), nothing new starts."""
        self._stop.set()
        self._inbox.put(("stop", None))

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> None:
        """The first pass, then watch until ``stop()`` or the end time. Blocks."""
        watcher = threading.Thread(target=self._watch_thread, name="vpo-watch-events", daemon=True)
        watcher.start()
        try:
            # watching first: a file that arrives during the first pass is not missed
            self._watch_ready.wait(READY_WAIT_S)
            self._first_pass()
            while not self._stop.is_set():
                if self._end_at is not None and self._wall() >= self._end_at:
                    self._note(f"end time {self._end_at:%H:%M} reached")
                    break
                self._handle(self._next(self._wait_s()))
                self._drain_inbox()
                self._poll_settled()
                self._start_ready()
                self._check_roots()
        finally:
            self._watch_stop.set()
            self._finish_batches()
            watcher.join(5)

    def _first_pass(self) -> None:
        session = self.session
        for line in session.recover(self.roots):
            self._note(line)
        found = session.discover(self.roots)
        for problem in found.problems:
            self._note(f"warning: {problem}")
        files = [Path(p) for p in found.files if ignored_name(Path(p).name) is None]
        todo = self._not_known_compliant(files)
        busy = self._writers(todo) if todo else {}
        for path in todo:
            if path in busy:  # being copied right now: it waits like a new file
                self._tracker.touch(path)
            else:
                self._ready.append(path)
        known = len(files) - len(todo)
        self._first_counts["unchanged"] = known
        if not self._ready:
            self._note(
                f"first pass: {plural(len(files), 'file')}, {known} known to comply, "
                "nothing to run; watching"
            )
        self._start_ready(first_pass=True)

    def _not_known_compliant(self, files: list[Path]) -> list[Path]:
        """``files`` less those the history knows comply, unchanged (one query for all).

        What the runner's probe cache would answer file by file; asked at once, a
        restart over a compliant library of 50,000 files costs a walk and a query.
        Each known file's fingerprint is remembered: an event that leaves it as it
        was starts nothing.
        """
        store, digest = self.session.store, self.session.policy.digest
        if store is None or not digest:
            return files
        try:
            known = store.compliant_files(digest)
        except Exception:  # the history is a help here, never a reason to stop
            return files
        todo: list[Path] = []
        for path in files:
            try:
                st = os.stat(path)
            except OSError:
                todo.append(path)  # let the batch say what is wrong with it
                continue
            seen = (st.st_size, st.st_mtime_ns)
            if known.get(str(path)) == seen:  # discovery's paths are real paths already
                self._done[path] = seen
            else:
                todo.append(path)
        return todo

    def _watch_thread(self) -> None:
        def emit(pairs: Iterable[tuple[str, str]]) -> None:
            self._inbox.put(("changes", list(pairs)))

        try:
            self._changes.run(emit, self._watch_stop, self._watch_ready)
        except Exception as exc:
            self._inbox.put(("watch-failed", str(exc)))
        finally:
            self._watch_ready.set()

    def _wait_s(self) -> float:
        due = self._tracker.next_due()
        wait = IDLE_WAIT_S if due is None else min(IDLE_WAIT_S, max(0.05, due))
        if self._ready and self._hours is not None and not self._in_hours():
            wait = min(wait, 30.0)
        if self._end_at is not None:
            wait = min(wait, max(0.05, (self._end_at - self._wall()).total_seconds()))
        return wait

    def _next(self, timeout: float) -> tuple[str, object] | None:
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _drain_inbox(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(item)

    def _handle(self, item: tuple[str, object] | None) -> None:
        if item is None:
            return
        kind, data = item
        if kind == "changes":
            assert isinstance(data, list)
            self._changed(data)
        elif kind == "file":
            assert isinstance(data, tuple)
            event, first = data
            if isinstance(event, FileStarted):
                self._running.add(Path(event.path))
                self._listener.on_watch(Started(Path(event.path)))
            elif isinstance(event, FileFinished):
                self._finished(event.result, bool(first))
        elif kind == "batch-done":
            for batch in [b for b in self._batches if not b.thread.is_alive()]:
                self._batches.remove(batch)
                if batch.first_pass:
                    self._first_pass_said()
        elif kind == "watch-failed":
            self._cannot_go_on(f"cannot watch the folders any more ({data}); stopping")

    def _check_roots(self) -> None:
        """A watched folder deleted or moved away sends no more events: say so, and
        stop once none is left (exit 1), rather than watch nothing for ever."""
        gone = [root for root in self._folders if not root.is_dir()]
        if not gone:
            return
        self._folders = [root for root in self._folders if root not in gone]
        names = ", ".join(str(root) for root in gone)
        if self._folders:
            self._note(f"no longer watching {names}: deleted or moved away")
        else:
            self._cannot_go_on(
                f"cannot watch the folders any more ({names}: deleted or moved away); stopping"
            )

    def _cannot_go_on(self, text: str) -> None:
        self.failed = text
        self._note(text)
        self._stop.set()

    # -- file system events ------------------------------------------------------------------
    def _changed(self, pairs: list[tuple[str, str]]) -> None:
        for kind, raw in pairs:
            path = Path(raw)
            if ignored_name(path.name) is not None:
                continue
            if kind == "added" and path.is_dir():
                self._folder_arrived(path)
                continue
            if path.suffix.lower() not in self._extensions:
                continue
            self._touch(path)

    def _folder_arrived(self, folder: Path) -> None:
        """A folder moved in whole brings files no event names: look inside."""
        for dirpath, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                path = Path(dirpath) / name
                if ignored_name(name) is None and path.suffix.lower() in self._extensions:
                    self._touch(path)

    def _touch(self, path: Path) -> None:
        if path in self._running:
            self._dirty.add(path)
            return
        if path in self._ready:
            self._ready.remove(path)  # changed again after it settled: settle again
        waiting = path in self._tracker
        if not waiting and self._unchanged_since_done(path):
            return  # our own commit (or a chmod, a reader): nothing to settle, nothing to say
        if self._tracker.touch(path):
            remaining = self._tracker.remaining(path) or 0.0
            self._listener.on_watch(Settling(path, remaining))
        elif waiting:
            self._held(path, "deleted or renamed before it settled")

    def _poll_settled(self) -> None:
        for settled in self._tracker.poll():
            path = settled.path
            if settled.verdict is Verdict.GONE:
                self._held(path, "deleted or renamed before it settled")
            elif settled.verdict is Verdict.WRITING:
                self._held(path, f"open for writing by process {settled.pid}: waits until closed")
            elif self._unchanged_since_done(path):
                continue  # our own output, or an event that changed nothing: no run
            elif path not in self._ready:
                self._ready.append(path)

    def _unchanged_since_done(self, path: Path) -> bool:
        left = self._done.get(path)
        if left is None:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == left

    # -- running -------------------------------------------------------------------------------
    def _in_hours(self) -> bool:
        return self._hours is None or self._hours.contains(self._wall())

    def _start_ready(self, *, first_pass: bool = False) -> None:
        if not self._ready or self._stop.is_set():
            return
        if not self._in_hours():
            assert self._hours is not None
            opens = self._hours.next_open(self._wall())
            for path in self._ready:
                if path not in self._waiting_said:
                    self._waiting_said.add(path)
                    self._held(path, f"outside the hours {self._hours}: waits until {opens:%H:%M}")
            return
        total = self.session.workers.workers
        free = total - sum(b.workers for b in self._batches if b.thread.is_alive())
        if free <= 0:
            return
        paths, self._ready = self._ready, []
        self._waiting_said.difference_update(paths)
        workers = max(1, min(free, len(paths)))
        self.runs += len(paths)
        relay = _Relay(self._inbox, first_pass)
        runner = self.session.runner(
            relay, jobs=self.session.jobs_for(paths, dry_run=False), workers=workers
        )

        def work() -> None:
            try:
                runner.run()
            finally:
                self._inbox.put(("batch-done", None))

        thread = threading.Thread(target=work, name="vpo-watch-batch", daemon=True)
        self._batches.append(_Batch(runner, thread, workers, first_pass))
        thread.start()

    def _first_pass_said(self) -> None:
        counts = self._first_counts
        done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        total = plural(sum(counts.values()), "file")
        self._note(f"first pass done: {total} ({done or 'none'}); watching")

    def _finished(self, result: FileResult, first_pass: bool) -> None:
        path = Path(result.path)
        if first_pass:
            status = result.status.value
            self._first_counts[status] = self._first_counts.get(status, 0) + 1
        self._running.discard(path)
        if result.fingerprint is not None:
            self._done[Path(result.output_path or path)] = result.fingerprint
            self._done[path] = result.fingerprint
        self._listener.on_watch(Finished(result, first_pass))
        if result.status is FileStatus.OK and self._on_done is not None:
            self._on_done(result)
        if path in self._dirty:
            self._dirty.discard(path)
            if not self._unchanged_since_done(path) and os.path.exists(path):
                self._held(path, "changed while it was processed: taken again once it settles")
                self._tracker.touch(path)
        elif result.status is FileStatus.CANCELLED and not self._stop.is_set():
            self._tracker.touch(path)

    def _finish_batches(self) -> None:
        """Kill what runs (the engine removes its temp files) and wait for it."""
        for batch in self._batches:
            batch.runner.kill()
        for batch in self._batches:
            batch.thread.join()
        self._drain_inbox()

    def _held(self, path: Path, reason: str) -> None:
        self._listener.on_watch(HeldBack(path, reason))

    def _note(self, text: str) -> None:
        self._listener.on_watch(Note(text))
