"""Turn the tools' progress output into ``ProgressUpdate`` values.

Two formats: ``ffmpeg -progress pipe:1 -nostats`` (``key=value`` blocks ending
with ``progress=continue|end``) and ``mkvmerge --gui-mode`` (``#GUI#progress N%``).
A line that does not parse is ignored: a tool printing garbage must never crash
the engine, it only means the bar does not move.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from vpo_tui.engine.job import ProgressUpdate

Emit = Callable[[ProgressUpdate], None]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class FfmpegProgress:
    """Parses ``-progress`` blocks; ``duration_s`` is the expected output length."""

    def __init__(self, duration_s: float | None, emit: Emit) -> None:
        self._duration = duration_s if duration_s and duration_s > 0 else None
        self._emit = emit
        self._out_time_s: float | None = None
        self._fps: float | None = None
        self._speed: float | None = None

    def feed(self, line: str) -> None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return
        value = value.strip()
        try:
            if key in ("out_time_us", "out_time_ms"):  # both are microseconds in ffmpeg
                self._out_time_s = _finite(int(value) / 1_000_000)
            elif key == "fps":
                self._fps = _finite(float(value))
            elif key == "speed":
                self._speed = _finite(float(value.rstrip("x")))
            elif key == "progress":
                self._emit(self._update(done=value == "end"))
        except (ValueError, OverflowError):
            return

    def _update(self, *, done: bool) -> ProgressUpdate:
        fraction = 0.0
        eta: float | None = None
        if done:
            fraction, eta = 1.0, 0.0
        elif self._duration and self._out_time_s is not None:
            fraction = min(max(self._out_time_s / self._duration, 0.0), 1.0)
            if self._speed and self._speed > 0:
                eta = max(self._duration - self._out_time_s, 0.0) / self._speed
        return ProgressUpdate("run", fraction, fps=self._fps, speed=self._speed, eta_s=eta)


class MkvmergeProgress:
    """Parses ``#GUI#progress N%`` lines; ETA from the elapsed time."""

    def __init__(self, emit: Emit, clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._clock = clock
        self._started = clock()

    def feed(self, line: str) -> None:
        line = line.strip()
        if not line.startswith("#GUI#progress"):
            return
        raw = line[len("#GUI#progress") :].strip().rstrip("%")
        try:
            percent = float(raw)
        except ValueError:
            return
        if not math.isfinite(percent):
            return
        fraction = min(max(percent / 100.0, 0.0), 1.0)
        elapsed = self._clock() - self._started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        self._emit(ProgressUpdate("run", fraction, eta_s=eta))
