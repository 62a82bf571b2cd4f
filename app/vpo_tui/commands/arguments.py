"""What every ``vpo-tui`` command parses alike: the parser, shared options, the config.

``cli.py`` and each subcommand (``vpo_tui.commands.*``) import these, never each
other's private helpers, so the commands form no circle with the dispatcher.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vpo_tui.batch.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from vpo_tui.headless import error_document

if TYPE_CHECKING:
    from vpo_tui.config import Config
    from vpo_tui.store.history import HistoryStore


class Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our documented code too.

    With ``json_errors`` set (``--json`` is on the command line) a usage error also
    prints the JSON error document on stdout, as every other refusal does: a script
    that asked for JSON always gets one.
    """

    json_errors: bool = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print_json(error_document(message, EXIT_USAGE))
        super().error(message)


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stdout.flush()


def json_requested(argv: Sequence[str]) -> bool:
    """``--json`` (or an abbreviation argparse accepts) before any ``--``."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return any(len(arg) >= 3 and "--json".startswith(arg) for arg in options)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def clock_time(text: str) -> int:
    from vpo_tui.hours import parse_hhmm

    try:
        return parse_hhmm(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def executor_text(text: str) -> str:
    from vpo_tui.executors import parse_executor

    try:
        return str(parse_executor(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def executor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        type=executor_text,
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


def with_cluster_options(config: Config, ns: argparse.Namespace) -> Config:
    """``--cluster-certs`` / ``--insecure-cluster`` over the config's ``[cluster]``."""
    cluster = config.cluster
    if ns.cluster_certs:
        cluster = dataclasses.replace(cluster, certs=Path(ns.cluster_certs).expanduser())
    if ns.insecure_cluster:
        cluster = dataclasses.replace(cluster, allow_insecure=True)
    return dataclasses.replace(config, cluster=cluster)


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config.toml to use")
    parser.add_argument("--db", metavar="FILE", help="history database to use")


def probe_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--probe",
        choices=("auto", "pyav", "ffprobe"),
        help="who reads the files: PyAV in-process (auto: where it can, else ffprobe) "
        "or ffprobe (default: [probe] backend in config.toml, else auto)",
    )


def with_probe(config: Config, backend: str | None) -> Config:
    """The config with ``--probe`` over ``[probe] backend``."""
    from vpo_tui.config import ProbeConfig
    from vpo_tui.engine.probe import BACKENDS

    chosen = next((b for b in BACKENDS if b == backend), None)
    if chosen is None:
        return config
    return dataclasses.replace(config, probe=ProbeConfig(backend=chosen))


def config_or_exit(
    path: str | None, *, json_errors: bool = False, dry_run: bool = False
) -> tuple[Config | None, int]:
    """The config (``--config`` > the environment > the default place), or why not.

    Imported when asked for, so ``--help`` and a subcommand's usage error stay fast.
    """
    from vpo_tui.config import ConfigError, load_config

    try:
        return load_config(path), EXIT_OK
    except ConfigError as exc:
        message = f"invalid config: {exc}"
        sys.stderr.write(f"vpo-tui: {message}\n")
        if json_errors:
            print_json(error_document(message, EXIT_INVALID, dry_run=dry_run))
        return None, EXIT_INVALID


def history_path(db_option: str | None, config: Config) -> Path:
    """``--db`` > ``[paths] database`` > the default: where a command reads the history."""
    from vpo_tui.store.history import default_db_path

    return Path(db_option or config.paths.database or default_db_path())


def open_history(db: Path) -> HistoryStore | None:
    """The history at ``db``, or None once the reason is said (the command exits 1).

    Callers check that ``db`` exists first: reading the history never creates one.
    """
    from vpo_tui.phrasing import console_text
    from vpo_tui.store.history import HistoryStore
    from vpo_tui.store.pool import StoreError

    try:
        return HistoryStore(db)
    except StoreError as exc:
        sys.stderr.write(f"vpo-tui: {console_text(str(exc))}\n")
        return None


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
