"""A dry run started from the app changes nothing, start-up recovery included."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_load_policy, fake_services, touch_library, wait_for
from tests.tui.test_controls import SIZE
from tests.tui.test_wiring import dead_pid
from vpo_tui.store.history import HistoryStore
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.screens.pick import BatchRequest


async def test_a_dry_run_preview_leaves_stale_files_and_history_alone(tmp_path: Path) -> None:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    gone = dead_pid()
    stale = lib / f".a.mkv.vpo-tmp-{gone}-0123abcd.mkv"
    stale.write_bytes(b"half-written")
    store = HistoryStore(tmp_path / "history.sqlite3")
    old = store.begin_batch(
        policy_name="fake",
        policy_digest="d",
        policy_source="builtin:fake",
        workers=1,
        dry_run=False,
        total=1,
        roots=[lib],
    )
    job = store.job_started(old, 0, lib / "a.mkv")
    store.pool.execute_write("UPDATE jobs SET pid = ? WHERE id = ?", (gone, job))
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
