"""When a watched file may be taken: never while something is still writing it.

Downloads and copies arrive over minutes or hours. A file is taken only when

- its name is not a partial download's or a temp file's (``*.part``, ``*.!qB``,
  ``*.crdownload``, hidden ``.*`` names, vpo-tui's own temp/journal/backup names),
- its size, mtime and inode have not changed for ``settle_s`` seconds, and
- no process has it open for writing (Linux: ``/proc/*/fd`` and ``fdinfo`` flags,
  where readable; other users' processes usually are not, so the settle time stays
  the main guard).

The tracker is driven by its caller (events in, ``poll`` out) and reads time,
``stat`` and the writer check through injectable functions, so its rules are
tested with a fake clock and its real parts with a real slow writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from vpo_tui.engine.safety import BACKUP_MARKER, JOURNAL_MARKER, TEMP_MARKER
from vpo_tui.engine.writers import open_for_writing

# Names a downloader or copier gives a file it has not finished (lower case).
PARTIAL_SUFFIXES: tuple[str, ...] = (
    ".part",  # Firefox, wget2, aria2, Transmission (with the option), yt-dlp
    ".!qb",  # qBittorrent
    ".crdownload",  # Chrome
    ".partial",  # Edge, some rsync setups
    ".download",  # Safari
    ".opdownload",  # Opera
    ".aria2",  # aria2 control file
    ".tmp",
    ".temp",
)
_OWN_MARKERS = (TEMP_MARKER, JOURNAL_MARKER, BACKUP_MARKER)


def ignored_name(name: str) -> str | None:
    """Why a file called ``name`` is never taken (``None``: it may be)."""
    lowered = name.lower()
    if any(marker in name for marker in _OWN_MARKERS):
        return "vpo-tui's own temp, journal or backup file"
    if name.startswith("."):
        return "a hidden or temp file"
    if lowered.endswith(PARTIAL_SUFFIXES):
        return "a partial download"
    return None


Fingerprint = tuple[int, int, int]  # size, mtime_ns, inode


def fingerprint(path: Path) -> Fingerprint | None:
    """What must stay the same for a file to count as settled (``None``: it is gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class Verdict(str, Enum):
    """What ``SettleTracker.poll`` says about a file."""

    READY = "ready"  # settled: take it
    GONE = "gone"  # removed or renamed away before it settled
    WRITING = "writing"  # unchanged, but a process has it open for writing


@dataclass(frozen=True)
class Settled:
    """One file's verdict; ``pid`` is the writer's for ``WRITING``."""

    path: Path
    verdict: Verdict
    pid: int | None = None


@dataclass
class _Watch:
    seen: Fingerprint
    since: float
    writer_said: bool = False  # WRITING reported once per quiet spell, not every poll


class SettleTracker:
    """Files that changed, each waiting until it has been quiet for ``settle_s``.

    ``touch`` on every event for a path (a new file, a write, a rename into place);
    ``poll`` now and then returns the files whose state is news (ready, gone, or
    held open by a writer). A ready or gone file is no longer tracked.
    """

    def __init__(
        self,
        settle_s: float,
        *,
        clock: Callable[[], float],
        stat: Callable[[Path], Fingerprint | None] = fingerprint,
        writers: Callable[[Collection[Path]], dict[Path, int]] = open_for_writing,
    ) -> None:
        self.settle_s = max(0.0, settle_s)
        self._clock = clock
        self._stat = stat
        self._writers = writers
        self._files: dict[Path, _Watch] = {}

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def __len__(self) -> int:
        return len(self._files)

    @property
    def waiting(self) -> list[Path]:
        return list(self._files)

    def touch(self, path: Path) -> bool:
        """Something happened to ``path``: (re)start its quiet time. False if it is gone."""
        seen = self._stat(path)
        if seen is None:
            self._files.pop(path, None)
            return False
        self._files[path] = _Watch(seen, self._clock())
        return True

    def forget(self, path: Path) -> None:
        self._files.pop(path, None)

    def remaining(self, path: Path) -> float | None:
        """Seconds of quiet still needed (0 when due), or ``None`` if not tracked."""
        watch = self._files.get(path)
        if watch is None:
            return None
        return max(0.0, watch.since + self.settle_s - self._clock())

    def next_due(self) -> float | None:
        """Seconds until the next file could be ready (for the caller's sleep)."""
        left = [self.remaining(path) for path in self._files]
        return min((s for s in left if s is not None), default=None)

    def poll(self) -> list[Settled]:
        """Re-check every tracked file; return the ready, gone and newly held-open ones."""
        now = self._clock()
        out: list[Settled] = []
        due: list[Path] = []
        for path, watch in list(self._files.items()):
            seen = self._stat(path)
            if seen is None:
                del self._files[path]
                out.append(Settled(path, Verdict.GONE))
            elif seen != watch.seen:
                self._files[path] = _Watch(seen, now)
            elif now - watch.since >= self.settle_s:
                due.append(path)
        writing = self._writers(due) if due else {}
        for path in due:
            watch = self._files[path]
            pid = writing.get(path)
            if pid is None:
                del self._files[path]
                out.append(Settled(path, Verdict.READY))
            elif not watch.writer_said:
                watch.writer_said = True
                out.append(Settled(path, Verdict.WRITING, pid))
        return out

    def touch_all(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self.touch(path)
