"""Who may talk to the cluster: TLS with certificates both ways, or a refusal that says why.

A Dask scheduler runs whatever a connecting client submits, on every worker, and
every worker has the media library mounted read-write. So vpo-tui does not
connect in the clear to another machine unless the user says so every time:

* ``tls://HOST:PORT`` needs the folder ``vpo-tui cluster certs DIR`` made
  (``--cluster-certs DIR`` or ``[cluster] certs``). The client presents its
  certificate and checks the scheduler's against the cluster's own CA; Dask's
  scheduler and workers, started with the same files, refuse anyone else.
* ``dask://HOST:PORT`` (plain TCP) is refused for anything but this machine's
  loopback, before anything is opened, unless ``[cluster] allow_insecure`` /
  ``--insecure-cluster``: then it runs with a warning each time.
* ``local-cluster`` uses TLS with credentials made for this process only
  (``certs.temporary_security``): another user of the machine cannot submit to it.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.config import ClusterConfig
from vpo_tui.executors import (
    DASK,
    LOCAL_CLUSTER,
    TLS,
    ClusterError,
    ExecutorSpec,
    is_loopback,
)
from vpo_tui.phrasing import console_text

if TYPE_CHECKING:
    from distributed.security import Security

CA_FILE = "ca.pem"
CERT_FILE = "cluster.pem"
KEY_FILE = "cluster.key"


@dataclass(frozen=True)
class CertFiles:
    """The three files every machine of one cluster shares."""

    folder: Path
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def in_folder(cls, folder: Path) -> CertFiles:
        return cls(folder, folder / CA_FILE, folder / CERT_FILE, folder / KEY_FILE)

    def flags(self) -> str:
        """The TLS options of ``dask scheduler`` and ``dask worker``, for these files."""
        return (
            f"--tls-ca-file {_shell(self.ca)} --tls-cert {_shell(self.cert)} "
            f"--tls-key {_shell(self.key)}"
        )


def _shell(path: Path) -> str:
    text = str(path)
    if text and all(c.isalnum() or c in "/._-+~,:@%" for c in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


_HOW_TO_TLS = (
    "make certificates with `vpo-tui cluster certs DIR`, start the scheduler and the "
    "workers with the commands it prints, then use --executor tls://{where} "
    "--cluster-certs DIR (README: Run on several machines)"
)


def insecure_refusal(spec: ExecutorSpec, access: ClusterConfig) -> str | None:
    """Why plain ``dask://`` to this address is refused (None: it is allowed)."""
    if spec.kind != DASK or access.allow_insecure:
        return None
    host = spec.host or ""
    if is_loopback(host):
        return None
    where = (spec.address or "").removeprefix("tcp://")
    return (
        f"{spec} is plain TCP to another machine: anyone who can reach {where} could run "
        "any program on every worker, and every worker has your media library mounted "
        f"read-write. Use TLS instead: {_HOW_TO_TLS.format(where=where)}. On a network you "
        "fully trust, allow it with --insecure-cluster or [cluster] allow_insecure = true"
    )


def insecure_warning(spec: ExecutorSpec) -> str | None:
    """The warning said every time a plain TCP cluster on another machine is used."""
    if spec.kind != DASK or is_loopback(spec.host or ""):
        return None
    where = (spec.address or "").removeprefix("tcp://")
    return (
        f"{spec} is not encrypted and not authenticated: anyone who can reach {where} "
        "can run any program on every worker (allowed by --insecure-cluster / "
        "[cluster] allow_insecure); use tls:// with `vpo-tui cluster certs`"
    )


def cert_files(spec: ExecutorSpec, access: ClusterConfig) -> CertFiles:
    """The certificates a ``tls://`` executor uses; ``ClusterError`` names what is missing."""
    if access.certs is None:
        raise ClusterError(
            f"{spec} needs the cluster's certificates: --cluster-certs DIR or "
            '[cluster] certs = "DIR" (make them with `vpo-tui cluster certs DIR`)'
        )
    files = CertFiles.in_folder(access.certs)
    for path in (files.ca, files.cert, files.key):
        try:
            mode = path.stat().st_mode
            with path.open("rb"):
                pass
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ClusterError(
                f"{console_text(str(path))}: cannot read the cluster's certificates ({why}); "
                "make them with `vpo-tui cluster certs DIR`"
            ) from None
        if path == files.key and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ClusterError(
                f"{console_text(str(path))}: the cluster's private key is readable by other "
                f"users (mode {stat.S_IMODE(mode):o}): chmod 600 it"
            )
    return files


def client_security(files: CertFiles) -> Security:
    """The client's side: present our certificate, accept only a scheduler from our CA."""
    from distributed.security import Security

    return Security(
        tls_ca_file=str(files.ca),
        tls_client_cert=str(files.cert),
        tls_client_key=str(files.key),
        require_encryption=True,
    )


def describe_access(spec: ExecutorSpec, access: ClusterConfig, *, plain: bool = False) -> str:
    """Whether the connection is encrypted and who is let in: what ``doctor`` says."""
    if spec.kind == TLS:
        folder = console_text(str(access.certs)) if access.certs else "?"
        return (
            "encrypted (TLS) and authenticated both ways: the scheduler and its workers "
            f"must hold a certificate of this cluster's CA ({folder}), and so does this client"
        )
    if spec.kind == LOCAL_CLUSTER and not plain:
        return (
            "encrypted (TLS) and authenticated with credentials made for this process "
            "only: no other user of this machine can submit work to it"
        )
    where = (spec.address or "").removeprefix("tcp://")
    loopback = spec.kind == LOCAL_CLUSTER or is_loopback(spec.host or "")
    who = "any user of this machine" if loopback else f"anyone who can reach {where}"
    return f"NOT encrypted and NOT authenticated (plain TCP): {who} can run code on every worker"
