"""An exclusive, non-blocking lock on one media file.

Two workers, or two vpo-tui processes, must never modify the same file. The
lock is advisory (``fcntl.flock``) and held on the original's inode for the
whole lock → probe → plan → execute → commit sequence; a file another process
holds is reported ``locked``, not failed.

Only a regular file is ever opened: ``open()`` on a FIFO blocks until a writer
appears (a hang no signal ends, since it is a worker thread that waits), and a
device or socket is no media file. The kind is checked with ``stat`` first, the
open is ``O_NONBLOCK`` as a belt, and ``fstat`` checks what was opened.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from types import TracebackType


class FileLocked(Exception):
    """Another process holds the lock on this file."""


class NotRegularFile(FileLocked):
    """The path is a FIFO, socket, device or folder: left alone, reported skipped."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def not_regular(mode: int) -> str | None:
    """What a non-regular file is (``a FIFO (named pipe)``), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def not_regular_message(kind: str) -> str:
    return f"{kind}, not a regular file: never opened, skipped"


class FileLock:
    """``with FileLock(path):`` — raises ``FileLocked`` or ``OSError`` on entry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        kind = not_regular(os.stat(self.path).st_mode)
        if kind is not None:
            raise NotRegularFile(f"{self.path}: {not_regular_message(kind)}")
        # O_NONBLOCK: should a FIFO take the name between stat() and open(), the open
        # returns at once instead of waiting for a writer; fstat() then refuses it
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        kind = not_regular(os.fstat(fd).st_mode)
        if kind is not None:
            os.close(fd)
            raise NotRegularFile(f"{self.path}: {not_regular_message(kind)}")
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
