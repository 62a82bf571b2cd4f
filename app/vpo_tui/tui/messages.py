"""How batch events cross from worker threads into the Textual event loop.

The runner calls the listener on its worker threads, thousands of times a second
on a fast batch. The listener does O(1) work there and nothing else: it appends
the event to a deque (``deque.append`` is atomic, so no lock) and never posts a
Textual message, never touches a widget and never blocks on the UI
(``call_from_thread`` can deadlock at shutdown). The screen drains the deque
from a 10 Hz timer and applies the whole burst in one go, so ten thousand fast
files cost ten wake-ups a second, not tens of thousands of messages. The runner
already throttles progress to about ten updates a second per file.

Only a crash of the runner itself is posted as a message (``post_message`` is
thread-safe): it is rare and must not wait for the next tick.
"""

from __future__ import annotations

from collections import deque

from textual.message import Message

from vpo_tui.batch.events import BatchEvent

DRAIN_INTERVAL_S = 0.1  # how often a screen applies queued events (<= 10 Hz)


class BatchCrashed(Message):
    """The runner itself raised (not a per-file failure): show it, stop waiting."""

    def __init__(self, pipe: EventPipe, error: BaseException) -> None:
        super().__init__()
        self.pipe = pipe
        self.error = error


class RecoveryNotes(Message):
    """What start-up recovery did (interrupted jobs marked, stale temp files removed)."""

    def __init__(self, notes: list[str]) -> None:
        super().__init__()
        self.notes = notes


class EventPipe:
    """A ``BatchListener`` that queues events for one screen to drain on its own clock."""

    def __init__(self) -> None:
        self._queue: deque[BatchEvent] = deque()
        self.closed = False

    # -- worker threads -----------------------------------------------------
    def on_event(self, event: BatchEvent) -> None:
        if not self.closed:
            self._queue.append(event)

    # -- UI thread ------------------------------------------------------------
    def drain(self) -> list[BatchEvent]:
        """Everything queued so far, oldest first (events appended meanwhile wait)."""
        queue = self._queue
        popleft = queue.popleft
        return [popleft() for _ in range(len(queue))]

    def close(self) -> None:
        """Ignore anything the runner still says (the screen is going away)."""
        self.closed = True
        self._queue.clear()
