"""The watch screen on real files: a file seen settling (with its countdown), then done.

A real session and watcher on a temporary folder, the screen fed by its messages;
``q`` stops the watcher and the app.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Static

from tests.conftest import AudioSpec, MakeMedia
from tests.tui.helpers import wait_for
from vpo_tui.batch.session import BatchRequest, Session, prepare
from vpo_tui.batch.watcher import Watcher
from vpo_tui.config import Config
from vpo_tui.tui.screens.watch import state_cell
from vpo_tui.tui.watch_app import WatchApp

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))


async def test_a_dropped_file_settles_runs_and_is_done(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    source = make_file("movie.mkv", folder=tmp_path, audio=TWO)
    prepared = prepare(BatchRequest(paths=(lib,), db=tmp_path / "h.db"), Config(), find_files=False)
    assert isinstance(prepared, Session)
    app = WatchApp(str(lib))
    with prepared as session:
        watcher = Watcher(session, app, settle_s=2.0)
        app._watcher = watcher  # what drive() does before it runs the app
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.watch_screen
            await wait_for(pilot, lambda: any("first pass" in n for n in screen.notes))
            shutil.copy(source, lib / "new.mkv")
            target = (lib / "new.mkv").resolve()
            await wait_for(pilot, lambda: target in screen.rows, what="a row for the file")
            seen = screen.rows[target]
            assert seen.state == "settling" and seen.due is not None
            assert state_cell(seen, seen.due - 1.4) == "settling 1 s"
            await wait_for(
                pilot,
                lambda: screen.rows.get(target) is not None and screen.rows[target].state == "ok",
                timeout=40,
                what="the file done",
            )
            assert "remove audio" in screen.rows[target].detail
            await pilot.press("q")
            await wait_for(pilot, lambda: watcher.stopping, what="the watcher stopping")
        assert app._thread is not None
        app._thread.join(30)
        assert not app._thread.is_alive()


async def test_a_done_file_stays_done_and_a_compliant_one_is_not_left_running(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    """Our own commit's events must not put a done file back to ``settling`` for ever,
    and a first-pass file found compliant is counted in the note, not left ``running``."""
    lib = tmp_path / "lib"
    lib.mkdir()
    fine = make_file("fine.mkv", folder=lib, audio=(AudioSpec("eng", default=True),))
    source = make_file("movie.mkv", folder=tmp_path, audio=TWO)
    prepared = prepare(BatchRequest(paths=(lib,), db=tmp_path / "h.db"), Config(), find_files=False)
    assert isinstance(prepared, Session)
    app = WatchApp(str(lib))
    with prepared as session:
        watcher = Watcher(session, app, settle_s=1.0)
        app._watcher = watcher
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.watch_screen
            await wait_for(pilot, lambda: any("first pass done" in n for n in screen.notes))
            assert fine.resolve() not in screen.rows
            shutil.copy(source, lib / "new.mkv")
            target = (lib / "new.mkv").resolve()
            await wait_for(
                pilot,
                lambda: screen.rows.get(target) is not None and screen.rows[target].state == "ok",
                timeout=40,
                what="the file done",
            )
            await pilot.pause(2.5)  # the commit's own events, and more than the settle time
            assert screen.rows[target].state == "ok"
            assert list(screen.rows) == [target]
            detail = str(screen.query_one("#watch-detail", Static).render())
            assert detail.startswith(f"{target}  ok")  # the whole path, which the table cuts
            assert "remove audio 2 (ger): language not in audio.keep" in detail
            await pilot.press("q")
            await wait_for(pilot, lambda: watcher.stopping, what="the watcher stopping")
        assert app._thread is not None
        app._thread.join(30)
