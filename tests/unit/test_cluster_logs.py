"""Dask's log messages and warnings go to vpo-tui's cluster log, not to the terminal."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from vpo_tui.batch.cluster import logs


def test_dask_messages_and_warnings_go_to_the_file(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(logs, "_routed", None)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after
    target = tmp_path / "log" / "cluster.log"
    # as Dask's import leaves them: a stderr handler on its loggers
    logging.getLogger("distributed.client").addHandler(logging.StreamHandler())
    assert logs.route_dask_logs(target) == target
    assert logs.route_dask_logs(target) == target  # again: nothing doubles
    logging.getLogger("distributed.client").error("Failed to reconnect to scheduler")
    shown: list[str] = []
    monkeypatch.setattr(logs, "_original_showwarning", lambda m, *_a, **_k: shown.append(str(m)))
    hook = warnings.showwarning  # what route_dask_logs installed
    hook(UserWarning("Port 8787 is already in use."), UserWarning, "/venv/distributed/node.py", 195)
    hook(UserWarning("someone else's"), UserWarning, "/elsewhere/mod.py", 1)
    assert shown == ["someone else's"]  # other warnings are shown as before
    assert "reconnect" not in capsys.readouterr().err
    text = target.read_text()
    assert text.count("Failed to reconnect to scheduler") == 1
    assert "Port 8787 is already in use." in text


def test_a_log_that_grew_too_big_keeps_its_newer_half(tmp_path: Path) -> None:
    target = tmp_path / "cluster.log"
    target.write_bytes(b"".join(b"line %07d\n" % i for i in range(200_000)))
    logs._trim(target)
    data = target.read_bytes()
    assert len(data) <= logs._MAX_BYTES // 2
    assert data.startswith(b"line ") and data.endswith(b"line 0199999\n")


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in logs.DASK_LOGGERS]
    saved = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate) for n in names
    }
    yield None
    for name in logs.DASK_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.close()
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
