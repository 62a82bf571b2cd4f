"""A non-editable install must carry the styles and the built-in policies.

An editable install finds ``styles/`` in the repository, which hides a wheel
that forgot them; so build the real wheel, install it into a separate folder and
run the package from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(out.glob("vpo_tui-*.whl"))
    site = out / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    return site


def test_wheel_contains_styles_and_policies(installed_wheel: Path) -> None:
    wheel = next(installed_wheel.parent.glob("vpo_tui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("vpo_tui/styles/") and n.endswith(".tcss") for n in names), names
    policies = {
        Path(n).stem for n in names if n.startswith("vpo_tui/policies/") and n.endswith(".toml")
    }
    assert {"normalize", "mkv-remux", "english-only", "hevc-1080p"} <= policies


def test_installed_package_runs_from_the_wheel(installed_wheel: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed_wheel)}
    where = subprocess.run(
        [sys.executable, "-c", "import vpo_tui; print(vpo_tui.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed_wheel), where
    listing = subprocess.run(
        [sys.executable, "-m", "vpo_tui", "policy", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=installed_wheel,
    ).stdout
    for name in ("normalize", "mkv-remux", "english-only", "hevc-1080p"):
        assert name in listing
    styles = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vpo_tui.tui.styles import stylesheet_paths; "
            "print('\\n'.join(str(p) for p in stylesheet_paths()))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=installed_wheel,
    ).stdout.split()
    assert styles and all(Path(p).is_relative_to(installed_wheel) for p in styles), styles
