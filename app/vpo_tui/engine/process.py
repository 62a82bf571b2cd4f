"""One file end to end: lock → probe → plan → run → verify → commit.

This is the safe-write protocol of DESIGN.md. The original is never touched
before the commit step: every tool writes into an owned temp file in the same
folder (mkvpropedit, which edits in place, edits a *copy*), the temp output is
verified against the plan, and only then replaces the original atomically. On
any error, timeout or cancel the temp file is removed and the original is
byte-identical. ``process_file`` never raises for a per-file problem.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from vpo_tui.engine import commands
from vpo_tui.engine.control import Cancelled, FileControl
from vpo_tui.engine.job import (
    EngineSettings,
    FileJob,
    FileResult,
    FileStatus,
    KnownProbe,
    ProgressUpdate,
)
from vpo_tui.engine.locks import FileLock, FileLocked
from vpo_tui.engine.probe import (
    PAST_ANY_END_S,
    PROBE_TIMEOUT_S,
    ProbeError,
    measure_end,
    media_from_record,
    probe_with_end,
    probe_with_ends,
)
from vpo_tui.engine.progress import FfmpegProgress, MkvmergeProgress
from vpo_tui.engine.run import ToolError, run_tool
from vpo_tui.engine.safety import (
    InsufficientSpaceError,
    backup_path_for,
    check_free_space,
    fingerprint_of,
    fsync_dir,
    required_space,
    temp_path_for,
    write_journal,
)
from vpo_tui.engine.tools import MissingToolError, find_tools, require_tools
from vpo_tui.engine.verify import Timing, VerifyError, verify
from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy.containers import cover_name
from vpo_tui.policy.planned import PassKind, Plan, PlanError

_Feed = Callable[[str], None]
# A hold on the right to write one file, beyond this host (see ``process_file``):
# entered just before the first write, it raises ``FileLocked`` if another holds it.
WriteClaim = Callable[[Path], contextlib.AbstractContextManager[None]]
_COPY_CHUNK = 4 * 1024 * 1024
_END_WINDOW_S = 30.0  # how much of the end of a file is read to find its last packet
_TRUNCATION_SLACK_S = 2.0  # streams may end a little before the container's duration
# How far, as a share of the header's duration, the data may stop short of it. Matroska
# and MP4/MOV write the duration from the real timestamps, so only a little slack is
# needed (a subtitle may outlast the picture); other containers estimate it.
_EXACT_DURATION_CONTAINERS = frozenset({"mkv", "webm", "mp4", "mov"})
_EXACT_SLACK_SHARE = 0.005
_ESTIMATED_SLACK_SHARE = 0.02


class CommitError(Exception):
    """The verified output could not be put in place (the original is kept)."""


class _Failure(Exception):
    """A per-file failure carrying the tool's stderr tail."""

    def __init__(self, message: str, stderr_tail: str | None = None) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


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


def _fingerprint(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns)


def _moved_since(path: Path, original: os.stat_result) -> Literal["gone", "changed"] | None:
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


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_cancellable(source: Path, target: Path, control: FileControl) -> None:
    """Copy bytes (for mkvpropedit's working copy), checking for cancel as we go."""
    total = max(source.stat().st_size, 1)
    done = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_COPY_CHUNK):
            dst.write(chunk)
            done += len(chunk)
            _stage(control, "run", min(done / total, 1.0) * 0.5)


@contextlib.contextmanager
def _owned_temp(original: Path, suffix: str) -> Iterator[Path]:
    """Create our temp file exclusively; remove it on the way out unless it was committed."""
    temp = temp_path_for(original, suffix)
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except PermissionError:
        raise _Failure(
            f"{original}: cannot write in folder {original.parent} (permission denied)"
        ) from None
    except OSError as exc:
        raise _Failure(
            f"{original}: cannot create a temp file in {original.parent} ({exc.strerror})"
        ) from None
    os.close(fd)
    try:
        yield temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _output_path(path: Path, plan: Plan) -> Path:
    """The final name: the original's, or the same stem with the new container's suffix
    (or the plan's suffix: Matroska content named .mp4 becomes .mkv)."""
    if plan.suffix is not None:
        return path.with_suffix(plan.suffix)
    if plan.container == plan.source.container:
        return path
    return path.with_suffix("." + plan.container)


