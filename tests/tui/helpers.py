"""Shared pieces for the TUI tests: fake services, a fixed library layout, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.fakes import fake_policy
from vpo_tui.policy.model import Policy
from vpo_tui.tui.services import ProcessFn, Services
from vpo_tui.tui.widgets.marking_tree import VIDEO_SUFFIXES

FIXED_NOW = 1000.0


def list_videos(paths: Sequence[Path]) -> Iterable[Path]:
    """Test discovery: video files under the marked paths, sorted (fakes never open them)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in VIDEO_SUFFIXES)
        else:
            yield path


def fake_load_policy(name: str) -> Policy:
    return Policy(
        name=name,
        description=f"{name}: a test policy that changes nothing real",
        source=f"builtin:{name}",
        digest="d",
    )


def fake_services(process: ProcessFn, **overrides: Any) -> Services:
    base: dict[str, Any] = {
        "process": process,
        "discover": list_videos,
        "load_policy": fake_load_policy,
        "policy_names": lambda: ["fake", "normalize"],
        "worker_cap": (4, "max 4: half of 8 CPU cores ([processing] max_workers raises it)"),
    }
    base.update(overrides)
    return Services(**base)


def touch_library(root: Path, names: Iterable[str]) -> Path:
    """Empty files with video names: enough for a fake engine."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"fake")
    return root


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


__all__ = ["FIXED_NOW", "fake_policy"]
