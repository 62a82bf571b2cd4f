"""``vpo-tui watch`` on a terminal: the watch screen in a small app of its own.

The watcher runs on a thread; its events reach the screen as messages
(``post_message`` is thread-safe). ``q`` stops it: running files are killed
(temp files removed, originals untouched), then the app exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from pathlib import PurePath
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from vpo_tui.batch.exit_codes import EXIT_INTERRUPTED
from vpo_tui.batch.watcher import Watcher, WatchEvent
from vpo_tui.tui.app import detach_from_dead_terminal
from vpo_tui.tui.screens.watch import WatchScreen
from vpo_tui.tui.styles import stylesheet_paths

HANGUP_WAIT_S = 30.0  # the running files' kill, at most; then the process ends anyway


class WatchApp(App[None]):
    CSS_PATH: ClassVar[list[str | PurePath]] = list(stylesheet_paths())
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Stop watching", show=False, priority=True),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.watch_screen = WatchScreen(f"Watching {title}")
        self._watcher: Watcher | None = None
        self._thread: threading.Thread | None = None
        self.stopped_by_user = False
        self.signalled = False  # ended by SIGTERM/SIGHUP: exit 130, as without the screen

    class WatcherEnded(Message):
        """The watcher's thread is done (stopped, or its end time came)."""

    def on_watch_app_watcher_ended(self) -> None:
        self.exit()

    # -- the watcher's listener (its thread) ----------------------------------------
    def on_watch(self, event: WatchEvent) -> None:
        self.watch_screen.post_message(WatchScreen.Seen(event))

    # -- driving ------------------------------------------------------------------------
    def drive(self, watcher: Watcher) -> bool:
        """Run the app with ``watcher`` on a thread; returns once both are done.

        True when a signal (SIGTERM, SIGHUP) ended it, as the headless watcher's 130.
        """
        self._watcher = watcher
        try:
            self.run()
        finally:
            watcher.stop()
            if self._thread is not None:
                self._thread.join()
        return self.signalled

    def on_mount(self) -> None:
        self._stop_on_signals()
        self.push_screen(self.watch_screen)
        watcher = self._watcher
        if watcher is None:
            return

        def work() -> None:
            try:
                watcher.run()
            finally:  # a message, not call_from_thread: the app may be gone already
                self.post_message(self.WatcherEnded())

        self._thread = threading.Thread(target=work, name="vpo-watcher", daemon=True)
        self._thread.start()

    def _stop_on_signals(self) -> None:
        """SIGTERM/SIGHUP stop the watcher as ``q`` does: files end killed and clean."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._signalled, sig)

    def _signalled(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.signalled:
            return
        self.signalled = True
        if sig == signal.SIGHUP:  # the terminal is gone: Textual's shutdown may block on it
            detach_from_dead_terminal()
            self._leave_when_watcher_ends()
        if self._watcher is not None:
            self._watcher.stop()
        else:
            self.exit()

    def _leave_when_watcher_ends(self) -> None:
        """After a hang-up: end the process once the watcher has killed its files.

        As the main app does: there is no screen to restore, and the files are safe
        (killed, temp files removed) once the watcher's thread has ended.
        """

        def leave() -> None:
            if self._thread is not None:
                self._thread.join(HANGUP_WAIT_S)
            os._exit(EXIT_INTERRUPTED)

        threading.Thread(target=leave, name="vpo-watch-hangup-exit", daemon=True).start()

    async def action_quit(self) -> None:
        self.stopped_by_user = True
        if self._watcher is not None and not self._watcher.stopping:
            self.notify("Stopping: running files are killed, originals kept...")
            self._watcher.stop()  # the thread ends, then the app exits
        else:
            self.exit()
