"""Guard rails around writing: owned temp names, free space, stale-temp sweep.

A temp file is always in the *same folder* as the original (so the final
``os.replace`` is atomic) and is named ``.{name}.vpo-tmp-{pid}@{host}-{rand}{suffix}``:
hidden, recognisable, and owned by a process id on a host, so a later start-up can
tell a leftover of a dead process from the work of a live one, and never mistakes
a live process on another machine (a cluster node on shared storage) for a dead
one here. Names without ``@host`` (older versions) belong to this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.ownership import owner_alive, this_host

NAME_MAX = 255
TEMP_MARKER = ".vpo-tmp-"
JOURNAL_MARKER = ".vpo-commit-"
BACKUP_MARKER = ".vpo-backup"
_HOST = r"(?:@([A-Za-z0-9.-]+?))?"
_TEMP_RE = re.compile(rf"^\..*\.vpo-tmp-(\d+){_HOST}-[0-9a-f]+(\.[^.]*)?$", re.DOTALL)
_JOURNAL_RE = re.compile(rf"^\..*\.vpo-commit-(\d+){_HOST}$", re.DOTALL)


class InsufficientSpaceError(Exception):
    """Not enough free space in the target folder for the output."""


def _shorten(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def temp_path_for(original: Path, suffix: str) -> Path:
    """A fresh owned temp name next to ``original`` that fits ``NAME_MAX``."""
    tag = f"{TEMP_MARKER}{os.getpid()}@{this_host()}-{secrets.token_hex(4)}{suffix}"
    room = NAME_MAX - 1 - len(tag.encode("utf-8"))
    name = _shorten(original.name, room)
    return original.with_name(f".{name}{tag}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` looks like one of our temp files (any owner)."""
    return _TEMP_RE.match(name) is not None


def temp_owner(name: str) -> int | None:
    match = _TEMP_RE.match(name)
    return int(match.group(1)) if match else None


def _owner_alive(match: re.Match[str]) -> bool:
    return owner_alive(int(match.group(1)), match.group(2))


def backup_path_for(original: Path) -> Path:
    """A visible backup name no media scan picks up: ``movie.mkv.vpo-backup[-N]``."""
    room = NAME_MAX - len(BACKUP_MARKER) - 8
    base = _shorten(original.name, room)
    candidate = original.with_name(f"{base}{BACKUP_MARKER}")
    counter = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = original.with_name(f"{base}{BACKUP_MARKER}-{counter}")
        counter += 1
    return candidate


