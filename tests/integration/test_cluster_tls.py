"""A cluster that lets no one else in (issue 20), and Dask's noise kept off the terminal.

Real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 (``tests.dask_processes``)
and a real LocalCluster; real tools on tiny media made here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.conftest import AudioSpec, MakeMedia, sha256
from tests.dask_processes import dask_processes, free_port
from vpo_tui import cli
from vpo_tui.batch.cluster.client import DaskBackend
from vpo_tui.batch.cluster.security import CertFiles
from vpo_tui.batch.cluster.spec import ExecutorSpec
from vpo_tui.config import ClusterConfig, Config
from vpo_tui.headless import HeadlessOptions, run_headless
from vpo_tui.samples import SampleSpec, make_media

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    folder = tmp_path_factory.mktemp("tls") / "certs"
    assert cli.main(["cluster", "certs", str(folder), "--scheduler", "127.0.0.1"]) == 0
    return CertFiles.in_folder(folder)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    folder = tmp_path_factory.mktemp("tls-other") / "certs"
    assert cli.main(["cluster", "certs", str(folder)]) == 0
    return CertFiles.in_folder(folder)


def _library(folder: Path) -> list[Path]:
    """Three files normalize changes in different ways, and a broken one."""
    specs = {
        "a.mkv": SampleSpec(audio=(AudioSpec("jpn", default=True), AudioSpec("eng"))),
        "b.mp4": SampleSpec(container="mp4"),
        "c.mkv": SampleSpec(),
    }
    made = [make_media(folder / name, spec) for name, spec in specs.items()]
    (folder / "d.mkv").write_bytes(b"not a video at all" * 100)
    return made


def _headless(
    paths: list[Path], db: Path, executor: str | None, cluster: ClusterConfig | None = None
) -> tuple[int, dict[str, object], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(
        HeadlessOptions(
            paths=tuple(paths),
            json=True,
            db=db,
            executor=executor,
            config=Config(cluster=cluster or ClusterConfig()),
        ),
        stdout=out,
        stderr=err,
        install_signals=False,
    )
    return code, json.loads(out.getvalue()), err.getvalue()


def _outcome(doc: dict[str, object], root: Path) -> dict[str, tuple[object, ...]]:
    files = doc["files"]
    assert isinstance(files, list)
    return {
        Path(f["path"]).name: (
            f["status"],
            tuple(f["changes"]),
            str(Path(f["output_path"]).relative_to(root)) if f["output_path"] else None,
        )
        for f in files
    }


def test_certs_are_owner_only_and_never_overwritten(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "certs"
    assert cli.main(["cluster", "certs", str(folder), "--scheduler", "nas", "--port", "9786"]) == 0
    out = capsys.readouterr().out
    files = CertFiles.in_folder(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in (files.ca, files.cert, files.key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    flags = files.flags()
    assert f"dask scheduler --protocol tls --port 9786 {flags}" in out
    assert f"dask worker tls://nas:9786 {flags}" in out
    assert f"--executor tls://nas:9786 --cluster-certs {folder}" in out
    assert "scp -rp" in out
    # the key is the certificate's, and the CA signed it: what ssl itself accepts
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    ctx.load_verify_locations(files.ca)
    before = {p: sha256(p) for p in (files.ca, files.cert, files.key)}
    assert cli.main(["cluster", "certs", str(folder)]) == 2  # a running cluster may use them
    assert "already holds ca.pem, cluster.pem, cluster.key" in capsys.readouterr().err
    assert {p: sha256(p) for p in before} == before


def test_a_tls_cluster_runs_a_batch_like_threads(certs: CertFiles, tmp_path: Path, capsys) -> None:
    """A real scheduler and worker over TLS: same JSON, byte-identical outputs; doctor says so."""
    source = tmp_path / "source"
    _library(source)
    threads_lib, tls_lib = tmp_path / "threads", tmp_path / "tls"
    shutil.copytree(source, threads_lib)
    shutil.copytree(source, tls_lib)
    with dask_processes(tmp_path / "dask", certs, threads=2) as running:
        executor = running.address  # tls://127.0.0.1:PORT
        access = ClusterConfig(certs=certs.folder)
        code_t, doc_t, _ = _headless([threads_lib], tmp_path / "t.db", None)
        code_c, doc_c, err = _headless([tls_lib], tmp_path / "c.db", executor, access)
        assert (
            cli.main(["doctor", "--executor", executor, "--cluster-certs", str(certs.folder)]) == 0
        )
        doctor = capsys.readouterr().out
    assert code_t == code_c == 1, err  # the broken file fails in both
    assert _outcome(doc_c, tls_lib) == _outcome(doc_t, threads_lib)
    assert f"running on the Dask cluster at {executor}" in err
    names = sorted(p.name for p in threads_lib.iterdir())
    assert sorted(p.name for p in tls_lib.iterdir()) == names
    for name in names:
        assert sha256(threads_lib / name) == sha256(tls_lib / name), name
    assert "connection: encrypted (TLS) and authenticated both ways" in doctor


def test_tls_without_certificates_is_refused_before_connecting(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "a.mkv", SampleSpec())
    digest = sha256(clip)
    code, doc, _err = _headless([clip], tmp_path / "h.db", f"tls://127.0.0.1:{free_port()}")
    assert code == 5
    assert "needs the cluster's certificates: --cluster-certs DIR" in str(doc["error"])
    assert sha256(clip) == digest


def _intruders(
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
            task = _marker_task(markers)
            outcome[name] = client.submit(task, name, pure=False).result(timeout=10)
        except Exception as exc:
            outcome[name] = exc
        finally:
            client.close()
    return outcome


def _marker_task(folder: Path) -> Callable[[str], str]:
    """What an intruder submits: proof that its code ran on a worker (sent by value)."""

    def write_marker(name: str) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name.replace(" ", "-")).write_text("ran")
        return "ran"

    return write_marker


def _assert_all_refused(outcome: dict[str, object], markers: Path) -> None:
    assert set(outcome) == {"no certificate", "another CA's certificate", "plain tcp"}
    for name, result in outcome.items():
        assert isinstance(result, Exception), f"{name}: {result!r}"
    time.sleep(0.5)  # nothing queued that runs later either
    assert not markers.exists() or not list(markers.iterdir()), list(markers.iterdir())


def test_the_tls_scheduler_runs_nobody_elses_code(
    certs: CertFiles, other_ca: CertFiles, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    with dask_processes(tmp_path / "dask", certs) as running:
        _assert_all_refused(_intruders(running.address, other_ca, certs, markers), markers)
        spec = ExecutorSpec("tls", address=running.address)
        backend = DaskBackend.open(spec, ClusterConfig(certs=certs.folder))
        try:  # the same task, from a client with the cluster's certificate, does run
            task = _marker_task(markers)
            assert backend.client.submit(task, "ours", pure=False).result(10) == "ran"
        finally:
            backend.close()
    assert [p.name for p in markers.iterdir()] == ["ours"]


def test_a_local_cluster_runs_nobody_elses_code(
    certs: CertFiles, other_ca: CertFiles, tmp_path: Path
) -> None:
    """local-cluster: TLS with credentials of this process only; even a user with a CA is out."""
    markers = tmp_path / "markers"
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=1))
    try:
        assert backend.address.startswith("tls://127.0.0.1:")
        assert "encrypted (TLS)" in backend.access_note
        _assert_all_refused(_intruders(backend.address, other_ca, None, markers), markers)
        _assert_all_refused(_intruders(backend.address, certs, certs, markers), markers)
        task = _marker_task(markers)
        assert backend.client.submit(task, "ours", pure=False).result(10) == "ran"
    finally:
        backend.close()
    assert [p.name for p in markers.iterdir()] == ["ours"]


def _outward_address() -> str | None:
    """This machine's address on its network (not loopback), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_plain_dask_to_another_machine_is_refused_before_anything(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "a.mp4", SampleSpec(container="mp4"))
    digest = sha256(clip)
    started = time.monotonic()
    code, doc, _err = _headless([clip], tmp_path / "h.db", "dask://192.0.2.1:8786")
    assert time.monotonic() - started < 5  # no connection was even tried
    assert code == 5
    error = str(doc["error"])
    assert "dask://192.0.2.1:8786 is plain TCP to another machine" in error
    assert "vpo-tui cluster certs DIR" in error and "--insecure-cluster" in error
    assert sha256(clip) == digest and sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_plain_dask_with_the_opt_in_runs_and_warns_every_time(tmp_path: Path) -> None:
    host = _outward_address()
    if host is None:
        pytest.skip("no network address besides loopback")
    lib = tmp_path / "lib"
    clip = make_media(lib / "a.mp4", SampleSpec(container="mp4"))
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    with dask_processes(tmp_path / "dask", None, host=host) as running:
        executor = f"dask://{running.hostport}"
        runs = []
        for argv in (
            ["--no-tui", "--db", str(tmp_path / "h.db"), "--executor", executor, str(lib)],
            ["doctor", "--executor", executor],
        ):
            runs.append(
                subprocess.run(
                    [sys.executable, "-m", "vpo_tui", *argv, "--insecure-cluster"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                )
            )
    batch, doctor = runs
    assert batch.returncode == 0, batch.stderr
    assert f"warning: {executor} is not encrypted and not authenticated" in batch.stderr
    assert (lib / "a.mkv").exists() and not clip.exists()
    assert doctor.returncode == 0, doctor.stderr
    assert "connection: NOT encrypted and NOT authenticated" in doctor.stdout
    assert f"WARNING: {executor} is not encrypted" in doctor.stdout


def test_nothing_listening_fails_at_once(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "a.mkv", SampleSpec())
    started = time.monotonic()
    code, doc, err = _headless([clip], tmp_path / "h.db", f"dask://127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 5  # not Dask's 10 s of retries
    assert code == 5
    assert err.startswith("note: connecting to dask://127.0.0.1:")
    assert "nothing is listening at 127.0.0.1:" in str(doc["error"])
    assert "connection refused" in str(doc["error"])


def test_the_needs_dask_hint_names_a_command_that_works_here(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "a.mkv", SampleSpec())
    code = (
        "import sys\n"
        "sys.modules['distributed'] = None  # as if the cluster extra were not installed\n"
        "from vpo_tui import cli\n"
        f"sys.exit(cli.main(['--no-tui', '--db', {str(tmp_path / 'h.db')!r}, "
        f"'--executor', 'local-cluster', {str(clip)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 5, done.stderr
    root = Path(cli.__file__).resolve().parents[2]
    assert "needs Dask distributed" in done.stderr
    assert f"run `make cluster` in {root}" in done.stderr
    assert f"{sys.executable} -m pip install -e '{root}[cluster]'" in done.stderr
    make = subprocess.run(["make", "-n", "cluster"], cwd=root, capture_output=True, text=True)
    assert make.returncode == 0 and "[cluster]" in make.stdout, make.stderr


def test_a_lost_scheduler_is_one_line_and_dask_logs_to_its_file(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    """The scheduler killed mid-batch: vpo-tui's own line, no Dask traceback on stderr."""
    lib = tmp_path / "lib"
    for i in range(2):
        make_file(f"clip {i}.mkv", folder=lib, duration=3.0, width=480, height=270)
    policy = tmp_path / "slow.toml"
    policy.write_text(
        'name = "slow-hevc"\n[transcode.video]\ncodec = "hevc"\ncrf = 30\npreset = "veryslow"\n'
    )
    state = tmp_path / "state"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(cli.__file__).parents[1]),
        "XDG_STATE_HOME": str(state),
    }
    with dask_processes(tmp_path / "dask", None) as running:
        argv = [sys.executable, "-m", "vpo_tui", "--no-tui", "--policy", str(policy)]
        argv += ["--db", str(tmp_path / "h.db"), "--executor", f"dask://{running.hostport}"]
        batch = subprocess.Popen(
            [*argv, str(lib)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            deadline = time.monotonic() + 60  # until ffmpeg writes its temp file
            while len(list(lib.iterdir())) == 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            os.killpg(running.scheduler.pid, signal.SIGKILL)
            _out, err = batch.communicate(timeout=60)
        finally:
            if batch.poll() is None:
                batch.kill()
                batch.wait()
    assert batch.returncode == 1, err
    assert "lost the Dask scheduler" in err
    assert "Traceback" not in err and "distributed." not in err, err
    assert len([line for line in err.splitlines() if "lost the Dask scheduler at" in line]) <= 3
    log = state / "vpo-tui" / "log" / "cluster.log"
    assert "distributed" in log.read_text()  # Dask's detail is kept, in its file
    assert f"Dask's messages: {log}" in err
