"""``make demo`` in a real terminal (tmux), as a new user runs it.

A theme picked in the demo goes into the demo's own config, never the user's; and
quitting with a file still running (quit → kill now, exit 130) is a normal end
of the demo, not ``make: *** [demo] Error 1``. The checkout is laid out in a
scratch folder (the Makefile and the virtualenv linked, a tiny ready sample), and
an mkvmerge that hangs on its writing pass keeps a file running until the kill.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from tests.tui.terminal import Terminal
from vpo_tui.samples import AudioSpec

CHECKOUT = Path(__file__).parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
    pytest.mark.skipif(shutil.which("mkvmerge") is None, reason="mkvmerge is not installed"),
    pytest.mark.skipif(
        not (VENV / "bin" / "vpo-tui").exists(), reason="the vpo-tui console script is missing"
    ),
]

HANGING_MKVMERGE = """#!/bin/sh
# mkvmerge that hangs on its writing pass (-o): a file is still running at quit
for arg in "$@"; do [ "$arg" = "-o" ] && exec sleep 300; done
exec {real} "$@"
"""


def test_make_demo_keeps_to_itself_and_a_quit_that_kills_is_no_error(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", "scripts"):
        (clone / name).symlink_to(CHECKOUT / name)
    (clone / ".venv").symlink_to(VENV)
    make_file(
        "needs work.mkv",
        folder=clone / ".sample" / "library",
        audio=(AudioSpec("fre", default=True), AudioSpec("eng")),
    )
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    fake = fakebin / "mkvmerge"
    fake.write_text(HANGING_MKVMERGE.format(real=shutil.which("mkvmerge")), encoding="utf-8")
    fake.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": f"{fakebin}:{os.environ.get('PATH', '')}",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    # -o: the shared virtualenv is used as it is; make must never reinstall it from a
    # scratch clone (pyproject.toml newer than the venv would ask it to)
    term = Terminal(["make", "-o", ".venv/bin/vpo-tui", "demo"], env, clone)
    try:
        term.wait_for("pick folders and a policy", timeout=60)
        term.wait_for("normalize")
        # ctrl+p → Theme → nord: remembered in the demo's config, not in ~/.config
        term.keys("C-p")
        term.wait_for("Search for commands")
        term.keys("-l", "theme")
        term.wait_for("Change the current theme")
        term.keys("Enter")
        term.wait_for("dracula")  # the theme list
        term.keys("-l", "nord")
        term.keys("Enter")
        config = clone / ".sample" / "config.toml"  # made by `make sample`
        text = ""
        deadline = time.monotonic() + 10
        while 'theme = "nord"' not in text and time.monotonic() < deadline:
            time.sleep(0.1)
            text = config.read_text(encoding="utf-8")
        assert 'theme = "nord"' in text, text
        assert not (home / ".config").exists()

        term.keys("n")
        term.wait_for("press r to run")
        term.keys("r")
        term.wait_for("running")
        term.keys("q")
        term.wait_for("still being processed")
        term.keys("k")  # kill now: the batch is cut short, the app exits with 130
        screen = term.wait_for("VPO-EXITED-", timeout=20)
        assert "VPO-EXITED-0" in screen, screen  # make says nothing went wrong
        assert "Error" not in screen, screen
    finally:
        term.close()
    names = sorted(p.name for p in (clone / ".sample" / "library").iterdir())
    assert names == ["needs work.mkv"]  # original untouched, the temp file gone


FAKE_SAMPLE = """#!/bin/sh
# vpo-tui as far as `make sample` uses it: `vpo-tui sample DIR` and its usual output
mkdir -p "$2" && : > "$2/a.mkv" && echo "$2/a.mkv"
echo "Made 1 file. Try: vpo-tui --no-tui --dry-run $2"
"""


def test_the_demos_sample_leaves_no_stale_hint(tmp_path: Path) -> None:
    """``make sample`` (under ``make demo``) says where the library is, not "Try: ...":
    its output stays on the terminal below the app and is stale once the app closes.

    The Makefile's recipe is what is tested: ``vpo-tui sample`` is a stand-in printing
    what the real one prints (making the real library takes half a minute).
    """
    import subprocess

    clone = tmp_path / "clone"
    (clone / ".venv" / "bin").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "scripts"):
        (clone / name).symlink_to(CHECKOUT / name)
    fake = clone / ".venv" / "bin" / "vpo-tui"
    fake.write_text(FAKE_SAMPLE, encoding="utf-8")
    fake.chmod(0o755)
    # Under `make check` the test itself runs inside make, whose MAKELEVEL would make
    # this make print "Entering directory" lines: run it as a user's shell would.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        ["make", "-o", ".venv/bin/vpo-tui", "sample"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "made the sample library in .sample/library\n"
    assert "Try:" not in done.stdout + done.stderr
    assert (clone / ".sample" / "library" / "a.mkv").exists()
