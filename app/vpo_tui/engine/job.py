"""The engine's contract with the batch layer: one job in, one plain result out.

Everything here is frozen and picklable, so the per-file work can run on a
thread today and on another executor (another process, a cluster) later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

from vpo_tui.policy.model import Policy

# Who reads a file (engine/probe.py): PyAV in a helper process where it can, or ffprobe.
ProbeBackend = Literal["auto", "pyav", "ffprobe"]


class FileFailure(Exception):
    """A per-file failure that is the file's result, not a bug (with the tool's stderr tail)."""

    def __init__(self, message: str, stderr_tail: str | None = None) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class FileStatus(str, Enum):
    """The outcome of one file. These names are part of the ``--json`` output."""

    OK = "ok"  # changed and verified
    UNCHANGED = "unchanged"  # already compliant, nothing written
    PLANNED = "planned"  # dry run: changes shown, nothing written
    FAILED = "failed"
    SKIPPED = "skipped"  # locked by another process, or the policy says skip
    CANCELLED = "cancelled"  # stopped before it started, or killed while running


class StopReason(str, Enum):
    """Why a batch ended before its last file. The values are part of ``--json`` and the history."""

    FAILURE = "failure"  # on_error = fail and a file failed
    USER = "stop"  # the user asked to stop: running files finish
    KILL = "kill"  # the user killed the running files
    CLUSTER_LOST = "scheduler lost"  # the Dask scheduler went away mid-batch

    @property
    def outcome(self) -> str:
        """How the batch ended, in the words every front end and the history show."""
        return _OUTCOMES[self]

    @property
    def by_user(self) -> bool:
        """Stopped or killed by the user: an interruption, not a failure."""
        return self in (StopReason.USER, StopReason.KILL)


_OUTCOMES = {
    StopReason.FAILURE: "stopped at a failure",
    StopReason.USER: "stopped",
    StopReason.KILL: "killed",
    StopReason.CLUSTER_LOST: "lost the Dask scheduler",
}


@dataclass(frozen=True)
class ToolPaths:
    """Where the four tools live; ``None`` means "look on PATH"."""

    ffprobe: str | None = None
    ffmpeg: str | None = None
    mkvmerge: str | None = None
    mkvpropedit: str | None = None


@dataclass(frozen=True)
class EngineSettings:
    """Everything the engine needs besides the file and the policy."""

    tools: ToolPaths = field(default_factory=ToolPaths)
    keep_backups: bool = False
    space_margin: float = 0.05  # extra free space required, as a fraction of the estimate
    min_free_bytes: int = 64 * 1024 * 1024  # and at least this much on top
    tool_timeout_s: float | None = None  # None = no timeout (transcodes can take hours)
    stall_s: float | None = None  # a tool with no output for this long is killed ("stalled")
    max_size_ratio: float = 1.0  # a transcode larger than this times the source is not kept
    kill_grace_s: float = 3.0  # TERM, then KILL after this long
    duration_tolerance_s: float = 1.0
    # "auto": a flags-only change is edited in place under a journal where that is
    # safe (see engine/inplace.py); "never": always on a copy (a clone where possible)
    in_place: str = "auto"
    # who reads files: PyAV in a helper (ffprobe where it cannot), or ffprobe: engine/probe.py
    probe_backend: ProbeBackend = "auto"


@dataclass(frozen=True)
class KnownProbe:
    """A probe of a file made earlier (a preview, a dry run), with the file it belongs to.

    ``fingerprint`` is ``(size, mtime_ns, inode, ctime_ns)`` of the file when it was
    probed; the engine reuses ``record`` (``probe_with_ends``'s JSON text) only if
    the file still has exactly that fingerprint, else it probes again. Plain data,
    so it travels in a ``FileJob`` to any executor and into the history's cache.
    """

    fingerprint: tuple[int, int, int, int]
    record: str

    @staticmethod
    def fingerprint_of(st: os.stat_result) -> tuple[int, int, int, int]:
        """What must not change for a kept probe to still describe the file."""
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


@dataclass(frozen=True)
class FileJob:
    """One file to bring into line with one policy.

    ``known`` is the file's probe from a preview or dry run, when there is one.
    """

    path: Path
    policy: Policy
    settings: EngineSettings = field(default_factory=EngineSettings)
    dry_run: bool = False
    known: KnownProbe | None = None


@dataclass(frozen=True)
class ProgressUpdate:
    """How far one file has got. ``fraction`` is 0..1 within the current stage."""

    stage: str  # "lock" | "probe" | "plan" | "run" | "verify" | "commit"
    fraction: float = 0.0
    fps: float | None = None
    speed: float | None = None  # x realtime
    eta_s: float | None = None
    # The file's playing time once probed: weighs its share of a batch's progress.
    duration_s: float | None = None
    worker: str | None = None  # the host running the file, when it runs on a cluster


@dataclass(frozen=True)
class FileResult:
    """The plain result of one file, as shown, stored and serialised.

    ``fingerprint`` is ``(size, mtime_ns)`` of the final file when it is known to
    comply with the policy (ok/unchanged), so a re-run can skip it unprobed.
    ``before``/``after`` are short track summaries (one string per track).
    ``probe`` is the source's probe (made or reused), for the next run to reuse.
    ``source_size`` is the original's size in bytes when it was read (the report
    weighs space saved or spent with it).
    """

    path: Path
    status: FileStatus
    changes: tuple[str, ...] = ()
    error: str | None = None
    stderr_tail: str | None = None
    duration_s: float = 0.0
    output_path: Path | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    pass_kind: str = "none"
    fingerprint: tuple[int, int] | None = None
    probe: KnownProbe | None = None
    # how a flags-only change writes (or would, in a dry run), and why: "in place,
    # journaled: ..." or "on a copy: the file has 2 hard links ..."
    how: str | None = None
    # ``path`` is a symbolic link and this is the file it leads to, the one processed
    link_target: Path | None = None
    source_size: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """Totals and per-file results of one batch, in queue order.

    It lives beside ``FileResult`` (not in the batch layer) because the history
    store records it, and the store sits below the batch layer.
    """

    files: tuple[FileResult, ...]
    duration_s: float
    stopped_early: bool
    workers: int
    dry_run: bool
    batch_id: int | None = None
    stop_reason: StopReason | None = None  # why the batch ended early, if it did

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status is status)

    @property
    def totals(self) -> dict[str, int]:
        """``{"ok": n, "unchanged": n, ...}`` for every status, zeros included."""
        return {s.value: self.count(s) for s in FileStatus}
