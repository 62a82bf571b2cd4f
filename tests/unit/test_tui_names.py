"""How the screens name a file whose name is odd: one row per file, the odd byte visible."""

from __future__ import annotations

import os
from pathlib import Path

from vpo_tui.tui.text import display_name, namer


def test_a_name_that_is_not_utf8_shows_its_byte_as_on_the_console() -> None:
    root = Path("/lib")
    path = root / os.fsdecode(b"caf\xe9.mkv")
    assert display_name(path, root) == "caf\\xe9.mkv"
    assert namer(None)(path) == "/lib/caf\\xe9.mkv"


def test_a_newline_in_a_name_keeps_the_row_on_one_line() -> None:
    root = Path("/lib")
    assert display_name(root / "new\nline.mkv", root) == "new\\nline.mkv"
    assert display_name(Path("/elsewhere/a\tb.mkv"), root) == "/elsewhere/a\\tb.mkv"


def test_plain_names_are_unchanged() -> None:
    root = Path("/lib")
    assert (
        display_name(root / "Series/Show S01E01 [ジャ].mkv", root)
        == "Series/Show S01E01 [ジャ].mkv"
    )
    assert display_name(root, root) == "."


def test_the_history_screen_names_such_a_file_as_the_other_screens_do() -> None:
    from vpo_tui.store.history import JobRecord
    from vpo_tui.tui.screens.history import job_detail

    path = "/lib/" + os.fsdecode(b"caf\xe9.mkv")
    job = JobRecord(1, 1, 0, path, "ok", None, None, 0.1, ("x",), None, None, (), (), path)
    assert str(job_detail(job)).splitlines()[0] == "/lib/caf\\xe9.mkv  ok"
