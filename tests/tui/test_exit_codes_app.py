"""The app ends each batch with headless's exit code (``tests/endings.py`` has the table).

The same scripted backend as headless's test, through the app's own session
(``Services.backend``); Stop and Kill are pressed as a user presses them, and the
user quits from the summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.endings import ENDINGS, ScriptedBackend
from tests.tui.helpers import (
    SIZE,
    fake_services,
    request_for,
    summary_shown,
    touch_library,
    wait_for,
)
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.dialogs import ConfirmKill


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_the_app_exits_as_headless_for_each_ending(tmp_path: Path, ending: str) -> None:
    names = ["a.mkv", "b.mkv", "c.mkv"]
    lib = touch_library(tmp_path / "lib", names)
    backend = ScriptedBackend(ending)
    app = VpoApp(services=fake_services(None, backend=lambda: backend), browse_root=lib)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run(request_for(lib, workers=1), [lib / n for n in names])
        if ending in ("stopped", "killed"):
            await wait_for(pilot, backend.started.is_set, what="a file running")
            await pilot.press("s" if ending == "stopped" else "k")
            if ending == "killed":
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKill), what="ask")
                await pilot.press("y")
        await wait_for(pilot, lambda: summary_shown(app), what="summary")
        await pilot.press("q")  # nothing runs any more: the app quits at once
        await wait_for(pilot, lambda: app.return_value is not None, what="the exit")
    assert app.return_value == ENDINGS[ending]
