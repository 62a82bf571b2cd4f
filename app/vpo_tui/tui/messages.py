"""How batch events cross from worker threads into the Textual event loop.

The runner calls the listener on its worker threads. The listener never touches
a widget and never blocks on the UI (``call_from_thread`` can deadlock at
shutdown): it appends the event to a queue and, only when the UI has not yet
been told, posts one ``EventsReady`` message (``post_message`` is thread-safe).
The screen then drains everything queued in one go, so ten thousand fast files
cost a handful of messages, not tens of thousands. Progress is throttled to
about ten updates a second per file before it is even queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from textual.message import Message
from textual.message_pump import MessagePump

from vpo_tui.batch.events import BatchEvent, FileFinished, FileProgress

PROGRESS_INTERVAL_S = 0.1


class EventsReady(Message):
    """Batch events are waiting in ``pipe``; drain them with ``pipe.drain()``."""

    def __init__(self, pipe: EventPipe) -> None:
        super().__init__()
        self.pipe = pipe


class BatchCrashed(Message):
    """The runner itself raised (not a per-file failure): show it, stop waiting."""

    def __init__(self, pipe: EventPipe, error: BaseException) -> None:
        super().__init__()
        self.pipe = pipe
        self.error = error


class EventPipe:
    """A ``BatchListener`` that queues events for one screen and wakes it up."""

    def __init__(
        self,
        target: MessagePump,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._target = target
        self._clock = clock
        self._interval_s = interval_s
        self._queue: deque[BatchEvent] = deque()
        self._lock = threading.Lock()
        self._notified = False
        self._last_progress: dict[Path, float] = {}
        self.closed = False

    # -- worker threads -----------------------------------------------------
    def on_event(self, event: BatchEvent) -> None:
        if self.closed:
            return
        if isinstance(event, FileProgress) and not self._due(event.path):
            return
        with self._lock:
            self._queue.append(event)
            if self._notified:
                return
            self._notified = True
        self._target.post_message(EventsReady(self))

    def _due(self, path: Path) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last_progress.get(path)
            if last is not None and now - last < self._interval_s:
                return False
            self._last_progress[path] = now
            return True

    # -- UI thread ------------------------------------------------------------
    def drain(self) -> list[BatchEvent]:
        """Everything queued so far, oldest first; re-arms the wake-up message."""
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
            self._notified = False
            for event in events:
                if isinstance(event, FileFinished):
                    self._last_progress.pop(event.result.path, None)
        return events

    def close(self) -> None:
        """Ignore anything the runner still says (the screen is going away)."""
        self.closed = True
