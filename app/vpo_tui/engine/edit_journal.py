"""The undo journal of an in-place edit: the bytes ``mkvpropedit`` may touch, saved first.

Before ``mkvpropedit`` edits a file in place, every byte of it that is not inside a
Cluster (see ``matroska_layout``), the first bytes of each Cluster (its header and
Timestamp) and the file's size are written to a journal
beside it, ``.{name}.vpo-inplace-{pid}@{host}``, and made durable (``fsync`` of the
journal and of the folder). Restoring is writing those bytes back at their offsets
and cutting the file to its saved size: the original, byte for byte, whatever the
edit had done (an element ``mkvpropedit`` moved to the end is cut off again).

Format (version 1), all integers big-endian::

    magic    8 bytes   b"VPOEDJ1\\n"
    hlen     4 bytes   length of the header
    header   hlen      UTF-8 JSON: {"version": 1, "file": NAME, "size": BYTES,
                       "mtime_ns": N, "ino": N, "ranges": [[OFFSET, LENGTH], ...],
                       "pid": N, "host": HOST}
    payload            the saved bytes of each range, in the order of "ranges"
    digest   32 bytes  SHA-256 of everything above

A journal whose length or digest is wrong was cut short by a crash while it was
being written; the edit starts only after the whole journal is durable, so the file
was never touched and the torn journal is simply removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.engine.matroska_layout import Layout
from vpo_tui.engine.safety import folders_under
from vpo_tui.ownership import owner_alive, this_host

MAGIC = b"VPOEDJ1\n"
JOURNAL_MARKER = ".vpo-inplace-"
_NAME_MAX = 255
_JOURNAL_RE = re.compile(r"^\..*\.vpo-inplace-(\d+)(?:@([A-Za-z0-9.-]+?))?$", re.DOTALL)
_DIGEST = 32


class JournalError(OSError):
    """The journal could not be written (the file was not touched)."""


@dataclass(frozen=True)
class SavedState:
    """What a complete journal holds: enough to put the original back."""

    file: str
    size: int
    mtime_ns: int
    ino: int
    ranges: tuple[tuple[int, int], ...]
    payload: bytes

    def chunks(self) -> Iterable[tuple[int, bytes]]:
        at = 0
        for offset, length in self.ranges:
            yield offset, self.payload[at : at + length]
            at += length


def journal_path_for(path: Path, pid: int | None = None) -> Path:
    tag = f"{JOURNAL_MARKER}{pid if pid is not None else os.getpid()}@{this_host()}"
    room = _NAME_MAX - 1 - len(tag.encode("utf-8"))
    name = path.name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return path.with_name(f".{name}{tag}")


def is_journal_name(name: str) -> bool:
    return _JOURNAL_RE.match(name) is not None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, digest: hashlib._Hash) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    digest.update(data)


def write_journal(path: Path, layout: Layout, st: os.stat_result, pid: int | None = None) -> Path:
    """Save what an edit may touch, durably; the journal's path. Raises ``JournalError``.

    A journal that cannot be written whole (a full disk) is removed again: nothing
    was touched, nothing is left.
    """
    journal = journal_path_for(path, pid)
    ranges = layout.journal_ranges()
    header = json.dumps(
        {
            "version": 1,
            "file": path.name,
            "size": layout.file_size,
            "mtime_ns": st.st_mtime_ns,
            "ino": st.st_ino,
            "ranges": [list(r) for r in ranges],
            "pid": os.getpid() if pid is None else pid,
            "host": this_host(),
        },
        separators=(",", ":"),
    ).encode("utf-8", "surrogateescape")
    try:
        out = os.open(journal, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise JournalError(f"cannot create the in-place journal ({exc.strerror})") from None
    try:
        src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            digest = hashlib.sha256()
            _write_all(out, MAGIC + len(header).to_bytes(4, "big") + header, digest)
            for offset, length in ranges:
                data = os.pread(src, length, offset)
                if len(data) != length:
                    raise JournalError("the file got shorter while its journal was written")
                _write_all(out, data, digest)
            _write_all(out, digest.digest(), hashlib.sha256())
            os.fsync(out)
        finally:
            os.close(src)
    except (OSError, JournalError) as exc:
        os.close(out)
        with contextlib.suppress(OSError):
            os.unlink(journal)
        if isinstance(exc, JournalError):
            raise
        raise JournalError(
            f"cannot write the in-place journal {journal.name} ({exc.strerror or exc});"
            " nothing was changed"
        ) from None
    os.close(out)
    _fsync_dir(path.parent)
    return journal


def read_journal(journal: Path) -> SavedState | None:
    """The saved state, or ``None`` for a journal cut short (its edit never started)."""
    try:
        data = journal.read_bytes()
    except OSError:
        return None
    if len(data) < len(MAGIC) + 4 + _DIGEST or not data.startswith(MAGIC):
        return None
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        return None
    hlen = int.from_bytes(body[len(MAGIC) : len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    try:
        header = json.loads(body[start : start + hlen].decode("utf-8", "surrogateescape"))
        ranges = tuple((int(o), int(n)) for o, n in header["ranges"])
        state = SavedState(
            file=str(header["file"]),
            size=int(header["size"]),
            mtime_ns=int(header["mtime_ns"]),
            ino=int(header["ino"]),
            ranges=ranges,
            payload=body[start + hlen :],
        )
    except (ValueError, KeyError, TypeError):
        return None
    if sum(n for _o, n in ranges) != len(state.payload):
        return None
    return state


def restore(journal: Path) -> Path | None:
    """Put the original back from ``journal`` and remove it; the restored file, if any.

    A torn journal (its edit never started) is only removed. A journal whose file
    is gone or was replaced since (another inode) restores nothing: writing its
    bytes into another file would damage that file.
    """
    state = read_journal(journal)
    target = None if state is None else journal.with_name(state.file)
    if state is not None and target is not None:
        try:
            st = os.stat(target, follow_symlinks=False)
        except FileNotFoundError:
            target = None
        else:
            if st.st_ino != state.ino:
                target = None
            else:
                _put_back(target, state)
    os.unlink(journal)
    _fsync_dir(journal.parent)
    return target


def _put_back(target: Path, state: SavedState) -> None:
    fd = os.open(target, os.O_RDWR | os.O_CLOEXEC)
    try:
        for offset, chunk in state.chunks():
            view = memoryview(chunk)
            at = offset
            while view:
                written = os.pwrite(fd, view, at)
                view = view[written:]
                at += written
        os.ftruncate(fd, state.size)
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.utime(target, ns=(state.mtime_ns, state.mtime_ns))


def discard(journal: Path) -> None:
    """The edit is done and verified (or never started): the journal goes."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal)
    _fsync_dir(journal.parent)


