"""The app opens its batch session as headless does, and refuses it with headless's words."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fakes import FakeEngine
from tests.tui.helpers import fake_services, touch_library
from vpo_tui.batch.exit_codes import EXIT_MISSING_TOOL, EXIT_USAGE
from vpo_tui.batch.session import BatchRequest, Plumbing, Refusal, prepare
from vpo_tui.config import Config
from vpo_tui.tui.app import StartRefused, VpoApp, run_tui


def _headless_refusal(tmp_path: Path, **request: object) -> Refusal:
    lib = touch_library(tmp_path / "lib", ["a.mkv"])
    prepared = prepare(
        BatchRequest(paths=(lib,), **request),  # type: ignore[arg-type]
        Config(),
        plumbing=Plumbing(check_tools=lambda _tools, _dry: None, open_store=False),
    )
    assert isinstance(prepared, Refusal)
    return prepared


def test_a_worker_count_below_one_is_refused_as_headless_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = fake_services(FakeEngine())
    assert run_tui(services=services, workers=0) == EXIT_USAGE
    headless = _headless_refusal(tmp_path, workers=0)
    assert capsys.readouterr().err == f"vpo-tui: {headless.console}\n"
    assert headless.exit_code == EXIT_USAGE
    with pytest.raises(StartRefused) as refused:
        VpoApp(services=services, workers=0)
    assert refused.value.refusal.exit_code == EXIT_USAGE


def test_an_unreachable_cluster_is_refused_with_exit_5_and_said_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = fake_services(FakeEngine(), store=None)
    started = time.monotonic()
    code = run_tui(services=services, executor="dask://127.0.0.1:9")
    assert code == EXIT_MISSING_TOOL
    err = capsys.readouterr().err
    assert err.startswith("note: connecting to dask://127.0.0.1:9")  # before the wait
    refusal = err.splitlines()[-1]
    assert refusal.startswith("vpo-tui: ") and "127.0.0.1:9" in refusal
    assert time.monotonic() - started < 60


def test_a_policy_that_does_not_load_opens_the_app_all_the_same(tmp_path: Path) -> None:
    """Headless refuses it (exit 3); the app opens and its picker says it is invalid."""
    assert _headless_refusal(tmp_path, policy="no-such-policy").exit_code == 3
    app = VpoApp(services=fake_services(FakeEngine()), policy="no-such-policy")
    assert app.start_policy == "no-such-policy" and app.session.policy.name == "normalize"


def test_the_apps_batches_share_its_store_and_cap_the_kill_grace(tmp_path: Path) -> None:
    from vpo_tui.store.history import HistoryStore
    from vpo_tui.tui.request import BatchRequest as Picked
    from vpo_tui.tui.services import for_batch

    with HistoryStore(tmp_path / "h.sqlite3") as store:
        app = VpoApp(services=fake_services(FakeEngine(), store=store))
        session = app.session
        assert session.store is store and session.settings.kill_grace_s <= 1.0
        lib = touch_library(tmp_path / "lib", ["a.mkv"])
        picked = Picked(
            paths=(lib,),
            policy=fake_services(FakeEngine()).load_policy("fake"),
            workers=1,
            dry_run=True,
            display_root=lib,
        )
        batch = for_batch(session, picked)
        assert batch.store is store and batch.policy.name == "fake"
        assert batch.request.paths == (lib,) and batch.request.dry_run
        batch.close()  # never closes what the app's session shares
        assert session.store is store
        store.list_batches()  # still open


def test_on_a_cluster_the_worker_cap_names_the_cluster_not_this_machines_cores() -> None:
    import dataclasses

    services = fake_services(FakeEngine())
    app = VpoApp(services=services)
    assert "CPU cores" in services.cap_reason(app.session)  # threads: this machine's cores
    on_cluster = dataclasses.replace(
        app.session, cluster=object(), executor_name="dask://10.0.0.5:8786"
    )
    said = services.cap_reason(on_cluster)  # type: ignore[arg-type]
    assert "dask://10.0.0.5:8786" in said and "CPU core" not in said


async def test_the_app_says_which_cluster_its_files_run_on(tmp_path: Path) -> None:
    import dataclasses

    from tests.tui.helpers import SIZE, wait_for
    from vpo_tui.batch.session import Session
    from vpo_tui.tui.services import start_session

    services = fake_services(FakeEngine())
    opened = start_session(services)
    assert isinstance(opened, Session)
    note = "running on the Dask cluster at tcp://10.0.0.5:8786: 2 workers on n1, n2"
    app = VpoApp(services=services, session=dataclasses.replace(opened, executor_note=note))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app._notifications), what="a notification")
        assert any(n.message == note for n in app._notifications)
    quiet = VpoApp(services=services, session=opened)  # threads: nothing to say
    async with quiet.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not any("Dask" in n.message for n in quiet._notifications)
