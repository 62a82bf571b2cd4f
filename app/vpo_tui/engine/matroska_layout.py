"""Where the parts of a Matroska file lie: the top level only, read with a tiny EBML reader.

An in-place edit (``engine/inplace.py``) must know which bytes ``mkvpropedit`` may
touch before it runs: everything that is not a Cluster (the EBML header, the
Segment's own header, SeekHead, Info, Tracks, Tags, Chapters, Attachments, Cues,
Void, ...). Those ranges and the Clusters between them tile the whole file; a
layout that does not (unknown sizes, an element running past the end, bytes after
the Segment, a second Segment) is refused, and the file takes the copy path.

Only element headers are read (a few bytes per Cluster), never the media data.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

EBML_ID = 0x1A45DFA3
SEGMENT_ID = 0x18538067
CLUSTER_ID = 0x1F43B675
# a Cluster's first bytes (its header and its Timestamp) go into its signature, so a
# write into the media data's start is seen without reading the media data
_CLUSTER_PEEK = 24
_MAX_ELEMENTS = 2_000_000  # a sanity bound: a 100 GB film has ~100k Clusters


class LayoutError(Exception):
    """The file's top-level layout cannot be read safely (the copy path is used)."""


@dataclass(frozen=True)
class Element:
    """One top-level element: where it starts, its header's length, its payload's length."""

    id: int
    offset: int
    header: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.header + self.size

    @property
    def is_cluster(self) -> bool:
        return self.id == CLUSTER_ID


@dataclass(frozen=True)
class Layout:
    """The file's size, its Segment's children in order, and what must be saved."""

    file_size: int
    segment: Element
    children: tuple[Element, ...]
    ebml_header: Element
    cluster_signature: str  # offsets, sizes and first bytes of every Cluster

    def saved_ranges(self) -> tuple[tuple[int, int], ...]:
        """``(offset, length)`` of every byte that is not inside a Cluster, merged.

        The EBML header, the Segment's header (its size field changes when an
        element grows) and each non-Cluster child.
        """
        spans = [
            (self.ebml_header.offset, self.ebml_header.end),
            (self.segment.offset, self.segment.offset + self.segment.header),
        ]
        spans += [(e.offset, e.end) for e in self.children if not e.is_cluster]
        return _merged(spans)

    def journal_ranges(self) -> tuple[tuple[int, int], ...]:
        """``saved_ranges`` plus each Cluster's first bytes (its header and Timestamp).

        The Cluster heads are what ``cluster_signature`` looks at: a stray write
        there is both seen and undone.
        """
        spans = [(o, o + n) for o, n in self.saved_ranges()]
        spans += [
            (e.offset, e.offset + min(_CLUSTER_PEEK, e.header + e.size))
            for e in self.children
            if e.is_cluster
        ]
        return _merged(spans)

    @property
    def saved_bytes(self) -> int:
        return sum(length for _offset, length in self.journal_ranges())


def _merged(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` spans as sorted, merged ``(offset, length)`` ranges."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end - start) for start, end in merged if end > start)


def _vint_length(first: int) -> int:
    for length in range(1, 9):
        if first & (0x80 >> (length - 1)):
            return length
    raise LayoutError("invalid EBML number (a zero first byte)")


def _read_id(data: bytes, at: int) -> tuple[int, int]:
    if at >= len(data):
        raise LayoutError("element header cut short")
    length = _vint_length(data[at])
    if length > 4 or at + length > len(data):
        raise LayoutError("invalid EBML element ID")
    return int.from_bytes(data[at : at + length], "big"), length


def _read_size(data: bytes, at: int) -> tuple[int | None, int]:
    """The size and its length; ``None`` for "unknown size" (all value bits set)."""
    if at >= len(data):
        raise LayoutError("element header cut short")
    length = _vint_length(data[at])
    if at + length > len(data):
        raise LayoutError("element size cut short")
    value = int.from_bytes(data[at : at + length], "big") & ((1 << (7 * length)) - 1)
    if value == (1 << (7 * length)) - 1:
        return None, length
    return value, length


def _element_at(fd: int, offset: int, limit: int, peek: int = 0) -> tuple[Element, bytes]:
    """The element starting at ``offset`` (which must end by ``limit``) and its first bytes."""
    data = os.pread(fd, 12 + peek, offset)
    ident, id_len = _read_id(data, 0)
    size, size_len = _read_size(data, id_len)
    if size is None:
        raise LayoutError(f"element 0x{ident:X} at byte {offset} has an unknown size")
    element = Element(ident, offset, id_len + size_len, size)
    if element.end > limit:
        raise LayoutError(f"element 0x{ident:X} at byte {offset} runs past the end")
    return element, data[: min(len(data), element.header + element.size)]


def read_layout(path: Path) -> Layout:
    """Read the top-level layout of the Matroska file at ``path`` (headers only)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        file_size = os.fstat(fd).st_size
        ebml, _ = _element_at(fd, 0, file_size)
        if ebml.id != EBML_ID:
            raise LayoutError("not a Matroska/EBML file (no EBML header)")
        segment, _ = _element_at(fd, ebml.end, file_size)
        if segment.id != SEGMENT_ID:
            raise LayoutError("no Segment after the EBML header")
        if segment.end != file_size:
            raise LayoutError(
                f"the Segment ends at byte {segment.end}, the file at {file_size}"
                " (bytes after it, or a second Segment)"
            )
        children: list[Element] = []
        digest = hashlib.sha256()
        at = segment.offset + segment.header
        while at < segment.end:
            if len(children) >= _MAX_ELEMENTS:
                raise LayoutError("too many top-level elements")
            child, first = _element_at(fd, at, segment.end, _CLUSTER_PEEK)
            if child.id in (EBML_ID, SEGMENT_ID):
                raise LayoutError(f"a nested EBML header or Segment at byte {at}")
            if child.is_cluster:
                digest.update(f"{child.offset}:{child.size}:".encode() + first)
            children.append(child)
            at = child.end
        return Layout(file_size, segment, tuple(children), ebml, digest.hexdigest())
    except OSError as exc:
        raise LayoutError(f"cannot read the layout ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
