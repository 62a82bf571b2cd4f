"""Faults of the unattended mode: the watcher killed mid-file, a file rewritten under it.

Real files, real tools (slowed by logging wrappers so the moment is hit), the
watcher as a user runs it. Each: the original is never lost; what a dead
watcher left is cleaned up by the next start, which then does the file.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

from tests.commands import logging_tools
from tests.conftest import AudioSpec, MakeMedia, sha256
from tests.faults.report import Tally
from tests.watch.watching import Watch, audio_languages, temp_files_in, tool_runs

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))


def test_kill_9_of_the_watcher_mid_file_then_a_restart_finishes_it(
    tmp_path: Path, make_file: MakeMedia, tally: Tally
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    source = make_file("movie.mkv", folder=tmp_path, audio=TWO)
    slow, log = logging_tools(tmp_path, delay=30.0)
    w = Watch(tmp_path, lib, "--config", str(slow))
    try:
        w.watching()
        target = lib / "film.mkv"
        shutil.copy(source, target)
        before = sha256(target)
        w.wait_for(lambda: len(tool_runs(log, "mkvmerge")) == 1)
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(10)
    finally:
        w.close()
    assert sha256(target) == before  # the original, byte for byte
    time.sleep(0.5)  # the tool dies with its parent (parent-death signal)
    tally.add("watch_faults")
    tally.files(1)

    fast = tmp_path / "fast.toml"
    fast.write_text("")
    again = Watch(tmp_path, lib, "--config", str(fast))
    try:
        again.wait_for(lambda: len(again.finished("film.mkv")) == 1, timeout=60)
        again.watching()
        assert [f["status"] for f in again.finished("film.mkv")] == ["ok"]
        assert audio_languages(target) == ["eng"]
        assert temp_files_in(lib) == []  # what the kill left was swept by the start-up
        assert again.terminate() == 130
    finally:
        again.close()
    tally.files(1)


def test_sigterm_mid_file_and_a_rewrite_mid_file_lose_nothing(
    tmp_path: Path, make_file: MakeMedia, tally: Tally
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    source = make_file("movie.mkv", folder=tmp_path, audio=TWO)
    other = make_file("other.mkv", folder=tmp_path, audio=(*TWO, AudioSpec("fre")))
    slow, log = logging_tools(tmp_path, delay=3.0)
    w = Watch(tmp_path, lib, "--config", str(slow))
    try:
        w.watching()
        target = lib / "busy.mkv"
        shutil.copy(source, target)
        w.wait_for(lambda: len(tool_runs(log, "mkvmerge")) == 1)
        shutil.copy(other, target)  # rewritten while the remux runs
        rewritten = sha256(target)
        w.wait_for(lambda: len(w.finished("busy.mkv")) == 1, timeout=30)
        assert w.finished("busy.mkv")[0]["status"] != "ok"
        assert sha256(target) == rewritten  # the user's new file, untouched
        tally.add("watch_faults")
        w.wait_for(lambda: len(tool_runs(log, "mkvmerge")) == 2, timeout=30)
        assert w.terminate() == 130  # SIGTERM during the second remux
        assert sha256(target) == rewritten and temp_files_in(lib) == []
        tally.add("watch_faults")
        tally.files(2)
    finally:
        w.close()
