"""A batch on a real Dask LocalCluster (2 worker processes): same results, events, controls.

One cluster serves the whole module (starting one costs seconds); the tests that
break it (scheduler loss) start their own. Real tools on real tiny media.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.commands import SLOW_HEVC
from tests.conftest import AudioSpec, MakeMedia, SubtitleSpec, sha256
from tests.fakes import RecordingListener
from vpo_tui.batch.cluster.client import DaskBackend, DaskBatch
from vpo_tui.batch.cluster.paths import PathMap
from vpo_tui.batch.cluster.worker import worker_host
from vpo_tui.batch.events import BatchEvent, BatchResult, FileProgress
from vpo_tui.batch.exit_codes import exit_code_for
from vpo_tui.batch.runner import BatchRunner
from vpo_tui.config import Config
from vpo_tui.engine.job import FileJob, FileResult, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.executors import ClusterError, ExecutorSpec, parse_executor
from vpo_tui.headless import HeadlessOptions, run_headless
from vpo_tui.policy.load import load_policy
from vpo_tui.samples import SampleSpec, make_media

pytestmark = pytest.mark.slow
FFPROBE = shutil.which("ffprobe") or "ffprobe"


@pytest.fixture(scope="module", autouse=True)
def _cluster_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dask's messages go to a log under the user's state folder: a temporary one here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(scope="module")
def cluster(_cluster_log: None) -> Iterator[DaskBackend]:
    # plain TCP on loopback: the tests connect other clients by its dask:// address
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=2), local_tls=False)
    try:
        yield backend
    finally:
        backend.close()


def _dask_url(backend: DaskBackend) -> str:
    return "dask://" + backend.address.removeprefix("tcp://")


def _library(folder: Path) -> list[Path]:
    """Four files the normalize policy changes in different ways (and one broken file)."""
    eng_jpn = (AudioSpec("jpn", default=True), AudioSpec("eng"))
    specs = {
        "a.mkv": SampleSpec(audio=eng_jpn, subtitles=(SubtitleSpec("eng"),)),
        "b.mkv": SampleSpec(audio=(AudioSpec("eng", default=False),)),
        "c.mp4": SampleSpec(container="mp4"),
        "d.mkv": SampleSpec(),
    }
    made = [make_media(folder / name, spec) for name, spec in specs.items()]
    broken = folder / "e.mkv"
    broken.write_bytes(b"not a video at all" * 100)
    return [*made, broken]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-lib") / "lib"
    _library(folder)
    return folder


def _headless(paths: list[Path], db: Path, executor: str | None) -> tuple[int, dict[str, object]]:
    out, err = io.StringIO(), io.StringIO()
    code = run_headless(
        HeadlessOptions(paths=tuple(paths), json=True, db=db, executor=executor, config=Config()),
        stdout=out,
        stderr=err,
        install_signals=False,
    )
    return code, json.loads(out.getvalue())


def _files_by_name(doc: dict[str, object], root: Path) -> dict[str, tuple[object, ...]]:
    files = doc["files"]
    assert isinstance(files, list)
    out = {}
    for f in files:
        output = f["output_path"]
        out[Path(f["path"]).name] = (
            f["status"],
            tuple(f["changes"]),
            str(Path(output).relative_to(root)) if output else None,
        )
    return out


def test_same_json_and_content_as_threads(cluster: DaskBackend, library: Path, tmp_path: Path):
    threads_lib, cluster_lib = tmp_path / "threads", tmp_path / "cluster"
    shutil.copytree(library, threads_lib)
    shutil.copytree(library, cluster_lib)
    code_t, doc_t = _headless([threads_lib], tmp_path / "t.db", None)
    code_c, doc_c = _headless([cluster_lib], tmp_path / "c.db", _dask_url(cluster))
    assert code_t == code_c == 1  # the broken file fails in both
    by_t, by_c = _files_by_name(doc_t, threads_lib), _files_by_name(doc_c, cluster_lib)
    assert by_c == by_t
    assert {s for s, _c, _o in by_c.values()} >= {"ok", "failed"}
    assert doc_c["workers"] == 2  # the default: the cluster's total worker threads
    names_t = sorted(p.name for p in threads_lib.iterdir())
    assert sorted(p.name for p in cluster_lib.iterdir()) == names_t
    for name in names_t:  # byte-identical outputs (no random UIDs, no dates)
        assert sha256(threads_lib / name) == sha256(cluster_lib / name), name
    # history is in the client's database, as for threads
    assert (tmp_path / "c.db").exists()


def test_events_come_back_from_the_workers(cluster: DaskBackend, library: Path, tmp_path: Path):
    lib = tmp_path / "lib"
    shutil.copytree(library, lib)
    policy = load_policy("normalize")
    listener = RecordingListener()
    jobs = [FileJob(p, policy) for p in sorted(lib.iterdir())]
    result = BatchRunner(
        jobs, backend=DaskBatch(cluster), workers=2, listener=listener, on_error="skip"
    ).run()
    assert len(result.files) == len(jobs)
    progress = listener.of_type(FileProgress)
    with_worker = {e.path for e in progress if e.progress.worker}  # type: ignore[attr-defined]
    assert with_worker == {j.path for j in jobs}  # every file says where it runs
    stages = {e.progress.stage for e in progress}  # type: ignore[attr-defined]
    # started at once; later stages as the worker's throttle lets them through
    assert "lock" in stages and stages & {"probe", "plan", "run", "verify", "commit"}


def _ends_at_once(job: FileJob, control: object) -> FileResult:
    """An engine that reports no progress at all (module level: workers import it)."""
    return FileResult(job.path, FileStatus.UNCHANGED)


def _no_op_batch(
    cluster: DaskBackend,
    jobs: list[FileJob],
    workers: int,
    listener: RecordingListener | None = None,
) -> BatchRunner:
    """A batch of ``jobs`` on the cluster whose engine touches nothing (``_ends_at_once``)."""
    return BatchRunner(
        jobs,
        backend=DaskBatch(cluster, _ends_at_once),
        workers=workers,
        listener=listener or RecordingListener(),
        on_error="skip",
    )


def test_a_file_done_before_any_progress_still_says_where_it_ran(cluster: DaskBackend):
    """Its result carries the host, so the run table's @host is never missing."""
    listener = RecordingListener()
    jobs = [FileJob(Path(f"/nowhere/{i}.mkv"), load_policy("normalize")) for i in range(6)]
    result = _no_op_batch(cluster, jobs, 2, listener).run()
    assert [f.status for f in result.files] == [FileStatus.UNCHANGED] * len(jobs)
    hosts = {e.path: e.progress.worker for e in listener.of_type(FileProgress)}  # type: ignore[attr-defined]
    assert hosts == {j.path: worker_host() for j in jobs}


