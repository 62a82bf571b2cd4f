"""Fixes from a new user's review: a retry weighs its files by their probed duration,
a missing tool is said at once and refuses the run, the summary offers a retry only
when there is one, and the policy list has its own key (fake engines, Pilot)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    fake_services,
    footer_keys,
    open_probed_preview,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import FileJob, FileResult, FileStatus, ProgressUpdate
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import AggregateLine, RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen


async def _run_to_summary(app: VpoApp, pilot: Pilot[Any]) -> SummaryScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    preview = app.screen
    assert isinstance(preview, PreviewScreen)
    await wait_for(pilot, lambda: preview.probing_done, what="probed")
    await pilot.press("r")
    await wait_for(pilot, lambda: summary_shown(app), what="summary")
    summary = app.screen
    assert isinstance(summary, SummaryScreen)
    return summary


async def test_the_summary_offers_a_retry_only_when_a_file_failed_or_was_cancelled(
    tmp_path: Path,
) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "b.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake", dry_run=True)
    async with app.run_test(size=SIZE) as pilot:
        summary = await _run_to_summary(app, pilot)
        assert summary.result.totals["planned"] == 2
        assert "retry" not in footer_keys(summary)
        assert not summary.query(".hint")  # nor the line that says what r does

    lib2 = touch_library(tmp_path / "lib2", ["a.mkv", "b.mkv"])
    engine = FakeEngine(outcomes={"b.mkv": FileStatus.FAILED})
    app = VpoApp(services=fake_services(engine), paths=[lib2], policy="fake", dry_run=True)
    async with app.run_test(size=SIZE) as pilot:
        summary = await _run_to_summary(app, pilot)
        assert summary.result.totals["failed"] == 1
        assert "retry" in footer_keys(summary)


async def test_the_policy_list_has_its_own_key_in_the_footer_and_the_help(tmp_path: Path) -> None:
    from textual.widgets import Select

    from vpo_tui.tui.screens.help import HELP_TEXT

    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        select = app.screen.query_one("#policy", Select)
        assert app.screen.marking_tree.has_focus  # type: ignore[attr-defined]
        assert "choose_policy" in footer_keys(app.screen)
        await pilot.press("p")
        await wait_for(pilot, lambda: select.expanded, what="the policy list open")
        assert select.has_focus or select.has_focus_within
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: select.value == "normalize", what="normalize chosen")
        await pilot.press("escape")  # back to the tree: ctrl+o reaches the list from anywhere
        await pilot.press("slash")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: select.expanded, what="open again")
    assert "- `p`, `ctrl+o` choose the policy" in HELP_TEXT


class MediaEngine:
    """Reports each file's playing time as the real engine does (the plan stage); a real
    run then reports half its tool pass and waits for ``gate``, a dry run plans."""

    def __init__(self, durations: dict[str, float]) -> None:
        self.durations = durations
        self.gate = threading.Event()

    def __call__(self, job: FileJob, control: FileControl) -> FileResult:
        control.progress(ProgressUpdate("plan", duration_s=self.durations[job.path.name]))
        if job.dry_run:
            return FileResult(job.path, FileStatus.PLANNED, changes=("transcode",))
        control.progress(ProgressUpdate("run", 0.5))
        while not self.gate.wait(0.01):
            if control.cancelled:
                return FileResult(job.path, FileStatus.CANCELLED, error="killed")
        return FileResult(job.path, FileStatus.OK, changes=("transcode",))


async def test_a_retry_weighs_its_files_by_their_probed_duration(tmp_path: Path) -> None:
    """The demo's retry: a 60 s transcode and three 1 s files left after a Stop.

    Files not started yet weighed the mean of the known durations, so three short
    files weighed 60 s each and the bar said 12 % with most of the work half done.
    The preview probed every file: the run (and the retry) weigh each by its own.
    """
    durations = {"a first.mkv": 1.0, "b long.mkv": 60.0, "c.mkv": 1.0, "d.mkv": 1.0}
    lib = touch_library(tmp_path / "lib", list(durations))
    engine = MediaEngine(durations)
    app = VpoApp(services=fake_services(engine), paths=[lib], policy="fake", workers=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, what="probed")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="run")
        first = app.screen
        assert isinstance(first, RunScreen)
        # Known before any file of the run reports it: the queued files weigh their own time.
        assert [r.duration_s for r in first.model.rows] == list(durations.values())
        await wait_for(pilot, lambda: first.model.rows[0].fraction == 0.5, what="first at 50%")
        await pilot.press("s")
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        engine.gate.clear()
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RunScreen) and app.screen is not first,
            what="the retry",
        )
        retry = app.screen
        assert isinstance(retry, RunScreen)
        assert [r.name for r in retry.model.rows] == ["b long.mkv", "c.mkv", "d.mkv"]
        assert [r.duration_s for r in retry.model.rows] == [60.0, 1.0, 1.0]
        await wait_for(pilot, lambda: retry.model.rows[0].fraction == 0.5, what="long at 50%")
        assert abs(retry.model.progress() - 30 / 62) < 1e-9
        # Stop: the short files are cancelled and leave the work to do; the bar says so.
        await pilot.press("s")
        await wait_for(pilot, lambda: retry.model.cancelled == 2, what="two cancelled")
        assert retry.model.progress() == 0.5
        await pilot.pause()
        bar = str(retry.query_one("#aggregate", AggregateLine).render())
        assert "50%" in bar and "cancelled files left out" in bar, bar
        engine.gate.set()
        await wait_for(pilot, lambda: summary_shown(app), what="summary")


def _path_without(tmp_path: Path, tool: str) -> str:
    """A PATH holding the other three tools (links to the real ones) and not ``tool``."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("ffprobe", "ffmpeg", "mkvmerge", "mkvpropedit"):
        real = shutil.which(name)
        if name != tool and real is not None:
            (bin_dir / name).symlink_to(real)
    return str(bin_dir)


