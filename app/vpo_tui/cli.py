"""The ``vpo-tui`` command: run a batch (TUI or ``--no-tui``) and the helper subcommands.

Subcommands (``doctor``, ``policy``, ``history``, ``sample``) are recognised by the first
argument; anything else is a list of paths for a batch (``./doctor`` reaches a folder
that happens to be called ``doctor``). Exit codes are the headless ones (see
``vpo_tui.headless``): 0 ok, 1 failed files, 2 usage, 3 invalid policy/config,
4 nothing found, 5 missing tool, 130 stopped by the user.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from vpo_tui import __version__
from vpo_tui.headless import (
    DEFAULT_POLICY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_MISSING_TOOL,
    EXIT_OK,
    EXIT_USAGE,
    HeadlessOptions,
    run_headless,
)

SUBCOMMANDS = ("doctor", "policy", "history", "sample")


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our documented code too."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config.toml to use")
    parser.add_argument("--db", metavar="FILE", help="history database to use")


def batch_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vpo-tui",
        description="Apply a media policy to video files and folders, several at a time, safely.",
        epilog="Subcommands: vpo-tui doctor | policy {check FILE,list,show NAME} | "
        "history [BATCH] | sample DIR.  Exit codes: 0 ok, 1 failed files, 2 usage, "
        "3 invalid policy/config, 4 no video files, 5 missing tool, 130 stopped.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="video files or folders")
    parser.add_argument(
        "--policy",
        metavar="NAME|FILE",
        help=f"built-in name or TOML file (default {DEFAULT_POLICY})",
    )
    parser.add_argument("--no-tui", action="store_true", help="run without the full-screen UI")
    parser.add_argument("--workers", type=_positive_int, metavar="N", help="files at once")
    parser.add_argument("--dry-run", action="store_true", help="plan only, write nothing")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--no-recursive", action="store_true", help="do not descend into folders")
    parser.add_argument("--quiet", action="store_true", help="only errors and the summary")
    parser.add_argument("--version", action="version", version=f"vpo-tui {__version__}")
    _common(parser)
    return parser


def _load_config(path: str | None) -> object:
    from vpo_tui.config import load_config

    return load_config(path)


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


def _config_or_exit(path: str | None) -> tuple[object | None, int]:
    from vpo_tui.config import ConfigError

    try:
        return _load_config(path), EXIT_OK
    except ConfigError as exc:
        sys.stderr.write(f"vpo-tui: invalid config: {exc}\n")
        return None, EXIT_INVALID


def _batch(argv: list[str]) -> int:
    from vpo_tui.config import Config

    parser = batch_parser()
    ns = parser.parse_args(argv)
    config, code = _config_or_exit(ns.config)
    if config is None:
        return code
    assert isinstance(config, Config)
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
                )
            )
    if not ns.paths:
        parser.print_usage(sys.stderr)
        sys.stderr.write("vpo-tui: error: give at least one file or folder with --no-tui\n")
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
        )
    )


# -- subcommands ---------------------------------------------------------------


def _subcommand(name: str, argv: list[str]) -> int:
    if name == "doctor":
        return _doctor(argv)
    if name == "policy":
        return _policy(argv)
    if name == "history":
        return _history(argv)
    return _sample(argv)


def _doctor(argv: list[str]) -> int:
    from vpo_tui.config import Config, default_config_path
    from vpo_tui.engine.tools import doctor_report, install_hint
    from vpo_tui.store.history import default_db_path, describe_database

    parser = _Parser(prog="vpo-tui doctor", description="Check the tools and settings.")
    _common(parser)
    ns = parser.parse_args(argv)
    config, code = _config_or_exit(ns.config)
    if config is None:
        return code
    assert isinstance(config, Config)
    out = sys.stdout
    out.write(f"vpo-tui {__version__}, Python {sys.version.split()[0]}\n")
    out.write(f"config:   {config.source or f'{default_config_path()} (not present: defaults)'}\n")
    db = Path(ns.db or config.paths.database or default_db_path())
    usable, state = describe_database(db)
    out.write(f"database: {db} ({state if usable else 'PROBLEM: ' + state})\n")
    missing = False
    for tool in doctor_report(config.engine_settings().tools):
        if tool.found:
            out.write(f"  ok       {tool.name:<12} {tool.version:<12} {tool.path}\n")
        else:
            missing = True
            out.write(f"  MISSING  {tool.name:<12} {tool.problem}\n")
    if missing:
        out.write(f"Some tools are missing; {install_hint()}\n")
        return EXIT_MISSING_TOOL
    return EXIT_OK


def _policy(argv: list[str]) -> int:
    from vpo_tui.policy.load import PolicyError, builtin_policy_names, load_policy, policy_text

    parser = _Parser(prog="vpo-tui policy", description="Inspect policies.")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the built-in policies")
    check = sub.add_parser("check", help="validate a policy file")
    check.add_argument("file", metavar="FILE|NAME")
    show = sub.add_parser("show", help="print a policy's TOML")
    show.add_argument("name", metavar="NAME|FILE")
    ns = parser.parse_args(argv)
    try:
        if ns.action == "list":
            for name in builtin_policy_names():
                description = load_policy(name).description
                sys.stdout.write(f"{name:<16} {description}\n")
            return EXIT_OK
        if ns.action == "check":
            policy = load_policy(ns.file)
            sys.stdout.write(f"ok: {ns.file}: policy {policy.name!r} is valid\n")
            return EXIT_OK
        sys.stdout.write(policy_text(ns.name))
        return EXIT_OK
    except PolicyError as exc:
        sys.stderr.write(f"vpo-tui: invalid policy: {exc}\n")
        return EXIT_INVALID


def _history(argv: list[str]) -> int:
    from vpo_tui.config import Config
    from vpo_tui.store.history import HistoryStore
    from vpo_tui.store.pool import StoreError

    parser = _Parser(prog="vpo-tui history", description="Past batches and their files.")
    parser.add_argument("batch", nargs="?", type=int, metavar="BATCH")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=_positive_int, default=20, metavar="N")
    _common(parser)
    ns = parser.parse_args(argv)
    config, code = _config_or_exit(ns.config)
    if config is None:
        return code
    assert isinstance(config, Config)
    try:
        store = HistoryStore(ns.db or config.paths.database)
    except StoreError as exc:
        sys.stderr.write(f"vpo-tui: {exc}\n")
        return EXIT_FAILED
    with store:
        if ns.batch is None:
            batches = store.list_batches(ns.limit)
            if ns.json:
                json.dump([_batch_dict(b) for b in batches], sys.stdout, indent=2)
                sys.stdout.write("\n")
                return EXIT_OK
            if not batches:
                sys.stdout.write("No batches yet.\n")
            for b in batches:
                totals = ", ".join(f"{n} {k}" for k, n in b.totals.items() if n) or "nothing"
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.started_at))
                flag = " dry-run" if b.dry_run else ""
                sys.stdout.write(
                    f"#{b.id:<5} {when}  {b.status:<11} {b.policy_name}{flag}  "
                    f"{b.total} files: {totals}\n"
                )
            return EXIT_OK
        batch = store.get_batch(ns.batch)
        if batch is None:
            sys.stderr.write(f"vpo-tui: no batch #{ns.batch} in {store.path}\n")
            return EXIT_USAGE
        jobs = store.batch_jobs(batch.id)
        if ns.json:
            doc = _batch_dict(batch)
            doc["files"] = [
                {
                    "path": j.path,
                    "status": j.status,
                    "changes": list(j.changes),
                    "error": j.error,
                    "duration_s": j.duration_s,
                    "output_path": j.output_path,
                    "stderr_tail": j.stderr_tail,
                    "before": list(j.before),
                    "after": list(j.after),
                }
                for j in jobs
            ]
            json.dump(doc, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return EXIT_OK
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(batch.started_at))
        sys.stdout.write(
            f"Batch #{batch.id} {when} policy {batch.policy_name} ({batch.status}, "
            f"{batch.workers} workers{', dry run' if batch.dry_run else ''})\n"
        )
        for j in jobs:
            line = f"  {j.status:<11} {j.path}"
            if j.error and j.status not in ("ok", "unchanged", "planned"):
                prefix = f"{j.path}: "  # the line names the file already
                line += f": {j.error.removeprefix(prefix)}"
            sys.stdout.write(line + "\n")
            for change in j.changes:
                sys.stdout.write(f"      - {change}\n")
        return EXIT_OK


def _batch_dict(b: object) -> dict[str, object]:
    from dataclasses import asdict

    doc = asdict(b)  # type: ignore[call-overload]
    doc["roots"] = list(doc["roots"])
    return dict(doc)


def _sample(argv: list[str]) -> int:
    from vpo_tui.samples import make_demo_library

    parser = _Parser(prog="vpo-tui sample", description="Write a small demo library.")
    parser.add_argument("dir", metavar="DIR")
    ns = parser.parse_args(argv)
    target = Path(ns.dir)
    try:
        made = make_demo_library(target)
    except FileNotFoundError as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples: {exc} (is ffmpeg installed?)\n")
        return EXIT_MISSING_TOOL
    except Exception as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples in {target}: {exc}\n")
        return EXIT_FAILED
    for path in made:
        sys.stdout.write(f"{path}\n")
    sys.stdout.write(f"Made {len(made)} files. Try: vpo-tui --no-tui --dry-run {target}\n")
    return EXIT_OK
