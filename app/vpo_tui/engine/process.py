"""One file end to end: lock → probe → plan → pre-check → run → verify → commit.

This is the safe-write protocol of DESIGN.md. The original is never touched
before the commit step: every tool writes into an owned temp file in the same
folder, the temp output is verified against the plan, and only then replaces the
original atomically. On any error, timeout or cancel the temp file is removed and
the original is byte-identical. ``process_file`` never raises for a per-file problem.

The one exception is a flags-only change (``mkvpropedit``): where it is safe it is
made on the original under an undo journal (``flags_edit``, ``inplace``), which
puts the original back byte for byte on any error, cancel or crash; elsewhere
mkvpropedit edits a copy (a clone where the filesystem can make one).

Each step lives in its own room: the probe and its reuse (``known``), truncation
detection (``extent``), the tool pass (``passes``), verification (``verify``)
and the commit (``commit``). This module only puts them in order.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from vpo_tui.engine import commands, flags_edit
from vpo_tui.engine.clone import CopyMethod
from vpo_tui.engine.commit import (
    CommitError,
    WriteClaim,
    claimed,
    commit,
    fingerprint,
    output_path,
    owned_temp,
)
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.extent import Extent, probe_output, source_extent
from vpo_tui.engine.inplace import CLONE_REASON, InPlaceChoice
from vpo_tui.engine.job import (
    EngineSettings,
    FileFailure,
    FileJob,
    FileResult,
    FileStatus,
    KnownProbe,
    ProgressUpdate,
)
from vpo_tui.engine.known import Probed, kept_identify, probe_source, with_identify
from vpo_tui.engine.links import container_change_refusal, link_target, other_names_note
from vpo_tui.engine.locks import FileLock, FileLocked
from vpo_tui.engine.passes import run_mkvpropedit_in_place, run_pass, settle_pass, tools_for
from vpo_tui.engine.probe import ProbeError
from vpo_tui.engine.run import ToolError
from vpo_tui.engine.safety import InsufficientSpaceError, check_free_space, required_space
from vpo_tui.engine.tools import MissingToolError, require_tools
from vpo_tui.engine.verify import VerifyError, larger_output, verify
from vpo_tui.media import MediaInfo, Track
from vpo_tui.policy.planned import PassKind, Plan, PlanError

__all__ = ["CommitError", "WriteClaim", "apply_plan", "process_file", "summarize"]


def process_file(
    job: FileJob, control: FileControl | None = None, *, claim: WriteClaim | None = None
) -> FileResult:
    """Bring one file into line with ``job.policy``; never raises for a per-file problem.

    The file's ``flock`` is held throughout. ``claim`` is a second, wider lock for
    hosts that share the folder over a network filesystem (where ``flock`` is not
    reliable): the cluster executor passes one, held from the first write to the
    commit.
    """
    started = time.monotonic()
    control = control or FileControl()
    control.stall_s = job.settings.stall_s
    given = Path(job.path).absolute()
    target = link_target(given)  # a symbolic link is followed: its file is processed
    path = target or given

    def work() -> FileResult:
        _stage(control, "lock")
        tools = require_tools(job.settings.tools, ("ffprobe",))
        lock = _open_lock(path)
        try:
            # an in-place edit of a dead process left a journal: the original first
            flags_edit.refuse_if_edited_elsewhere(path)
            pending = flags_edit.pending_restore(path)
            if pending is not None and job.dry_run:
                return FileResult(path, FileStatus.PLANNED, (pending,), how=pending)
            if pending is not None:
                flags_edit.restore_interrupted(path)
            original = path.stat()
            _stage(control, "probe")
            probed = probe_source(job, path, original, tools["ffprobe"], control)
            _stage(control, "plan", duration_s=probed.media.duration)
            plan = _make_plan(job, probed.media)
            if target is not None and not plan.compliant and plan.skip_reason is None:
                final = output_path(path, plan)
                if final != path:
                    refusal = container_change_refusal(given, target, final)
                    return FileResult(path, FileStatus.SKIPPED, plan.changes, error=refusal)
            result = _decide(job, path, plan, original, probed, control, claim)
            result = dataclasses.replace(result, source_size=original.st_size)
            # the next run may reuse this probe, unless this run changed the file
            if result.status is FileStatus.OK or result.probe is not None:
                return result
            return dataclasses.replace(result, probe=probed.known)
        finally:
            lock.release()

    result = _guarded(path, started, work)
    if target is None:
        return result
    return dataclasses.replace(result, path=given, link_target=target)


def apply_plan(
    plan: Plan, settings: EngineSettings | None = None, control: FileControl | None = None
) -> FileResult:
    """Carry out an already-made plan on ``plan.source.path`` with the same protocol.

    For callers (tests, a preview that was confirmed) that hold a ``Plan``; the
    file must still be the one that was probed (same size), else nothing happens.
    """
    started = time.monotonic()
    settings = settings or EngineSettings()
    control = control or FileControl()
    control.stall_s = settings.stall_s
    path = Path(plan.source.path).absolute()

    def work() -> FileResult:
        _stage(control, "lock")
        lock = _open_lock(path)
        try:
            flags_edit.refuse_if_edited_elsewhere(path)
            if flags_edit.restore_interrupted(path):  # the plan was made on a half edit
                raise CommitError(
                    f"{path}: restored the original after an interrupted in-place edit; plan again"
                )
            original = path.stat()
            if original.st_size != plan.source.size:
                raise CommitError(f"{path}: changed since it was probed; plan again")
            return _execute(path, plan, settings, control, original)
        finally:
            lock.release()

    return _guarded(path, started, work)


def _decide(
    job: FileJob,
    path: Path,
    plan: Plan,
    original: os.stat_result,
    probed: Probed,
    control: FileControl,
    claim: WriteClaim | None = None,
) -> FileResult:
    """Skip, nothing to do, dry run or run, as the plan says."""
    before = tuple(summarize(t) for t in plan.source.tracks)
    if plan.skip_reason is not None:
        return FileResult(
            path,
            FileStatus.SKIPPED,
            plan.changes,
            error=plan.skip_reason,  # names the file already
            before=before,
        )
    if plan.compliant:
        return FileResult(
            path,
            FileStatus.UNCHANGED,
            before=before,
            after=before,
            output_path=path,
            fingerprint=(original.st_size, original.st_mtime_ns),
        )
    if job.dry_run:
        return _dry_run(path, plan, job.settings, control, original, probed)
    return _execute(path, plan, job.settings, control, original, probed, claim)


def _execute(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: Probed | None = None,
    claim: WriteClaim | None = None,
) -> FileResult:
    cleared = _precheck(path, plan, settings, control, original, probed)
    if isinstance(cleared, FileResult):
        return cleared
    plan, tools, final = cleared.plan, cleared.tools, cleared.final
    choice = cleared.choice
    how = choice.reason if choice is not None else None
    if choice is not None and choice.in_place:
        done = _in_place(path, cleared, settings, control, original, claim)
        if done is not None:
            return done
        how = "on a copy: mkvpropedit would have moved media data (the original was restored)"
    suffix = final.suffix or path.suffix
    with claimed(path, original, claim), owned_temp(path, suffix) as temp:
        _stage(control, "run")
        method = run_pass(plan, path, temp, tools, cleared.ids, settings, control)
        _stage(control, "verify")
        output = _checked(plan, temp, tools, settings, control, cleared.source)
        larger = larger_output(plan, original.st_size, temp.stat().st_size, settings.max_size_ratio)
        if larger is not None:  # the temp goes on the way out; the original stays
            return FileResult(
                path,
                FileStatus.SKIPPED,
                plan.changes,
                error=f"{path}: {larger}",
                before=tuple(summarize(t) for t in plan.source.tracks),
                pass_kind=plan.pass_kind.value,
            )
        _stage(control, "commit")
        commit(path, final, temp, original, settings)
    control.progress(ProgressUpdate("commit", 1.0))
    cloned = method is CopyMethod.REFLINK
    if how is not None and cloned and how != CLONE_REASON:
        how += " (a clone: instant, no extra space)"
    return _done(path, plan, final, original, output, how, cloned=cloned)


def _checked(
    plan: Plan,
    output_file: Path,
    tools: dict[str, str],
    settings: EngineSettings,
    control: FileControl,
    source: Extent | None,
) -> MediaInfo:
    """Probe the tool's output and verify it against the plan."""
    output, timing = probe_output(plan, output_file, tools["ffprobe"], settings, control, source)
    verify(plan, output, timing, settings.duration_tolerance_s)
    return output