def _finished_within(runner: BatchRunner, timeout_s: float = 60.0) -> BatchResult:
    """The batch's result, or a failure (not a hung test) if it never ends."""
    outcome: list[BatchResult] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run()), daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"the batch did not end within {timeout_s} s"
    return outcome[0]


def test_files_freed_together_go_out_together_and_run_once(
    cluster: DaskBackend, monkeypatch: pytest.MonkeyPatch
):
    """Files queued while the loop is busy are submitted as one graph: none lost or doubled."""
    graphs: list[list[str]] = []
    real_map = cluster.client.map

    def recording_map(*args: object, **kwargs: object) -> object:
        graphs.append(list(kwargs["key"]))  # type: ignore[call-overload]
        return real_map(*args, **kwargs)

    monkeypatch.setattr(cluster.client, "map", recording_map)
    jobs = [FileJob(Path(f"/nowhere/{i:03d}.mkv"), load_policy("normalize")) for i in range(120)]
    runner = _no_op_batch(cluster, jobs, 12)
    result = _finished_within(runner)
    assert [f.path for f in result.files] == [j.path for j in jobs]
    assert {f.status for f in result.files} == {FileStatus.UNCHANGED}
    keys = [k for graph in graphs for k in graph]
    assert len(keys) == len(set(keys)) == len(jobs)  # each file submitted exactly once
    assert max(map(len, graphs)) > 1  # and some of them together


