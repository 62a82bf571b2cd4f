"""Export the run screen, as the app itself draws it, to docs/run-screen.svg for the README.

Run: ``.venv/bin/python -m tests.tui.make_screenshot [OUT.svg]``. It uses the same
scripted mid-batch state as the run-screen snapshot test (fake engine, fixed names
and clock), so the picture is reproducible.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.tui.helpers import (
    FIXED_NOW,
    NAMES,
    SNAPSHOT_ROOT,
    ScriptedEngine,
    fake_services,
    touch_library,
    wait_for,
)
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "run-screen.svg"


async def export(out: Path) -> Path:
    engine = ScriptedEngine()
    # The snapshot tests' fixed library, so the error detail shows a stable path.
    lib = touch_library(SNAPSHOT_ROOT / "library", NAMES)
    now = [FIXED_NOW]
    app = VpoApp(
        services=fake_services(engine, clock=lambda: now[0]),
        paths=[lib],
        policy="normalize",
        workers=2,
        browse_root=lib,
        display_root=lib,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        await wait_for(pilot, lambda: preview.probing_done)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        assert isinstance(run, RunScreen)
        await wait_for(
            pilot, lambda: run.model.active == 2 and all(r.fraction for r in run.model.rows[3:5])
        )
        now[0] += 30  # half a minute in: the bar and the ETA count the running files
        await pilot.press("down", "l")
        await pilot.pause(0.3)
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=out.name, path=str(out.parent))
        engine.gate.set()
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    print(asyncio.run(export(out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
