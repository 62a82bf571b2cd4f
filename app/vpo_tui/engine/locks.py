"""An exclusive, non-blocking lock on one media file.

Two workers, or two vpo-tui processes, must never modify the same file. The
lock is advisory (``fcntl.flock``) and held on the original's inode for the
whole lock → probe → plan → execute → commit sequence; a file another process
holds is reported ``locked``, not failed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class FileLocked(Exception):
    """Another process holds the lock on this file."""


class FileLock:
    """``with FileLock(path):`` — raises ``FileLocked`` or ``OSError`` on entry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FileLocked(f"{self.path}: locked by another process") from None
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        # the name may have been replaced between open() and flock(): the lock
        # would then guard an unlinked inode, not the file we are about to edit
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(self.path))
        except OSError:
            same = False
        if not same:
            self.release()
            raise FileLocked(f"{self.path}: replaced by another process while locking")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
