"""On a terminal, ``--no-tui`` keeps one aggregate line updated in place on stderr."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.commands import env_for, logging_tools, vpo_cmd
from tests.conftest import AudioSpec, MakeMedia


def _read_until_exit(proc: subprocess.Popen[bytes], master: int, timeout: float) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return bytes(out)


def test_progress_line_is_redrawn_in_place_on_a_terminal(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    for i in range(3):
        make_file(f"m{i}.mkv", folder=lib, audio=(AudioSpec("eng"), AudioSpec("fre")))
    config, _log = logging_tools(tmp_path, delay=0.4)  # slow tools: the line is drawn meanwhile
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            vpo_cmd(
                str(lib),
                "--policy",
                "english-only",
                "--config",
                str(config),
                "--db",
                str(tmp_path / "h.db"),
            ),
            cwd=tmp_path,
            env=env_for(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        err = _read_until_exit(proc, master, timeout=120).decode("utf-8", "replace")
        stdout = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.wait(timeout=10) == 0, err
    finally:
        os.close(master)
    redraws = err.split("\r\x1b[K")
    progress = [r for r in redraws if r.startswith("Processing: ")]
    assert len(progress) >= 3, err
    # redrawn in place: no line feed between two redraws of the aggregate line
    assert all("\n" not in r for r in progress), err
    assert any("[1 active]" in r and "elapsed" in r for r in progress), err
    assert any(r.startswith("Processing: 1/3 files") for r in progress), err
    assert redraws[-1].startswith("Done: 3 files") and "(3 ok)" in redraws[-1], err
    assert stdout == ""  # progress and summary go to stderr; stdout stays clean
