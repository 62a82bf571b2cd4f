"""What headless prints on the console: one line per file whatever the file is called,
and counts in proper English."""

from __future__ import annotations

import io
from pathlib import Path

from vpo_tui.batch.events import BatchResult, BatchStarted, BatchWarning, FileFinished
from vpo_tui.engine.job import FileResult, FileStatus, StopReason
from vpo_tui.headless import ConsoleListener, _summary
from vpo_tui.phrasing import console_text, plural


def test_control_characters_are_escaped_and_nothing_else() -> None:
    assert console_text("/lib/new\nline.mkv") == "/lib/new\\nline.mkv"
    assert console_text("a\tb\rc\x1b[2Jd\x7f") == "a\\tb\\rc\\x1b[2Jd\\x7f"
    assert console_text("line\u2028sep") == "line\\u2028sep"
    assert console_text("bad byte \udcff.mkv") == "bad byte \\xff.mkv"  # the byte, as ls -b
    assert console_text("lone \ud800") == "lone \\ud800"  # a surrogate that is no byte
    for fine in ("plain.mkv", "ünï 名 'quote' \"dq\" back\\slash.mkv", "nbsp\u00a0.mkv"):
        assert console_text(fine) == fine


def test_a_newline_in_a_name_keeps_one_line_per_file() -> None:
    out = io.StringIO()
    listener = ConsoleListener(out, tty=False, quiet=False, dry_run=False)
    listener.on_event(BatchStarted(total=2, workers=1, dry_run=False, policy_name="p"))
    odd = Path("/lib/new\nline.mkv")
    listener.on_event(
        FileFinished(
            FileResult(odd, FileStatus.FAILED, error=f"{odd}: not a media file\n(ffprobe)"), 0
        )
    )
    listener.on_event(
        FileFinished(
            FileResult(odd, FileStatus.OK, changes=("x",), output_path=Path("/o/a\x1bb.mkv")), 1
        )
    )
    listener.on_event(BatchWarning(f"{odd}: cannot read"))
    lines = out.getvalue().splitlines()
    assert lines == [
        "[1/2] failed    /lib/new\\nline.mkv: not a media file\\n(ffprobe)",
        "[2/2] ok        /lib/new\\nline.mkv (1 change, 0.0 s) -> /o/a\\x1bb.mkv",
        "warning: /lib/new\\nline.mkv: cannot read",
    ]


def test_counts_of_one_are_singular() -> None:
    assert plural(1, "file") == "1 file" and plural(0, "file") == "0 files"
    assert plural(2, "batch", "batches") == "2 batches"
    one = BatchResult(
        files=(FileResult(Path("/a.mkv"), FileStatus.OK),),
        duration_s=1.0,
        stopped_early=False,
        workers=1,
        dry_run=False,
    )
    assert _summary(one).startswith("Done: 1 file in 1.0 s (1 ok)")
    unread = _summary(one, unreadable=1)
    assert unread.endswith("; 1 path could not be read (see the warnings above)")
    out = io.StringIO()
    listener = ConsoleListener(out, tty=True, quiet=False, dry_run=False)
    listener.on_event(BatchStarted(total=1, workers=1, dry_run=False, policy_name="p"))
    assert out.getvalue().split("\r\x1b[K")[-1].startswith("Processing: 0/1 file [0 active]")


def test_ctrl_c_twice_says_which_file_was_killed_and_counts_the_never_started() -> None:
    """Kill cancels the running file (it says ``killed``) and the queued one (counted)."""
    from vpo_tui.batch.events import BatchFinished, FileStarted

    a, b = Path("/lib/a.mkv"), Path("/lib/b.mkv")
    out = io.StringIO()
    listener = ConsoleListener(out, tty=True, quiet=False, dry_run=False)
    listener.on_event(BatchStarted(total=2, workers=1, dry_run=False, policy_name="p"))
    listener.on_event(FileStarted(a, 0))
    listener.on_event(FileFinished(FileResult(b, FileStatus.CANCELLED, error="not started"), 1))
    listener.on_event(FileFinished(FileResult(a, FileStatus.CANCELLED, error=f"{a}: cancelled"), 0))
    result = BatchResult(
        files=(),
        duration_s=1.0,
        stopped_early=True,
        workers=1,
        dry_run=False,
        stop_reason=StopReason.KILL,
    )
    listener.on_event(BatchFinished(result))
    printed = [
        line.split("\r\x1b[K")[-1]
        for line in out.getvalue().split("\n")
        if line.split("\r\x1b[K")[-1]
    ]
    assert printed == [
        "[2/2] cancelled /lib/a.mkv: killed while running (the original is untouched)",
        "cancelled: 1 file not started (running the same command again does them)",
    ], printed

    # Not on a terminal every file has its line, the never-started one included.
    out = io.StringIO()
    listener = ConsoleListener(out, tty=False, quiet=False, dry_run=False)
    listener.on_event(BatchStarted(total=2, workers=1, dry_run=False, policy_name="p"))
    listener.on_event(FileStarted(a, 0))
    listener.on_event(FileFinished(FileResult(b, FileStatus.CANCELLED, error="not started"), 1))
    listener.on_event(FileFinished(FileResult(a, FileStatus.CANCELLED, error=f"{a}: cancelled"), 0))
    listener.on_event(BatchFinished(result))
    assert out.getvalue().splitlines() == [
        "[1/2] cancelled /lib/b.mkv: not started",
        "[2/2] cancelled /lib/a.mkv: killed while running (the original is untouched)",
    ]