def _in_place(
    path: Path,
    cleared: _Cleared,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    claim: WriteClaim | None,
) -> FileResult | None:
    """The journaled in-place edit; ``None`` when it had to be undone for the copy path."""
    plan, tools = cleared.plan, cleared.tools
    assert cleared.choice is not None

    def run_edit() -> None:
        _stage(control, "run")
        run_mkvpropedit_in_place(plan, path, tools, cleared.ids, settings, control)
        _stage(control, "verify")

    def check() -> MediaInfo:
        return _checked(plan, path, tools, settings, control, cleared.source)

    with claimed(path, original, claim):
        output = flags_edit.edit_in_place(path, original, cleared.choice, run_edit, check)
    if output is None:
        return None
    control.progress(ProgressUpdate("commit", 1.0))
    return _done(path, plan, path, original, output, cleared.choice.reason)


def _done(
    path: Path,
    plan: Plan,
    final: Path,
    original: os.stat_result,
    output: MediaInfo,
    how: str | None,
    *,
    cloned: bool = False,
) -> FileResult:
    note = other_names_note(original, final.stat().st_size, cloned=cloned)
    return FileResult(
        path=path,
        status=FileStatus.OK,
        changes=plan.changes + ((note,) if note else ()),
        output_path=final,
        before=tuple(summarize(t) for t in plan.source.tracks),
        after=tuple(summarize(t) for t in output.tracks),
        pass_kind=plan.pass_kind.value,
        fingerprint=fingerprint(final),
        how=how,
    )


