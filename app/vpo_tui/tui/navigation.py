"""Messages more than one screen posts to the app: where the user wants to go next.

A screen says what the user asked for; the app decides which screen that is.
Messages only one screen posts are nested in that screen's class.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenHistory(Message):
    """Past batches and their files (``h`` on the pick screen and the summary)."""


@dataclass
class BackToPick(Message):
    """Leave the batch's screens for the pick screen (``n`` on the summary, escape)."""


@dataclass
class ShowLastSummary(Message):
    """The last batch's summary, from wherever the user is."""
