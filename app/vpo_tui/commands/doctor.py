"""``vpo-tui doctor``: the tools and their versions, the config, the database, the cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui import __version__
from vpo_tui.batch.exit_codes import (
    EXIT_MISSING_TOOL,
    EXIT_OK,
)
from vpo_tui.commands.arguments import (
    Parser,
    common_options,
    config_or_exit,
    executor_option,
    probe_option,
    with_cluster_options,
    with_probe,
)
from vpo_tui.executors import THREADS
from vpo_tui.phrasing import console_text, plural

if TYPE_CHECKING:
    from vpo_tui.config import Config


def doctor_main(argv: list[str]) -> int:
    from vpo_tui.config import default_config_path
    from vpo_tui.engine.tools import doctor_report, install_hint
    from vpo_tui.store.history import default_db_path, describe_database

    parser = Parser(prog="vpo-tui doctor", description="Check the tools and settings.")
    common_options(parser)
    executor_option(parser)
    probe_option(parser)
    parser.add_argument(
        "folders",
        nargs="*",
        type=Path,
        metavar="FOLDER",
        help="library folders: say whether each can clone files (instant copies)",
    )
    ns = parser.parse_args(argv)
    config, code = config_or_exit(ns.config)
    if config is None:
        return code
    config = with_probe(config, ns.probe)
    executor = ns.executor or config.processing.executor
    if executor is not None and executor != THREADS:
        return _doctor_cluster(executor, with_cluster_options(config, ns))
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
