"""The preview counts video files left out for an extension not enabled, and says once
how to include them (a fake engine: only discovery, which is real, matters here)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_services, open_probed_preview, touch_library
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen

SIZE = (140, 40)


def count_line(screen: PreviewScreen) -> str:
    content = screen.query_one("#preview-count", Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def test_preview_counts_other_video_files_and_says_how_to_include_them(
    tmp_path: Path,
) -> None:
    names = ["a.mkv", "b.mkv", "c.ts", "d.ts", "e.ts", "f.wmv", "g.wmv", "a.srt", "cover.jpg"]
    lib = touch_library(tmp_path / "lib", names)
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake", workers=1)
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_probed_preview(app, pilot)
        await pilot.pause(0.2)
        assert count_line(preview) == (
            "Found 2 files · probed 2/2 · 5 other video files not considered"
            " — press r to run 2 files: 2 to change"
        )
        notes = [n.message for n in app._notifications if "not considered" in n.message]
        assert notes == [
            "5 video files with other extensions were not considered (.ts 3, .wmv 2); "
            "add them to [processing] extensions in config.toml to include them"
        ]


async def test_preview_without_other_video_files_says_nothing_about_them(
    tmp_path: Path,
) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "a.srt"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake", workers=1)
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_probed_preview(app, pilot)
        await pilot.pause(0.2)
        assert "considered" not in count_line(preview)
        assert not any("considered" in n.message for n in app._notifications)
