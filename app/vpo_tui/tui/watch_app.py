"""``vpo-tui watch`` on a terminal: the watch screen in a small app of its own.

The watcher runs on a thread; its events reach the screen as messages
(``post_message`` is thread-safe). ``q`` stops it: running files are killed
(temp files removed, originals untouched), then the app exits.
"""

from __future__ import annotations

import threading
from pathlib import PurePath
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from vpo_tui.batch.watcher import Watcher, WatchEvent
from vpo_tui.tui.screens.watch import WatchScreen
from vpo_tui.tui.styles import stylesheet_paths


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

    class WatcherEnded(Message):
        """The watcher's thread is done (stopped, or its end time came)."""

    def on_watch_app_watcher_ended(self) -> None:
        self.exit()

    # -- the watcher's listener (its thread) ----------------------------------------
    def on_watch(self, event: WatchEvent) -> None:
        self.watch_screen.post_message(WatchScreen.Seen(event))

    # -- driving ------------------------------------------------------------------------
    def drive(self, watcher: Watcher) -> bool:
        """Run the app with ``watcher`` on a thread; returns once both are done."""
        self._watcher = watcher
        try:
            self.run()
        finally:
            watcher.stop()
            if self._thread is not None:
                self._thread.join()
        return self.stopped_by_user

    def on_mount(self) -> None:
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

    async def action_quit(self) -> None:
        self.stopped_by_user = True
        if self._watcher is not None and not self._watcher.stopping:
            self.notify("Stopping: running files are killed, originals kept...")
            self._watcher.stop()  # the thread ends, then the app exits
        else:
            self.exit()
