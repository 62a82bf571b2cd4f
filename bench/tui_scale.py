"""TUI scale benchmark: 10,000 queued files on a fast fake engine.

Measures (1) how long a key press takes to be handled on the run screen while
the batch runs (goal: at most 100 ms) and (2) the whole batch's wall time in the
TUI against ``--no-tui`` on the same files (goal: at most 1.3x). The baseline is
the headless path itself: the same BatchRunner and fake engine with headless's
``ConsoleListener`` drawing its terminal line (to /dev/null); a do-nothing
listener is printed too, as the floor. Both sides include building the jobs.
Prints the figures; the bench helper copies them into bench/RESULTS.md.

Run: ``.venv/bin/python bench/tui_scale.py [--files N] [--workers N]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeEngine, fake_policy
from tests.tui.helpers import fake_services
from textual import events

from vpo_tui.batch.backend import ThreadsBackend
from vpo_tui.batch.events import BatchEvent, BatchListener
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.config import Config, ProcessingConfig
from vpo_tui.engine.job import FileJob
from vpo_tui.headless import ConsoleListener
from vpo_tui.tui.app import VpoApp
from vpo_tui.tui.request import BatchRequest
from vpo_tui.tui.screens.run import RunScreen

ROOT = Path("/bench-library")


class NullListener:
    def on_event(self, event: BatchEvent) -> None:
        pass


def paths(n: int) -> list[Path]:
    return [ROOT / f"Season {i // 100:03d}" / f"Episode {i:05d}.mkv" for i in range(n)]


DURATION = 0.0  # seconds of fake work per file (--duration)
KEY_GAP_S = 0.05  # a key press every 50 ms (faster than anyone holds a key down)


def engine() -> FakeEngine:
    return FakeEngine(duration=DURATION, steps=2)


def headless_seconds(n: int, workers: int, *, console: bool) -> float:
    """What ``--no-tui`` does on a terminal: runner + ConsoleListener (or a null listener)."""
    files = paths(n)
    with open(os.devnull, "w") as sink:
        listener: BatchListener = (
            ConsoleListener(sink, tty=True, quiet=False, dry_run=False)
            if console
            else NullListener()
        )
        started = time.perf_counter()
        jobs = [FileJob(path=p, policy=fake_policy()) for p in files]
        runner = BatchRunner(
            jobs,
            workers=workers,
            listener=listener,
            on_error="skip",
            backend=ThreadsBackend(engine()),
        )
        runner.run()
        return time.perf_counter() - started


async def tui_figures(n: int, workers: int) -> tuple[float, float, list[float]]:
    """Wall and process CPU seconds from opening the run screen to the batch's end."""
    config = Config(processing=ProcessingConfig(workers=workers, max_workers=workers))
    services = fake_services(engine(), config=config)
    app = VpoApp(services=services, browse_root=Path("/"), display_root=ROOT)
    request = BatchRequest(
        paths=(ROOT,), policy=fake_policy(), workers=workers, dry_run=False, display_root=ROOT
    )
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.perf_counter()
        cpu_started = cpu_seconds()
        app.open_run(request, paths(n))
        while not isinstance(app.screen, RunScreen):
            await pilot.pause(0.005)
        run = app.screen
        assert isinstance(run, RunScreen)
        while run.runner is None:  # mounted: the table exists and the batch has started
            await pilot.pause(0.005)
        handled: list[float] = []
        original_move = run.table._move

        def timed_move(delta: int) -> None:
            original_move(delta)
            handled.append(time.perf_counter())

        run.table._move = timed_move  # type: ignore[method-assign]
        keys = ["down", "down", "pagedown", "up"]
        i = 0
        while run.model.result is None:
            # A key as the terminal driver delivers it; latency = until the table moved.
            count = len(handled)
            t0 = time.perf_counter()
            app.post_message(events.Key(keys[i % len(keys)], None))
            while len(handled) == count and time.perf_counter() - t0 < 5:
                if run.model.result is not None:  # the summary took the key: not a sample
                    break
                await asyncio.sleep(0.001)
            if len(handled) > count:
                latencies.append(handled[-1] - t0)
            elif run.model.result is None:
                latencies.append(5.0)  # never handled while the batch ran: a failure
            i += 1
            await asyncio.sleep(KEY_GAP_S)
        total = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_started
        assert run.model.done == n, run.model.done
    return total, cpu, latencies


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.0, help="fake seconds per file")
    parser.add_argument("--key-gap", type=float, default=0.05, help="seconds between keys")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (headless, then TUI)")
    args = parser.parse_args()
    global DURATION, KEY_GAP_S
    DURATION = args.duration
    KEY_GAP_S = args.key_gap

    # Rounds alternate the two sides so that load from other processes on the
    # machine hits both alike; the ratio is taken per round and summarised.
    floor = headless_seconds(args.files, args.workers, console=False)
    rounds: list[tuple[float, float, float, float]] = []
    latencies: list[float] = []
    first_keys: list[float] = []
    for _ in range(args.repeat):
        cpu0 = cpu_seconds()
        headless = headless_seconds(args.files, args.workers, console=True)
        cpu_headless = cpu_seconds() - cpu0
        tui, cpu_tui, keys = asyncio.run(tui_figures(args.files, args.workers))
        rounds.append((headless, tui, cpu_headless, cpu_tui))
        # The first key is sent the instant the run screen is mounted, so it waits
        # for the screen's first paint; reported apart from the keys while it runs.
        first_keys += keys[:1]
        latencies += keys[1:]
    latencies_ms = sorted(x * 1000 for x in latencies) or [0.0]
    p95 = latencies_ms[int(len(latencies_ms) * 0.95) - 1] if len(latencies_ms) > 1 else 0.0
    ratios = sorted(t / h for h, t, _, _ in rounds)
    print(f"files: {args.files}, workers: {args.workers}, fake engine {DURATION * 1000:g} ms/file")
    print(f"runner + null listener (floor):      {floor:.2f} s")
    for i, (headless, tui, cpu_h, cpu_t) in enumerate(rounds, 1):
        print(
            f"round {i}: --no-tui {headless:.2f} s (cpu {cpu_h:.2f} s), "
            f"TUI {tui:.2f} s (cpu {cpu_t:.2f} s) -> {tui / headless:.2f}x wall, "
            f"{cpu_t / cpu_h:.2f}x cpu"
        )
    best_h = min(r[0] for r in rounds)
    best_t = min(r[1] for r in rounds)
    cpu_ratios = sorted(t / h for _, _, h, t in rounds)
    print(
        f"TUI / --no-tui CPU seconds (robust to other load; the batch is GIL-bound): "
        f"median {statistics.median(cpu_ratios):.2f}x"
    )
    print(
        f"TUI / --no-tui wall: median {statistics.median(ratios):.2f}x, "
        f"best-of {best_t:.2f} s / {best_h:.2f} s = {best_t / best_h:.2f}x (goal <= 1.3x)"
    )
    print(
        f"key presses during the batch: {len(latencies_ms)}; "
        f"median {statistics.median(latencies_ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies_ms[-1]:.1f} ms (goal <= 100 ms)"
    )
    if first_keys:
        print(
            "first key, sent as the run screen mounts (waits for its first paint): "
            + ", ".join(f"{x * 1000:.0f} ms" for x in first_keys)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
