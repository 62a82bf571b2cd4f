"""How counts are said to the user, in one place so both front ends word them alike.

Never ``file(s)`` or ``1 files``; cancelled files (after Stop) are counted apart
from the files that were worked on, because they finish at once without any work.
"""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 file`` / ``2 files``; ``words`` for the irregular ones (``batch``/``batches``)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def files_progress(worked: int, total: int, cancelled: int) -> str:
    """``3/10 files``, or ``1/12 files, 10 cancelled`` after a Stop."""
    text = f"{worked}/{plural(total, 'file')}"
    return f"{text}, {cancelled} cancelled" if cancelled else text
