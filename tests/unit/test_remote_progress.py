"""A worker's progress throttle: one event per interval, none lost at the end of a burst.

The worker's event loop is stood in for by a timer thread (the class only needs
``add_callback`` and ``call_later``); no Dask here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from vpo_tui.batch.cluster.worker import RemoteProgress
from vpo_tui.engine.job import ProgressUpdate

INTERVAL_S = 0.2


class TimerLoop:
    """``add_callback`` runs at once; ``call_later`` on a timer thread."""

    def __init__(self) -> None:
        self.timers: list[threading.Timer] = []

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        timer = threading.Timer(delay, fn)
        self.timers.append(timer)
        timer.start()


def _throttle() -> tuple[RemoteProgress, list[tuple[float, ProgressUpdate]], TimerLoop]:
    sent: list[tuple[float, ProgressUpdate]] = []
    loop = TimerLoop()
    progress = RemoteProgress(lambda u: sent.append((time.monotonic(), u)), loop, INTERVAL_S)
    return progress, sent, loop


def test_first_update_at_once_then_the_burst_s_last_after_the_interval() -> None:
    progress, sent, loop = _throttle()
    start = time.monotonic()
    for stage in ("lock", "probe", "plan", "space", "run"):
        progress(ProgressUpdate(stage))
    assert [u.stage for _t, u in sent] == ["lock"]  # the rest wait for the interval
    for timer in loop.timers:
        timer.join(2)
    assert [u.stage for _t, u in sent] == ["lock", "run"]  # the latest, not a stale one
    assert sent[1][0] - start >= INTERVAL_S * 0.9
    assert len(loop.timers) == 1  # one flush planned per burst


def test_the_final_update_goes_at_once_and_nothing_after_close() -> None:
    progress, sent, loop = _throttle()
    progress(ProgressUpdate("lock"))
    progress(ProgressUpdate("verify"))
    progress(ProgressUpdate("commit", 1.0))
    assert [(u.stage, u.fraction) for _t, u in sent] == [("lock", 0.0), ("commit", 1.0)]
    progress.close()
    for timer in loop.timers:
        timer.join(2)
    progress(ProgressUpdate("commit", 1.0))
    assert len(sent) == 2  # the planned flush found nothing newer; closed sends nothing


def test_updates_spaced_wider_than_the_interval_all_go() -> None:
    progress, sent, _loop = _throttle()
    for stage in ("lock", "probe", "run"):
        progress(ProgressUpdate(stage))
        time.sleep(INTERVAL_S * 1.2)
    assert [u.stage for _t, u in sent] == ["lock", "probe", "run"]


def test_the_files_playing_time_survives_the_throttle() -> None:
    """Only the plan stage knows the duration; the update that goes out carries it."""
    progress, sent, loop = _throttle()
    progress(ProgressUpdate("lock"))
    progress(ProgressUpdate("probe"))
    progress(ProgressUpdate("plan", duration_s=1234.0))  # held back, then overtaken
    progress(ProgressUpdate("space"))
    progress(ProgressUpdate("run", 0.1))
    for timer in loop.timers:
        timer.join(2)
    progress(ProgressUpdate("commit", 1.0))
    assert [(u.stage, u.duration_s) for _t, u in sent] == [
        ("lock", None),
        ("run", 1234.0),
        ("commit", 1234.0),
    ]
