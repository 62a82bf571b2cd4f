"""The working copy of a file for ``mkvpropedit``: a clone where the filesystem can make one.

On btrfs, XFS (reflink=1), ZFS with block cloning, bcachefs and other reflink
filesystems ``FICLONE`` makes a copy that shares every block with the original:
instant, and no extra space until one of them is written. Elsewhere
``copy_file_range`` lets the kernel copy (server-side on NFS 4.2 and SMB3, no trip
through user space elsewhere), and where even that is refused, a plain read/write
copy. All three keep today's protocol: the original is untouched until the
verified copy replaces it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from vpo_tui.engine.safety import temp_path_for

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_CHUNK = 64 * 1024 * 1024
_PLAIN_CHUNK = 4 * 1024 * 1024
# errors that mean "this filesystem (or this pair of files) cannot do that", not a fault
_UNSUPPORTED = {
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EINVAL,
    errno.EXDEV,
    errno.ENOSYS,
    errno.EBADF,
    errno.ETXTBSY,
}


class CopyMethod(str, Enum):
    """How a working copy was made (the fastest one the filesystem allowed)."""

    REFLINK = "reflink"  # blocks shared: instant, no space used
    COPY_FILE_RANGE = "copy_file_range"  # copied by the kernel
    COPY = "copy"  # copied through this process


def _try_ficlone(src: int, dst: int) -> bool:
    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def _copy_range(src: int, dst: int, size: int, tick: Callable[[int], None]) -> bool:
    """``copy_file_range`` to the end; False (nothing copied) when it is refused outright."""
    done = 0
    while done < size:
        try:
            n = os.copy_file_range(src, dst, min(_CHUNK, size - done), done, done)
        except OSError as exc:
            if done == 0 and exc.errno in _UNSUPPORTED:
                return False
            raise
        if n == 0:  # the source got shorter under us
            break
        done += n
        tick(done)
    return True


def _copy_plain(src: int, dst: int, size: int, tick: Callable[[int], None]) -> None:
    os.ftruncate(dst, 0)
    done = 0
    while chunk := os.pread(src, _PLAIN_CHUNK, done):
        view = memoryview(chunk)
        while view:
            written = os.pwrite(dst, view, done)
            view = view[written:]
            done += written
        tick(done)


def clone_or_copy(
    source: Path, target: Path, tick: Callable[[int], None] | None = None
) -> CopyMethod:
    """Make ``target`` (an existing, empty file we own) a copy of ``source``, the cheapest way.

    ``tick(bytes_done)`` is called as a real copy goes on (and may raise to cancel).
    """
    tick = tick or (lambda _done: None)
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(src).st_size
            if _try_ficlone(src, dst):
                tick(size)
                return CopyMethod.REFLINK
            if hasattr(os, "copy_file_range") and _copy_range(src, dst, size, tick):
                return CopyMethod.COPY_FILE_RANGE
            _copy_plain(src, dst, size, tick)
            return CopyMethod.COPY
        finally:
            os.close(dst)
    finally:
        os.close(src)


def folder_can_clone(folder: Path) -> bool | None:
    """Whether files in ``folder`` can be cloned (``None``: cannot tell, e.g. not writable).

    Tried for real on two small files: unnamed ``O_TMPFILE`` ones where the
    filesystem has them (nothing ever appears in the folder, not even after a
    crash, so a dry run may ask too), else two hidden owned temp files removed at once.
    """
    unnamed = _try_unnamed(folder)
    if unnamed is not None:
        return unnamed
    # owned temp names: a probe left by a kill is swept like any temp file
    first = temp_path_for(folder / "clone-probe", "")
    second = temp_path_for(folder / "clone-probe", "")
    try:
        src = os.open(first, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        try:
            dst = os.open(second, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            return _probe_pair(src, dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)
        for probe in (first, second):
            with contextlib.suppress(OSError):
                os.unlink(probe)


def _try_unnamed(folder: Path) -> bool | None:
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        src = os.open(folder, flag | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError:
        return None  # no O_TMPFILE here (or no write permission): the named way says
    try:
        try:
            dst = os.open(folder, flag | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            return _probe_pair(src, dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _probe_pair(src: int, dst: int) -> bool:
    try:
        os.write(src, b"\0" * 65536)
        return _try_ficlone(src, dst)
    except OSError:
        return False


_KNOWN: dict[int, bool | None] = {}
_KNOWN_LOCK = threading.Lock()


def device_can_clone(folder: Path, device: int) -> bool | None:
    """``folder_can_clone``, asked once per filesystem (``st_dev``) by this process."""
    with _KNOWN_LOCK:
        if device in _KNOWN:
            return _KNOWN[device]
    can = folder_can_clone(folder)
    with _KNOWN_LOCK:
        _KNOWN[device] = can
    return can
