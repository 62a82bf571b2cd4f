"""A flags-only change without copying the film: journaled in-place ``mkvpropedit``.

``mkvpropedit`` rewrites a few header bytes (flags, languages, titles); copying a
4 GB film to change 20 bytes is what made such a batch slow and space-hungry.
Where it is safe, the edit runs on the original instead, under an undo journal
(``edit_journal``): the bytes it may touch are saved and made durable first, so a
crash at any moment leaves the finished file or a journal that puts the original
back byte for byte. The media data (the Clusters) is never written: the edit is
checked to have stayed in the saved ranges (or past the old end, which restoring
cuts off); if it did not, the original is restored and the copy path runs.

Where the filesystem can clone, the clone path is taken instead (today's protocol,
at no cost). Never in place, and the plan says why: ``[safety] in_place = "never"``,
backups wanted (a backup needs its own bytes), a file with other hard links (a seeding
torrent must keep its exact bytes), a file another program has open for writing,
or a layout that cannot be read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from vpo_tui.engine import edit_journal
from vpo_tui.engine.clone import device_can_clone
from vpo_tui.engine.locks import FileLocked
from vpo_tui.engine.matroska_layout import Layout, LayoutError, read_layout
from vpo_tui.engine.writers import open_for_writing

IN_PLACE_MODES = ("auto", "never")
CLONE_REASON = "on a clone: this filesystem makes instant copies that take no space"
_T = TypeVar("_T")


class InPlaceRefused(FileLocked):
    """The file changed under us before the edit; nothing of ours is left in it.

    Reported like a file another program holds: skipped, left as it is.
    """


class EditStrayed(Exception):
    """The edit went outside the saved ranges (media data moved); the original is back."""


@dataclass(frozen=True)
class InPlaceChoice:
    """Whether a flags-only change is made in place, and why (shown by a dry run)."""

    layout: Layout | None  # set when the edit is made in place
    reason: str

    @property
    def in_place(self) -> bool:
        return self.layout is not None


def writers_of(path: Path) -> list[int]:
    """Other processes that hold ``path`` open for writing (those ``/proc`` lets us see).

    A file with other names (hard links) never gets here, so its one name is
    enough to find it.
    """
    found = open_for_writing([path], skip_pid=os.getpid())
    return list(found.values())


def choose(path: Path, st: os.stat_result, mode: str, keep_backups: bool) -> InPlaceChoice:
    """In place, or on a copy and why; reads only the file's element headers."""
    if mode == "never":
        return InPlaceChoice(None, 'on a copy: [safety] in_place = "never"')
    if keep_backups:
        return InPlaceChoice(None, "on a copy: keep_backups needs the original's own bytes")
    if device_can_clone(path.parent, st.st_dev):
        return InPlaceChoice(None, CLONE_REASON)
    if st.st_nlink > 1:
        return InPlaceChoice(
            None,
            f"on a copy: the file has {st.st_nlink} hard links, whose other names"
            " must keep their exact bytes",
        )
    writers = writers_of(path)
    if writers:
        pids = ", ".join(str(p) for p in writers[:3])
        return InPlaceChoice(
            None, f"on a copy: another program (pid {pids}) has it open for writing"
        )
    try:
        layout = read_layout(path)
    except LayoutError as exc:
        return InPlaceChoice(
            None, f"on a copy: its Matroska layout cannot be edited in place ({exc})"
        )
    return InPlaceChoice(
        layout,
        f"in place, journaled: {layout.saved_bytes:,} header bytes saved, the media data untouched",
    )


def _unchanged(path: Path, st: os.stat_result, journal: Path) -> bool:
    """Still the file that was read: same size, mtime, inode, and the saved bytes."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    if (now.st_size, now.st_mtime_ns, now.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
        return False
    state = edit_journal.read_journal(journal)
    if state is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return all(os.pread(fd, len(chunk), offset) == chunk for offset, chunk in state.chunks())
    finally:
        os.close(fd)


@contextlib.contextmanager
def _restoring(journal: Path) -> Iterator[None]:
    """On any error or cancel, put the original back before the error goes on."""
    try:
        yield
    except BaseException:
        edit_journal.restore(journal)
        raise


def _check_stayed_inside(path: Path, before: Layout) -> None:
    """The edit wrote only saved bytes (or past the old end): the Clusters are as they were."""
    try:
        after = read_layout(path)
    except LayoutError as exc:
        raise EditStrayed(f"the edited file's layout cannot be read ({exc})") from None
    if after.cluster_signature != before.cluster_signature:
        raise EditStrayed("the edit moved or wrote media data")
    inside = [e for e in after.children if e.offset < before.file_size and not e.is_cluster]
    saved = before.saved_ranges()
    for element in inside:
        home = next(((o, n) for o, n in saved if o <= element.offset < o + n), None)
        if home is None:
            raise EditStrayed("the edit wrote outside the saved header ranges")
        end = home[0] + home[1]
        # an element may grow past the old end of the file (restoring cuts it off)
        if element.end > end and end != before.file_size:
            raise EditStrayed("the edit wrote outside the saved header ranges")


def edit(
    path: Path,
    st: os.stat_result,
    layout: Layout,
    run_edit: Callable[[], None],
    verify: Callable[[], _T],
    *,
    after_journal: Callable[[], None] | None = None,
) -> _T:
    """Journal, edit in place, check, verify, make durable, drop the journal.

    Raises ``edit_journal.JournalError`` (nothing touched), ``InPlaceRefused`` (the
    file changed under us: nothing of ours in it), ``EditStrayed`` (original back:
    take the copy path), or whatever ``run_edit``/``verify`` raise (original back).
    ``after_journal`` is a test's window between the journal and the edit.
    """
    journal = edit_journal.write_journal(path, layout, st)
    if after_journal is not None:
        after_journal()
    if not _unchanged(path, st, journal):
        edit_journal.discard(journal)
        raise InPlaceRefused(
            f"{path}: changed by another program while it was being prepared; left as it is"
        )
    with _restoring(journal):
        run_edit()
        _check_stayed_inside(path, layout)
        result = verify()
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    edit_journal.discard(journal)
    return result
