"""Fixtures of the fault suite and the report of what it proved.

Each test records what it survived through the ``tally`` fixture (``tally.add("kills")``,
``tally.files(n)``). The counts travel on the test reports' ``user_properties`` (so
they also cross pytest-xdist workers) and the terminal summary adds them up — only
for tests that passed; a strict xfail is a bug the suite found and is listed apart.
The summary itself is in ``tests/faults/report.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Workspace, make_workspace
from tests.faults.libraries import remux_library, transcode_library
from tests.faults.report import TALLY_KEY, Tally


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    t = Tally(request.node)
    yield t
    request.node.user_properties.append((TALLY_KEY, dict(t.counts)))


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
