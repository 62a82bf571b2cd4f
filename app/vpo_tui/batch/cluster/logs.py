"""Dask's own logging goes to a file, not to the user's terminal.

Dask logs to stderr by default: a scheduler lost mid-batch is a 30-line
``distributed.client - ERROR`` traceback, and its warnings (``Port 8787 is
already in use``) land in the middle of headless output. vpo-tui tells the user
what happened in one line of its own; Dask's detail goes to ``cluster.log`` in
the user's log folder, for a bug report.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TextIO

import platformdirs

LOG_NAME = "cluster.log"
LOG_ENV = "VPO_TUI_CLUSTER_LOG"  # tells a local cluster's worker processes where it is
DASK_LOGGERS = ("distributed", "dask", "tornado", "bokeh")
_MAX_BYTES = 1_000_000  # the file is cut in half past this size, at the next start

_lock = threading.Lock()
_routed: Path | None = None


def default_log_path() -> Path:
    """``$XDG_STATE_HOME/vpo-tui/log/cluster.log`` on Linux."""
    return Path(platformdirs.user_log_dir("vpo-tui")) / LOG_NAME


def route_dask_logs(path: Path | None = None, *, trim: bool = True) -> Path | None:
    """Send Dask's loggers and warnings to ``path`` from now on; the file, or None.

    Called when a Dask executor opens (after Dask's import configured its stderr
    handlers). Idempotent. If the file cannot be opened, Dask's messages are
    dropped below ERROR rather than printed: the user still gets vpo-tui's line.
    """
    global _routed
    target = path or default_log_path()
    with _lock:
        if _routed == target:
            return target
        handler: logging.Handler
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if trim:  # the client only: its workers append to the same file
                _trim(target)
            handler = logging.FileHandler(target, encoding="utf-8")
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s: %(message)s")
            )
            routed: Path | None = target
        except OSError:
            handler, routed = logging.NullHandler(), None
        for name in list(logging.root.manager.loggerDict):
            if name.split(".")[0] in DASK_LOGGERS:
                logger = logging.getLogger(name)
                for old in list(logger.handlers):
                    logger.removeHandler(old)
                    if isinstance(old, logging.FileHandler):  # ours, from an earlier call
                        old.close()
                logger.propagate = True  # up to the top logger, which has the file
        for name in DASK_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.propagate = False  # never the root logger's stderr
        _route_warnings()
        _routed = routed
        return routed


def _trim(path: Path) -> None:
    """Keep the newer half of a log grown past ``_MAX_BYTES``."""
    try:
        if path.stat().st_size <= _MAX_BYTES:
            return
        data = path.read_bytes()[-_MAX_BYTES // 2 :]
        path.write_bytes(data[data.find(b"\n") + 1 :])
    except OSError:
        pass


_original_showwarning = warnings.showwarning


def _route_warnings() -> None:
    """Dask's Python warnings go to its log; everybody else's are shown as before."""
    if getattr(warnings.showwarning, "_vpo_dask", False):
        return

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        parts = Path(filename).parts
        if any(p in parts for p in DASK_LOGGERS):
            logging.getLogger("distributed").warning(
                "%s: %s (%s:%d)", category.__name__, message, filename, lineno
            )
            return
        _original_showwarning(message, category, filename, lineno, file, line)

    showwarning._vpo_dask = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


def dask_setup(worker: object) -> None:
    """A local cluster's worker process, at its start (a Dask preload of this module).

    Its stderr is the client's terminal: a heartbeat that races the cluster's
    close would print a traceback there. Its Dask messages join the client's file.
    """
    where = os.environ.get(LOG_ENV)
    route_dask_logs(Path(where) if where else None, trim=False)
