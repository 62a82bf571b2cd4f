"""Who has a file open for writing: one pass over ``/proc/*/fd``.

The watcher asks it before taking a file (a download still being written), the
engine before editing a file in place (another program's writes would be lost).
Processes we may not look at are skipped; off Linux the answer is always empty.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

_O_ACCMODE = 0o3
_WRITE_MODES = (os.O_WRONLY, os.O_RDWR)


def open_for_writing(
    paths: Collection[Path], proc: Path = Path("/proc"), *, skip_pid: int | None = None
) -> dict[Path, int]:
    """Which of ``paths`` some process has open for writing, with one such pid.

    One pass over ``/proc/*/fd`` for all paths at once: a readlink per open file
    of every process we may look at. Processes we may not look at are skipped
    (the settle time then is the only guard). Off Linux: always empty.
    """
    if not paths or not proc.is_dir():
        return {}
    wanted: dict[str, Path] = {}
    for path in paths:
        wanted[os.path.realpath(path)] = path
    found: dict[Path, int] = {}
    try:
        pids = [entry.name for entry in os.scandir(proc) if entry.name.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        if skip_pid is not None and pid == str(skip_pid):
            continue
        fd_dir = proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            hit = wanted.get(target)
            if hit is None or hit in found:
                continue
            if _writing(proc / pid / "fdinfo" / fd):
                found[hit] = int(pid)
        if len(found) == len(wanted):
            break
    return found


def _writing(fdinfo: Path) -> bool:
    """Whether the open file described by ``fdinfo`` was opened for writing.

    Unreadable (the process ended, or not ours): assumed writing, the careful side.
    """
    try:
        text = fdinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    for line in text.splitlines():
        if line.startswith("flags:"):
            try:
                flags = int(line.split()[1], 8)
            except (IndexError, ValueError):
                return True
            return (flags & _O_ACCMODE) in _WRITE_MODES
    return True