def _dead(match: re.Match[str]) -> bool:
    return not owner_alive(int(match.group(1)), match.group(2))


def stale_edit_journals(
    roots: Iterable[Path], *, recursive: bool = False, live: bool = False
) -> list[Path]:
    """Journals of in-place edits whose process is gone (a live one is still editing).

    ``live=True``: the others, those of processes alive or on another host.
    """
    found: list[Path] = []
    for folder in folders_under(roots, recursive):
        try:
            names = [e.name for e in os.scandir(folder)]
        except OSError:
            continue
        for name in names:
            match = _JOURNAL_RE.match(name)
            if match is not None and _dead(match) != live:
                found.append(folder / name)
    return found


def journals_of(path: Path, *, live: bool = False) -> list[Path]:
    """Stale journals that belong to ``path`` (read from their header, or a torn one).

    ``live=True``: journals of ``path`` whose process may still be editing it
    (alive here, or on another host sharing the folder).
    """
    found: list[Path] = []
    for journal in stale_edit_journals([path.parent], live=live):
        named = journal.name.rsplit(JOURNAL_MARKER, 1)[0]  # ".name", maybe shortened
        if not f".{path.name}".startswith(named):
            continue
        state = read_journal(journal)
        if state is None or state.file == path.name:
            found.append(journal)
    return found


def restore_interrupted_edits(roots: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """Restore every file an in-place edit of a dead process left; the files restored."""
    restored: list[Path] = []
    for journal in stale_edit_journals(roots, recursive=recursive):
        try:
            target = restore(journal)
        except OSError:
            continue  # keep the journal: try again next time
        if target is not None:
            restored.append(target)
    return restored