@dataclasses.dataclass(frozen=True)
class _Cleared:
    """What the pre-checks found out that the run itself needs."""

    plan: Plan  # with the pass that will really run
    ids: commands.MkvIds | None
    tools: dict[str, str]
    final: Path
    source: Extent | None
    known: KnownProbe | None  # the source's probe, with mkvmerge's answer when it was asked
    estimate: int  # the output's size, as guessed for the free-space check
    choice: InPlaceChoice | None = None  # how a mkvpropedit pass writes, and why


def _precheck(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: Probed | None,
) -> _Cleared | FileResult:
    """Everything that can stop a run before a tool writes anything (nothing is written here).

    Shared by the real run and ``--dry-run``, so a dry run reports the same
    skip or failure, with the same message, that the real run would.
    """
    if not stat.S_IMODE(original.st_mode) & 0o222:
        # Nobody may write it: the owner protected it (chmod a-w). Replacing it
        # would be allowed by the folder's permissions, but not by the user.
        return FileResult(
            path,
            FileStatus.SKIPPED,
            plan.changes,
            error=f"{path}: read-only file (no write permission): left as it is",
            before=tuple(summarize(t) for t in plan.source.tracks),
        )
    final = output_path(path, plan)  # the container decides it, not which tool writes it
    if final != path and (final.exists() or final.is_symlink()):
        raise CommitError(f"{path}: cannot change the container: {final.name} already exists")
    tools = require_tools(settings.tools, tools_for(plan.pass_kind))
    plan, ids, identified = settle_pass(
        plan, tools.get("mkvmerge", ""), settings, control, kept_identify(probed)
    )
    tools = require_tools(settings.tools, tools_for(plan.pass_kind))
    ends = probed.ends if probed is not None else None
    source = source_extent(plan, tools["ffprobe"], settings, control, ends)
    choice = flags_edit.choose(
        plan, path, final, original, settings.in_place, settings.keep_backups
    )
    _stage(control, "space")
    if choice is not None and choice.layout is not None:
        estimate = choice.layout.saved_bytes  # only the journal is written beside the file
    elif choice is not None and choice.reason == CLONE_REASON:
        estimate = 0  # a clone shares the film's blocks: only what mkvpropedit rewrites
    elif plan.pass_kind is PassKind.MKVPROPEDIT:
        estimate = plan.source.size
    else:
        estimate = commands.estimate_output_bytes(plan)
    check_free_space(
        path.parent, required_space(estimate, settings.space_margin, settings.min_free_bytes)
    )
    known = with_identify(probed.known, identified) if probed is not None else None
    return _Cleared(plan, ids, tools, final, source, known, estimate, choice)


