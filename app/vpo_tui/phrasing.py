"""How counts are said to the user, in one place so both front ends word them alike.

Never ``file(s)`` or ``1 files``; cancelled files (after Stop) are counted apart
from the files that were worked on, because they finish at once without any work.
"""

from __future__ import annotations

import unicodedata


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 file`` / ``2 files``; ``words`` for the irregular ones (``batch``/``batches``)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def files_progress(worked: int, total: int, cancelled: int) -> str:
    """``3/10 files``, or ``1/12 files, 10 cancelled`` after a Stop."""
    text = f"{worked}/{plural(total, 'file')}"
    return f"{text}, {cancelled} cancelled" if cancelled else text


# Control characters, line separators and lone surrogates (undecodable bytes in a
# file name): printed raw they break one-line-per-file output or drive the terminal.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def console_text(text: str) -> str:
    """``text`` with control characters escaped as Python does (a newline shows as ``\\n``).

    For paths and messages on the console only; ``--json`` escapes by itself. A name
    that is not valid UTF-8 shows its bytes as ``\\xNN``, as ``ls -b`` does.
    """
    if text.isprintable():
        return text
    return "".join(
        _escaped(ch) if unicodedata.category(ch) in _ESCAPED_CATEGORIES else ch for ch in text
    )


def _escaped(ch: str) -> str:
    """A byte that is not UTF-8 (a PEP 383 surrogate) shows as the byte: ``caf\\xe9.mkv``."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return repr(ch)[1:-1]