class _UnpicklablePath(type(Path())):  # type: ignore[misc]
    """A path Dask cannot send: the submission of its file fails."""

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("this path stays on the client")


def test_a_file_that_cannot_be_sent_fails_alone_with_the_reason(
    cluster: DaskBackend, monkeypatch: pytest.MonkeyPatch
):
    policy = load_policy("normalize")
    jobs = [FileJob(Path(f"/nowhere/{i}.mkv"), policy) for i in range(4)]
    jobs[2] = FileJob(_UnpicklablePath("/nowhere/2.mkv"), policy)
    # the first submission waits for all four files: the bad one is in a graph with others
    submit_unsent, first = DaskBatch._submit_unsent, threading.Event()

    def all_four_at_first(self: DaskBatch) -> None:
        deadline = time.monotonic() + 10
        while not first.is_set() and len(self._unsent) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        first.set()
        submit_unsent(self)

    monkeypatch.setattr(DaskBatch, "_submit_unsent", all_four_at_first)
    runner = _no_op_batch(cluster, jobs, 4)
    result = _finished_within(runner)
    statuses = [f.status for f in result.files]
    assert statuses == [FileStatus.UNCHANGED] * 2 + [FileStatus.FAILED, FileStatus.UNCHANGED]
    error = result.files[2].error or ""
    assert error.startswith("/nowhere/2.mkv: could not send it to the Dask cluster")
    assert "this path stays on the client" in error
    assert cluster.connected()  # the cluster is fine for the next batch


class _When(RecordingListener):
    """Sets ``encoding`` once ffmpeg reports progress on any worker."""

    def __init__(self) -> None:
        super().__init__()
        self.encoding = threading.Event()

    def on_event(self, event: BatchEvent) -> None:
        super().on_event(event)
        if isinstance(event, FileProgress) and event.progress.stage == "run":
            self.encoding.set()


def _slow_files(make_file: MakeMedia, folder: Path, n: int, duration: float = 3.0) -> list[Path]:
    return [
        make_file(
            f"clip {i}.mkv",
            folder=folder,
            duration=duration,
            width=480,
            height=270,
            audio=(AudioSpec("eng", default=True),),
        )
        for i in range(n)
    ]


def _video_codec(path: Path) -> str:
    return next(t.codec for t in probe(path, FFPROBE).tracks if t.type.value == "video")


def _start(runner: BatchRunner) -> tuple[threading.Thread, list[BatchResult]]:
    outcome: list[BatchResult] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run()), daemon=True)
    thread.start()
    return thread, outcome