def _dry_run(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: Probed | None,
) -> FileResult:
    """``planned`` only when nothing stands in the way; else what the real run would say."""
    cleared = _precheck(path, plan, settings, control, original, probed)
    if isinstance(cleared, FileResult):
        return cleared
    plan = cleared.plan
    cloned = cleared.choice is not None and cleared.choice.reason == CLONE_REASON
    note = other_names_note(original, cleared.estimate, cloned=cloned)
    return FileResult(
        path,
        FileStatus.PLANNED,
        plan.changes + ((note,) if note else ()),
        output_path=cleared.final,  # where the run would write it
        before=tuple(summarize(t) for t in plan.source.tracks),
        pass_kind=plan.pass_kind.value,
        probe=cleared.known,
        how=cleared.choice.reason if cleared.choice is not None else None,
    )


def _guarded(path: Path, started: float, work: Callable[[], FileResult]) -> FileResult:
    """Map every per-file problem to a plain ``FileResult`` (the engine never raises)."""

    def result(status: FileStatus, error: str, tail: str | None = None) -> FileResult:
        return FileResult(
            path,
            status,
            error=error,
            stderr_tail=tail or None,
            duration_s=time.monotonic() - started,
        )

    try:
        final = work()
    except Cancelled:
        return result(FileStatus.CANCELLED, f"{path}: cancelled")
    except FileLocked as exc:
        return result(FileStatus.SKIPPED, str(exc))
    except ToolError as exc:
        return result(FileStatus.FAILED, f"{path}: {exc}", exc.stderr_tail)
    except FileFailure as exc:
        return result(FileStatus.FAILED, str(exc), exc.stderr_tail)
    except (ProbeError, PlanError, MissingToolError, InsufficientSpaceError, CommitError) as exc:
        message = str(exc)
        return result(FileStatus.FAILED, message if str(path) in message else f"{path}: {message}")
    except VerifyError as exc:
        return result(FileStatus.FAILED, f"{path}: {exc}")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return result(FileStatus.FAILED, f"{path}: {exc.strerror or exc}{where}")
    except Exception as exc:  # a bug must still be one failed file, not a dead batch
        return result(FileStatus.FAILED, f"{path}: internal error: {exc!r}")
    return dataclasses.replace(final, duration_s=time.monotonic() - started)


def summarize(track: Track) -> str:
    """One line per track for history and the UI: label plus flags."""
    named = (("default", track.default), ("forced", track.forced), ("SDH", track.hearing_impaired))
    flags = [name for name, on in named if on]
    return track.describe() + (f" [{', '.join(flags)}]" if flags else "")


def _stage(
    control: FileControl, stage: str, fraction: float = 0.0, duration_s: float | None = None
) -> None:
    control.check()
    control.progress(ProgressUpdate(stage, fraction, duration_s=duration_s))


def _open_lock(path: Path) -> FileLock:
    lock = FileLock(path)
    try:
        lock.acquire()
    except FileNotFoundError:
        raise ProbeError(f"{path}: file vanished (no longer exists)") from None
    except PermissionError:
        raise ProbeError(f"{path}: unreadable (permission denied)") from None
    except IsADirectoryError:
        raise ProbeError(f"{path}: not a regular file") from None
    return lock


def _make_plan(job: FileJob, media: MediaInfo) -> Plan:
    try:
        from vpo_tui.policy.plan import plan as make_plan
    except ImportError as exc:
        raise PlanError(f"{job.path}: the planner is not available ({exc})") from None
    planned: Plan = make_plan(job.policy, media)
    return planned
