"""``vpo-tui watch`` on real files with the real tools, run as a user would (a subprocess).

Each test drops files into a watched folder the way downloaders and copiers do
and checks, from the JSON lines and by probing: the right file processed exactly
once, never while it was being written, held-back files reported, nothing lost.
Tool runs are counted through logging wrappers (``logging_tools``).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.commands import env_for, logging_tools
from tests.conftest import AudioSpec, MakeMedia, sha256
from tests.watch.watching import TWO, Watch, audio_languages, temp_files_in, tool_runs


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    return folder


@pytest.fixture
def source(tmp_path: Path, make_file: MakeMedia) -> Path:
    """A real file the normalize policy changes (drops the German audio)."""
    src = tmp_path / "src"
    src.mkdir()
    return make_file("movie.mkv", folder=src, audio=TWO)


@pytest.fixture
def watch(tmp_path: Path, lib: Path) -> Any:
    started: list[Watch] = []

    def start(*args: str) -> Watch:
        w = Watch(tmp_path, lib, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()


def test_a_slow_copy_is_taken_once_after_the_writer_is_done(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    config, log = logging_tools(tmp_path)
    w = watch("--config", str(config))
    w.watching()
    data = source.read_bytes()
    target = lib / "slow.mkv"
    chunk = len(data) // 12 + 1
    written_at = 0.0
    with open(target, "wb") as out:
        for i in range(0, len(data), chunk):  # ~2.4 s of appending: 4x the settle time
            out.write(data[i : i + chunk])
            out.flush()
            time.sleep(0.2)
            assert w.finished("slow.mkv") == []  # never while it is being written
        written_at = time.monotonic()
    w.wait_for(lambda: len(w.finished("slow.mkv")) == 1)
    assert time.monotonic() - written_at >= 0.5
    [done] = w.finished("slow.mkv")
    assert done["status"] == "ok" and audio_languages(target) == ["eng"]
    time.sleep(2)  # its own commit is an event too: it must not run again
    assert len(w.finished("slow.mkv")) == 1
    assert len(tool_runs(log, "mkvmerge")) == 1
    assert w.terminate() == 130


def test_dropped_whole_renamed_into_place_and_part_files(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    w = watch()
    w.watching()
    shutil.copy(source, lib / "dropped.mkv")
    staging = tmp_path / "staging.mkv"
    shutil.copy(source, staging)
    os.rename(staging, lib / "renamed.mkv")  # a download client moving a finished file
    part = lib / "torrent.mkv.part"
    shutil.copy(source, part)
    time.sleep(1.5)  # a .part file is never taken, however long it sits
    assert w.finished("torrent.mkv.part") == []
    os.rename(part, lib / "torrent.mkv")
    for name in ("dropped.mkv", "renamed.mkv", "torrent.mkv"):
        w.wait_for(lambda name=name: len(w.finished(name)) == 1)
    time.sleep(1.5)
    for name in ("dropped.mkv", "renamed.mkv", "torrent.mkv"):
        assert [f["status"] for f in w.finished(name)] == ["ok"]
        assert audio_languages(lib / name) == ["eng"]
    assert not any(".part" in line["path"] for line in w.lines)
    assert temp_files_in(lib) == []
    assert w.terminate() == 130


def test_a_file_deleted_before_it_settles_is_reported_and_never_run(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    config, log = logging_tools(tmp_path)
    w = watch("--config", str(config), "--settle", "3")
    w.watching()
    shutil.copy(source, lib / "gone.mkv")
    time.sleep(1)
    (lib / "gone.mkv").unlink()
    w.wait_for(lambda: bool(w.held("gone.mkv")))
    assert w.held("gone.mkv") == ["deleted or renamed before it settled"]
    assert w.finished("gone.mkv") == []
    assert tool_runs(log) == []
    assert w.terminate() == 130


def test_a_compliant_file_costs_no_tool_run_however_many_events(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    """A simulated busy hour: readers, chmods, touches to the same time, renames away
    and back, the watcher's own outputs. Only the first run starts tools."""
    config, log = logging_tools(tmp_path)
    w = watch("--config", str(config))
    w.watching()
    target = lib / "film.mkv"
    shutil.copy(source, target)
    w.wait_for(lambda: len(w.finished("film.mkv")) == 1)
    time.sleep(1.5)  # the commit's own events settle and are dropped
    runs_after_first = len(tool_runs(log))
    assert runs_after_first > 0
    st = target.stat()
    for i in range(40):
        with open(target, "rb") as reader:  # a media server scanning it
            reader.read(4096)
        target.chmod(0o644 if i % 2 else 0o664)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # touched, same times
        if i % 10 == 0:
            os.rename(target, lib / "film.tmp")  # renamed away and back
            os.rename(lib / "film.tmp", target)
        time.sleep(0.02)
    time.sleep(2.5)
    assert len(tool_runs(log)) == runs_after_first  # no probe, no remux: nothing
    assert len(w.finished("film.mkv")) == 1
    assert w.terminate() == 130


