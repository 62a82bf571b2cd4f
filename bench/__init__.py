"""vpo-tui batch benchmarks: figures against a baseline measured in the same run.

These are not timed tests and never run in ``make check``: a busy CI machine
would make them flaky, and a benchmark that can only pass or fail hides the
number that matters. Each benchmark returns ``Figure`` rows (value, goal,
PASS/MISS) and ``python -m bench`` prints them as one table for bench/RESULTS.md.
"""

from __future__ import annotations

import operator
import resource
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Figure:
    """One measured number; ``goal`` is ``None`` for context figures (baselines)."""

    benchmark: str
    name: str
    value: float
    unit: str = ""
    goal: float | None = None
    compare: str = "<="  # how value relates to goal when the goal is met

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        return "PASS" if _COMPARE[self.compare](self.value, self.goal) else "MISS"

    def goal_text(self) -> str:
        return (
            "" if self.goal is None else f"{self.compare} {_number(self.goal)} {self.unit}".strip()
        )

    def value_text(self) -> str:
        return f"{_number(self.value)} {self.unit}".strip()


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_table(figures: list[Figure], *, markdown: bool = False) -> str:
    """Figures as an aligned text table, or a Markdown table for RESULTS.md."""
    header = ("benchmark", "figure", "value", "goal", "verdict")
    rows = [(f.benchmark, f.name, f.value_text(), f.goal_text(), f.verdict) for f in figures]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


# -- measuring on a shared machine ------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    """Wall time, and the CPU time of the process tree (robust to other load)."""

    wall_s: float
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str


def timed(argv: list[str], **kwargs: object) -> Timed:
    """Run ``argv`` to completion; wall clock plus user+sys of it and all its waited children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu, done.returncode, done.stdout, done.stderr)


def _cpu_counters() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields)


def idle_fraction(interval_s: float = 0.5) -> float:
    """How idle all CPUs were over ``interval_s`` (1.0 = nothing else running)."""
    idle0, total0 = _cpu_counters()
    time.sleep(interval_s)
    idle1, total1 = _cpu_counters()
    return (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_quiet(min_idle: float = 0.85, timeout_s: float = 30.0) -> float:
    """Wait (bounded) until other work on the machine calms down; returns the idle fraction.

    Other people's test runs on a 2-core machine skew a wall-clock ratio badly;
    the figure is still taken after the timeout, and the idle fraction printed with it.
    """
    deadline = time.monotonic() + timeout_s
    idle = idle_fraction()
    while idle < min_idle and time.monotonic() < deadline:
        idle = idle_fraction()
    return idle
