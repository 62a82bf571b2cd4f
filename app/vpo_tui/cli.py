"""The ``vpo-tui`` command: run a batch (TUI or ``--no-tui``), or dispatch a subcommand.

Subcommands (``doctor``, ``policy``, ``history``, ``report``, ``retry``, ``watch``,
``cluster``, ``sample``: each a module of ``vpo_tui.commands``) are recognised by the first
argument; anything else is a list of paths for a batch (``./doctor`` reaches a folder
that happens to be called ``doctor``). Exit codes are the headless ones (see
``vpo_tui.headless``): 0 ok, 1 failed files or unreadable paths, 2 usage,
3 invalid policy/config, 4 nothing found, 5 missing tool, 130 stopped by the user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vpo_tui import __version__
from vpo_tui.batch.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from vpo_tui.batch.session import DEFAULT_POLICY
from vpo_tui.commands.arguments import (
    Parser,
    clock_time,
    common_options,
    config_or_exit,
    executor_option,
    json_requested,
    positive_int,
    print_json,
    probe_option,
    with_cluster_options,
    with_probe,
)
from vpo_tui.headless import HeadlessOptions, error_document, run_headless

SUBCOMMANDS = ("doctor", "policy", "history", "sample", "report", "retry", "cluster", "watch")


def batch_parser() -> Parser:
    parser = Parser(
        prog="vpo-tui",
        description="Apply a media policy to video files and folders, several at a time, safely.",
        epilog="Subcommands: vpo-tui doctor | policy {check FILE,list,show NAME} | "
        "history [BATCH] | report [--since 24h] | retry --cause TEXT | watch PATH... | "
        "sample DIR | cluster certs DIR.  "
        "Exit codes: 0 ok, 1 failed files or unreadable "
        "paths, 2 usage, 3 invalid policy/config, 4 no video files, 5 missing tool, "
        "130 stopped.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="video files or folders")
    parser.add_argument(
        "--policy",
        metavar="NAME|FILE",
        help=f"built-in name or TOML file (default {DEFAULT_POLICY})",
    )
    parser.add_argument("--no-tui", action="store_true", help="run without the full-screen UI")
    parser.add_argument("--workers", type=positive_int, metavar="N", help="files at once")
    executor_option(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="plan only: no media file is written or removed; the plan goes to stdout, "
        "and the batch is recorded in the history database (--db)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--no-recursive", action="store_true", help="do not descend into folders")
    parser.add_argument("--quiet", action="store_true", help="only errors and the summary")
    parser.add_argument(
        "--end-by",
        type=clock_time,
        metavar="HH:MM",
        help="--no-tui: at this time (local) kill the running files and end (exit 130)",
    )
    parser.add_argument("--version", action="version", version=f"vpo-tui {__version__}")
    probe_option(parser)
    common_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            return _subcommand(args[0], args[1:])
        return _batch(args)
    except KeyboardInterrupt:
        sys.stderr.write("vpo-tui: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `vpo-tui history | head`
        return EXIT_OK


def _batch(argv: list[str]) -> int:

    parser = batch_parser()
    parser.json_errors = json_requested(argv)
    ns = parser.parse_args(argv)
    config, code = config_or_exit(ns.config, json_errors=ns.json, dry_run=ns.dry_run)
    if config is None:
        return code
    config = with_probe(config, ns.probe)
    config = with_cluster_options(config, ns)
    policy = ns.policy or DEFAULT_POLICY
    db = Path(ns.db) if ns.db else None
    headless = ns.no_tui or ns.json
    if not headless and not (sys.stdout.isatty() and sys.stdin.isatty()):
        sys.stderr.write("vpo-tui: not a terminal, running without the TUI (--no-tui)\n")
        headless = True
    if not headless:
        try:
            from vpo_tui.tui.app import run_tui
        except ImportError as exc:
            sys.stderr.write(f"vpo-tui: the TUI is not available ({exc}); running --no-tui\n")
        else:
            return int(
                run_tui(
                    paths=[Path(p) for p in ns.paths],
                    policy=ns.policy,
                    workers=ns.workers,
                    dry_run=ns.dry_run,
                    config=config,
                    db=db,
                    recursive=not ns.no_recursive,
                    executor=ns.executor,
                )
            )
    if not ns.paths:
        message = "give at least one file or folder with --no-tui"
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"vpo-tui: error: {message}\n")
        if ns.json:
            print_json(error_document(message, EXIT_USAGE, policy_name=policy, dry_run=ns.dry_run))
        return EXIT_USAGE
    return run_headless(
        HeadlessOptions(
            paths=tuple(Path(p) for p in ns.paths),
            policy=policy,
            workers=ns.workers,
            dry_run=ns.dry_run,
            json=ns.json,
            config=config,
            db=db,
            recursive=not ns.no_recursive,
            quiet=ns.quiet,
            executor=ns.executor,
            end_by=ns.end_by,
        )
    )


def _subcommand(name: str, argv: list[str]) -> int:
    """Each subcommand is a module of ``vpo_tui.commands``, imported only when asked for."""
    if name == "watch":
        from vpo_tui.commands.watch import watch_main

        return watch_main(argv, app=_watch_app)
    if name == "doctor":
        from vpo_tui.commands.doctor import doctor_main as run
    elif name == "policy":
        from vpo_tui.commands.policy import policy_main as run
    elif name == "history":
        from vpo_tui.commands.history import history_main as run
    elif name == "report":
        from vpo_tui.commands.report import report_main as run
    elif name == "retry":
        from vpo_tui.commands.retry import retry_main as run
    elif name == "cluster":
        from vpo_tui.commands.cluster import cluster_main as run
    else:
        from vpo_tui.commands.sample import sample_main as run
    return run(argv)


def _watch_app(title: str) -> Any:
    """The watch screen's app (``vpo-tui watch`` on a terminal without ``--no-tui``)."""
    from vpo_tui.tui.watch_app import WatchApp

    return WatchApp(title)