async def test_a_missing_tool_is_said_at_once_and_refuses_the_run_as_headless_does(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import io

    from textual.widgets import Static

    from vpo_tui.batch.exit_codes import EXIT_MISSING_TOOL
    from vpo_tui.headless import HeadlessOptions, run_headless

    lib = touch_library(tmp_path / "lib", ["a.mkv", "b.mp4"])
    every_tool = _path_without(tmp_path / "all", "none")
    no_ffmpeg = _path_without(tmp_path / "no-ffmpeg", "ffmpeg")
    monkeypatch.setenv("PATH", _path_without(tmp_path, "mkvmerge"))
    err = io.StringIO()
    code = run_headless(
        HeadlessOptions(paths=(lib,), db=tmp_path / "h.sqlite3"),
        stderr=err,
        install_signals=False,
    )
    assert code == EXIT_MISSING_TOOL
    said = err.getvalue().strip().removeprefix("vpo-tui: ")
    assert said.startswith("missing tool: mkvmerge not found on PATH") and "mkvtoolnix" in said

    engine = FakeEngine()
    app = VpoApp(services=fake_services(engine), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.query_one("#tools-warning", Static)
        assert line.display and said in str(line.render())
        assert said in [n.message for n in app._notifications]
        app._notifications.clear()
        await pilot.press("n")  # refused, in the same words: no preview, nothing probed
        await pilot.pause(0.2)
        assert said in [n.message for n in app._notifications]
        assert not isinstance(app.screen, PreviewScreen) and engine.calls == []

    # With every tool there, no line and no notice.
    monkeypatch.setenv("PATH", every_tool)
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#tools-warning", Static).display
        assert not any("missing tool" in n.message for n in app._notifications)
        preview = await open_probed_preview(app, pilot)
        monkeypatch.setenv("PATH", no_ffmpeg)  # gone since the preview: r is refused
        await pilot.press("r")
        await pilot.pause(0.2)
        refused = [n.message for n in app._notifications if "missing tool" in n.message]
        assert refused and refused[0].startswith("missing tool: ffmpeg not found on PATH")
        assert app.screen is preview
