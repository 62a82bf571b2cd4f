"""``vpo-tui watch PATH...``: keep folders in line with a policy, unattended.

The front end of ``batch.watcher.Watcher``: options and config in, one line per
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
import sys
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
from vpo_tui.config import Config, ConfigError, load_config
from vpo_tui.engine.job import FileStatus
from vpo_tui.hours import next_time, parse_hhmm
from vpo_tui.phrasing import console_text, plural
from vpo_tui.store.paths import path_bytes_b64

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _settle(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _clock_time(text: str) -> int:
    try:
        return parse_hhmm(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def watch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpo-tui watch",
        description="Bring what is in the folders in line with a policy, then every new or "
        "changed video file once it has settled, until stopped.",
        epilog="Exit codes: 0 ended at --end-by, 130 stopped by a signal (SIGTERM), 1 the "
        "folders could no longer be watched, 2 usage, 3 invalid policy/config, 5 missing tool.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folders (or files) to watch")
    parser.add_argument("--policy", metavar="NAME|FILE", help=f"default {DEFAULT_POLICY}")
    parser.add_argument("--workers", type=_positive, metavar="N", help="files at once")
    parser.add_argument(
        "--settle",
        type=_settle,
        metavar="SECONDS",
        help="quiet time before a file is taken ([watch] settle, default 60)",
    )
    parser.add_argument(
        "--end-by", type=_clock_time, metavar="HH:MM", help="stop at this time (local)"
    )
    parser.add_argument(
        "--no-tui", action="store_true", help="lines on stdout, not the watch screen"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    parser.add_argument("--config", metavar="FILE", help="config.toml to use")
    parser.add_argument("--db", metavar="FILE", help="history database to use")
    parser.add_argument("--executor", metavar="SPEC", help="threads (default) or a Dask cluster")
    return parser


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


def watch_main(
    argv: list[str],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    app: Callable[[str], WatchFront] | None = None,
) -> int:
    """``app`` makes the watch screen (the CLI passes it: this layer cannot import the app)."""
    out = out or sys.stdout
    err = err or sys.stderr
    ns = watch_parser().parse_args(argv)
    try:
        config = load_config(ns.config)
    except ConfigError as exc:
        err.write(f"vpo-tui: invalid config: {exc}\n")
        return EXIT_INVALID
    if app is not None and not ns.no_tui and not ns.json and out.isatty() and err.isatty():
        screen = app(" ".join(ns.paths))
        return run_watch(ns, config, screen, err, drive=screen.drive)
    listener = LineListener(out, err, as_json=ns.json)
    return run_watch(ns, config, listener, err)


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
            return EXIT_INTERRUPTED if by_signal else EXIT_OK
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
