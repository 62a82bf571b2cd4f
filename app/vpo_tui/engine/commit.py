"""Writing safely: the owned temp output, the write claim, and the commit.

The original is never touched before the commit: tools write into an owned temp
file in the same folder (mkvpropedit edits a *copy*), and only a verified temp
output replaces the original, atomically, after checking the original is still
the file that was read. ``engine/safety.py`` holds the names, journal and
free-space rules these steps use.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from vpo_tui.engine.clone import CopyMethod, clone_or_copy
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileFailure, ProgressUpdate
from vpo_tui.engine.locks import FileLocked
from vpo_tui.engine.safety import (
    backup_path_for,
    fingerprint_of,
    fsync_dir,
    temp_path_for,
    write_journal,
)
from vpo_tui.policy.planned import Plan

# A hold on the right to write one file, beyond this host (see ``process_file``):
# entered just before the first write, it raises ``FileLocked`` if another holds it.
WriteClaim = Callable[[Path], contextlib.AbstractContextManager[None]]
_COPY_CHUNK = 4 * 1024 * 1024


class CommitError(Exception):
    """The verified output could not be put in place (the original is kept)."""


def fingerprint(path: Path) -> tuple[int, int]:
    """Size and mtime of ``path``, as the history records a written file."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns)


def output_path(path: Path, plan: Plan) -> Path:
    """The final name: the original's, or the same stem with the new container's suffix
    (or the plan's suffix: Matroska content named .mp4 becomes .mkv)."""
    if plan.suffix is not None:
        return path.with_suffix(plan.suffix)
    if plan.container == plan.source.container:
        return path
    return path.with_suffix("." + plan.container)


def moved_since(path: Path, original: os.stat_result) -> Literal["gone", "changed"] | None:
    """Whether ``path`` is still the file that was read (size, mtime, inode).

    Asked before writing (under a write claim) and again before the commit.
    """
    try:
        now = path.stat()
    except FileNotFoundError:
        return "gone"
    same = (now.st_size, now.st_mtime_ns, now.st_ino) == (
        original.st_size,
        original.st_mtime_ns,
        original.st_ino,
    )
    return None if same else "changed"


@contextlib.contextmanager
def claimed(path: Path, original: os.stat_result, claim: WriteClaim | None) -> Iterator[None]:
    """Hold ``claim`` while writing; the file must still be the one that was probed.

    Taken only now, when the plan is known to write, so that files that are only
    read (compliant, skipped, a dry run) cost no round trip to whoever grants it.
    Another run may have converted the file between our probe and this moment.
    """
    if claim is None:
        yield
        return
    with claim(path):
        moved = moved_since(path, original)
        if moved == "gone":
            raise FileLocked(f"{path}: already processed by another vpo-tui run")
        if moved == "changed":
            raise FileLocked(
                f"{path}: changed since it was probed (by another vpo-tui run or another"
                " program); left as it is"
            )
        yield


@contextlib.contextmanager
def owned_temp(original: Path, suffix: str) -> Iterator[Path]:
    """Create our temp file exclusively; remove it on the way out unless it was committed."""
    temp = temp_path_for(original, suffix)
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except PermissionError:
        raise FileFailure(
            f"{original}: cannot write in folder {original.parent} (permission denied)"
        ) from None
    except OSError as exc:
        raise FileFailure(
            f"{original}: cannot create a temp file in {original.parent} ({exc.strerror})"
        ) from None
    os.close(fd)
    try:
        yield temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def copy_cancellable(source: Path, target: Path, control: FileControl) -> CopyMethod:
    """mkvpropedit's working copy: a clone where the filesystem can, else a copy.

    A real copy checks for cancel as it goes; a clone is instant.
    """
    total = max(source.stat().st_size, 1)

    def tick(done: int) -> None:
        control.check()
        control.progress(ProgressUpdate("run", min(done / total, 1.0) * 0.5))

    return clone_or_copy(source, target, tick)


def commit(
    path: Path, final: Path, temp: Path, original: os.stat_result, settings: EngineSettings
) -> None:
    """Put the verified temp output in place; the original goes only after it is."""
    moved = moved_since(path, original)
    if moved == "gone":
        raise CommitError(f"{path}: the original vanished while it was being processed")
    if moved == "changed":
        raise CommitError(
            f"{path}: the original changed while it was being processed; left as it is"
        )
    _fsync_file(temp)
    os.chmod(temp, stat.S_IMODE(original.st_mode))
    with contextlib.suppress(PermissionError, OSError):
        os.chown(temp, original.st_uid, original.st_gid)
    if settings.keep_backups:
        backup = backup_path_for(path)
        try:
            os.link(path, backup)
        except OSError:  # cross-device or no hard links here: a real copy
            _copy_plain(path, backup)
    if final == path:
        os.replace(temp, path)
        fsync_dir(path.parent)
        return
    # A container change is two steps (new name in, old name out): journal it so a
    # crash between them is finished by the next start-up, not left as two files.
    journal = write_journal(path, fingerprint_of(original), final, fingerprint_of(os.stat(temp)))
    try:
        try:
            os.link(temp, final)  # never clobbers: fails if the name appeared meanwhile
        except FileExistsError:
            raise CommitError(
                f"{path}: cannot write {final.name}: a file with that name already exists"
            ) from None
        except OSError:
            if final.exists():
                raise CommitError(f"{path}: cannot write {final.name}: it already exists") from None
            os.rename(temp, final)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        fsync_dir(path.parent)
        os.unlink(path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(journal)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_plain(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(_COPY_CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
