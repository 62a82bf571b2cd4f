"""The app's preview over many real files, probed in-process (issue 18).

Opens the real app (real engine, PyAV helpers, no history: every file probed)
on N remux files and measures: the first probed row (goal <= 1 s), all rows
probed against ``xargs -P 2 ffprobe`` over the same files (goal <= 0.25x), how
long a key press takes to move the table while the probes run (p95, goal
<= 100 ms, as the TUI scale benchmark), and the memory the probe helpers add.
The issue asks 10,000 files; the default is 2,000 (the ffprobe baseline alone
takes ~2 min per 2,000 on this machine); ``--files 10000`` runs the full size.

Run: ``PYTHONPATH=app:. .venv/bin/python -m bench.preview_scale [--files N]``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
from pathlib import Path

from bench import Figure, _media, format_table, wait_for_quiet
from bench.dry_run_probe import _xargs_ffprobe
from bench.probe_isolation import _pss_kb

NAME = "preview_scale"
KEY_GAP_S = 0.05


async def _preview(root: Path, workers: int) -> tuple[float, float, list[float], float]:
    """First probed row, all probed (seconds from opening), key latencies, helpers' MB."""
    from textual import events

    from vpo_tui.config import Config, ProcessingConfig
    from vpo_tui.engine.probe_pool import pool
    from vpo_tui.policy.load import load_policy
    from vpo_tui.tui.app import VpoApp
    from vpo_tui.tui.request import BatchRequest
    from vpo_tui.tui.screens.preview import PreviewScreen
    from vpo_tui.tui.services import Services

    config = Config(processing=ProcessingConfig(workers=workers, max_workers=workers))
    app = VpoApp(
        services=Services(cores=2 * workers, config=config),
        policy=_media.REMUX_POLICY,
        browse_root=root.parent,
        display_root=root,
    )
    request = BatchRequest(
        paths=(root,),
        policy=load_policy(_media.REMUX_POLICY),
        workers=workers,
        dry_run=True,
        display_root=root,
    )
    latencies: list[float] = []
    helpers_mb = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.perf_counter()
        app.open_preview(request)
        while not isinstance(app.screen, PreviewScreen):
            await pilot.pause(0.005)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        while not preview.is_mounted:  # its table exists once mounted
            await pilot.pause(0.005)
        first = None
        moved: list[float] = []
        original_move = preview.table._move

        def timed_move(delta: int) -> None:
            original_move(delta)
            moved.append(time.perf_counter())

        preview.table._move = timed_move  # type: ignore[method-assign]
        keys = ["down", "down", "up"]
        i = 0
        while not preview.probing_done:
            if first is None and any(r.state != "probing" for r in preview.rows):
                first = time.perf_counter() - started
            if preview.rows:
                count = len(moved)
                t0 = time.perf_counter()
                app.post_message(events.Key(keys[i % len(keys)], None))
                while len(moved) == count and time.perf_counter() - t0 < 5:
                    await asyncio.sleep(0.001)
                latencies.append((moved[-1] if len(moved) > count else t0 + 5) - t0)
                i += 1
                helpers_mb = max(helpers_mb, sum(_pss_kb(p) for p in pool().pids()) / 1024)
            await asyncio.sleep(KEY_GAP_S)
        total = time.perf_counter() - started
        if first is None:
            first = total
        probed = sum(1 for r in preview.rows if r.state != "probing")
        if probed != len(preview.rows):
            raise RuntimeError(f"{probed} of {len(preview.rows)} rows probed")
    return first, total, latencies, helpers_mb


def run(files: int = 2000, workers: int = 2) -> list[Figure]:
    root = _media.fresh_batch(_media.REMUX, files, NAME)
    try:
        idle = [wait_for_quiet()]
        shell, _ = _xargs_ffprobe(root, workers)
        idle.append(wait_for_quiet())
        first, total, latencies, helpers_mb = asyncio.run(_preview(root, workers))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[int(len(ms) * 0.95)] if ms else 0.0
    return [
        Figure(NAME, f"xargs -P {workers} ffprobe ({files:,} files)", shell, "s"),
        Figure(NAME, "preview in the app: first probed row", first, "s", 1.0),
        Figure(NAME, "preview in the app: all rows probed", total, "s"),
        Figure(NAME, "ratio preview / xargs ffprobe", total / shell, "x", 0.25),
        Figure(NAME, f"key to table move while probing, p95 ({len(ms)} keys)", p95, "ms", 100),
        Figure(NAME, "key to table move, median", statistics.median(ms) if ms else 0, "ms"),
        Figure(NAME, "probe helpers' memory (PSS, peak seen)", helpers_mb, "MB", 100),
        Figure(NAME, "machine idle before the runs (lowest)", min(idle) * 100, "%"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(format_table(run(args.files, args.workers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
