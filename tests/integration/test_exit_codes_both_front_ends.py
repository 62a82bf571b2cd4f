"""Every way a batch ends gives the same exit code headless and in the app.

The two front ends once mapped endings themselves and disagreed (a lost Dask
scheduler exited 1 headless and 0 in the app). Both now run one session and one
``exit_code_for``; this runs each ending through both and compares. Files run on
a scripted backend (a fake engine is fine here: this is about the front ends).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.endings import ENDINGS, ScriptedBackend
from vpo_tui.batch.exit_codes import (
    EXIT_INVALID,
    EXIT_NOTHING_FOUND,
)
from vpo_tui.batch.session import Plumbing, Refusal, prepare
from vpo_tui.config import Config
from vpo_tui.headless import HeadlessOptions, run_headless

REFUSALS = {"bad policy": EXIT_INVALID, "nothing found": EXIT_NOTHING_FOUND}


def _library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("a.mkv", "b.mkv", "c.mkv"):
        (lib / name).write_bytes(b"fake")
    return lib


def _plumbing(backend: ScriptedBackend) -> Plumbing:
    return Plumbing(backend=lambda: backend, check_tools=lambda _tools, _dry: None)


def _headless(tmp_path: Path, ending: str) -> int:
    lib = _library(tmp_path)
    backend = ScriptedBackend(ending)
    if ending in ("stopped", "killed"):
        presses = 1 if ending == "stopped" else 2

        def press_ctrl_c() -> None:  # the user's Ctrl-C, through headless's own handler
            backend.started.wait(10)
            for _ in range(presses):
                os.kill(os.getpid(), signal.SIGINT)
                threading.Event().wait(0.2)

        threading.Thread(target=press_ctrl_c, daemon=True).start()
    options = HeadlessOptions(
        paths=(lib,), workers=1, db=tmp_path / "h.db", quiet=True, config=Config()
    )
    return run_headless(options, plumbing=_plumbing(backend))


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_headless_exit_code_for_each_ending(tmp_path: Path, ending: str) -> None:
    assert _headless(tmp_path, ending) == ENDINGS[ending]


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refused_batch_has_one_exit_code_everywhere(tmp_path: Path, refusal: str) -> None:
    lib = tmp_path / "empty"
    lib.mkdir()
    policy = "no-such-policy" if refusal == "bad policy" else "normalize"
    if refusal == "bad policy":
        (lib / "a.mkv").write_bytes(b"fake")
    options = HeadlessOptions(paths=(lib,), policy=policy, db=tmp_path / "h.db", quiet=True)
    headless = run_headless(options, plumbing=_plumbing(ScriptedBackend("finished")))
    prepared = prepare(options.request(), Config(), plumbing=_plumbing(ScriptedBackend("x")))
    assert isinstance(prepared, Refusal)  # what the app renders and exits with
    assert headless == prepared.exit_code == REFUSALS[refusal]