def test_a_file_rewritten_while_processed_is_left_then_taken_again(
    lib: Path, source: Path, watch: Any, tmp_path: Path, make_file: MakeMedia
) -> None:
    config, log = logging_tools(tmp_path, delay=2.0)  # each write pass sleeps 2 s first
    other = make_file("other.mkv", folder=tmp_path / "src", audio=(*TWO, AudioSpec("fre")))
    w = watch("--config", str(config))
    w.watching()
    target = lib / "busy.mkv"
    shutil.copy(source, target)
    w.wait_for(lambda: len(tool_runs(log, "mkvmerge")) == 1)
    shutil.copy(other, target)  # the user replaces it while the remux runs
    rewritten = sha256(target)
    w.wait_for(lambda: len(w.finished("busy.mkv")) == 2, timeout=40)
    first, second = w.finished("busy.mkv")
    assert first["status"] in ("skipped", "failed") and "changed" in (first["error"] or "")
    assert any("changed while it was processed" in r for r in w.held("busy.mkv"))
    assert second["status"] == "ok"
    assert audio_languages(target) == ["eng"]  # the new content, processed
    assert sha256(target) != rewritten
    assert w.terminate() == 130


def test_sigterm_mid_file_kills_it_and_leaves_the_original(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    config, log = logging_tools(tmp_path, delay=30.0)
    w = watch("--config", str(config))
    w.watching()
    target = lib / "long.mkv"
    shutil.copy(source, target)
    before = sha256(target)
    w.wait_for(lambda: len(tool_runs(log, "mkvmerge")) == 1)
    time.sleep(0.3)
    started = time.monotonic()
    assert w.terminate() == 130
    assert time.monotonic() - started < 8  # within seconds, though the tool would take 30
    assert sha256(target) == before
    assert temp_files_in(lib) == []
    assert [f["status"] for f in w.finished("long.mkv")] == ["cancelled"]


def test_the_first_pass_runs_what_is_there_and_says_so(
    lib: Path, source: Path, watch: Any, make_file: MakeMedia
) -> None:
    shutil.copy(source, lib / "old.mkv")
    make_file("fine.mkv", folder=lib, audio=(AudioSpec("eng", default=True),))
    w = watch()
    w.wait_for(lambda: len(w.finished("old.mkv")) == 1)
    w.watching()
    assert w.finished("fine.mkv") == []  # compliant at start: counted in the note only
    assert any("first pass done: 2 files" in n for n in w.notes)
    assert audio_languages(lib / "old.mkv") == ["eng"]
    assert w.terminate() == 130


def test_a_bad_end_time_is_a_usage_error(lib: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vpo_tui", "watch", "--json", "--end-by", "25:00", str(lib)],
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "--end-by" in proc.stderr


def test_a_restart_over_a_compliant_library_starts_no_tool(
    lib: Path, source: Path, watch: Any, tmp_path: Path
) -> None:
    config, log = logging_tools(tmp_path)
    for name in ("one.mkv", "two.mkv"):
        shutil.copy(source, lib / name)
    first = watch("--config", str(config))
    first.wait_for(lambda: len(first.finished("one.mkv")) + len(first.finished("two.mkv")) == 2)
    assert first.terminate() == 130
    runs = len(tool_runs(log))
    again = watch("--config", str(config))
    again.wait_for(lambda: any("2 known to comply, nothing to run" in n for n in again.notes))
    time.sleep(1.0)
    assert len(tool_runs(log)) == runs  # the history answered for both, at once
    assert again.lines == []
    assert again.terminate() == 130


def test_polling_instead_of_inotify_is_said_once_and_still_works(
    lib: Path, source: Path, tmp_path: Path
) -> None:
    # as where inotify cannot be used
    w = Watch(tmp_path, lib, env={"WATCHFILES_FORCE_POLLING": "1"})
    try:
        w.watching()
        shutil.copy(source, lib / "polled.mkv")
        w.wait_for(lambda: len(w.finished("polled.mkv")) == 1)
        assert [n for n in w.notes if "polling" in n] == ["note: watching by polling every 2 s"]
        assert w.terminate() == 130
    finally:
        w.close()


def test_a_watched_folder_deleted_ends_the_watcher_with_1(
    lib: Path, tmp_path: Path, watch: Any
) -> None:
    """No event ever comes from a deleted folder: watching it on would be silent for ever."""
    other = tmp_path / "other"
    other.mkdir()
    w = watch(str(other))  # watches other and lib
    w.watching()
    shutil.rmtree(other)
    w.wait_for(lambda: any("no longer watching" in n and str(other) in n for n in w.notes))
    assert w.proc.poll() is None  # lib is still there: it watches on
    shutil.rmtree(lib)
    assert w.proc.wait(20) == 1
    assert any("cannot watch the folders any more" in n for n in w.notes)


class _ScreenStandIn:
    """What the watch screen is to ``run_watch``: it hears the events and drives the
    watcher (here on a thread of its own), then goes away, as the app does."""

    def __init__(self, on_watching: Any) -> None:
        self.notes: list[str] = []
        self._on_watching = on_watching

    def on_watch(self, event: Any) -> None:
        text = getattr(event, "text", "")
        self.notes.append(text)
        if "first pass" in text:
            self._on_watching()

    def drive(self, watcher: Any) -> bool:
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        thread.join(30)
        assert not thread.is_alive()
        return False


def test_the_watch_screen_gone_says_why_the_watcher_stopped_and_exits_1(
    lib: Path, tmp_path: Path
) -> None:
    """Without this the screen closed and the exit code said 0: the reason was lost."""
    from vpo_tui.commands.watch import watch_parser
    from vpo_tui.config import Config
    from vpo_tui.watch.headless import run_watch

    screen = _ScreenStandIn(lambda: shutil.rmtree(lib))
    ns = watch_parser().parse_args(["--settle", "0.5", "--db", str(tmp_path / "h.db"), str(lib)])
    err = io.StringIO()
    assert run_watch(ns, Config(), screen, err, drive=screen.drive) == 1
    assert "cannot watch the folders any more" in err.getvalue()
    assert str(lib) in err.getvalue()


def test_a_name_that_is_not_utf8_is_watched_like_any_other(
    lib: Path, source: Path, watch: Any
) -> None:
    """watchfiles cannot decode ``caf\\xe9.mkv``; the watcher scans instead and goes on."""
    w = watch()
    w.watching()
    odd = Path(os.fsdecode(bytes(lib) + b"/caf\xe9.mkv"))
    shutil.copy(source, odd)
    w.wait_for(lambda: len(w.finished(odd.name)) == 1, timeout=40)
    assert any("not UTF-8" in n and "scanning" in n for n in w.notes), w.notes
    shutil.copy(source, lib / "after.mkv")  # and it still sees the next file
    w.wait_for(lambda: len(w.finished("after.mkv")) == 1, timeout=40)
    for path in (odd, lib / "after.mkv"):
        assert audio_languages(path) == ["eng"]
    assert [f["status"] for f in w.finished(odd.name)] == ["ok"]
    assert temp_files_in(lib) == []
    assert w.terminate() == 130
