"""The morning report: what the history says happened since a moment.

Files processed, space saved or spent, time spent, failures grouped by cause, and
per-day figures for a chart. Dry runs are left out: they changed nothing. The
cause of a failure is its message without the file's own name and without the
numbers that differ from file to file, so a thousand files that failed for one
reason are one group (and ``vpo-tui retry --cause`` can run that group again).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from vpo_tui.store.paths import path_from_value, text_value
from vpo_tui.store.pool import ConnectionPool

_TEMP_NAME = re.compile(r"\.[^/\s]*\.vpo-(?:tmp|commit)-[0-9a-zA-Z@.\-]+")
_BIG_NUMBER = re.compile(r"\d+\.\d+|\d{3,}")
_DAY_S = 86400.0


def cause_of(error: str | None, path: str) -> str:
    """The part of a failure message that several files can share."""
    text = (error or "failed without a message").strip()
    path = text_value(path) or path  # as an error message quotes it (undecodable bytes escaped)
    text = text.removeprefix(f"{path}: ").replace(path, "<file>")
    name = path.rsplit("/", 1)[-1]
    if name:
        text = text.replace(name, "<file>")
    text = _TEMP_NAME.sub("<temp file>", text)
    return _BIG_NUMBER.sub("#", text)


@dataclass(frozen=True)
class FailureGroup:
    """Files whose last failure had one cause; ``paths`` newest first."""

    cause: str
    paths: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class DayFigures:
    """One local calendar day: files processed (ok) and bytes saved (negative: spent)."""

    day: str  # YYYY-MM-DD
    files: int
    saved_bytes: int


@dataclass(frozen=True)
class Report:
    since: float
    until: float
    processed: int  # changed and verified
    unchanged: int
    failed: int
    skipped: int
    cancelled: int
    bytes_before: int  # of the processed files whose sizes are known
    bytes_after: int
    time_spent_s: float
    failures: tuple[FailureGroup, ...] = ()  # still failing: not fixed by a later run
    days: tuple[DayFigures, ...] = field(default_factory=tuple)

    @property
    def saved_bytes(self) -> int:
        """Space saved (negative: spent) by the processed files."""
        return self.bytes_before - self.bytes_after


_COUNTED = ("ok", "unchanged", "failed", "skipped", "cancelled")


def build_report(pool: ConnectionPool, since: float, until: float | None = None) -> Report:
    """The report over jobs that finished in ``[since, until]`` (until: now)."""
    until = time.time() if until is None else until
    window = (since, until)
    real = (
        "FROM jobs JOIN batches ON batches.id = jobs.batch_id"
        " WHERE batches.dry_run = 0 AND jobs.finished_at BETWEEN ? AND ?"
    )
    counts = {
        str(r["status"]): int(r["n"])
        for r in pool.execute_read(
            f"SELECT jobs.status AS status, count(*) AS n {real} GROUP BY jobs.status", window
        )
    }
    sizes = pool.execute_read(
        "SELECT coalesce(sum(size_before), 0) AS before, coalesce(sum(size_after), 0) AS after"
        f" {real} AND jobs.status = 'ok' AND size_before IS NOT NULL AND size_after IS NOT NULL",
        window,
    )[0]
    spent = pool.execute_read(f"SELECT coalesce(sum(jobs.duration_s), 0) AS s {real}", window)[0]
    failed_rows = pool.execute_read(
        f"SELECT jobs.path AS path, jobs.error AS error {real} AND jobs.status = 'failed'"
        " AND NOT EXISTS (SELECT 1 FROM jobs AS later WHERE later.path = jobs.path"
        " AND later.status IN ('ok', 'unchanged') AND later.finished_at > jobs.finished_at)"
        " ORDER BY jobs.finished_at DESC",
        window,
    )
    day_rows = pool.execute_read(
        "SELECT date(jobs.finished_at, 'unixepoch', 'localtime') AS day, count(*) AS files,"
        " coalesce(sum(CASE WHEN size_before IS NOT NULL AND size_after IS NOT NULL"
        " THEN size_before - size_after ELSE 0 END), 0) AS saved"
        f" {real} AND jobs.status = 'ok' GROUP BY day ORDER BY day",
        window,
    )
    by_day = {
        str(r["day"]): DayFigures(str(r["day"]), int(r["files"]), int(r["saved"])) for r in day_rows
    }
    return Report(
        since=since,
        until=until,
        processed=counts.get("ok", 0),
        unchanged=counts.get("unchanged", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        cancelled=counts.get("cancelled", 0) + counts.get("interrupted", 0),
        bytes_before=int(sizes["before"]),
        bytes_after=int(sizes["after"]),
        time_spent_s=float(spent["s"]),
        failures=group_failures([(path_from_value(r["path"]), r["error"]) for r in failed_rows]),
        days=tuple(by_day.get(d, DayFigures(d, 0, 0)) for d in _days(since, until)),
    )


def group_failures(rows: Sequence[tuple[str, str | None]]) -> tuple[FailureGroup, ...]:
    """Failures (newest first) by cause, biggest group first; each file once, in its
    newest failure's group."""
    groups: dict[str, list[str]] = {}
    seen: set[str] = set()
    for path, error in rows:
        if path in seen:
            continue
        seen.add(path)
        groups.setdefault(cause_of(error, path), []).append(path)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return tuple(FailureGroup(cause, tuple(paths)) for cause, paths in ordered)


def still_failing(pool: ConnectionPool, since: float, cause: str) -> list[tuple[str, str]]:
    """``(path, policy source or name)`` of files whose *latest* real run failed with a
    cause containing ``cause`` (any case), since ``since``: what a retry runs again.

    A file that failed and then succeeded (or vanished into a new name) is not in it.
    """
    rows = pool.execute_read(
        "SELECT jobs.path AS path, jobs.status AS status, jobs.error AS error,"
        " batches.policy_source AS source, batches.policy_name AS name"
        " FROM jobs JOIN batches ON batches.id = jobs.batch_id"
        " WHERE batches.dry_run = 0 AND jobs.finished_at >= ?"
        " ORDER BY jobs.finished_at DESC, jobs.id DESC",
        (since,),
    )
    wanted = cause.casefold()
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for r in rows:
        path = path_from_value(r["path"])
        if path in seen:
            continue
        seen.add(path)
        if r["status"] == "failed" and wanted in cause_of(r["error"], path).casefold():
            source = str(r["source"] or "")
            policy = source.removeprefix("builtin:") if source else str(r["name"])
            out.append((path, policy))
    return out


def _days(since: float, until: float) -> list[str]:
    """Every local calendar day from ``since`` to ``until`` (at most 366)."""
    start = max(since, until - 365 * _DAY_S)
    days: list[str] = []
    moment = start
    while True:
        day = time.strftime("%Y-%m-%d", time.localtime(moment))
        if not days or days[-1] != day:
            days.append(day)
        if moment >= until:
            break
        moment = min(until, moment + _DAY_S / 2)
    last = time.strftime("%Y-%m-%d", time.localtime(until))
    if days[-1] != last:
        days.append(last)
    return days
