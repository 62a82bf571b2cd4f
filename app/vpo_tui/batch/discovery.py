"""Turn the paths a user gave into the sorted, de-duplicated list of video files to process.

Built on ``os.scandir`` (one syscall per directory, cached d_type) so 100,000 entries
take well under a second. Nothing here is fatal: a missing path, an unreadable folder
or a symlink loop becomes a ``DiscoveryProblem`` and the walk goes on.

A FIFO, socket or device named like a video file (given, or found in a folder) is
reported, never queued: opening a FIFO blocks until a writer appears. A folder named
``*.mkv`` is a folder: it is walked like any other. A file is queued once whatever
its names: symbolic links to it and hard links are told apart by real path and inode.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.engine.locks import not_regular, not_regular_message

DEFAULT_EXTENSIONS: tuple[str, ...] = (".mkv", ".mp4", ".m4v", ".mov", ".avi", ".webm")
# Well-known video extensions a user may have but not enabled: files with one of these
# are counted (not queued), so a folder of .ts files does not end in a silent "0 files".
OTHER_VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".ts", ".m2ts", ".mts", ".mpg", ".mpeg", ".vob", ".wmv", ".asf",
        ".flv", ".ogv", ".3gp", ".divx", ".rm", ".rmvb",
    }
)  # fmt: skip
TEMP_MARKER = ".vpo-tmp-"  # the engine's temp files: .name.vpo-tmp-<pid>@<host>-<rand>.ext


@dataclass(frozen=True)
class DiscoveryProblem:
    """A path that was not queued, and why.

    ``unreadable`` tells a path that could not be read (a folder without permission,
    a symlink loop, a path that vanished: something the user must act on, so headless
    exits 1) from one read fine and left out on purpose (a given file that is not a
    video, one of our temp files).
    """

    path: Path
    message: str
    unreadable: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Discovery:
    # sorted, one name per file: its real path, or the symbolic link it was only
    # reached through (the engine follows it)
    files: tuple[Path, ...]
    problems: tuple[DiscoveryProblem, ...]
    # (extension, count) of video files left out because their extension is not
    # enabled; most frequent first. Not a problem: said once, as a note.
    ignored: tuple[tuple[str, int], ...] = ()

    @property
    def ignored_count(self) -> int:
        return sum(n for _, n in self.ignored)

    def ignored_text(self) -> str:
        """``5 video files with other extensions were not considered (.ts 3, .wmv 2)``."""
        n = self.ignored_count
        if not n:
            return ""
        each = ", ".join(f"{ext} {count}" for ext, count in self.ignored)
        if n == 1:
            return f"1 video file with another extension was not considered ({each})"
        return f"{n} video files with other extensions were not considered ({each})"

    def ignored_note(self) -> str:
        """``ignored_text`` and how to include those files: the one line both front ends show."""
        if not self.ignored:
            return ""
        them = "it" if self.ignored_count == 1 else "them"
        return (
            f"{self.ignored_text()}; add {them} to [processing] extensions in config.toml "
            f"to include {them}"
        )

    def __iter__(self) -> Iterator[Path]:
        """Iterating gives the files, so callers that only need paths can ignore problems."""
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class _Found:
    inode: int  # for hard links: names sharing one are checked with stat
    link: str | None  # the symbolic link it was reached through, if only through one


def _add(found: dict[str, _Found], real: str, inode: int, link: str | None) -> None:
    """Record a file by its real path; a name that is no link wins over a link's."""
    seen = found.get(real)
    if seen is None:
        found[real] = _Found(inode, link)
    elif link is None:
        seen.link = None