def stale_temp_files(roots: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """Our temp files whose owning process is gone (looking only: a dry run counts them).

    Files of live processes (including this one) are not stale. Folders that
    cannot be read are skipped.
    """
    stale: list[Path] = []
    for folder in folders_under(roots, recursive):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            owner = _TEMP_RE.match(entry.name)
            with contextlib.suppress(OSError):
                if (
                    owner is not None
                    and not _owner_alive(owner)
                    and entry.is_file(follow_symlinks=False)
                ):
                    stale.append(Path(entry.path))
    return stale


def sweep_stale_temp_files(roots: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """Remove ``stale_temp_files``; return what was removed (a best-effort clean-up)."""
    removed: list[Path] = []
    for path in stale_temp_files(roots, recursive=recursive):
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed.append(path)
    return removed


# -- the commit journal of a container change ------------------------------------
#
# A container change cannot be one atomic rename: x.mkv is put in place, then x.mp4
# is removed. A crash between the two leaves both, and every later run would refuse
# x.mp4 ("x.mkv already exists"). So before the new name appears the engine writes
# a small journal naming both files and their fingerprints; the start-up recovery
# finishes (or drops) the commits of dead processes.

Fingerprint = tuple[int, int, int]  # size, mtime_ns, inode


def fingerprint_of(st: os.stat_result) -> Fingerprint:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def journal_path_for(original: Path) -> Path:
    tag = f"{JOURNAL_MARKER}{os.getpid()}@{this_host()}"
    room = NAME_MAX - 1 - len(tag.encode("utf-8"))
    return original.with_name(f".{_shorten(original.name, room)}{tag}")


def write_journal(original: Path, source: Fingerprint, output: Path, produced: Fingerprint) -> Path:
    """Record (durably) that ``output`` is the verified replacement of ``original``."""
    journal = journal_path_for(original)
    data = {
        "original": original.name,
        "source": source,
        "output": output.name,
        "produced": produced,
        "pid": os.getpid(),
        "host": this_host(),
    }
    with open(journal, "x", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(original.parent)
    return journal


def fsync_dir(folder: Path) -> None:
    """Make a rename/link/unlink in ``folder`` durable (where the filesystem can)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory
        pass
    finally:
        os.close(fd)


def _stat_fingerprint(path: Path) -> Fingerprint | None:
    try:
        return fingerprint_of(path.stat())
    except OSError:
        return None


def finish_interrupted_commits(
    roots: Iterable[Path], *, recursive: bool = False
) -> list[tuple[Path, Path]]:
    """Complete the container changes that a dead process left half done.

    Only when both files are exactly what the journal says (the output is the one
    that was verified, the original is untouched since it was probed) is the
    original removed; otherwise both files are left for the user and only the
    journal goes. Returns ``(removed original, its replacement)`` pairs.
    """
    finished: list[tuple[Path, Path]] = []
    for journal in stale_journals(roots, recursive=recursive):
        try:
            done = _finish_commit(journal)
        except OSError:
            continue  # keep the journal: try again next time
        if done is not None:
            finished.append(done)
        with contextlib.suppress(OSError):
            os.unlink(journal)
    return finished


def stale_journals(roots: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """Commit journals of dead processes (a live run is in the middle of its commit)."""
    stale: list[Path] = []
    for folder in folders_under(roots, recursive):
        try:
            journals = [Path(e.path) for e in os.scandir(folder) if _JOURNAL_RE.match(e.name)]
        except OSError:
            continue
        for journal in journals:
            match = _JOURNAL_RE.match(journal.name)
            if match is not None and not _owner_alive(match):
                stale.append(journal)
    return stale


def _finish_commit(journal: Path) -> tuple[Path, Path] | None:
    """Remove the original named by ``journal`` if both files are as recorded."""
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        original = journal.with_name(str(data["original"]))
        output = journal.with_name(str(data["output"]))
        source, produced = tuple(data["source"]), tuple(data["produced"])
    except (ValueError, KeyError, TypeError):
        return None  # unreadable journal: leave both files alone
    if original == output:
        return None
    if _stat_fingerprint(output) != produced or _stat_fingerprint(original) != source:
        return None  # something changed since: the user decides
    os.unlink(original)
    fsync_dir(journal.parent)
    return original, output


def folders_under(roots: Iterable[Path], recursive: bool) -> list[Path]:
    """Each root (a file's own folder) and, if recursive, the folders below it; each once."""
    folders: list[Path] = []
    for root in roots:
        root = Path(root)
        if recursive and root.is_dir():
            folders += [Path(dirpath) for dirpath, _dirs, _files in os.walk(root)]
        else:
            folders.append(root if root.is_dir() else root.parent)
    return list(dict.fromkeys(folder.absolute() for folder in folders))


@dataclass(frozen=True)
class SpaceNeed:
    """How much the output needs, and how much is free, in bytes."""

    needed: int
    free: int

    @property
    def enough(self) -> bool:
        return self.free >= self.needed


def required_space(estimate: int, margin: float, min_free: int) -> int:
    """The estimate plus the configured margin and floor."""
    return int(estimate * (1 + margin)) + min_free


def check_free_space(folder: Path, needed: int) -> SpaceNeed:
    """Raise ``InsufficientSpaceError`` naming the folder and the numbers."""
    free = shutil.disk_usage(folder).free
    need = SpaceNeed(needed, free)
    if not need.enough:
        raise InsufficientSpaceError(
            f"not enough free space in {folder}: need {_mib(needed)}, {_mib(free)} free"
        )
    return need


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
