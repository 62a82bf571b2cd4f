"""The Dask executor against threads: 40 remuxes, and the per-file dispatch overhead.

Goals (issue 11):

* ``--executor local-cluster:2`` vs ``--executor threads --workers 2`` over the
  same 40 remuxes: the batch (the JSON's ``duration_s``, from the first file to
  the last, with the cluster up as a ``dask://`` cluster always is) on the
  cluster / on threads <= 1.25. Both are whole CLI runs; launch to exit is
  reported too, and the difference is the fixed cost of a fresh LocalCluster
  (importing Dask, starting a scheduler and two worker processes, checking them).
* The scheduler's cost per file: 10,000 files through ``BatchRunner`` on a ``DaskBatch`` with a
  no-op engine on a LocalCluster of 2 worker processes: <= 5 ms per file
  (wall / files, the cluster already running). Context: the same no-op batch
  through threads, and bare Dask (the same tasks submitted at once and gathered:
  no runner, no events, no lock) in the rounds between, with the ratio to it.
* TLS (issue 20): ``local-cluster`` runs over TLS with temporary credentials, so
  the figures above are over TLS. The same no-op batch on a second LocalCluster
  over plain TCP runs in the same rounds, for the price of the encryption.

The machine is shared, so the rounds are interleaved (threads, cluster, threads,
...) and the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench import Figure, _media, timed, wait_for_quiet
from bench.batch_overhead import check_remuxed, write_config

NAME = "cluster"
FILES = 40
NOOP_FILES = 10_000
GOAL_RATIO = 1.25
GOAL_DISPATCH_MS = 5.0


def _remux_wall(executor: str, tag: str) -> tuple[float, float]:
    """(launch to exit, the batch alone as the JSON's duration_s) of one CLI run."""
    work = _media.WORK / NAME
    config = write_config(work / "config.toml", max_workers=2)
    db = work / f"history-{tag}.sqlite"
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    root = _media.fresh_batch(_media.REMUX, FILES, f"{NAME}-{tag}")
    wait_for_quiet()
    argv = [sys.executable, "-m", "vpo_tui", "--no-tui", "--json", "--quiet", str(root)]
    argv += ["--policy", _media.REMUX_POLICY, "--workers", "2", "--executor", executor]
    argv += ["--config", str(config), "--db", str(db)]
    done = timed(argv)
    if done.returncode != 0:
        raise RuntimeError(f"{executor}: exit {done.returncode}\n{done.stderr[-2000:]}")
    check_remuxed(root, len(_media.REMUX.spec.audio) + len(_media.REMUX.spec.subtitles))
    batch_s = float(json.loads(done.stdout)["summary"]["duration_s"])
    return done.wall_s, batch_s


def noop_engine(job: object, control: object) -> object:
    """The engine replaced by nothing: the file is reported unchanged at once."""
    from vpo_tui.engine.job import FileResult, FileStatus

    return FileResult(job.path, FileStatus.UNCHANGED)  # type: ignore[attr-defined]


def _noop_jobs(files: int) -> list[object]:
    from vpo_tui.engine.job import FileJob
    from vpo_tui.policy.load import load_policy

    policy = load_policy("normalize")
    return [FileJob(Path(f"/nowhere/{i:05d}.mkv"), policy) for i in range(files)]


class _Quiet:
    def on_event(self, event: object) -> None:
        pass


def _noop_wall(backend: object | None, files: int, workers: int) -> float:
    from vpo_tui.batch.backend import ThreadsBackend
    from vpo_tui.batch.cluster.client import DaskBatch
    from vpo_tui.batch.runner import BatchRunner

    jobs = _noop_jobs(files)
    common = dict(workers=workers, listener=_Quiet(), on_error="skip")
    if backend is None:
        runner = BatchRunner(jobs, backend=ThreadsBackend(noop_engine), **common)  # type: ignore[arg-type]
    else:
        dask = DaskBatch(backend, noop_engine)  # type: ignore[arg-type]
        runner = BatchRunner(jobs, backend=dask, **common)  # type: ignore[arg-type]
    wait_for_quiet()
    start = time.perf_counter()
    result = runner.run()
    wall = time.perf_counter() - start
    if result.count(result.files[0].status) != files:
        raise RuntimeError(f"no-op batch: {result.totals}")
    return wall


def _bare_dask_ms(backend: object, files: int) -> float:
    """Context: the same no-op tasks submitted all at once and gathered, no runner, no lock."""
    from vpo_tui.batch.cluster.worker import ControlNames, process_on_worker

    client = backend.client  # type: ignore[attr-defined]
    names = ControlNames.fresh()
    jobs = _noop_jobs(files)
    wait_for_quiet()
    start = time.perf_counter()
    futures = [
        client.submit(
            process_on_worker,
            j,
            "k",
            None,
            topic="bench",
            names=names,
            engine=noop_engine,
            pure=False,
        )
        for j in jobs
    ]
    client.gather(futures)
    return (time.perf_counter() - start) / files * 1000


def _start_cost_s(local_tls: bool) -> float:
    """Start a LocalCluster of 2 processes, check its workers, close it (Dask imported)."""
    from vpo_tui.batch.cluster.client import DaskBackend
    from vpo_tui.executors import ExecutorSpec

    wait_for_quiet()
    start = time.perf_counter()
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=2), local_tls=local_tls)
    try:
        backend.check()
    finally:
        backend.close()
    return time.perf_counter() - start


