"""``vpo-tui sample DIR``: a small demo library made with ffmpeg (never over other files)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.batch.exit_codes import (
    EXIT_FAILED,
    EXIT_MISSING_TOOL,
    EXIT_OK,
    EXIT_USAGE,
)
from vpo_tui.commands.arguments import (
    Parser,
    command_name,
)
from vpo_tui.phrasing import console_text, plural

if TYPE_CHECKING:
    pass


def sample_main(argv: list[str]) -> int:
    from vpo_tui.samples import SampleRefused, make_demo_library

    parser = Parser(prog="vpo-tui sample", description="Write a small demo library.")
    parser.add_argument("dir", metavar="DIR")
    ns = parser.parse_args(argv)
    target = Path(ns.dir)
    try:
        made = make_demo_library(target)
    except SampleRefused as exc:
        sys.stderr.write(f"vpo-tui: {console_text(str(exc))}\n")
        return EXIT_USAGE
    except FileNotFoundError as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples: {exc} (is ffmpeg installed?)\n")
        return EXIT_MISSING_TOOL
    except Exception as exc:
        sys.stderr.write(f"vpo-tui: cannot make samples in {target}: {exc}\n")
        return EXIT_FAILED
    for path in made:
        sys.stdout.write(f"{console_text(str(path))}\n")
    try_it = f"{command_name()} --no-tui --dry-run {shlex.quote(console_text(str(target)))}"
    sys.stdout.write(f"Made {plural(len(made), 'file')}. Try: {try_it}\n")
    return EXIT_OK
