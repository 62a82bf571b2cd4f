"""How property tests run: the same examples every time, unless asked to explore.

``make check`` (and CI) must not turn red on its own, so the default profile is
derandomized: every run draws the same examples, and a failure means the code
changed. Exploration is a separate, explicit act: ``make fuzz`` sets
``VPO_FUZZ_SCALE`` (say 50) to draw fresh random examples, that many times as
many; whatever it finds becomes an ``@example`` and a fix.
"""

from __future__ import annotations

import os

from hypothesis import settings

SCALE = max(1, int(os.environ.get("VPO_FUZZ_SCALE", "1") or "1"))

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if SCALE > 1 else "repeatable")


def examples(n: int) -> int:
    """``n`` examples, times the exploration scale."""
    return n * SCALE
