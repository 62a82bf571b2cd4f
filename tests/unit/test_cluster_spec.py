"""The executor option and the worker count, without Dask; a threads batch imports none of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeMedia
from vpo_tui.batch.workers import WorkerCountError, resolve_workers
from vpo_tui.executors import (
    DASK,
    LOCAL_CLUSTER,
    THREADS,
    TLS,
    ExecutorSpec,
    is_loopback,
    parse_executor,
)


@pytest.mark.parametrize(
    ("text", "spec", "shown"),
    [
        ("threads", ExecutorSpec(THREADS), "threads"),
        ("local-cluster", ExecutorSpec(LOCAL_CLUSTER), "local-cluster"),
        ("local-cluster:3", ExecutorSpec(LOCAL_CLUSTER, processes=3), "local-cluster:3"),
        ("dask://nas:8786", ExecutorSpec(DASK, address="tcp://nas:8786"), "dask://nas:8786"),
        ("tls://nas:8786", ExecutorSpec(TLS, address="tls://nas:8786"), "tls://nas:8786"),
        (" tls://[::1]:8786 ", ExecutorSpec(TLS, address="tls://[::1]:8786"), "tls://[::1]:8786"),
    ],
)
def test_executor_values(text: str, spec: ExecutorSpec, shown: str) -> None:
    assert parse_executor(text) == spec
    assert str(spec) == shown
    assert parse_executor(str(spec)) == spec  # what the config keeps parses back


@pytest.mark.parametrize(
    "text", ["dask://nowhere", "local-cluster:0", "tcp://nas:8786", "tls://nas:99999", "thread"]
)
def test_bad_executor_values_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"threads|local-cluster:N"):
        parse_executor(text)


def test_the_scheduler_host() -> None:
    assert parse_executor("tls://[::1]:8786").host == "::1"
    assert parse_executor("dask://nas.local:8786").host == "nas.local"
    assert parse_executor("local-cluster").host is None


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.9.8.7") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("192.168.1.10") and not is_loopback("10.0.0.1")
    assert not is_loopback("no-such-host.invalid")  # unresolvable: treated as remote


def test_one_worker_count_for_threads_and_cluster() -> None:
    assert resolve_workers(None, None, None, cores=8).workers == 2
    on_cluster = resolve_workers(None, None, cores=1, cluster_threads=6)
    assert (on_cluster.workers, on_cluster.cap, on_cluster.warning) == (6, 6, None)
    more = resolve_workers(9, None, cores=1, cluster_threads=6)  # not capped by local cores
    assert (more.workers, more.cap, more.warning) == (9, 9, None)
    assert resolve_workers(None, 3, cluster_threads=6).workers == 3
    assert resolve_workers(None, None, cluster_threads=0).workers == 1
    with pytest.raises(WorkerCountError, match="--workers must be at least 1"):
        resolve_workers(0, None, cluster_threads=4)


def test_a_threads_batch_imports_neither_dask_nor_textual(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    """The CLI, a real dry run and a real batch on threads: no Dask, no Textual loaded."""
    clip = make_file("clip.mp4", duration=0.5)
    code = (
        "import sys, vpo_tui.cli\n"
        f"common = ['--no-tui', '--quiet', '--db', {str(tmp_path / 'h.db')!r}]\n"
        f"assert vpo_tui.cli.main(common + ['--dry-run', {str(clip)!r}]) == 0\n"
        f"assert vpo_tui.cli.main(common + ['--executor', 'threads', {str(clip)!r}]) == 0\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "loaded = sorted(top & {'dask', 'distributed', 'textual'})\n"
        "assert not loaded, loaded\n"
        "assert 'vpo_tui.executors' in sys.modules  # the option was parsed\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "ok"
    assert (tmp_path / "clip.mkv").exists()  # the batch really ran: mp4 became mkv
