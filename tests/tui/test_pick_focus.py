"""Back on the pick screen, typed keys go where they went before: by default the tree.

Found by a new-user review: after leaving with the Preview button, the button kept
the focus on return, so space (mark a folder) pressed the button again.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_services, summary_shown, touch_library, wait_for
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.pick import PickScreen
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.widgets.marking_tree import MarkingTree

SIZE = (120, 40)


async def _open_preview_with_the_button(app: VpoApp, pilot) -> PreviewScreen:  # type: ignore[no-untyped-def]
    await pilot.click("#go")
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    preview = app.screen
    assert isinstance(preview, PreviewScreen)
    await wait_for(pilot, lambda: preview.probing_done, what="probed")
    return preview


async def _back_on_pick(app: VpoApp, pilot) -> PickScreen:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
    await pilot.pause()
    pick = app.screen
    assert isinstance(pick, PickScreen)
    return pick


async def test_the_tree_has_the_focus_after_escape_from_the_preview(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv", "sub/b.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await _open_preview_with_the_button(app, pilot)
        await pilot.press("escape")
        pick = await _back_on_pick(app, pilot)
        tree = pick.query_one("#tree", MarkingTree)
        assert app.focused is tree
        marked = set(tree.marked)
        await pilot.press("space")  # marks in the tree; does not press the button again
        await pilot.pause()
        assert isinstance(app.screen, PickScreen) and tree.marked != marked


async def test_the_tree_has_the_focus_after_a_batch(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await _open_preview_with_the_button(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("n")  # new batch
        pick = await _back_on_pick(app, pilot)
        assert app.focused is pick.query_one("#tree", MarkingTree)


async def test_a_list_chosen_on_purpose_keeps_the_focus(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    app = VpoApp(services=fake_services(FakeEngine()), paths=[lib], policy="fake")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="pick")
        marked = app.screen.query_one("#marked", OptionList)
        marked.focus()
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
        await pilot.press("escape")
        await _back_on_pick(app, pilot)
        assert app.focused is marked
