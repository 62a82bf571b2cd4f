"""Files with other names: hard links, and symbolic links given or found.

The safe write replaces a file by renaming a new one over its name: the other
names of the old inode (a torrent client's copy, an *arr import) still point at
the original content, and both copies take disk space. That is a consequence the
user must read in the plan and the result, not discover later.

A symbolic link to a file is followed: the file it leads to is processed (in its
own folder, where its temp file and commit belong) and the result says ``via
link``. A container change through a link is refused: it renames the file, which
would leave the link pointing at nothing (and retargeting a link the user made is
not ours to do).
"""

from __future__ import annotations

import os
from pathlib import Path


def other_names_note(
    original: os.stat_result, new_bytes: int, *, cloned: bool = False
) -> str | None:
    """``2 other names (hard links) keep the original; the change uses 1.2 MiB more disk``.

    ``cloned``: the new file is a clone (reflink) of the original, edited: it shares
    the unchanged data, so it costs only the blocks that changed.
    """
    others = original.st_nlink - 1
    if others < 1:
        return None
    names = "1 other name (a hard link) keeps" if others == 1 else (
        f"{others} other names (hard links) keep"
    )  # fmt: skip
    if cloned:
        return f"{names} the original; the change is a clone sharing its data (little more disk)"
    return f"{names} the original; the change uses {_mib(new_bytes)} more disk"


def _mib(n: int) -> str:
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def link_target(path: Path) -> Path | None:
    """The file the symbolic link ``path`` leads to; None when ``path`` is not a link."""
    if not path.is_symlink():
        return None
    return Path(os.path.realpath(path))


def container_change_refusal(link: Path, target: Path, final: Path) -> str:
    return (
        f"{link}: changing the container would rename the file it links to "
        f"({target.name} → {final.name}) and leave the link pointing at nothing: "
        "left as it is (give the file itself to convert it)"
    )
