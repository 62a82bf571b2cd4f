"""A cluster that lets no one else in (issue 20), and Dask's noise kept off the terminal.

Real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 (``tests.dask_processes``)
and a real LocalCluster; real tools on tiny media made here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.conftest import AudioSpec, sha256
from tests.dask_processes import (
    assert_all_refused,
    dask_processes,
    free_port,
    intruders,
    marker_task,
)
from vpo_tui import cli
from vpo_tui.batch.cluster.client import DaskBackend
from vpo_tui.batch.cluster.security import CertFiles
from vpo_tui.config import ClusterConfig, Config
from vpo_tui.executors import ExecutorSpec
from vpo_tui.headless import HeadlessOptions, run_headless
from vpo_tui.samples import SampleSpec, make_media

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _cluster_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's messages go to a log under the user's state folder: a temporary one here."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


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


def test_a_local_cluster_runs_nobody_elses_code(
    certs: CertFiles, other_ca: CertFiles, tmp_path: Path
) -> None:
    """local-cluster: TLS with credentials of this process only; even a user with a CA is out."""
    markers = tmp_path / "markers"
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=1))
    try:
        assert backend.address.startswith("tls://127.0.0.1:")
        assert "encrypted (TLS)" in backend.access_note
        assert_all_refused(intruders(backend.address, other_ca, None, markers), markers)
        assert_all_refused(intruders(backend.address, certs, certs, markers), markers)
        task = marker_task(markers)
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


def test_a_local_cluster_batch_keeps_dask_off_the_terminal(tmp_path: Path) -> None:
    """Its worker processes share the terminal: their Dask messages go to the log too."""
    clip = make_media(tmp_path / "lib" / "a.mp4", SampleSpec(container="mp4"))
    state = tmp_path / "state"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(cli.__file__).parents[1]),
        "XDG_STATE_HOME": str(state),
    }
    argv = [sys.executable, "-m", "vpo_tui", "--no-tui", "--db", str(tmp_path / "h.db")]
    done = subprocess.run(
        [*argv, "--executor", "local-cluster:2", str(clip.parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "distributed." not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert (clip.parent / "a.mkv").exists()
    lines = (state / "vpo-tui" / "log" / "cluster.log").read_text().splitlines()
    pids = {line.split()[2] for line in lines if " distributed." in line}
    assert len(pids) >= 2, pids  # both worker processes wrote there
