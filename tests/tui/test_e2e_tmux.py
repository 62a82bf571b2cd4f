"""The installed ``vpo-tui`` in a real terminal (tmux): mark → preview → run → summary."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import MakeMedia
from tests.tui.terminal import TMUX_MARKS, VPO_TUI, Terminal
from vpo_tui.samples import AudioSpec, SubtitleSpec, make_garbage
from vpo_tui.store.history import HistoryStore

pytestmark = TMUX_MARKS


def test_installed_app_in_a_real_terminal(
    tmp_path: Path,
    make_file: MakeMedia,
    terminal_env: dict[str, str],
    terminal_factory: list[Terminal],
) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    make_file(
        "needs work.mkv",
        folder=lib,
        audio=(AudioSpec("fre", default=True), AudioSpec("eng")),
        subtitles=(SubtitleSpec("eng"),),
    )
    make_garbage(lib / "broken.mkv")
    # No --policy: the CLI's default policy ("normalize") is preselected.
    term = Terminal([str(VPO_TUI), str(lib)], terminal_env, tmp_path)
    terminal_factory.append(term)

    term.wait_for("pick folders and a policy")
    screen = term.wait_for("[x]")  # the folder tree fills in after the first paint
    assert "library" in screen  # the path from the command line is marked
    term.wait_for("normalize")  # the policy list may be painted a moment later
    term.keys("n")
    screen = term.wait_for("press r to run")
    assert "Found 2 files" in screen
    assert "will change" in screen and "error" in screen
    term.keys("r")
    screen = term.wait_for("Summary —")  # the screen, not the run screen's Summary button
    assert "Failed files (1)" in screen and "broken.mkv" in screen
    term.keys("escape")
    screen = term.wait_for("Finished: 2/2 files")
    assert "ok" in screen and "failed" in screen
    term.keys("q")
    screen = term.wait_for("VPO-EXITED-", timeout=10)
    assert "VPO-EXITED-1" in screen  # a file failed: the exit code says so
    assert sorted(p.name for p in lib.iterdir()) == ["broken.mkv", "needs work.mkv"]
    # The batch went into the default history database, as a headless one would.
    db = Path(terminal_env["XDG_DATA_HOME"]) / "vpo-tui" / "history.sqlite3"
    with HistoryStore(db) as store:
        (batch,) = store.list_batches()
        assert batch.policy_name == "normalize" and batch.totals["failed"] == 1
        assert {Path(j.path).name: j.status for j in store.batch_jobs(batch.id)} == {
            "broken.mkv": "failed",
            "needs work.mkv": "ok",
        }
