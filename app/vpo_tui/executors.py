"""The ``--executor`` value: which executor, and where; imports nothing of Dask.

``config.py`` and ``cli.py`` validate the option with this alone, so a threads
batch (and ``--help``) never pays for Dask's import. It sits below the layers
that use it (config validates ``[processing] executor``; the cluster backend
connects to what it names), so it imports nothing of vpo-tui.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

THREADS = "threads"
LOCAL_CLUSTER = "local-cluster"
DASK = "dask"  # plain TCP: not encrypted, anyone who reaches the port can run code
TLS = "tls"  # TLS with certificates checked both ways

EXECUTOR_CHOICES = "threads, local-cluster[:N], tls://HOST:PORT or dask://HOST:PORT"


class ClusterError(Exception):
    """The cluster cannot run this batch (no scheduler, no certificates, another version)."""


@dataclass(frozen=True)
class ExecutorSpec:
    """``threads`` | ``local-cluster[:N]`` | ``tls://HOST:PORT`` | ``dask://HOST:PORT``, parsed."""

    kind: str
    processes: int | None = None  # local-cluster: worker processes (None = 2)
    address: str | None = None  # dask: tcp://HOST:PORT; tls: tls://HOST:PORT

    @property
    def is_cluster(self) -> bool:
        return self.kind != THREADS

    @property
    def host(self) -> str | None:
        """The scheduler's host as the user wrote it (None: not a remote scheduler)."""
        if self.address is None:
            return None
        return self.address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")

    def __str__(self) -> str:
        if self.kind == LOCAL_CLUSTER:
            return LOCAL_CLUSTER + (f":{self.processes}" if self.processes else "")
        if self.kind == DASK:
            return f"dask://{(self.address or '').removeprefix('tcp://')}"
        if self.kind == TLS:
            return self.address or "tls://"
        return THREADS


_REMOTE_RE = re.compile(r"^(dask|tls)://(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d{1,5})$")


def parse_executor(text: str) -> ExecutorSpec:
    """Parse the ``--executor`` / ``[processing] executor`` value; ``ValueError`` says why."""
    value = text.strip()
    if value == THREADS:
        return ExecutorSpec(THREADS)
    if value == LOCAL_CLUSTER or value.startswith(LOCAL_CLUSTER + ":"):
        count = value[len(LOCAL_CLUSTER) + 1 :]
        if not count:
            return ExecutorSpec(LOCAL_CLUSTER)
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"local-cluster:N needs a worker count of at least 1, got {count!r}")
        return ExecutorSpec(LOCAL_CLUSTER, processes=int(count))
    match = _REMOTE_RE.match(value)
    if match and 0 < int(match.group(3)) < 65536:
        scheme, host, port = match.groups()
        if scheme == TLS:
            return ExecutorSpec(TLS, address=f"tls://{host}:{port}")
        return ExecutorSpec(DASK, address=f"tcp://{host}:{port}")
    raise ValueError(f"expected {EXECUTOR_CHOICES}, got {text!r}")


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is this machine's loopback.

    A name that does not resolve is not loopback: plain TCP to it is refused
    like any other remote address (the connection would fail anyway).
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
    )
