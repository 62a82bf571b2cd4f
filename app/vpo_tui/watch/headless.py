"""``vpo-tui watch PATH...``: keep folders in line with a policy, unattended.

The front end of ``batch.watcher.Watcher`` (its options are parsed by
``vpo_tui.commands.watch``): options and config in, one line per
finished or held-back file out (``--json``: one JSON object per line, a finished
file with the same fields as a file of the batch ``--json`` document plus
``"event": "finished"``; a held-back one ``"event": "held"`` with its ``reason``).
Notes go to stderr. Exit codes: 0 ended at ``--end-by``; 130 stopped by SIGTERM,
SIGINT or SIGHUP (running files killed, their temp files removed, originals
untouched); 1 the folders could no longer be watched; before the start, the batch
codes (2 usage, 3 invalid policy/config, 5 missing tool).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TextIO

from vpo_tui.batch.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK
from vpo_tui.batch.file_entry import file_entry
from vpo_tui.batch.notify import Notifier, NotifyError
from vpo_tui.batch.session import DEFAULT_POLICY, BatchRequest, Refusal, prepare
from vpo_tui.batch.watcher import Finished, HeldBack, Note, Watcher, WatchEvent, WatchListener
from vpo_tui.config import Config
from vpo_tui.engine.job import FileStatus
from vpo_tui.hours import next_time
from vpo_tui.phrasing import console_text, plural
from vpo_tui.store.paths import path_bytes_b64

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class LineListener:
    """Prints the watcher's events: one line each, flushed (a log or a pipe reads them live)."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool) -> None:
        self._out = out
        self._err = err
        self._json = as_json
        self._lock = threading.Lock()

    def on_watch(self, event: WatchEvent) -> None:
        with self._lock:
            if isinstance(event, Finished):
                result = event.result
                if event.first_pass and result.status is FileStatus.UNCHANGED:
                    return  # a library that complies would flood the log: the note counts them
                if self._json:
                    self._line(json.dumps({"event": "finished", **file_entry(result)}))
                else:
                    self._line(_finished_text(result))
            elif isinstance(event, HeldBack):
                if self._json:
                    doc: dict[str, Any] = {
                        "event": "held",
                        "path": str(event.path),
                        "path_bytes_b64": path_bytes_b64(event.path),
                        "reason": event.reason,
                    }
                    self._line(json.dumps(doc))
                else:
                    self._line(f"held      {console_text(str(event.path))}: {event.reason}")
            elif isinstance(event, Note):
                self._err.write(f"note: {console_text(event.text)}\n")
                self._err.flush()

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _finished_text(result: Any) -> str:
    line = f"{result.status.value:<9} {console_text(str(result.path))}"
    if result.error and result.status is not FileStatus.OK:
        line += f": {console_text(result.error.removeprefix(f'{result.path}: '))}"
    elif result.status is FileStatus.OK:
        line += f" ({plural(len(result.changes), 'change')}, {result.duration_s:.1f} s)"
        if result.output_path is not None and result.output_path != result.path:
            line += f" -> {console_text(str(result.output_path))}"
    return line


class WatchFront(Protocol):
    """A front end the watcher can report to and be driven by (the app's watch screen)."""

    def on_watch(self, event: WatchEvent) -> None: ...
    def drive(self, watcher: Watcher) -> bool:
        """Run ``watcher`` until it ends; True if a signal ended it (exit 130)."""
        ...


def run_watch(
    ns: argparse.Namespace,
    config: Config,
    listener: WatchListener,
    err: TextIO,
    *,
    drive: Callable[[Watcher], bool] | None = None,
) -> int:
    def say(text: str) -> None:
        listener.on_watch(Note(text))

    try:
        notifier = Notifier(config.notify.command, config.notify.urls, say=say)
    except NotifyError as exc:
        err.write(f"vpo-tui: invalid config: {exc}\n")
        return EXIT_INVALID
    request = BatchRequest(
        paths=tuple(Path(p) for p in ns.paths),
        policy=ns.policy or DEFAULT_POLICY,
        workers=ns.workers,
        executor=ns.executor,
        db=Path(ns.db) if ns.db else None,
    )
    prepared = prepare(request, config, say=say, find_files=False)
    if isinstance(prepared, Refusal):
        err.write(f"vpo-tui: {prepared.console}\n")
        return prepared.exit_code
    for warning in prepared.warnings:
        err.write(f"warning: {console_text(warning)}\n")
    end_at = None
    if ns.end_by is not None:
        end_at = next_time(ns.end_by, datetime.now())
    settle = ns.settle if ns.settle is not None else config.watch.settle
    with prepared as session:
        watcher = Watcher(
            session,
            listener,
            settle_s=settle,
            hours=config.watch.hours,
            end_at=end_at,
            on_done=lambda result: notifier.send(file_entry(result)),
        )
        hours = f", files start only {config.watch.hours}" if config.watch.hours else ""
        say(
            f"watching {plural(len(watcher.roots), 'path')} with policy {session.policy.name}, "
            f"{plural(session.workers.workers, 'file')} at once, settle {settle:g} s{hours}"
        )
        if drive is not None:  # the app runs it; quitting the app stops it
            try:
                by_signal = drive(watcher)
            finally:
                notifier.close()
            if by_signal:
                return EXIT_INTERRUPTED
            if watcher.failed is not None:  # the screen is gone: say why on the terminal
                err.write(f"vpo-tui: {console_text(watcher.failed)}\n")
                return EXIT_FAILED
            return EXIT_OK
        signalled: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if not signalled:
                say(f"{signal.Signals(signum).name}: stopping (running files are killed)")
            signalled.append(signum)
            watcher.stop()

        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
        try:
            watcher.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            notifier.close()
    if signalled:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if watcher.stopping else EXIT_OK
