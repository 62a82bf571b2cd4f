"""The one tool pass a plan names: which tools it needs, which really runs, running it.

The planner names a pass from the probe alone; mkvmerge cannot read every
source ffprobe can, so the pass is settled (and mkvmerge's track IDs learnt)
before anything is written, then run into the owned temp output.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path

from vpo_tui.engine import commands
from vpo_tui.engine.clone import CopyMethod
from vpo_tui.engine.commit import copy_cancellable, owned_temp
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, ProgressUpdate
from vpo_tui.engine.known import mkvmerge_identify
from vpo_tui.engine.progress import FfmpegProgress, MkvmergeProgress
from vpo_tui.engine.run import run_tool
from vpo_tui.policy.containers import cover_name
from vpo_tui.policy.planned import PassKind, Plan, PlanError

_Feed = Callable[[str], None]


def tools_for(kind: PassKind) -> tuple[str, ...]:
    """The tools a pass of ``kind`` needs (ffprobe always: the output is verified)."""
    if kind is PassKind.FFMPEG:
        return ("ffprobe", "ffmpeg")
    if kind is PassKind.MKVMERGE:
        return ("ffprobe", "mkvmerge")
    if kind is PassKind.MKVPROPEDIT:
        return ("ffprobe", "mkvmerge", "mkvpropedit")
    return ("ffprobe",)


def settle_pass(
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
    identified = kept or mkvmerge_identify(plan.source, mkvmerge, settings, control)
    if plan.pass_kind is PassKind.MKVMERGE and commands.mkvmerge_misses_tracks(
        plan.source, identified
    ):
        return dataclasses.replace(plan, pass_kind=PassKind.FFMPEG), None, identified
    return plan, commands.MkvIds.from_mkvmerge_json(plan.source, identified), identified


def run_pass(
    plan: Plan,
    source: Path,
    temp: Path,
    tools: dict[str, str],
    ids: commands.MkvIds | None,
    settings: EngineSettings,
    control: FileControl,
) -> CopyMethod | None:
    """Run the plan's pass from ``source`` into ``temp`` (the original is only read).

    Returns how mkvpropedit's working copy was made (``None`` for other passes).
    """

    def emit(update: ProgressUpdate) -> None:
        control.progress(update)

    run = _runner(settings, control)
    if plan.pass_kind is PassKind.FFMPEG:
        with contextlib.ExitStack() as pictures:
            covers: dict[int, Path] = {}
            for cover in commands.covers_to_attach(plan):
                suffix = Path(cover_name(cover.codec, cover.filename, None)[0]).suffix
                picture = pictures.enter_context(owned_temp(source, suffix))
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
        method = copy_cancellable(source, temp, control)
        run(argv, "mkvpropedit", (0, 1), None)
        return method
    else:
        raise PlanError(f"{source}: the plan has changes but no tool pass ({plan.pass_kind.value})")
    return None


def run_mkvpropedit_in_place(
    plan: Plan,
    target: Path,
    tools: dict[str, str],
    ids: commands.MkvIds | None,
    settings: EngineSettings,
    control: FileControl,
) -> None:
    """``mkvpropedit`` on ``target`` itself: only under an in-place journal (``inplace.edit``)."""
    if plan.pass_kind is not PassKind.MKVPROPEDIT or ids is None:
        raise PlanError(f"{target}: only a mkvpropedit pass can be made in place")
    argv = commands.mkvpropedit_argv(plan, tools["mkvpropedit"], target, ids)
    _runner(settings, control)(argv, "mkvpropedit", (0, 1), None)


def _runner(
    settings: EngineSettings, control: FileControl
) -> Callable[[list[str], str, tuple[int, ...], _Feed | None], None]:
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

    return run
