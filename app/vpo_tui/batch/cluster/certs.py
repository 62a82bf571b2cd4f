"""``vpo-tui cluster certs DIR``: a private CA and the certificate every node presents.

One CA, one certificate + key shared by the scheduler, the workers and the
clients of one cluster: each side presents it and accepts only a peer signed by
the same CA, so a machine without DIR cannot join or submit. The CA's own key
is not kept: nobody can sign another certificate for this cluster, and adding a
machine means copying DIR to it. Files are written owner-only (0600, DIR 0700),
never over existing ones.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.batch.cluster.security import CertFiles
from vpo_tui.executors import ClusterError

if TYPE_CHECKING:
    from distributed.security import Security

VALID_DAYS = 3650  # ten years: a home cluster should not stop working on a date


def make_certs(folder: Path, hosts: tuple[str, ...] = ()) -> CertFiles:
    """Write the CA certificate, the cluster's certificate and its key into ``folder``.

    ``hosts`` (and this machine's name) become the certificate's DNS names (Dask
    checks the CA, not the name, but ``openssl s_client`` users see who it is for).
    ``ClusterError`` if a file is already there or cannot be written.
    """
    hosts = (socket.gethostname(), *hosts)
    files = CertFiles.in_folder(folder)
    taken = [p for p in (files.ca, files.cert, files.key) if os.path.lexists(p)]
    if taken:
        raise ClusterError(
            f"{folder}: already holds {', '.join(p.name for p in taken)}; a running cluster "
            "may use them: choose another folder, or remove them first"
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    except OSError as exc:
        raise ClusterError(f"{folder}: cannot create it ({exc.strerror})") from None
    ca, cert, key = credentials(hosts, days=VALID_DAYS)
    contents = {files.ca: ca, files.cert: cert, files.key: key}
    written: list[Path] = []
    try:
        for path, data in contents.items():
            _write_owner_only(path, data)
            written.append(path)
    except OSError as exc:
        for path in written:  # a half-made set is worse than none
            path.unlink(missing_ok=True)
        raise ClusterError(f"{folder}: cannot write the certificates ({exc.strerror})") from None
    return files


def credentials(
    hosts: tuple[str, ...] = (), *, days: int = VALID_DAYS
) -> tuple[bytes, bytes, bytes]:
    """A fresh CA and a certificate it signed, as PEM: (CA certificate, certificate, key).

    EC P-256 keys: made in a millisecond (an RSA key takes tens to hundreds, which
    a local cluster would pay at every start), and cheaper handshakes.
    The CA's key is dropped here: nobody can sign another certificate for it.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vpo-tui cluster CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = dict.fromkeys(("vpo-tui-cluster", "localhost", *hosts))
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names if n]
    node = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vpo-tui cluster")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        ca.public_bytes(pem),
        node.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def _write_owner_only(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only, from the first byte (never replace one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def instructions(files: CertFiles, scheduler: str, port: int = 8786) -> str:
    """What the user runs next, on which machine: the exact commands with the TLS flags."""
    folder = files.folder
    flags = files.flags()
    return "\n".join(
        [
            f"Made a private CA and the cluster's certificate in {folder} "
            f"(valid {VALID_DAYS // 365} years, readable by you only):",
            f"  {files.ca.name}  the CA: every node accepts only peers signed by it",
            f"  {files.cert.name}, {files.key.name}  the certificate and key every node presents",
            "",
            f"1. Copy {folder} to every machine of the cluster, at the same path, keeping it "
            "private (the key lets its holder run code on the cluster):",
            f"     scp -rp {folder} OTHER-MACHINE:{folder.parent}/",
            "",
            f"2. On the scheduler machine ({scheduler}):",
            f"     dask scheduler --protocol tls --port {port} {flags}",
            "",
            "3. On each worker machine (with vpo-tui and its tools installed):",
            f"     dask worker tls://{scheduler}:{port} {flags}",
            "",
            "4. Run a batch from any machine that has the folder:",
            f"     vpo-tui --executor tls://{scheduler}:{port} --cluster-certs {folder} PATH...",
            f'   or put  [cluster] certs = "{folder}"  in config.toml and check it with',
            f"     vpo-tui doctor --executor tls://{scheduler}:{port}",
        ]
    )


def temporary_security() -> Security:
    """Credentials for one local cluster, held by this process and its workers only.

    As ``Security.temporary()``, with an EC key instead of RSA-2048 (1 ms instead
    of 30 ms to hundreds, RSA key generation being a random search), and a CA of
    its own.
    """
    from distributed.security import Security

    ca, cert, key = credentials()  # as long as make_certs: a watch may run for months
    pems = {"cert": cert.decode(), "key": key.decode()}
    return Security(
        require_encryption=True,
        tls_ca_file=ca.decode(),
        **{
            f"tls_{role}_{part}": pem
            for role in ("client", "scheduler", "worker")
            for part, pem in pems.items()
        },
    )