def _tool_processes(folder: Path) -> dict[int, str]:
    """pid → state of the ffmpeg/mkvmerge processes working on files in ``folder``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if str(folder).encode() in cmdline and b"ffmpeg" in cmdline.split(b"\0")[0]:
            found[int(entry.name)] = stat.rsplit(")", 1)[1].split()[0]
    return found


def test_pause_resume_then_kill(cluster: DaskBackend, make_file: MakeMedia, tmp_path: Path):
    lib = tmp_path / "lib"
    files = _slow_files(make_file, lib, 3)
    digests = {f: sha256(f) for f in files}
    listener = _When()
    runner = BatchRunner(
        [FileJob(f, SLOW_HEVC) for f in files],
        backend=DaskBatch(cluster),
        workers=2,
        listener=listener,
        on_error="skip",
        kill_grace_s=2.0,
    )
    thread, outcome = _start(runner)
    assert listener.encoding.wait(60), "ffmpeg never reported progress"
    runner.pause()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # SIGSTOP reaches the remote tool's group
        states = _tool_processes(lib)
        if states and set(states.values()) == {"T"}:
            break
        time.sleep(0.1)
    assert states and set(states.values()) == {"T"}, states
    runner.resume()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "T" in _tool_processes(lib).values():
        time.sleep(0.1)
    assert "T" not in _tool_processes(lib).values()
    killed_at = time.monotonic()
    runner.kill()
    thread.join(30)
    assert not thread.is_alive(), "kill did not end the batch"
    deadline = killed_at + 5
    while time.monotonic() < deadline and _tool_processes(lib):
        time.sleep(0.1)
    assert _tool_processes(lib) == {}, "a remote tool outlived the kill by 5 s"
    (result,) = outcome
    assert [f.status for f in result.files] == [FileStatus.CANCELLED] * 3
    assert result.stop_reason == "kill"
    for f in files:  # originals byte-identical, temp files gone
        assert sha256(f) == digests[f]
    assert sorted(p.name for p in lib.iterdir()) == sorted(f.name for f in files)


def test_stop_lets_running_files_finish(cluster: DaskBackend, make_file: MakeMedia, tmp_path):
    lib = tmp_path / "lib"
    files = _slow_files(make_file, lib, 3, duration=1.0)
    listener = _When()
    runner = BatchRunner(
        [FileJob(f, SLOW_HEVC) for f in files],
        backend=DaskBatch(cluster),
        workers=1,
        listener=listener,
        on_error="skip",
    )
    thread, outcome = _start(runner)
    assert listener.encoding.wait(60)
    runner.stop()
    thread.join(60)
    assert not thread.is_alive()
    (result,) = outcome
    statuses = [f.status for f in result.files]
    assert statuses == [FileStatus.OK, FileStatus.CANCELLED, FileStatus.CANCELLED], statuses
    assert _video_codec(files[0]) == "hevc"  # fully done and verified
    assert result.stop_reason == "stop"


def test_version_mismatch_names_the_worker(cluster: DaskBackend, capsys):
    from vpo_tui import cli

    assert cli.main(["doctor", "--executor", _dask_url(cluster)]) == 0
    listed = capsys.readouterr().out
    assert listed.count("  worker tcp://") == 2 and "ffmpeg" in listed

    first = sorted(cluster.client.scheduler_info(n_workers=-1)["workers"])[0]

    def set_version(value: str) -> None:
        import vpo_tui

        vpo_tui.__version__ = value

    import vpo_tui

    cluster.client.run(set_version, "0.0.0-other", workers=[first])
    try:
        with pytest.raises(ClusterError, match=f"worker {first} .* runs vpo-tui 0.0.0-other"):
            cluster.check()
        assert cli.main(["doctor", "--executor", _dask_url(cluster)]) == 5
        assert f"PROBLEM: worker {first}" in capsys.readouterr().out
    finally:
        cluster.client.run(set_version, vpo_tui.__version__, workers=[first])
    # a batch checks versions only: running every tool on every worker is doctor's job
    assert [w.tools for w in cluster.check()] == [{}, {}]


def test_an_older_worker_is_named_with_its_version(cluster: DaskBackend):
    """An older vpo-tui's worker_facts() takes no arguments: still named with its version."""
    first = sorted(cluster.client.scheduler_info(n_workers=-1)["workers"])[0]

    def swap_facts(old: bool) -> None:
        import vpo_tui.batch.cluster.worker as on_worker

        if old:
            on_worker.newer_facts = on_worker.worker_facts  # type: ignore[attr-defined]

            def older_facts() -> dict[str, object]:
                return {"version": "0.0.1", "host": on_worker.worker_host(), "tools": {}}

            on_worker.worker_facts = older_facts  # type: ignore[assignment]
        else:
            on_worker.worker_facts = on_worker.newer_facts  # type: ignore[attr-defined]

    cluster.client.run(swap_facts, True, workers=[first])
    try:
        with pytest.raises(ClusterError, match=f"worker {first} .* runs vpo-tui 0.0.1,"):
            cluster.check()
    finally:
        cluster.client.run(swap_facts, False, workers=[first])
    cluster.check()