def _tools_for(kind: PassKind) -> tuple[str, ...]:
    if kind is PassKind.FFMPEG:
        return ("ffprobe", "ffmpeg")
    if kind is PassKind.MKVMERGE:
        return ("ffprobe", "mkvmerge")
    if kind is PassKind.MKVPROPEDIT:
        return ("ffprobe", "mkvmerge", "mkvpropedit")
    return ("ffprobe",)


def _probe_timeout(settings: EngineSettings) -> float:
    """Probes are quick: bounded by the tool timeout when one is set, else 2 minutes."""
    if settings.tool_timeout_s is None:
        return PROBE_TIMEOUT_S
    return min(settings.tool_timeout_s, PROBE_TIMEOUT_S)


def _mkvmerge_identify(
    media: MediaInfo, mkvmerge: str, settings: EngineSettings, control: FileControl
) -> dict[str, object]:
    done = run_tool(
        [mkvmerge, "-J", str(media.path.absolute())],
        control=control,
        timeout_s=_probe_timeout(settings),
        capture_stdout=True,
        name="mkvmerge",
    )
    try:
        identified = json.loads(done.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        raise _Failure(f"{media.path}: mkvmerge -J gave unreadable output") from None
    if not isinstance(identified, dict):
        raise _Failure(f"{media.path}: mkvmerge -J gave unreadable output")
    return identified


def _settle_pass(
    plan: Plan,
    mkvmerge: str,
    settings: EngineSettings,
    control: FileControl,
    kept: dict[str, object] | None = None,
) -> tuple[Plan, commands.MkvIds | None, dict[str, object] | None]:
    """The pass that will really run, and mkvmerge's track IDs when it needs them.

    The planner picks mkvmerge for a plain remux, but mkvmerge cannot read every
    source ffprobe can (MPEG-4 part 2 in MPEG-TS, WMV): asking ``mkvmerge -J``
    first turns such a plan into the same plan carried out by ffmpeg. Asked in the
    pre-check, so a dry run predicts the pass and the real run asks only once;
    not asked at all when the probe alone settles the IDs (``ids_derivable``), nor
    when a dry run's answer was kept with the file's probe (``kept``). Returns the
    answer too, for the probe the next run reuses.
    """
    if plan.pass_kind not in (PassKind.MKVMERGE, PassKind.MKVPROPEDIT):
        return plan, None, None
    if commands.ids_derivable(plan.source):
        return plan, commands.MkvIds.assumed(plan.source), None
    identified = kept or _mkvmerge_identify(plan.source, mkvmerge, settings, control)
    if plan.pass_kind is PassKind.MKVMERGE and commands.mkvmerge_misses_tracks(
        plan.source, identified
    ):
        return dataclasses.replace(plan, pass_kind=PassKind.FFMPEG), None, identified
    return plan, commands.MkvIds.from_mkvmerge_json(plan.source, identified), identified


def _run_pass(
    plan: Plan,
    source: Path,
    temp: Path,
    tools: dict[str, str],
    ids: commands.MkvIds | None,
    settings: EngineSettings,
    control: FileControl,
) -> None:
    def emit(update: ProgressUpdate) -> None:
        control.progress(update)

    def run(argv: list[str], name: str, ok_codes: tuple[int, ...], feed: _Feed | None) -> None:
        run_tool(
            argv,
            control=control,
            timeout_s=settings.tool_timeout_s,
            kill_grace_s=settings.kill_grace_s,
            ok_codes=ok_codes,
            on_stdout_line=feed,
            name=name,
        )

    if plan.pass_kind is PassKind.FFMPEG:
        with contextlib.ExitStack() as pictures:
            covers: dict[int, Path] = {}
            for cover in commands.covers_to_attach(plan):
                suffix = Path(cover_name(cover.codec, cover.filename, None)[0]).suffix
                picture = pictures.enter_context(_owned_temp(source, suffix))
                extract = commands.cover_extract_argv(
                    tools["ffmpeg"], source, cover.source_index, picture
                )
                run(extract, "ffmpeg", (0,), None)
                covers[cover.source_index] = picture
            argv = commands.ffmpeg_argv(plan, tools["ffmpeg"], source, temp, covers)
            run(argv, "ffmpeg", (0,), FfmpegProgress(plan.source.duration, emit).feed)
    elif plan.pass_kind is PassKind.MKVMERGE and ids is not None:
        argv = commands.mkvmerge_argv(plan, tools["mkvmerge"], source, temp, ids)
        # mkvmerge: 0 ok, 1 warnings (output written), 2 error
        run(argv, "mkvmerge", (0, 1), MkvmergeProgress(emit).feed)
    elif plan.pass_kind is PassKind.MKVPROPEDIT and ids is not None:
        argv = commands.mkvpropedit_argv(plan, tools["mkvpropedit"], temp, ids)
        _copy_cancellable(source, temp, control)
        run(argv, "mkvpropedit", (0, 1), None)
    else:
        raise PlanError(f"{source}: the plan has changes but no tool pass ({plan.pass_kind.value})")


def _av_streams(media: MediaInfo, indices: set[int] | None = None) -> frozenset[int]:
    return frozenset(
        t.index
        for t in media.tracks
        if t.type in (TrackType.VIDEO, TrackType.AUDIO)
        and not t.attached_pic
        and (indices is None or t.index in indices)
    )


@dataclasses.dataclass(frozen=True)
class _Extent:
    """Where a file's audio/video data starts and ends (seconds, from its packets)."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def _data_start(media: MediaInfo, streams: frozenset[int]) -> float:
    """The earliest first timestamp of ``streams`` (the file's, or 0, if ffprobe cannot tell)."""
    starts = [t.start_time for t in media.tracks if t.index in streams and t.start_time is not None]
    if starts:
        return min(starts)
    return media.start_time or 0.0


def _end_windows(length: float, start: float) -> tuple[float, ...]:
    """Where to start reading to find the last packets, the likelier place first.

    A header duration is the data's length to some muxers (mkvmerge, MPEG-TS) and
    where the data ends, counted from 0, to others (ffmpeg's Matroska and MP4), so
    the end is near ``start + length`` or near ``length``. When those are within
    one window of each other a single read from the earlier place covers both.
    """
    by_end = max(length - _END_WINDOW_S, 0.0)
    by_length = max(start + length - _END_WINDOW_S, 0.0)
    if abs(by_length - by_end) <= _END_WINDOW_S:
        return (min(by_end, by_length),)
    return (by_length, by_end)


def _last_packet_end(
    path: Path,
    ffprobe: str,
    streams: frozenset[int],
    windows: tuple[float, ...],
    settings: EngineSettings,
    control: FileControl,
) -> float | None:
    """``measure_end`` from each window in turn until one finds a packet."""
    for from_s in windows:
        timeout = _probe_timeout(settings)
        end = measure_end(path, ffprobe, streams, from_s=from_s, control=control, timeout_s=timeout)
        if end is not None:
            return end
    return None


def _cut_short(
    header: float, start: float, end: float, *, header_is_length: bool, exact: bool
) -> bool:
    """True when the data stops well before the header's duration.

    Read as a length, the data must run about that long; read as where the data
    ends (counted from 0), it must end there. Where the muxer is known to write a
    length (mkvmerge, MPEG-TS/PS) only that reading counts: a recording that
    starts at 10 min and lost its last 10 min would otherwise "end at the header".
    Elsewhere data that fits either reading is whole. ``exact`` headers (Matroska,
    MP4/MOV) get little slack: a 2-hour film cut 2 minutes short is a cut.
    """
    share = _EXACT_SLACK_SHARE if exact else _ESTIMATED_SLACK_SHARE
    slack = max(_TRUNCATION_SLACK_S, share * header)
    runs_short = header - (end - start) > slack
    ends_at_header = abs(header - end) <= slack
    return runs_short and (header_is_length or not ends_at_header)


def _header_is_length(
    media: MediaInfo, start: float, settings: EngineSettings, control: FileControl
) -> bool:
    """Whether the source's header duration must be read as a length (see ``_cut_short``).

    The probe knows for MPEG-TS/PS and for mkvmerge files whose statistics tags
    survive; a cut file loses those (they are written at its end). Matroska keeps
    its writing application in the header, so for a late-starting MKV, the only
    case where the two readings differ, mkvmerge is asked. Unknown means the
    stricter reading: refusing a whole file is safe, hiding a cut is not.
    """
    if media.duration_is_length:
        return True
    if abs(start) <= _TRUNCATION_SLACK_S or media.container not in ("mkv", "webm"):
        return False
    mkvmerge = find_tools(settings.tools).get("mkvmerge")
    if not mkvmerge:
        return True
    try:
        identified = _mkvmerge_identify(media, mkvmerge, settings, control)
    except (ToolError, _Failure):
        return True
    container = identified.get("container")
    properties = container.get("properties") if isinstance(container, dict) else None
    writer = properties.get("writing_application") if isinstance(properties, dict) else None
    return writer is None or not str(writer).startswith("Lavf")


def _source_extent(
    plan: Plan,
    ffprobe: str,
    settings: EngineSettings,
    control: FileControl,
    ends: dict[int, float] | None,
) -> _Extent | None:
    """Where the kept audio/video of the source really starts and ends.

    A download cut short often keeps its full duration in the header; processing it
    would produce a shorter, valid-looking file that hides the damage. So a source
    whose data stops well before its header's duration is refused before any tool
    runs, and the same figure is what the output is verified against. The header
    may give the length or the end (see ``_end_windows``): data that fits either
    reading is whole, so a file that starts late is never taken for a cut one.
    The end comes from the probe's own read of the last packets (``ends``) when
    it found any; only otherwise is the end read here, near the header's figure.
    """
    kept = {t.source_index for t in plan.tracks}
    streams = _av_streams(plan.source, kept)
    if not streams:
        return None
    header = plan.source.duration or 0.0
    start = _data_start(plan.source, streams)
    windows = _end_windows(header, start)
    known = [end for index, end in (ends or {}).items() if index in streams]
    if known:
        end: float | None = max(known)
    else:
        end = _last_packet_end(plan.source.path, ffprobe, streams, windows, settings, control)
    length_only = header > 0 and _header_is_length(plan.source, start, settings, control)
    exact = plan.source.container in _EXACT_DURATION_CONTAINERS
    cut = end is None or _cut_short(header, start, end, header_is_length=length_only, exact=exact)
    if header > 0 and cut:
        if end is None:
            where = f"stops before {windows[-1]:.1f} s"
        elif abs(start) < 0.5:
            where = f"ends at {end:.1f} s"
        else:
            where = f"runs {end - start:.1f} s (from {start:.1f} s to {end:.1f} s)"
        raise ProbeError(
            f"{plan.source.path}: truncated or damaged: the header says {header:.1f} s"
            f" but the data {where}; left as it is"
        )
    return None if end is None else _Extent(start, end)


def _verify_output(
    plan: Plan,
    temp: Path,
    ffprobe: str,
    settings: EngineSettings,
    control: FileControl,
    source: _Extent | None,
) -> MediaInfo:
    # compare like with like: the source's kept audio/video vs the output's audio/video.
    # The probe reads from the output's last keyframe (a seek past the end), so a big
    # output is not read for its last 30 s; only when that finds no packet is the end
    # looked for where the source says it is (a tool may keep the source's start or
    # shift it to 0, so where either puts it)
    if source is None:
        windows = _end_windows(plan.source.duration or 0.0, 0.0)
    else:
        windows = _end_windows(source.length, source.start)
    try:
        output, output_end = probe_with_end(
            temp,
            ffprobe,
            _av_streams,
            from_s=PAST_ANY_END_S,
            control=control,
            timeout_s=_probe_timeout(settings),
        )
        if output_end is None:
            output_end = _last_packet_end(
                temp, ffprobe, _av_streams(output), windows, settings, control
            )
    except ProbeError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise VerifyError(
            f"output verification failed: the tool's output is unusable ({reason})"
        ) from None
    output_length = None
    if output_end is not None:
        output_length = output_end - _data_start(output, _av_streams(output))
    timing = Timing(None if source is None else source.length, output_length)
    verify(plan, output, timing, settings.duration_tolerance_s)
    return output


def _commit(
    path: Path, final: Path, temp: Path, original: os.stat_result, settings: EngineSettings
) -> None:
    """Put the verified temp output in place; the original goes only after it is."""
    moved = _moved_since(path, original)
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


def _copy_plain(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(_COPY_CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


@dataclasses.dataclass(frozen=True)
class _Cleared:
    """What the pre-checks found out that the run itself needs."""

    plan: Plan  # with the pass that will really run
    ids: commands.MkvIds | None
    tools: dict[str, str]
    final: Path
    source: _Extent | None
    known: KnownProbe | None  # the source's probe, with mkvmerge's answer when it was asked


@dataclasses.dataclass(frozen=True)
class _Probed:
    """The source's probe: what it says, where its streams' packets end, the kept form."""

    media: MediaInfo
    ends: dict[int, float] | None
    known: KnownProbe


_IDENTIFY_KEY = "mkvmerge"  # where a probe record keeps ``mkvmerge -J``'s answer


def _kept_identify(probed: _Probed | None) -> dict[str, object] | None:
    if probed is None:
        return None
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        kept = json.loads(probed.known.record).get(_IDENTIFY_KEY)
        if isinstance(kept, dict):
            return kept
    return None


def _with_identify(known: KnownProbe, identified: dict[str, object] | None) -> KnownProbe:
    """The kept probe with ``mkvmerge -J``'s answer in it, so the next run asks no more."""
    if identified is None:
        return known
    try:
        record = json.loads(known.record)
    except ValueError:
        return known
    record[_IDENTIFY_KEY] = {k: identified.get(k) for k in ("container", "tracks", "attachments")}
    return dataclasses.replace(known, record=json.dumps(record, separators=(",", ":")))


def _precheck(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: _Probed | None,
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
    final = _output_path(path, plan)  # the container decides it, not which tool writes it
    if final != path and (final.exists() or final.is_symlink()):
        raise CommitError(f"{path}: cannot change the container: {final.name} already exists")
    tools = require_tools(settings.tools, _tools_for(plan.pass_kind))
    plan, ids, identified = _settle_pass(
        plan, tools.get("mkvmerge", ""), settings, control, _kept_identify(probed)
    )
    tools = require_tools(settings.tools, _tools_for(plan.pass_kind))
    ends = probed.ends if probed is not None else None
    source = _source_extent(plan, tools["ffprobe"], settings, control, ends)
    _stage(control, "space")
    if plan.pass_kind is PassKind.MKVPROPEDIT:
        estimate = plan.source.size
    else:
        estimate = commands.estimate_output_bytes(plan)
    check_free_space(
        path.parent, required_space(estimate, settings.space_margin, settings.min_free_bytes)
    )
    known = _with_identify(probed.known, identified) if probed is not None else None
    return _Cleared(plan, ids, tools, final, source, known)


@contextlib.contextmanager
def _claimed(path: Path, original: os.stat_result, claim: WriteClaim | None) -> Iterator[None]:
    """Hold ``claim`` while writing; the file must still be the one that was probed.

    Taken only now, when the plan is known to write, so that files that are only
    read (compliant, skipped, a dry run) cost no round trip to whoever grants it.
    Another run may have converted the file between our probe and this moment.
    """
    if claim is None:
        yield
        return
    with claim(path):
        moved = _moved_since(path, original)
        if moved == "gone":
            raise FileLocked(f"{path}: already processed by another vpo-tui run")
        if moved == "changed":
            raise FileLocked(
                f"{path}: changed since it was probed (by another vpo-tui run or another"
                " program); left as it is"
            )
        yield


def _execute(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: _Probed | None = None,
    claim: WriteClaim | None = None,
) -> FileResult:
    cleared = _precheck(path, plan, settings, control, original, probed)
    if isinstance(cleared, FileResult):
        return cleared
    plan, tools, final = cleared.plan, cleared.tools, cleared.final
    suffix = final.suffix or path.suffix
    with _claimed(path, original, claim), _owned_temp(path, suffix) as temp:
        _stage(control, "run")
        _run_pass(plan, path, temp, tools, cleared.ids, settings, control)
        _stage(control, "verify")
        output = _verify_output(plan, temp, tools["ffprobe"], settings, control, cleared.source)
        _stage(control, "commit")
        _commit(path, final, temp, original, settings)
    control.progress(ProgressUpdate("commit", 1.0))
    return FileResult(
        path=path,
        status=FileStatus.OK,
        changes=plan.changes,
        output_path=final,
        before=tuple(summarize(t) for t in plan.source.tracks),
        after=tuple(summarize(t) for t in output.tracks),
        pass_kind=plan.pass_kind.value,
        fingerprint=_fingerprint(final),
    )


def _dry_run(
    path: Path,
    plan: Plan,
    settings: EngineSettings,
    control: FileControl,
    original: os.stat_result,
    probed: _Probed | None,
) -> FileResult:
    """``planned`` only when nothing stands in the way; else what the real run would say."""
    cleared = _precheck(path, plan, settings, control, original, probed)
    if isinstance(cleared, FileResult):
        return cleared
    plan = cleared.plan
    return FileResult(
        path,
        FileStatus.PLANNED,
        plan.changes,
        output_path=cleared.final,  # where the run would write it
        before=tuple(summarize(t) for t in plan.source.tracks),
        pass_kind=plan.pass_kind.value,
        probe=cleared.known,
    )


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
    except _Failure as exc:
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
    path = Path(job.path).absolute()

    def work() -> FileResult:
        _stage(control, "lock")
        tools = require_tools(job.settings.tools, ("ffprobe",))
        lock = _open_lock(path)
        try:
            original = path.stat()
            _stage(control, "probe")
            probed = _probe_source(job, path, original, tools["ffprobe"], control)
            _stage(control, "plan", duration_s=probed.media.duration)
            plan = _make_plan(job, probed.media)
            result = _decide(job, path, plan, original, probed, control, claim)
            # the next run may reuse this probe, unless this run changed the file
            if result.status is FileStatus.OK or result.probe is not None:
                return result
            return dataclasses.replace(result, probe=probed.known)
        finally:
            lock.release()

    return _guarded(path, started, work)


def _probe_source(
    job: FileJob, path: Path, original: os.stat_result, ffprobe: str, control: FileControl
) -> _Probed:
    """The job's kept probe when the file is exactly the one it describes; else a new probe.

    A preview or dry run probed the file already; a run started after it pays
    for no second probe unless the file changed (size, mtime, inode or ctime).
    """
    now = KnownProbe.fingerprint_of(original)
    known = job.known
    if known is not None and known.fingerprint == now:
        try:
            media, ends = media_from_record(json.loads(known.record), path, original.st_size)
        except (ProbeError, ValueError, TypeError, KeyError, AttributeError):
            pass  # unreadable or of another version: probe again
        else:
            return _Probed(media, ends, known)
    timeout = _probe_timeout(job.settings)
    media, ends, record = probe_with_ends(path, ffprobe, control, timeout_s=timeout)
    return _Probed(media, ends, KnownProbe(now, json.dumps(record, separators=(",", ":"))))


def _decide(
    job: FileJob,
    path: Path,
    plan: Plan,
    original: os.stat_result,
    probed: _Probed,
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
    path = Path(plan.source.path).absolute()

    def work() -> FileResult:
        _stage(control, "lock")
        lock = _open_lock(path)
        try:
            original = path.stat()
            if original.st_size != plan.source.size:
                raise CommitError(f"{path}: changed since it was probed; plan again")
            return _execute(path, plan, settings, control, original)
        finally:
            lock.release()

    return _guarded(path, started, work)
