"""What a change means for a file that has other names (hard links).

The safe write replaces a file by renaming a new one over its name: the other
names of the old inode (a torrent client's copy, an *arr import) still point at
the original content, and both copies take disk space. That is a consequence the
user must read in the plan and the result, not discover later.
"""

from __future__ import annotations

import os


def other_names_note(original: os.stat_result, new_bytes: int) -> str | None:
    """``2 other names (hard links) keep the original; the change uses 1.2 MiB more disk``."""
    others = original.st_nlink - 1
    if others < 1:
        return None
    names = "1 other name (a hard link) keeps" if others == 1 else (
        f"{others} other names (hard links) keep"
    )  # fmt: skip
    return f"{names} the original; the change uses {_mib(new_bytes)} more disk"


def _mib(n: int) -> str:
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"
