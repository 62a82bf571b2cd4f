"""The ``vpo-tui`` command: run a batch (TUI or ``--no-tui``) and the helper subcommands.

Subcommands (``doctor``, ``policy``, ``history``, ``sample``) are recognised by the first
argument; anything else is a list of paths for a batch (``./doctor`` reaches a folder
that happens to be called ``doctor``). Exit codes are the headless ones (see
``vpo_tui.headless``): 0 ok, 1 failed files or unreadable paths, 2 usage,
3 invalid policy/config, 4 nothing found, 5 missing tool, 130 stopped by the user.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vpo_tui import __version__
from vpo_tui.batch.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_MISSING_TOOL,
    EXIT_OK,
    EXIT_USAGE,
)
from vpo_tui.batch.session import DEFAULT_POLICY
from vpo_tui.headless import (
    HeadlessOptions,
    error_document,
    run_headless,
)
from vpo_tui.phrasing import console_text, plural
from vpo_tui.store.paths import path_bytes_b64, text_value

if TYPE_CHECKING:
    from vpo_tui.config import Config

SUBCOMMANDS = ("doctor", "policy", "history", "sample", "report", "retry", "cluster", "watch")


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our documented code too.

    With ``json_errors`` set (``--json`` is on the command line) a usage error also
    prints the JSON error document on stdout, as every other refusal does: a script
    that asked for JSON always gets one.
    """

    json_errors: bool = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            _print_json(error_document(message, EXIT_USAGE))
        super().error(message)


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stdout.flush()


def _json_requested(argv: Sequence[str]) -> bool:
    """``--json`` (or an abbreviation argparse accepts) before any ``--``."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return any(len(arg) >= 3 and "--json".startswith(arg) for arg in options)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _clock_time(text: str) -> int:
    from vpo_tui.hours import parse_hhmm

    try:
        return parse_hhmm(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _executor_text(text: str) -> str:
    from vpo_tui.executors import parse_executor

    try:
        return str(parse_executor(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _executor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        type=_executor_text,
        metavar="SPEC",
        help="threads (default), local-cluster[:N], tls://HOST:PORT or dask://HOST:PORT "
        "(needs vpo-tui[cluster])",
    )
    parser.add_argument(
        "--cluster-certs",
        metavar="DIR",
        help="the certificates `vpo-tui cluster certs DIR` made, for tls:// ([cluster] certs)",
    )
    parser.add_argument(
        "--insecure-cluster",
        action="store_true",
        help="allow plain dask:// to another machine: anyone on the network could run code "
        "on the workers ([cluster] allow_insecure)",
    )


def _with_cluster_options(config: Config, ns: argparse.Namespace) -> Config:
    """``--cluster-certs`` / ``--insecure-cluster`` over the config's ``[cluster]``."""
    cluster = config.cluster
    if ns.cluster_certs:
        cluster = dataclasses.replace(cluster, certs=Path(ns.cluster_certs).expanduser())
    if ns.insecure_cluster:
        cluster = dataclasses.replace(cluster, allow_insecure=True)
    return dataclasses.replace(config, cluster=cluster)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config.toml to use")
    parser.add_argument("--db", metavar="FILE", help="history database to use")


def batch_parser() -> _Parser:
    parser = _Parser(
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
    parser.add_argument("--workers", type=_positive_int, metavar="N", help="files at once")
    _executor_option(parser)
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
        type=_clock_time,
        metavar="HH:MM",
        help="--no-tui: at this time (local) kill the running files and end (exit 130)",
    )
    parser.add_argument("--version", action="version", version=f"vpo-tui {__version__}")
    _probe_option(parser)
    _common(parser)
    return parser


def _probe_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--probe",
        choices=("auto", "pyav", "ffprobe"),
        help="who reads the files: PyAV in-process (auto: where it can, else ffprobe) "
        "or ffprobe (default: [probe] backend in config.toml, else auto)",
    )


def _with_probe(config: object, backend: str | None) -> object:
    """The config with ``--probe`` over ``[probe] backend``."""
    import dataclasses

    from vpo_tui.config import Config, ProbeConfig
    from vpo_tui.engine.probe import BACKENDS

    chosen = next((b for b in BACKENDS if b == backend), None)
    if chosen is None or not isinstance(config, Config):
        return config
    return dataclasses.replace(config, probe=ProbeConfig(backend=chosen))


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


