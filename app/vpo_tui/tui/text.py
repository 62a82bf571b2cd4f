"""How the screens name files and causes: short names, errors without their path, times.

Pure text, shared by every screen and the run model, so that each screen says a
file's name and a failure's cause the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len, set_cell_size

from vpo_tui.engine.job import FileResult
from vpo_tui.executors import THREADS
from vpo_tui.phrasing import console_text


def strip_path_prefix(error: str, *paths: Path | str | None) -> str:
    """``error`` without a leading ``<path>: `` for any of ``paths``."""
    for path in paths:
        prefix = f"{path}: " if path is not None else ""
        if prefix and error.startswith(prefix):
            return error[len(prefix) :]
    return error


def cause_text(result: FileResult) -> str:
    """The error without the leading ``<path>: `` the engine puts there.

    Tables and the log already show which file it is; the full text (with the
    path) stays in the selected-error detail and in the history database.
    """
    return strip_path_prefix(result.error or "", result.path, result.output_path)


def format_duration(seconds: float | None) -> str:
    """``1:05`` / ``1:02:03``; an empty string when unknown."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def display_name(path: Path, root: Path | None) -> str:
    """The path relative to the folder the user picked, so names stay short and stable."""
    return namer(root)(path)


def namer(root: Path | None) -> Callable[[Path], str]:
    """``display_name`` for many paths under one root: string slicing, ten thousand at once.

    ``Path.relative_to`` costs microseconds per call; the run screen names every
    queued file before the batch starts, so the prefix test is done on strings.
    A newline or a byte that is not UTF-8 shows escaped (``caf\\xe9.mkv``), as on
    the console: one row per file, and the odd byte visible.
    """
    if root is None:
        return lambda path: console_text(str(path))
    root_text = str(root)
    prefix = root_text if root_text.endswith("/") else root_text + "/"
    cut = len(prefix)

    def name(path: Path) -> str:
        text = str(path)
        if text.startswith(prefix):
            return console_text(text[cut:])
        return "." if text == root_text else console_text(text)

    return name


def cut_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut in the middle: ``Series/Sh…S01E03.mkv``.

    File names differ at their end (episode numbers, years, extensions): cut at the
    end, three episodes of one show look the same. The end keeps the larger half.
    """
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return set_cell_size(text, max(0, width))
    room = width - 1  # the ellipsis
    head_cells = room // 3  # a third for the start (the folder), the rest for the end
    tail_cells = room - head_cells
    head = set_cell_size(text, head_cells)
    tail = ""
    for ch in reversed(text):  # whole characters from the end while they fit
        if cell_len(tail) + cell_len(ch) > tail_cells:
            break
        tail = ch + tail
    return set_cell_size(head + "…" + tail, width)


def where_files_run(executor_name: str) -> str:
    """``on this machine`` / ``on a local Dask cluster`` / ``on the Dask cluster tls://…``:
    said on the preview and run screens, so a user always knows where the tools run."""
    if executor_name == THREADS:
        return "on this machine"
    if executor_name.startswith("local-cluster"):
        return "on a local Dask cluster"
    return f"on the Dask cluster {executor_name}"
