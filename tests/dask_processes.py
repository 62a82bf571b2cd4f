"""A real ``dask scheduler`` and ``dask worker`` as subprocesses on 127.0.0.1, always stopped.

What a user runs on the NAS and the other machines, here on loopback: over TLS
with the files ``vpo-tui cluster certs`` made, or over plain TCP. Each process
runs in its own session so that stopping it takes its children (the worker's
nanny spawns the worker) with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import vpo_tui
from vpo_tui.batch.cluster.security import CertFiles

DASK = Path(sys.executable).with_name("dask")
APP = str(Path(vpo_tui.__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [APP, env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"dask scheduler never listened on {port}: {log.read_text()[-2000:]}")


def _wait_workers(log: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    """Until the scheduler's log shows ``count`` workers registered (no client of ours)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if log.read_text().count("Register worker") >= count:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"workers never registered: {log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Running:
    address: str  # tls://127.0.0.1:PORT or tcp://...
    scheduler: subprocess.Popen[bytes]

    @property
    def hostport(self) -> str:
        return self.address.split("://", 1)[1]


@contextlib.contextmanager
def dask_processes(
    folder: Path,
    certs: CertFiles | None,
    *,
    workers: int = 1,
    threads: int = 1,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """Start a scheduler and ``workers`` workers; yield its address (tls:// or tcp://) and process.

    Logs go to ``folder``; every process is stopped on the way out, whatever happened.
    """
    port = free_port()
    scheme = "tls" if certs is not None else "tcp"
    flags = certs.flags().split() if certs is not None else []
    folder.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    try:
        log = folder / "scheduler.log"
        scheduler = subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--protocol",
                scheme,
                "--host",
                host,
                "--port",
                str(port),
                "--no-dashboard",
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
            env=_env(env),
            start_new_session=True,
        )
        started.append(scheduler)
        _wait_listening(host, port, scheduler, log)
        address = f"{scheme}://{host}:{port}"
        for i in range(workers):
            started.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--nthreads",
                        str(threads),
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                        *flags,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(folder / f"worker{i}.log").open("wb"),
                    env=_env(env),
                    start_new_session=True,
                )
            )
        _wait_workers(log, workers, scheduler)
        yield Running(address, scheduler)
    finally:
        for proc in reversed(started):
            _stop(proc)


# -- intruders: clients a secure scheduler must refuse ------------------------------


def intruders(
    address: str, other: CertFiles, ours: CertFiles | None, markers: Path
) -> dict[str, object]:
    """How each intruder fares: the exception that refused it, or what its task returned."""
    from distributed import Client
    from distributed.security import Security

    ca_file = str(ours.ca) if ours is not None else None

    class NoClientCert(Security):  # checks the scheduler, presents nothing itself
        def get_connection_args(self, role: str) -> dict[str, object]:
            ctx = ssl.create_default_context(cafile=ca_file)
            ctx.check_hostname = False
            if ca_file is None:
                ctx.verify_mode = ssl.CERT_NONE
            return {"ssl_context": ctx, "require_encryption": True, "extra_conn_args": {}}

    host_port = address.split("://", 1)[1]
    attempts: dict[str, tuple[str, Security | None]] = {
        "no certificate": (f"tls://{host_port}", NoClientCert(require_encryption=True)),
        "another CA's certificate": (
            f"tls://{host_port}",
            Security(
                tls_ca_file=ca_file or str(other.ca),
                tls_client_cert=str(other.cert),
                tls_client_key=str(other.key),
                require_encryption=True,
            ),
        ),
        "plain tcp": (f"tcp://{host_port}", None),
    }
    outcome: dict[str, object] = {}
    for name, (url, security) in attempts.items():
        try:
            client = Client(url, security=security, timeout=3, set_as_default=False)
        except Exception as exc:
            outcome[name] = exc
            continue
        try:
            task = marker_task(markers)
            outcome[name] = client.submit(task, name, pure=False).result(timeout=10)
        except Exception as exc:
            outcome[name] = exc
        finally:
            client.close()
    return outcome


def marker_task(folder: Path) -> Callable[[str], str]:
    """What an intruder submits: proof that its code ran on a worker (sent by value)."""

    def write_marker(name: str) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name.replace(" ", "-")).write_text("ran")
        return "ran"

    return write_marker


def assert_all_refused(outcome: dict[str, object], markers: Path) -> None:
    assert set(outcome) == {"no certificate", "another CA's certificate", "plain tcp"}
    for name, result in outcome.items():
        assert isinstance(result, Exception), f"{name}: {result!r}"
    time.sleep(0.5)  # nothing queued that runs later either
    assert not markers.exists() or not list(markers.iterdir()), list(markers.iterdir())