def _config_or_exit(
    path: str | None, *, json_errors: bool = False, dry_run: bool = False
) -> tuple[object | None, int]:
    from vpo_tui.config import ConfigError

    try:
        return _load_config(path), EXIT_OK
    except ConfigError as exc:
        message = f"invalid config: {exc}"
        sys.stderr.write(f"vpo-tui: {message}\n")
        if json_errors:
            _print_json(error_document(message, EXIT_INVALID, dry_run=dry_run))
        return None, EXIT_INVALID


def _batch(argv: list[str]) -> int:
    from vpo_tui.config import Config

    parser = batch_parser()
    parser.json_errors = _json_requested(argv)
    ns = parser.parse_args(argv)
    config, code = _config_or_exit(ns.config, json_errors=ns.json, dry_run=ns.dry_run)
    if config is None:
        return code
    config = _with_probe(config, ns.probe)
    assert isinstance(config, Config)
    config = _with_cluster_options(config, ns)
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
            _print_json(error_document(message, EXIT_USAGE, policy_name=policy, dry_run=ns.dry_run))
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


# -- subcommands ---------------------------------------------------------------


def _subcommand(name: str, argv: list[str]) -> int:
    if name == "doctor":
        return _doctor(argv)
    if name == "policy":
        return _policy(argv)
    if name == "history":
        return _history(argv)
    if name == "watch":
        from vpo_tui.watch.headless import watch_main

        return watch_main(argv, app=_watch_app)
    if name in ("report", "retry"):
        from vpo_tui.report_command import report_main
        from vpo_tui.retry_command import retry_main

        return report_main(argv) if name == "report" else retry_main(argv)
    if name == "cluster":
        from vpo_tui.cluster_command import cluster_main

        return cluster_main(argv)
    return _sample(argv)


def _watch_app(title: str) -> Any:
    """The watch screen's app (``vpo-tui watch`` on a terminal without ``--no-tui``)."""
    from vpo_tui.tui.watch_app import WatchApp

    return WatchApp(title)


def _doctor(argv: list[str]) -> int:
    from vpo_tui.config import Config, default_config_path
    from vpo_tui.engine.tools import doctor_report, install_hint
    from vpo_tui.store.history import default_db_path, describe_database

    parser = _Parser(prog="vpo-tui doctor", description="Check the tools and settings.")
    _common(parser)
    _executor_option(parser)
    _probe_option(parser)
    parser.add_argument(
        "folders",
        nargs="*",
        type=Path,
        metavar="FOLDER",
        help="library folders: say whether each can clone files (instant copies)",
    )
    ns = parser.parse_args(argv)
    config, code = _config_or_exit(ns.config)
    if config is None:
        return code
    config = _with_probe(config, ns.probe)
    assert isinstance(config, Config)
    executor = ns.executor or config.processing.executor
    if executor is not None and executor != "threads":
        return _doctor_cluster(executor, _with_cluster_options(config, ns))
    out = sys.stdout
    out.write(f"vpo-tui {__version__}, Python {sys.version.split()[0]}\n")
    source = config.source or f"{default_config_path()} (not present: defaults)"
    out.write(f"config:   {console_text(str(source))}\n")
    db = Path(ns.db or config.paths.database or default_db_path())
    usable, state = describe_database(db)
    out.write(f"database: {console_text(str(db))} ({state if usable else 'PROBLEM: ' + state})\n")
    tools = config.engine_settings().tools
    missing: list[str] = []
    for tool in doctor_report(tools):
        if tool.found:
            out.write(f"  ok       {tool.name:<12} {tool.version:<12} {tool.path}\n")
        else:
            missing.append(tool.name)
            out.write(f"  MISSING  {tool.name:<12} {console_text(str(tool.problem))}\n")
    out.write(_probe_line(config.probe.backend) + "\n")
    _doctor_folders(ns.folders, config.safety.in_place)
    if not missing:
        return EXIT_OK
    # A wrong [tools] path is fixed in the config file, not by installing anything.
    configured = [name for name in missing if getattr(tools, name, None)]
    from_path = [name for name in missing if name not in configured]
    hints: list[str] = []
    if configured:
        where = console_text(str(config.source or "config.toml"))
        hints.append(f"fix the path under [tools] in {where} ({', '.join(configured)})")
    if from_path:
        hints.append(
            f"for {', '.join(from_path)}: {install_hint(from_path)}"
            if configured
            else install_hint(from_path)
        )
    out.write(
        f"{'A tool is' if len(missing) == 1 else 'Some tools are'} missing; {'; '.join(hints)}\n"
    )
    return EXIT_MISSING_TOOL


