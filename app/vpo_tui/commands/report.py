"""``vpo-tui report [--since 24h] [--json]``: what happened while nobody watched.

A front end over ``store.report``: the numbers as text (with a small per-day bar
chart, because people would rather look than read) or as one JSON document.
Reading the report never creates or changes a database.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from vpo_tui.phrasing import plural
from vpo_tui.store.report import Report

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BAR_WIDTH = 30
_SHOWN_PATHS = 3


def parse_since(text: str, now: float | None = None) -> float:
    """``24h``, ``7d``, ``90m``, ``2w`` ago, or a date ``YYYY-MM-DD[ HH:MM]`` (local)."""
    now = time.time() if now is None else now
    match = _SPAN.match(text)
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2).lower()]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a span like 24h, 7d, 90m or a date like 2026-01-31, got {text!r}"
        ) from None


def size_text(n: float) -> str:
    """Bytes in the largest unit that keeps a number above 1 (binary units)."""
    value = abs(float(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def saved_text(saved: int) -> str:
    if saved > 0:
        return f"saved {size_text(saved)}"
    if saved < 0:
        return f"spent {size_text(-saved)}"
    return "no change in size"


def _clock(seconds: float) -> str:
    seconds = round(max(0.0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def report_document(report: Report) -> dict[str, Any]:
    doc = asdict(report)
    doc["saved_bytes"] = report.saved_bytes
    doc["failures"] = [
        {"cause": g.cause, "count": g.count, "paths": list(g.paths)} for g in report.failures
    ]
    doc["days"] = [asdict(d) for d in report.days]
    return doc


def write_report(
    report: Report, out: TextIO, *, escape: Any = str, command: str = "vpo-tui"
) -> None:
    """The report as text; ``escape`` makes paths and messages safe for a terminal."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report.since))
    out.write(f"Since {when}:\n")
    counts = [f"{report.unchanged} unchanged", f"{report.failed} failed"]
    if report.skipped:
        counts.append(f"{report.skipped} skipped")
    if report.cancelled:
        counts.append(f"{report.cancelled} cancelled or interrupted")
    out.write(f"  processed   {plural(report.processed, 'file')} ({', '.join(counts)})\n")
    if report.bytes_before or report.bytes_after:
        out.write(
            f"  space       {saved_text(report.saved_bytes)} "
            f"({size_text(report.bytes_before)} -> {size_text(report.bytes_after)})\n"
        )
    else:
        out.write("  space       no change in size\n")
    out.write(f"  time spent  {_clock(report.time_spent_s)}\n")
    if report.failures:
        out.write("Failures by cause:\n")
        for group in report.failures:
            out.write(f"  {group.count:>5}  {escape(group.cause)}\n")
            shown = ", ".join(escape(p) for p in group.paths[:_SHOWN_PATHS])
            more = group.count - _SHOWN_PATHS
            out.write(f"         {shown}{f' (and {more} more)' if more > 0 else ''}\n")
        out.write(f'  Retry a group: {command} retry --cause "TEXT" (any part of the cause)\n')
    if any(d.files for d in report.days):
        out.write("Per day (files processed, space):\n")
        top = max(d.files for d in report.days)
        for d in report.days:
            bar = "#" * (round(d.files / top * _BAR_WIDTH) if top else 0)
            out.write(f"  {d.day}  {bar:<{_BAR_WIDTH}} {d.files:>5}  {saved_text(d.saved_bytes)}\n")


def report_main(argv: list[str]) -> int:
    from vpo_tui.batch.exit_codes import EXIT_FAILED, EXIT_OK
    from vpo_tui.commands.arguments import (
        Parser,
        command_name,
        common_options,
        config_or_exit,
        history_path,
        open_history,
    )
    from vpo_tui.phrasing import console_text
    from vpo_tui.store.report import build_report

    parser = Parser(
        prog="vpo-tui report",
        description="What vpo-tui did: files, space saved or spent, time, failures by cause.",
    )
    parser.add_argument(
        "--since",
        type=parse_since,
        default="24h",
        metavar="SPAN|DATE",
        help="24h (default), 7d, 90m, 2w, or a date like 2026-01-31",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    common_options(parser)
    ns = parser.parse_args(argv)
    since = float(ns.since)
    config, code = config_or_exit(ns.config)
    if config is None:
        return code
    db = history_path(ns.db, config)
    if not db.exists():  # reading must never create a database
        report = Report(since, time.time(), 0, 0, 0, 0, 0, 0, 0, 0.0)
    else:
        store = open_history(db)
        if store is None:
            return EXIT_FAILED
        with store:
            report = build_report(store.pool, since)
    if ns.json:
        json.dump(report_document(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_report(report, sys.stdout, escape=console_text, command=command_name())
    return EXIT_OK
