"""``vpo-tui watch PATH...``: the options of the watch mode; ``vpo_tui.watch`` runs it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from vpo_tui.batch.session import DEFAULT_POLICY
from vpo_tui.commands.arguments import (
    Parser,
    clock_time,
    common_options,
    config_or_exit,
    positive_int,
)
from vpo_tui.watch.headless import LineListener, WatchFront, run_watch


def _settle(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def watch_parser() -> Parser:
    parser = Parser(
        prog="vpo-tui watch",
        description="Bring what is in the folders in line with a policy, then every new or "
        "changed video file once it has settled, until stopped.",
        epilog="Exit codes: 0 ended at --end-by, 130 stopped by a signal (SIGTERM), 1 the "
        "folders could no longer be watched, 2 usage, 3 invalid policy/config, 5 missing tool.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folders (or files) to watch")
    parser.add_argument("--policy", metavar="NAME|FILE", help=f"default {DEFAULT_POLICY}")
    parser.add_argument("--workers", type=positive_int, metavar="N", help="files at once")
    parser.add_argument(
        "--settle",
        type=_settle,
        metavar="SECONDS",
        help="quiet time before a file is taken ([watch] settle, default 60)",
    )
    parser.add_argument(
        "--end-by", type=clock_time, metavar="HH:MM", help="stop at this time (local)"
    )
    parser.add_argument(
        "--no-tui", action="store_true", help="lines on stdout, not the watch screen"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    common_options(parser)
    parser.add_argument("--executor", metavar="SPEC", help="threads (default) or a Dask cluster")
    return parser


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
    config, code = config_or_exit(ns.config)
    if config is None:
        return code
    if app is not None and not ns.no_tui and not ns.json and out.isatty() and err.isatty():
        screen = app(" ".join(ns.paths))
        return run_watch(ns, config, screen, err, drive=screen.drive)
    listener = LineListener(out, err, as_json=ns.json)
    return run_watch(ns, config, listener, err)
