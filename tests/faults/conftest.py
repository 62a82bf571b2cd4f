"""Fixtures of the fault suite and the report of what it proved.

Each test records what it survived through the ``tally`` fixture (``tally.add("kills")``,
``tally.files(n)``). The counts travel on the test reports' ``user_properties`` (so
they also cross pytest-xdist workers) and the terminal summary adds them up — only
for tests that passed; a strict xfail is a bug the suite found and is listed apart.
The summary prints when ``tests/faults`` is given on the command line (that is how
``bench/fault_report.py`` runs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Workspace, make_workspace
from tests.faults.libraries import remux_library, transcode_library

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
    "orphan_checks": "process-table scans with no orphaned tool",
    "signals": "signals during a tool run (SIGINT x1, x2, SIGTERM, SIGHUP)",
    "lying_tools": "lying / failing / hanging tools refused",
    "full_disk": "full-disk cases (real tmpfs)",
    "bad_inputs": "bad inputs reported per file, batch went on",
    "concurrent_runs": "concurrent vpo-tui processes on overlapping folders",
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


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    t = Tally(request.node)
    yield t
    request.node.user_properties.append((TALLY_KEY, dict(t.counts)))


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
    write(f"bugs found (strict xfail, routed to the lead): {len(bugs)}")
    for bug in sorted(bugs):
        write(f"  - {bug}")


# -- fixtures ------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A private library/db/config, under a folder name unique across processes."""
    return make_workspace(tmp_path / f"vpo-fault-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``mount_tmpfs("3M")`` → a real tmpfs of that size (root only); unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mountpoint = tmp_path / f"tmpfs-{len(mounted)}"
        mountpoint.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount(8) here: cannot make a real small filesystem")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
        mounted.append(mountpoint)
        return mountpoint

    yield mount
    for mountpoint in mounted:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)


@pytest.fixture
def small_fs(mount_tmpfs: Callable[[str], Path]) -> Path:
    """A real 3 MiB tmpfs for this test."""
    return mount_tmpfs("3M")


@pytest.fixture(scope="session")
def remux_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("remux-template")
    remux_library(folder)
    return folder


@pytest.fixture(scope="session")
def transcode_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("transcode-template")
    transcode_library(folder, count=2, duration=3.0)
    return folder