def test_path_mapping_on_the_workers(cluster: DaskBackend, library: Path, tmp_path: Path):
    real = tmp_path / "real"
    shutil.copytree(library, real)
    (tmp_path / "worker-view").symlink_to(real)
    client_view = tmp_path / "client-view"  # the client's mount: absent on this "node"
    mapping = f"{client_view}={tmp_path / 'worker-view'}"
    # (a lambda: a bound os.environ method would carry this process's environ along)
    cluster.client.run(lambda: os.environ.__setitem__("VPO_TUI_PATH_MAP", mapping))
    try:
        policy = load_policy("normalize")
        jobs = [FileJob(client_view / p.name, policy) for p in sorted(real.iterdir())]
        result = BatchRunner(
            jobs,
            backend=DaskBatch(cluster),
            workers=2,
            listener=RecordingListener(),
            on_error="skip",
        ).run()
    finally:
        cluster.client.run(lambda: os.environ.pop("VPO_TUI_PATH_MAP", None))
    by_name = {f.path.name: f for f in result.files}
    assert [f.path for f in result.files] == [j.path for j in jobs]
    assert by_name["c.mp4"].status is FileStatus.OK, by_name["c.mp4"].error
    assert by_name["c.mp4"].output_path == client_view / "c.mkv"  # mapped back
    assert (real / "c.mkv").exists() and not (real / "c.mp4").exists()
    assert by_name["e.mkv"].status is FileStatus.FAILED
    assert str(client_view / "e.mkv") in (by_name["e.mkv"].error or "")
    assert "worker-view" not in (by_name["e.mkv"].error or "")


def test_path_map_parsing() -> None:
    mapping = PathMap.parse("/srv/media=/mnt/nas/media")
    assert mapping.to_worker(Path("/srv/media/a/b.mkv")) == Path("/mnt/nas/media/a/b.mkv")
    assert mapping.to_worker(Path("/srv/mediaX/b.mkv")) == Path("/srv/mediaX/b.mkv")
    assert mapping.to_client(Path("/mnt/nas/media/b.mkv")) == Path("/srv/media/b.mkv")
    assert mapping.text_to_client("/mnt/nas/media/b.mkv: bad") == "/srv/media/b.mkv: bad"
    with pytest.raises(ValueError, match="VPO_TUI_PATH_MAP"):
        PathMap.parse("relative=/x")
    assert str(parse_executor("dask://nas:8786")) == "dask://nas:8786"
    assert parse_executor("local-cluster:3").processes == 3
    for bad in ("dask://nas", "local-cluster:0", "processes", "dask://a b:1"):
        with pytest.raises(ValueError):
            parse_executor(bad)


def test_two_clients_process_each_file_once(cluster: DaskBackend, tmp_path: Path):
    lib = tmp_path / "lib"
    eng = (AudioSpec("jpn", default=True), AudioSpec("eng"))
    files = [make_media(lib / f"m{i}.mkv", SampleSpec(audio=eng)) for i in range(4)]
    command = [sys.executable, "-m", "vpo_tui", "--no-tui", "--json"]
    command += ["--executor", _dask_url(cluster), str(lib)]
    runs = [
        subprocess.Popen([*command, "--db", str(tmp_path / f"{n}.db")], stdout=subprocess.PIPE)
        for n in ("one", "two")
    ]
    docs = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    for f in files:
        statuses = sorted(
            entry["status"] for doc in docs for entry in doc["files"] if entry["path"] == str(f)
        )
        # one client changed it; the other found it locked or already compliant
        assert statuses in (["ok", "skipped"], ["ok", "unchanged"]), (f, statuses)


