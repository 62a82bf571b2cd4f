"""What headless prints on the console: one line per file whatever the file is called,
and counts in proper English."""

from __future__ import annotations

import io
import time
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


def test_columns_do_not_shift_from_file_10_on() -> None:
    out = io.StringIO()
    listener = ConsoleListener(out, tty=False, quiet=False, dry_run=False)
    listener.on_event(BatchStarted(total=12, workers=1, dry_run=False, policy_name="p"))
    for i in range(12):
        listener.on_event(FileFinished(FileResult(Path(f"/lib/{i}.mkv"), FileStatus.OK), i))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[ 1/12] ok        /lib/0.mkv")
    assert lines[11].startswith("[12/12] ok        /lib/11.mkv")
    assert len({line.index("/lib/") for line in lines}) == 1


def test_headless_eta_counts_running_files_as_the_app_does() -> None:
    """Half of a 10 s file done after 10 s, another file of unknown length to go:
    5 s of 20 s of work in 10 s → 30 s left. Before, there was no ETA until a file ended."""
    from vpo_tui.batch.events import FileProgress, FileStarted
    from vpo_tui.engine.job import ProgressUpdate
    from vpo_tui.tui.run_state import RunModel

    paths = [Path("/lib/a.mkv"), Path("/lib/b.mkv")]
    events = [
        BatchStarted(total=2, workers=1, dry_run=False, policy_name="p"),
        FileStarted(paths[0], 0),
        FileProgress(paths[0], ProgressUpdate("run", 0.5, duration_s=10.0)),
    ]
    out = io.StringIO()
    listener = ConsoleListener(out, tty=True, quiet=False, dry_run=False)
    model = RunModel.for_paths(paths, Path("/lib"))
    for event in events:
        listener.on_event(event)
        model.apply(event, now=100.0)
    listener.started_at = time.monotonic() - 10.0  # ten seconds into the batch
    listener._last_draw = 0.0  # past the redraw throttle
    listener.tick()
    assert out.getvalue().endswith("[1 active] 0:10 elapsed, ETA 0:30")
    assert model.eta(now=110.0) == 30.0  # the app says the same
