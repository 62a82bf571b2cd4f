"""How a file name is written into the history database, whatever bytes it has.

A POSIX file name is bytes; Python hands us a ``str`` in which bytes that are not
valid UTF-8 are lone surrogates (``caf\\udce9.mkv`` for ``caf\\xe9.mkv``, PEP 383).
SQLite's text is UTF-8, so such a ``str`` cannot be bound at all. The rule, one for
every path column (``jobs.path``, ``jobs.output_path``, ``probe_cache.path``,
``probes.path``):

- a name that is valid UTF-8 is stored as TEXT, exactly as before (old databases
  and plain-SQL readers see no change);
- any other name is stored as a BLOB of its exact bytes (``os.fsencode``).

One name always takes the same form, so ``WHERE path = ?`` finds it again, and
reading turns a BLOB back into the same ``str`` (``os.fsdecode``): the round trip is
exact. Free text that may quote such a name (an error message, a tool's stderr)
cannot round-trip through TEXT; it keeps the bytes visibly escaped (``\\xe9``).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path


def path_value(path: Path | str) -> str | bytes:
    """The value to bind for ``path``: TEXT if it is UTF-8, else its bytes."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def optional_path_value(path: Path | str | None) -> str | bytes | None:
    return None if path is None else path_value(path)


def path_from_value(value: str | bytes) -> str:
    """The path a ``path_value`` was made from (a BLOB back to its surrogate ``str``)."""
    if isinstance(value, bytes):
        return os.fsdecode(value)
    return value


def optional_path_from_value(value: str | bytes | None) -> str | None:
    return None if value is None else path_from_value(value)


def text_value(text: str | None) -> str | None:
    """Free text for a TEXT column: undecodable bytes written as ``\\xNN``, never an error."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that stands for no byte
            return text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        return raw.decode("utf-8", "backslashreplace")
    return text


def path_bytes_b64(path: Path | str) -> str:
    """A path's exact bytes, base64: what ``--json`` adds for a strict parser.

    JSON text cannot hold bytes that are not UTF-8; Python writes them as lone
    surrogates (``\\udce9``), which ``jq`` and other strict parsers turn into U+FFFD.
    """
    return base64.b64encode(os.fsencode(path)).decode("ascii")
