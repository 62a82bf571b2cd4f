"""``vpo-tui history [BATCH]``: past batches and their files, as the app's history shows them."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpo_tui.batch.exit_codes import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
)
from vpo_tui.commands.arguments import (
    Parser,
    common_options,
    config_or_exit,
    history_path,
    open_history,
    positive_int,
)
from vpo_tui.phrasing import console_text, plural
from vpo_tui.store.paths import path_bytes_b64, text_value

if TYPE_CHECKING:
    pass


def history_main(argv: list[str]) -> int:

    parser = Parser(prog="vpo-tui history", description="Past batches and their files.")
    parser.add_argument("batch", nargs="?", type=int, metavar="BATCH")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=positive_int, default=20, metavar="N")
    common_options(parser)
    ns = parser.parse_args(argv)
    config, code = config_or_exit(ns.config)
    if config is None:
        return code
    db = history_path(ns.db, config)
    if not db.exists():  # reading the history must never create a database
        return _history_of_nothing(ns.batch, ns.json, db)
    store = open_history(db)
    if store is None:
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