def run(repeat: int = 3, noop_files: int = NOOP_FILES, workers: int = 16) -> list[Figure]:
    from vpo_tui.batch.cluster.client import DaskBackend
    from vpo_tui.executors import ExecutorSpec

    threads: list[tuple[float, float]] = []
    cluster: list[tuple[float, float]] = []
    for i in range(repeat):  # interleaved: a busy spell hits both sides alike
        threads.append(_remux_wall("threads", f"threads-{i}"))
        cluster.append(_remux_wall("local-cluster:2", f"cluster-{i}"))
    t = statistics.median(w for w, _b in threads)
    c = statistics.median(w for w, _b in cluster)
    tb = statistics.median(b for _w, b in threads)
    cb = statistics.median(b for _w, b in cluster)

    latency_files = max(1, noop_files // 5)
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=2))  # TLS
    plain = DaskBackend.open(ExecutorSpec("local-cluster", processes=2), local_tls=False)
    try:
        if not backend.address.startswith("tls://"):
            raise RuntimeError(f"the local cluster is not on TLS: {backend.address}")
        on_threads: list[float] = []
        on_dask: list[float] = []
        on_plain: list[float] = []
        bare: list[float] = []
        one_by_one: list[float] = []
        one_by_one_plain: list[float] = []
        starts_tls: list[float] = []
        starts_plain: list[float] = []
        for _ in range(repeat):  # interleaved with bare Dask: the machine's mood hits both
            starts_tls.append(_start_cost_s(True))
            starts_plain.append(_start_cost_s(False))
            on_threads.append(_noop_wall(None, noop_files, workers) / noop_files)
            on_dask.append(_noop_wall(backend, noop_files, workers) / noop_files)
            on_plain.append(_noop_wall(plain, noop_files, workers) / noop_files)
            bare.append(_bare_dask_ms(backend, noop_files))
            one_by_one.append(_noop_wall(backend, latency_files, 2) / latency_files)
            one_by_one_plain.append(_noop_wall(plain, latency_files, 2) / latency_files)
    finally:
        backend.close()
        plain.close()
    per_file_ms = statistics.median(on_dask) * 1000
    plain_ms = statistics.median(on_plain) * 1000
    latency_ms = statistics.median(one_by_one) * 1000
    latency_plain_ms = statistics.median(one_by_one_plain) * 1000
    bare_ms = statistics.median(bare)
    label = f"median of {repeat}, interleaved"
    return [
        Figure(NAME, f"{FILES} remuxes, the batch (JSON duration_s), threads ({label})", tb, "s"),
        Figure(NAME, "the batch, local-cluster:2 over TLS (the cluster up)", cb, "s"),
        Figure(NAME, "the batch: local-cluster:2 / threads", cb / tb, "x", GOAL_RATIO, "<="),
        Figure(NAME, "launch to exit, threads --workers 2", t, "s"),
        Figure(NAME, "launch to exit, local-cluster:2 (starts the cluster)", c, "s"),
        Figure(NAME, "launch to exit: local-cluster:2 / threads (context)", c / t, "x"),
        Figure(
            NAME,
            "fixed cost of a fresh LocalCluster (launch-to-exit minus batch, vs threads)",
            (c - cb) - (t - tb),
            "s",
        ),
        Figure(
            NAME,
            f"dispatch per file, {noop_files:,} no-op files, {workers} in flight (TLS)",
            per_file_ms,
            "ms",
            GOAL_DISPATCH_MS,
            "<=",
        ),
        Figure(NAME, "the same on a plain-TCP local cluster (context)", plain_ms, "ms"),
        Figure(
            NAME,
            "start + check + close a LocalCluster:2 over TLS (in-process, context)",
            statistics.median(starts_tls),
            "s",
        ),
        Figure(NAME, "the same over plain TCP (context)", statistics.median(starts_plain), "s"),
        Figure(
            NAME,
            "LocalCluster start: TLS / plain TCP",
            statistics.median(starts_tls) / statistics.median(starts_plain),
            "x",
        ),
        Figure(NAME, "dispatch per file: TLS / plain TCP", per_file_ms / plain_ms, "x"),
        Figure(
            NAME,
            f"latency per file, {latency_files:,} no-op files, 2 in flight (TLS, context)",
            latency_ms,
            "ms",
        ),
        Figure(NAME, "latency per file, plain TCP (context)", latency_plain_ms, "ms"),
        Figure(NAME, "latency per file: TLS / plain TCP", latency_ms / latency_plain_ms, "x"),
        Figure(NAME, "bare Dask submit+gather of the same tasks (context)", bare_ms, "ms"),
        Figure(NAME, "dispatch per file / bare Dask (context)", per_file_ms / bare_ms, "x"),
        Figure(
            NAME,
            "same no-op batch on threads (context)",
            statistics.median(on_threads) * 1000,
            "ms",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--noop-files", type=int, default=NOOP_FILES)
    parser.add_argument("--workers", type=int, default=16, help="no-op files in flight")
    args = parser.parse_args(argv)
    from bench import format_table

    print(format_table(run(args.repeat, args.noop_files, args.workers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
