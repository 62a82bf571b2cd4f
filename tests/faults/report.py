"""The fault suite's report: what the passing tests proved, added up.

Each fault test records what it survived through the ``tally`` fixture; the counts
travel on the test reports' ``user_properties`` (so they also cross pytest-xdist
workers) and the terminal summary adds them up, only for tests that passed. The
hook is imported by ``tests/conftest.py`` so that it runs in the xdist controller
under ``make check`` as well as for ``pytest tests/faults``.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

TALLY_KEY = "fault_tally"
CATEGORIES = {
    "kills": "kill -9 moments survived",
    "kills_probe": "  aimed at start-up / probe",
    "kills_tool": "  aimed at a tool run (writing the temp file)",
    "kills_verify": "  aimed at verify / commit (just after the tool ended)",
    "kills_between": "  aimed after a commit (next file, end of batch)",
    "kills_in_tool_run": "  with a tool process alive at the kill",
    "temps_swept": "  temp files a kill left, gone after the next start-up",
    "interrupted_jobs": "  jobs the next start-up marked interrupted",
    "inplace_kills": "  during journaled in-place edits (flags-only changes)",
    "inplace_kills_journal_write": "    inside the journal write (a torn journal)",
    "inplace_kills_journal_done": "    journal durable, edit not started",
    "inplace_kills_tool": "    mkvpropedit writing the original (slowed by strace)",
    "inplace_kills_verify": "    just after mkvpropedit (verify, fsync)",
    "inplace_kills_before_discard": "    edit verified, journal not yet removed",
    "inplace_kills_anywhere": "    at a random moment of the batch",
    "inplace_kills_in_edit": "    with mkvpropedit alive at the kill",
    "inplace_journals_restored": "    whole journals a kill left: original restored at start-up",
    "inplace_torn_journals": "    torn journals a kill left: removed, file untouched",
    "orphan_checks": "process-table scans with no orphaned tool",
    "signals": "signals during a tool run (SIGINT x1, x2, SIGTERM, SIGHUP)",
    "lying_tools": "lying / failing / hanging tools refused",
    "full_disk": "full-disk cases (real tmpfs)",
    "inplace_faults": "in-place edits: full disk at the journal, file changed, links, writers",
    "bad_inputs": "bad inputs reported per file, batch went on",
    "probe_faults": "in-process probes that hung or crashed: that file read by ffprobe",
    "hostile_inputs": "hostile names and kinds of file (non-UTF-8, FIFO, socket, links)",
    "concurrent_runs": "concurrent vpo-tui processes on overlapping folders",
    "watch_faults": "vpo-tui watch: kill -9 / SIGTERM mid-file, file rewritten mid-file",
    "cluster_faults": "cluster: scheduler killed mid-batch; strangers refused by TLS",
    "policy_examples": "random policies / plans checked (hypothesis)",
    "files": "originals checked: byte-identical or complete and compliant",
}


class Tally:
    """What one test proved, attached to its report."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self.counts: Counter[str] = Counter()

    def add(self, category: str, n: int = 1) -> None:
        assert category in CATEGORIES, category
        self.counts[category] += n

    def files(self, n: int) -> None:
        self.add("files", n)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    totals: Counter[str] = Counter()
    passed: set[str] = set()
    failed: set[str] = set()
    bugs: list[str] = []
    teardown_counts: dict[str, dict[str, int]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            if "tests/faults/" not in nodeid or not isinstance(report, pytest.TestReport):
                continue  # deselected items, warnings, collect reports
            when = getattr(report, "when", None)
            if when == "call" and report.passed and not hasattr(report, "wasxfail"):
                passed.add(nodeid)
            elif when == "call" and hasattr(report, "wasxfail"):
                bugs.append(f"{nodeid}: {report.wasxfail}")
            elif report.failed:
                failed.add(nodeid)
            if when == "teardown":
                for key, value in getattr(report, "user_properties", ()):
                    if key == TALLY_KEY:
                        teardown_counts[nodeid] = value
    if not (passed or failed or bugs):
        return
    for nodeid in passed - failed:
        totals.update(teardown_counts.get(nodeid, {}))
    write = terminalreporter.write_line
    terminalreporter.section("vpo-tui fault report")
    for key, label in CATEGORIES.items():
        write(f"{totals[key]:6d}  {label}")
    lost = "none" if not failed else f"NOT PROVEN: {len(failed)} test(s) failed"
    write(f"media lost or damaged: {lost}")
    write(f"bugs found (strict xfail, each a bug the suite found): {len(bugs)}")
    for bug in sorted(bugs):
        write(f"  - {bug}")