def _probe_line(backend: str) -> str:
    """Who reads the files: PyAV's FFmpeg beside the system's, or why ffprobe does."""
    from vpo_tui.engine.probe_pool import pool

    if backend == "ffprobe":
        return "  probe    ffprobe      ([probe] backend = ffprobe: PyAV is not used)"
    version, problem = pool().status()
    if version is not None:
        return f"  ok       PyAV         {version} (in-process probe, backend = {backend})"
    if backend == "pyav":
        return f"  PROBLEM  PyAV         {console_text(str(problem))}: every probe will fail"
    return f"  note     PyAV         {console_text(str(problem))}: probing with ffprobe"


def _doctor_folders(folders: list[Path], in_place: str) -> None:
    """Per library folder: can it clone (a flags-only change then copies nothing)?"""
    from vpo_tui.engine.clone import folder_can_clone

    out = sys.stdout
    if folders:
        out.write(f"flags-only changes (mkvpropedit), [safety] in_place = {in_place}:\n")
    for folder in folders:
        where = console_text(str(folder))
        can = folder_can_clone(folder) if folder.is_dir() else None
        if can is None:
            out.write(f"  ?        {where}: cannot tell (not a folder, or not writable)\n")
        elif can:
            out.write(f"  clone    {where}: the working copy is a clone (instant, no space)\n")
        elif in_place == "never":
            out.write(f"  copy     {where}: no clones here; each file is copied first\n")
        else:
            out.write(
                f"  journal  {where}: no clones here; edited in place under a journal"
                " (hard-linked or busy files are copied)\n"
            )


