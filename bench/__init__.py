"""vpo-tui batch benchmarks: figures against a baseline measured in the same run.

These are not timed tests and never run in ``make check``: a busy CI machine
would make them flaky, and a benchmark that can only pass or fail hides the
number that matters. Each benchmark returns ``Figure`` rows (value, goal,
PASS/MISS) and ``python -m bench`` prints them as one table for bench/RESULTS.md.
"""

from __future__ import annotations

import operator
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
    if value == int(value) and abs(value) >= 10:
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
