"""Run the fault suite and print its totals (for the README's reliability section).

    .venv/bin/python bench/fault_report.py [extra pytest args]

It runs ``pytest tests/faults -n 2`` the way ``make test`` does (as root, without the
capabilities that let root ignore chmod, so the permission cases run too). The totals
— kills survived, signals, bad inputs, lying tools, full disks, concurrent runs,
originals checked, media lost — are printed by the suite's own terminal summary
(tests/faults/conftest.py), counted only from tests that passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command(extra: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "tests/faults", "-n", "2", "-q", *extra]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *argv]
    return argv


def main(extra: list[str]) -> int:
    argv = command(extra)
    print("$", " ".join(argv), flush=True)
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