def _doctor_cluster(executor: str, config: Config) -> int:
    """Connect, list the workers, check vpo-tui's version and the tools on each."""
    from vpo_tui.batch.cluster.client import DaskBackend, version_problems
    from vpo_tui.executors import ClusterError, parse_executor

    out = sys.stdout
    out.write(f"vpo-tui {__version__}, Python {sys.version.split()[0]}\n")
    try:
        backend = DaskBackend.open(parse_executor(executor), config.cluster)
    except ClusterError as exc:
        sys.stderr.write(f"vpo-tui: {exc}\n")
        return EXIT_MISSING_TOOL
    try:
        workers = backend.workers()
        out.write(f"scheduler: {backend.address}, {plural(len(workers), 'worker')}\n")
        out.write(f"connection: {backend.access_note}\n")
        if backend.warning:
            out.write(f"WARNING: {backend.warning}\n")
        problems = version_problems(workers, backend.address)
        for w in workers:
            out.write(f"  worker {w.address} on {w.host}, {plural(w.threads, 'thread')}\n")
            for name, (version, where) in sorted(w.tools.items()):
                state = f"ok       {name:<12} {version:<12}" if version else f"MISSING  {name:<12}"
                out.write(f"    {state} {console_text(where)}\n")
            if w.missing_tools:
                problems.append(
                    f"worker {w.address} on {w.host} lacks {', '.join(w.missing_tools)}"
                )
    finally:
        backend.close()
    for problem in problems:
        out.write(f"PROBLEM: {problem}\n")
    return EXIT_MISSING_TOOL if problems else EXIT_OK


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
    from vpo_tui.store.history import HistoryStore, default_db_path
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
    db = Path(ns.db or config.paths.database or default_db_path())
    if not db.exists():  # reading the history must never create a database
        return _history_of_nothing(ns.batch, ns.json, db)
    try:
        store = HistoryStore(db)
    except StoreError as exc:
        sys.stderr.write(f"vpo-tui: {console_text(str(exc))}\n")
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
            width = max((len(b.outcome) for b in batches), default=0)
            # the policy column is padded too, so the counts start in one column
            labels = [
                console_text(b.policy_name) + (" dry-run" if b.dry_run else "") for b in batches
            ]
            policy_width = max(map(len, labels), default=0)
            for b, label in zip(batches, labels, strict=True):
                counts = _batch_counts(b)
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.started_at))
                sys.stdout.write(
                    f"#{b.id:<5} {when}  {b.outcome:<{width}}  {label:<{policy_width}}"
                    f"  {plural(b.total, 'file')}{': ' + counts if counts else ''}\n"
                )
            return EXIT_OK
        batch = store.get_batch(ns.batch)
        if batch is None:
            return _history_of_nothing(ns.batch, ns.json, store.path)
        jobs = store.batch_jobs(batch.id)
        if ns.json:
            doc = _batch_dict(batch)
            doc["files"] = [
                {
                    "path": j.path,
                    "path_bytes_b64": path_bytes_b64(j.path),
                    "status": j.status,
                    "changes": list(j.changes),
                    "error": j.error,
                    "duration_s": j.duration_s,
                    "output_path": j.output_path,
                    "output_path_bytes_b64": (
                        path_bytes_b64(j.output_path) if j.output_path is not None else None
                    ),
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
            f"Batch #{batch.id} {when} policy {console_text(batch.policy_name)} "
            f"({batch.outcome}, {plural(batch.workers, 'worker')}"
            f"{', dry run' if batch.dry_run else ''})\n"
        )
        for j in jobs:
            line = f"  {j.status:<11} {console_text(j.path)}"
            if j.error and j.status not in ("ok", "unchanged", "planned"):
                # the line names the file already (the store keeps a non-UTF-8 name
                # in an error message as \xNN text)
                error = j.error.removeprefix(f"{j.path}: ").removeprefix(f"{text_value(j.path)}: ")
                line += f": {console_text(error)}"
            elif j.output_path is not None and j.output_path != j.path:
                # a new container's name, or the file a symbolic link led to
                line += f" -> {console_text(j.output_path)}"
            sys.stdout.write(line + "\n")
            for change in j.changes:
                sys.stdout.write(f"      - {console_text(change)}\n")
        return EXIT_OK


def _batch_counts(b: Any) -> str:
    """``1 ok, 3 not finished yet``: what became of a batch's files, for the history list.

    The store counts an unfinished batch's files from its jobs (a batch still
    running, or cut short by a kill -9 before the next start marked it
    interrupted); the rest are said to be unfinished, not "nothing".
    """
    parts = [f"{n} {status}" for status, n in b.totals.items() if n]
    left = b.total - sum(b.totals.values())
    if left > 0:
        yet = " yet" if b.status == "running" else ""
        parts.append(f"{left} not finished{yet}" if parts else f"none finished{yet}")
    return ", ".join(parts)


def _history_of_nothing(batch: int | None, as_json: bool, db: Path) -> int:
    """The list of no batches (exit 0), or no such batch (exit 2)."""
    if batch is not None:
        sys.stderr.write(f"vpo-tui: no batch #{batch} in {console_text(str(db))}\n")
        return EXIT_USAGE
    sys.stdout.write("[]\n" if as_json else "No batches yet.\n")
    return EXIT_OK


def _batch_dict(b: Any) -> dict[str, object]:
    """A BatchRecord as JSON: its fields, and ``outcome`` (how it ended, as shown)."""
    from dataclasses import asdict

    doc = asdict(b)
    doc["roots"] = list(doc["roots"])
    doc["outcome"] = b.outcome
    return dict(doc)


def command_name() -> str:
    """How to run this very program again from here, for hints meant to be copied.

    ``vpo-tui`` when that is what PATH finds; else the path it was started by
    (``.venv/bin/vpo-tui`` from ``make demo``), so the hint works as shown.
    """
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is None or started.name != "vpo-tui":
        return f"{sys.executable} -m vpo_tui"
    found = shutil.which("vpo-tui")
    if found is not None and Path(found).resolve() == started.resolve():
        return "vpo-tui"
    return shlex.quote(str(started))


def _sample(argv: list[str]) -> int:
    from vpo_tui.samples import SampleRefused, make_demo_library

    parser = _Parser(prog="vpo-tui sample", description="Write a small demo library.")
    parser.add_argument("dir", metavar="DIR")
    ns = parser.parse_args(argv)
    target = Path(ns.dir)
    try:
        made = make_demo_library(target)
    except SampleRefused as exc:
        sys.stderr.write(f"vpo-tui: {console_text(str(exc))}\n")
        return EXIT_USAGE
    except FileNotFoundError as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples: {exc} (is ffmpeg installed?)\n")
        return EXIT_MISSING_TOOL
    except Exception as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples in {target}: {exc}\n")
        return EXIT_FAILED
    for path in made:
        sys.stdout.write(f"{console_text(str(path))}\n")
    try_it = f"{command_name()} --no-tui --dry-run {shlex.quote(console_text(str(target)))}"
    sys.stdout.write(f"Made {plural(len(made), 'file')}. Try: {try_it}\n")
    return EXIT_OK
