"""The README's shell lines, run as a new user copies them: each one must work.

Every line of the ``sh`` blocks in the quick start (above "Contents"), "Using the
app" and "Headless mode" runs in a bash with a throw-away ``HOME`` (its
``~/Videos`` holds a few tiny real files) and a ``PATH`` *without* the virtualenv,
so ``vpo-tui`` is found only if the quick start really put it there. The lines
are run from a scratch folder laid out like the checkout (the Makefile, the
virtualenv, a tiny ``.sample/library``); the user's own files are never read.

Lines are left out by rule, never by position: a line that opens the full-screen
app (``vpo-tui`` without ``--no-tui``/``--json`` and not a subcommand, or ``make
demo``) needs a terminal and a person, and ``make check`` is the suite this test is
part of.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from vpo_tui.cli import SUBCOMMANDS
from vpo_tui.samples import AudioSpec, SubtitleSpec

README = Path(__file__).parents[2] / "README.md"
CHECKOUT = README.parent
VENV = Path(sys.executable).parent.parent
SECTIONS = ("", "Using the app", "Headless mode")  # "" is the quick start, before the first ##
# make targets that open the app or run this very suite (see the module doc)
MAKE_TARGETS_LEFT_OUT = {"demo": "opens the app", "check": "runs this test suite"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
    pytest.mark.skipif(
        not (VENV / "bin" / "vpo-tui").exists(), reason="the vpo-tui console script is missing"
    ),
]


def readme_lines(text: str) -> list[tuple[str, str]]:
    """(section, command) for every line of the ``sh`` blocks, comments removed."""
    found: list[tuple[str, str]] = []
    section = ""
    in_block = False
    for line in text.splitlines():
        if not in_block and line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() == "```sh":
            in_block = True
        elif line.strip() == "```":
            in_block = False
        elif in_block and line.strip():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                found.append((section, command))
    return found


def left_out(command: str) -> str | None:
    """Why a line is not run here (None: it is run)."""
    words = shlex.split(command.split(">")[0])
    if words[0] == "make":
        targets = words[1:] or ["demo"]  # the Makefile's first target
        reasons = [MAKE_TARGETS_LEFT_OUT[t] for t in targets if t in MAKE_TARGETS_LEFT_OUT]
        return reasons[0] if reasons else None
    if words[0] == "vpo-tui":
        headless = "--no-tui" in words or "--json" in words
        if not headless and (len(words) == 1 or words[1] not in SUBCOMMANDS):
            return "opens the app"
    return None


def section_of(name: str) -> bool:
    return any(name == wanted or name.startswith(wanted + " ") for wanted in SECTIONS if wanted)


def test_readme_lines_are_classified_by_rule() -> None:
    assert left_out("vpo-tui") == "opens the app"
    assert left_out("vpo-tui ~/Videos/Movies --policy anime") == "opens the app"
    assert left_out("vpo-tui --no-tui ~/Videos --dry-run > plan.txt") is None
    assert left_out("vpo-tui ~/Videos --json > result.json") is None
    assert left_out("vpo-tui doctor") is None
    assert left_out("make demo") == "opens the app"
    assert left_out("make install") is None


def test_every_readme_example_works_as_copied(tmp_path: Path, make_file: MakeMedia) -> None:
    home = tmp_path / "home"
    videos = home / "Videos"
    for folder in (videos / "Movies", videos / "Series"):
        make_file(
            "needs work.mkv",
            folder=folder,
            audio=(AudioSpec("fre", default=True), AudioSpec("eng")),
            subtitles=(SubtitleSpec("eng"),),
        )
    clone = tmp_path / "clone"  # the checkout as make sees it; media of its own
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", "scripts"):
        (clone / name).symlink_to(CHECKOUT / name)
    (clone / ".venv").symlink_to(VENV)
    make_file("sample.mkv", folder=clone / ".sample" / "library", audio=(AudioSpec("ger"),))
    env = {
        "HOME": str(home),
        "PATH": f"{home / '.local' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    assert shutil.which("vpo-tui", path=env["PATH"]) is None  # the quick start must provide it

    lines = [
        (section, command)
        for section, command in readme_lines(README.read_text(encoding="utf-8"))
        if section == "" or section_of(section)
    ]
    ran: list[str] = []
    for _section, command in lines:
        if left_out(command) is not None:
            continue
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 0, f"{command!r} exited {done.returncode}:\n{done.stderr}"
        ran.append(command)

    # The lines a new user tries first were all among them (the rule left them in).
    joined = "\n".join(ran)
    for wanted in ("make install", "vpo-tui doctor", "vpo-tui policy list", "--dry-run", "--json"):
        assert wanted in joined, f"no README line with {wanted!r} was run"
    # A dry run's plan goes to stdout: the README's `> plan.txt` keeps it.
    plan = (clone / "plan.txt").read_text(encoding="utf-8")
    assert " planned " in plan and "remove audio" in plan, plan
    document = json.loads((clone / "result.json").read_text(encoding="utf-8"))
    assert document["exit_code"] == 0 and document["files"]
    assert (home / ".local" / "bin" / "vpo-tui").is_symlink()  # make install, in this HOME