def test_a_file_another_client_holds_is_skipped_untouched(cluster: DaskBackend, tmp_path: Path):
    """The cluster-wide lock, not flock: a client elsewhere holds one file's lock.

    That file is skipped, byte-identical, naming the lock; a compliant file is only
    read, so it needs no lock and is reported unchanged; the rest are converted.
    """
    from distributed import Lock

    from vpo_tui.batch.cluster.worker import lock_name_for

    lib = tmp_path / "lib"
    eng = (AudioSpec("jpn", default=True), AudioSpec("eng"))
    held, free = (make_media(lib / f"{n}.mkv", SampleSpec(audio=eng)) for n in ("held", "free"))
    compliant = make_media(lib / "compliant.mkv", SampleSpec(audio=(AudioSpec("eng"),)))
    assert process_file(FileJob(compliant, load_policy("normalize"))).status is FileStatus.OK
    before = sha256(held)
    client = cluster.client
    other = Lock(lock_name_for(held), scheduler_rpc=client.scheduler, loop=client.loop)
    assert other.acquire(blocking=False)
    try:
        result = BatchRunner(
            [FileJob(f, load_policy("normalize")) for f in (held, free, compliant)],
            backend=DaskBatch(cluster),
            workers=2,
            listener=RecordingListener(),
            on_error="skip",
        ).run()
        by_name = {f.path.name: f for f in result.files}
        assert by_name["held.mkv"].status is FileStatus.SKIPPED, by_name["held.mkv"]
        assert "cluster lock" in (by_name["held.mkv"].error or "")
        assert sha256(held) == before
        assert by_name["free.mkv"].status is FileStatus.OK
        assert by_name["compliant.mkv"].status is FileStatus.UNCHANGED
    finally:
        other.release()
    again = BatchRunner(
        [FileJob(held, load_policy("normalize"))],
        backend=DaskBatch(cluster),
        workers=1,
        listener=RecordingListener(),
        on_error="skip",
    ).run()
    assert [f.status for f in again.files] == [FileStatus.OK]  # the lock was released


def test_a_worker_without_the_tools(cluster: DaskBackend, library: Path, tmp_path: Path):
    lib = tmp_path / "lib"
    files = [make_media(lib / f"m{i}.mkv", SampleSpec(audio=(AudioSpec("eng"),))) for i in range(4)]
    bare = sorted(cluster.client.scheduler_info(n_workers=-1)["workers"])[0]
    old = cluster.client.run(lambda: os.environ["PATH"], workers=[bare])[bare]
    cluster.client.run(lambda: os.environ.__setitem__("PATH", "/nonexistent"), workers=[bare])
    try:
        result = BatchRunner(
            [FileJob(f, load_policy("normalize")) for f in files],
            backend=DaskBatch(cluster),
            workers=2,
            listener=RecordingListener(),
            on_error="skip",
        ).run()
    finally:
        cluster.client.run(lambda: os.environ.__setitem__("PATH", old), workers=[bare])
    statuses = [f.status for f in result.files]
    assert FileStatus.FAILED in statuses and FileStatus.OK in statuses, statuses
    for f in result.files:
        if f.status is FileStatus.FAILED:
            assert "ffprobe" in (f.error or ""), f.error


def test_a_worker_killed_mid_file(cluster: DaskBackend, make_file: MakeMedia, tmp_path: Path):
    lib = tmp_path / "lib"
    files = _slow_files(make_file, lib, 2, duration=2.0)
    digests = {f: sha256(f) for f in files}
    pids = cluster.client.run(os.getpid)
    listener = _When()
    runner = BatchRunner(
        [FileJob(f, SLOW_HEVC) for f in files],
        backend=DaskBatch(cluster),
        workers=2,
        listener=listener,
        on_error="skip",
    )
    thread, outcome = _start(runner)
    assert listener.encoding.wait(60)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive(), "the batch hung after a worker died"
    (result,) = outcome
    for f, r in zip(files, result.files, strict=True):
        if r.status is FileStatus.OK:  # retried on a worker and fully done
            assert _video_codec(f) == "hevc"
        else:
            assert r.status is FileStatus.FAILED and "worker lost" in (r.error or ""), r
            assert sha256(f) == digests[f]
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny brings it back


