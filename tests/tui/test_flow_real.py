"""The whole flow on real tiny media with the real engine, driven by keys."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import MakeMedia, sha256
from tests.tui.helpers import summary_shown, wait_for
from vpo_tui.engine.probe import probe
from vpo_tui.samples import AudioSpec, SubtitleSpec, make_garbage
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.summary import SummaryScreen
from vpo_tui.tui.services import Services
from vpo_tui.tui.widgets.error_log import ErrorLog

SIZE = (120, 40)


async def test_mark_preview_run_summary_on_real_media(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    make_file(
        "needs work.mkv",
        folder=lib,
        audio=(AudioSpec("fre", default=True), AudioSpec("eng"), AudioSpec("eng", "Commentary")),
        subtitles=(SubtitleSpec("eng"), SubtitleSpec("ger")),
    )
    make_file(
        "fine.mkv",
        folder=lib,
        video_language="eng",
        audio=(AudioSpec("eng", default=True),),
        subtitles=(SubtitleSpec("eng"),),
    )
    broken = make_garbage(lib / "broken.mkv")
    broken_hash = sha256(broken)

    services = Services(cores=4)  # the real engine, discovery and policies; cap 2
    app = VpoApp(services=services, policy="normalize", browse_root=tmp_path, display_root=lib)
    async with app.run_test(size=SIZE) as pilot:
        # The tree starts at tmp_path: "library" is its first child. Mark it with space.
        await pilot.press("down", "space")
        assert app.screen.query_one("#tree").marked == {lib}  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, timeout=30, what="probing")
        states = {row.name: row.state for row in preview.rows}
        assert states == {
            "broken.mkv": "error",
            "fine.mkv": "already compliant",
            "needs work.mkv": "will change",
        }
        work = next(r for r in preview.rows if r.name == "needs work.mkv")
        assert work.result is not None and work.result.changes
        assert any("commentary" in c.lower() for c in work.result.changes), work.result.changes

        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), 60, "summary")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        statuses = {row.name: row.status for row in app.last_run.model.rows}
        assert statuses == {"broken.mkv": "failed", "fine.mkv": "unchanged", "needs work.mkv": "ok"}
        await pilot.press("escape", "l")  # back to the table, open the error log
        await pilot.pause(0.2)
        logged = app.last_run.query_one("#error-log", ErrorLog).plain
        assert "broken.mkv" in logged
        failed_row = next(r for r in app.last_run.model.rows if r.name == "broken.mkv")
        assert failed_row.result is not None and failed_row.result.error
        # The log names the file once, then the cause without the engine's "<path>: ".
        cause = failed_row.result.error.removeprefix(f"{failed_row.path}: ")
        assert cause != failed_row.result.error
        assert cause.splitlines()[0] in logged and str(failed_row.path) not in logged

        on_disk = sorted(p.name for p in lib.iterdir())
        assert on_disk == ["broken.mkv", "fine.mkv", "needs work.mkv"]  # no temp file left
        totals = summary.result.totals
        assert totals["ok"] + totals["unchanged"] + totals["failed"] == len(on_disk)
        assert sha256(broken) == broken_hash
        after = probe(lib / "needs work.mkv", shutil.which("ffprobe") or "ffprobe")
        audio = [t for t in after.tracks if t.type.value == "audio"]
        assert [t.language for t in audio] == ["eng"]  # French dropped, commentary dropped
        assert not any(t.title and "commentary" in t.title.lower() for t in after.tracks)


async def test_the_run_after_a_preview_reuses_its_probes(
    tmp_path: Path, make_file: MakeMedia
) -> None:
    """Issue 10: pressing r after a preview probes no unchanged file again (counted)."""
    import os

    from tests.commands import logging_tools
    from vpo_tui.config import Config, ProbeConfig, ToolsConfig

    (tmp_path / "tools").mkdir()  # after "library" in the tree, which is marked below
    cfg, log = logging_tools(tmp_path / "tools")
    tools = dict(line.split(" = ") for line in cfg.read_text().splitlines()[1:])
    # Probes counted as ffprobe calls: [probe] backend = "ffprobe" (PyAV reads in-process).
    config = Config(
        tools=ToolsConfig(**{k: v.strip('"') for k, v in tools.items()}),
        probe=ProbeConfig(backend="ffprobe"),
    )
    lib = tmp_path / "library"
    lib.mkdir()
    two = (AudioSpec("eng", default=True), AudioSpec("ger"))
    make_file("remux.mkv", folder=lib, audio=two)
    make_file("compliant.mkv", folder=lib, audio=(AudioSpec("eng", default=True),))
    touched = make_file("touched.mkv", folder=lib, audio=two)

    def calls(name: str) -> list[str]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split(" ", 1)[0] for line in lines if name in line]

    app = VpoApp(
        services=Services(cores=4, config=config),
        policy="english-only",
        browse_root=tmp_path,
        display_root=lib,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "space", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done, timeout=30, what="probing")
        assert calls(".mkv") == ["ffprobe"] * 3  # the preview: one probe per file
        log.unlink()
        os.utime(touched)  # changed between the preview and the run: probed again
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), 60, "summary")
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        statuses = {row.name: row.status for row in app.last_run.model.rows}
        assert statuses == {"compliant.mkv": "unchanged", "remux.mkv": "ok", "touched.mkv": "ok"}
    assert calls("remux.mkv") == ["mkvmerge", "ffprobe"]
    assert calls("compliant.mkv") == []
    assert calls("touched.mkv") == ["ffprobe", "mkvmerge", "ffprobe"]
