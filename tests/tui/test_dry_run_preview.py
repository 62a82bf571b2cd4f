"""A dry run started from the app changes nothing, start-up recovery included."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeEngine
from tests.tui.helpers import (
    SIZE,
    fake_load_policy,
    fake_services,
    leave_an_interrupted_run,
    touch_library,
    wait_for,
)
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.request import BatchRequest


async def test_a_dry_run_preview_leaves_stale_files_and_history_alone(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    store = HistoryStore(tmp_path / "history.sqlite3")
    stale, old = leave_an_interrupted_run(store, lib)
    app = VpoApp(services=fake_services(FakeEngine(), store=store), browse_root=tmp_path)
    request = BatchRequest((lib,), fake_load_policy("fake"), 1, True, lib)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_preview(request)
            await wait_for(
                pilot,
                lambda: any("next real run" in str(n.message) for n in app._notifications),
                what="the pending-recovery note",
            )
        assert stale.read_bytes() == b"half-written"
        (record,) = store.batch_jobs(old)
        assert record.status == "running"  # not marked interrupted by a dry run
    finally:
        store.close()