def test_scheduler_loss_cancels_and_exits_1(make_file: MakeMedia, tmp_path: Path):
    lib = tmp_path / "lib"
    files = _slow_files(make_file, lib, 3)
    digests = {f: sha256(f) for f in files}
    backend = DaskBackend.open(ExecutorSpec("local-cluster", processes=1))
    try:
        listener = _When()
        runner = BatchRunner(
            [FileJob(f, SLOW_HEVC) for f in files],
            backend=DaskBatch(backend),
            workers=1,
            listener=listener,
            on_error="skip",
        )
        thread, outcome = _start(runner)
        assert listener.encoding.wait(60)
        lost_at = time.monotonic()
        backend.cluster.sync(backend.cluster.scheduler.close)
        thread.join(30)
        assert not thread.is_alive(), "the client hung after the scheduler went away"
        assert time.monotonic() - lost_at < 30
    finally:
        backend.close()
    (result,) = outcome
    assert [f.status for f in result.files] == [FileStatus.CANCELLED] * 3
    assert "lost the Dask scheduler" in (result.files[0].error or "")
    assert "cancelled while running" in (result.files[0].error or "")
    assert all("not started" in (f.error or "") for f in result.files[1:])
    assert result.stop_reason == "scheduler lost" and exit_code_for(result) == 1
    # The worker cancels its file when it loses the scheduler; one already committing
    # finishes: either way the original is untouched or fully converted and verified.
    first = files[0]
    assert sha256(first) == digests[first] or _video_codec(first) == "hevc"
    for f in files[1:]:
        assert sha256(f) == digests[f]
    deadline = time.monotonic() + 10  # the cancelled tool's temp file goes with it
    while time.monotonic() < deadline and len(list(lib.iterdir())) > len(files):
        time.sleep(0.2)
    assert sorted(p.name for p in lib.iterdir()) == sorted(f.name for f in files)


def test_threads_never_import_distributed(tmp_path: Path) -> None:
    """Only a Dask executor imports distributed: not the CLI, nor a threads batch."""
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"not a video" * 50)
    code = (
        "import sys, vpo_tui.cli\n"
        f"argv = ['--no-tui', '--quiet', '--db', {str(tmp_path / 'h.db')!r}, {str(broken)!r}]\n"
        "assert vpo_tui.cli.main(argv) == 1\n"
        "assert 'distributed' not in sys.modules, 'a threads batch imported distributed'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_the_app_runs_its_batches_on_the_cluster(cluster: DaskBackend, library: Path, tmp_path):
    """The app's session on a cluster: its worker count, and a batch run through it."""
    from vpo_tui.batch.session import Session
    from vpo_tui.tui.request import BatchRequest
    from vpo_tui.tui.services import Services, for_batch, run_runner, start_session

    services = Services(config=Config())
    assert start_session(services, workers=5, executor=_dask_url(cluster)).workers.workers == 5
    session = start_session(services, executor=_dask_url(cluster))
    assert isinstance(session, Session)
    try:
        assert session.workers.workers == 2  # the cluster's threads
        lib = tmp_path / "lib"
        shutil.copytree(library, lib)
        picked = BatchRequest(
            paths=(lib,),
            policy=load_policy("normalize"),
            workers=2,
            dry_run=False,
            display_root=lib,
        )
        runner = run_runner(for_batch(session, picked), [lib / "c.mp4"], 2, RecordingListener())
        assert isinstance(runner._backend, DaskBatch)  # type: ignore[attr-defined]
        (result,) = runner.run().files
        assert result.status is FileStatus.OK and result.output_path == lib / "c.mkv"
    finally:
        session.close()


def test_a_bad_executor_is_a_usage_error(capsys) -> None:
    from vpo_tui import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--no-tui", "--executor", "dask://nowhere", "x"])
    assert exit_info.value.code == 2
    assert "expected threads, local-cluster[:N], tls://HOST:PORT or dask://HOST:PORT" in (
        capsys.readouterr().err
    )