def _is_vpo_temp(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def discover(
    paths: Iterable[Path | str],
    *,
    recursive: bool = True,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
) -> Discovery:
    """Video files under ``paths`` (files are taken as given if their extension fits)."""
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    found: dict[str, _Found] = {}
    problems: list[DiscoveryProblem] = []
    visited_dirs: set[str] = set()
    others = OTHER_VIDEO_EXTENSIONS.difference(exts)  # the user may have enabled some
    ignored: dict[str, int] = {}

    for given in paths:
        given_path = Path(given)
        raw = os.path.abspath(os.fspath(given_path))
        try:
            st = os.stat(raw)
        except FileNotFoundError:
            gone = "broken symbolic link" if os.path.islink(raw) else "no such file or folder"
            problems.append(DiscoveryProblem(given_path, gone))
            continue
        except OSError as exc:
            problems.append(DiscoveryProblem(given_path, _why(exc)))
            continue
        real = os.path.realpath(raw)
        kind = not_regular(st.st_mode)
        if kind == "a folder":
            _walk(real, recursive, exts, others, found, ignored, problems, visited_dirs)
        elif kind is not None:
            problems.append(
                DiscoveryProblem(given_path, not_regular_message(kind), unreadable=False)
            )
        elif _is_vpo_temp(os.path.basename(real)):
            problems.append(
                DiscoveryProblem(
                    given_path, "a vpo-tui temporary file, not queued", unreadable=False
                )
            )
        elif not real.lower().endswith(exts):
            ext = os.path.splitext(real)[1].lower()
            why = (
                f"{ext} is not among the extensions looked for ({', '.join(exts)}); "
                "add it to [processing] extensions in config.toml"
                if ext in others
                else f"not a video file by its extension (looking for {', '.join(exts)})"
            )
            problems.append(DiscoveryProblem(given_path, why, unreadable=False))
        else:
            _add(found, real, st.st_ino, raw if os.path.islink(raw) else None)
    files = _one_name_per_file({real: f.inode for real, f in found.items()}, problems)
    # a file reached only through a symbolic link is queued under the link's name:
    # the engine follows it and the result says "via link"
    names = sorted(found[real].link or real for real in files)
    return Discovery(
        files=tuple(Path(p) for p in names),
        problems=tuple(problems),
        ignored=tuple(sorted(ignored.items(), key=lambda item: (-item[1], item[0]))),
    )


def _walk(
    top: str,
    recursive: bool,
    exts: tuple[str, ...],
    others: frozenset[str],
    found: dict[str, _Found],
    ignored: dict[str, int],
    problems: list[DiscoveryProblem],
    visited: set[str],
) -> None:
    if top in visited:
        return
    visited.add(top)
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
        except OSError as exc:
            problems.append(DiscoveryProblem(Path(folder), f"cannot read folder: {_why(exc)}"))
            continue
        for entry in listing:
            name = entry.name
            if name.startswith("."):
                continue  # hidden files and folders, and our own temp files
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows symlinks
                is_file = not is_dir and entry.is_file()
            except OSError as exc:
                problems.append(DiscoveryProblem(Path(entry.path), _why(exc)))
                continue
            if is_dir:
                if not recursive:
                    if name.lower().endswith(exts):
                        problems.append(
                            DiscoveryProblem(
                                Path(entry.path),
                                "a folder named like a video file: not looked into "
                                "(--no-recursive)",
                                unreadable=False,
                            )
                        )
                    continue
                real = os.path.realpath(entry.path) if is_link else entry.path
                if is_link and (folder == real or folder.startswith(real + os.sep)):
                    problems.append(
                        DiscoveryProblem(
                            Path(entry.path), f"symbolic link loop (points back to {real})"
                        )
                    )
                    continue
                if real in visited:
                    continue
                visited.add(real)
                stack.append(real)
            elif is_file:
                lower = name.lower()
                if lower.endswith(exts):
                    if is_link:
                        real = os.path.realpath(entry.path)
                        _add(found, real, _inode(real), entry.path)
                    else:  # the inode number is in the listing: no syscall
                        _add(found, entry.path, entry.inode(), None)
                else:
                    ext = os.path.splitext(lower)[1]
                    if ext in others:
                        ignored[ext] = ignored.get(ext, 0) + 1
            elif name.lower().endswith(exts):
                problems.append(_not_a_file(entry.path))


def _one_name_per_file(found: dict[str, int], problems: list[DiscoveryProblem]) -> list[str]:
    """The sorted paths, with the first name of each file only: hard links are one file.

    Two workers given two names of one inode would race for the same lock (the
    second reported "locked by another process", which is false); processing it
    once and saying so is what happens instead. Only names sharing an inode number
    (from the listing, no syscall) are checked with ``stat``: same device, same inode.
    """
    by_inode: dict[int, int] = {}
    for ino in found.values():
        by_inode[ino] = by_inode.get(ino, 0) + 1
    first: dict[tuple[int, int], str] = {}
    kept: list[str] = []
    for path in sorted(found):
        if by_inode[found[path]] < 2 or not found[path]:
            kept.append(path)
            continue
        try:
            st = os.stat(path)
        except OSError:
            kept.append(path)  # the engine reports what became of it
            continue
        key = (st.st_dev, st.st_ino)
        if key in first:
            problems.append(
                DiscoveryProblem(
                    Path(path),
                    f"another name (a hard link) of {first[key]}: the file is processed "
                    "once, under that name; this name keeps the original",
                    unreadable=False,
                )
            )
            continue
        first[key] = path
        kept.append(path)
    return kept


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0  # unknown: never taken for another name of a file


def _not_a_file(path: str) -> DiscoveryProblem:
    """A name with a video extension that is neither a folder nor a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        broken = "symbolic link loop" if exc.errno == errno.ELOOP else "broken symbolic link"
        return DiscoveryProblem(Path(path), broken)
    kind = not_regular(mode) or "not a regular file"
    return DiscoveryProblem(Path(path), not_regular_message(kind), unreadable=False)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or str(exc)
