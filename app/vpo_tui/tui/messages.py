"""How batch events cross from worker threads into the Textual event loop.

The runner calls the listener on its worker threads, thousands of times a second
on a fast batch. The listener does O(1) work there and nothing else: it appends
the event to a deque (``deque.append`` is atomic, so no lock) and never posts a
Textual message, never touches a widget and never blocks on the UI
(``call_from_thread`` can deadlock at shutdown). The screen drains the deque
from a 10 Hz timer and applies the whole burst in one go, so ten thousand fast
files cost ten wake-ups a second, not tens of thousands of messages. The runner
already throttles progress to about ten updates a second per file.

Only two things are posted as messages (``post_message`` is thread-safe), once
per batch each: the end of the batch, so the summary does not wait for the next
tick, and a crash of the runner itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from vpo_tui.batch.events import BatchEvent, BatchFinished

DRAIN_INTERVAL_S = 0.1  # how often a screen applies queued events (<= 10 Hz)


@dataclass
class BatchCrashed(Message):
    """The runner itself raised (not a per-file failure): show it, stop waiting."""

    pipe: EventPipe
    error: BaseException


@dataclass
class RecoveryNotes(Message):
    """What start-up recovery did (interrupted jobs marked, stale temp files removed)."""

    notes: list[str]


@dataclass
class BatchOver(Message):
    """The runner queued its ``BatchFinished``: drain now rather than at the next tick."""

    pipe: EventPipe


class EventPipe:
    """A ``BatchListener`` that queues events for one screen to drain on its own clock."""

    def __init__(self, target: MessagePump | None = None) -> None:
        self._queue: deque[BatchEvent] = deque()
        self._target = target  # told once, when the batch is over
        self.closed = False

    # -- worker threads -----------------------------------------------------
    def on_event(self, event: BatchEvent) -> None:
        if self.closed:
            return
        self._queue.append(event)
        if self._target is not None and type(event) is BatchFinished:
            self._target.post_message(BatchOver(self))

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
