"""The per-file work is a plain function of picklable arguments (DESIGN: a cluster
executor is planned), so it must run in another process exactly as in a thread."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor

from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.engine.probe import probe
from vpo_tui.engine.process import process_file
from vpo_tui.media import TrackType
from vpo_tui.policy.load import load_policy


def test_a_file_processed_in_a_process_pool_comes_back_as_a_plain_result(
    make_file: MakeMedia,
) -> None:
    path = make_file("movie.mkv", audio=(AudioSpec("eng"), AudioSpec("fre")))
    job = FileJob(path, load_policy("english-only"))
    assert pickle.loads(pickle.dumps(job)) == job
    spawn = multiprocessing.get_context("spawn")  # nothing shared with this process
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        result = pool.submit(process_file, job).result(timeout=120)
    assert result.status is FileStatus.OK, result.error
    assert pickle.loads(pickle.dumps(result)) == result
    audio = [
        t
        for t in probe(path, shutil.which("ffprobe") or "ffprobe").tracks
        if t.type is TrackType.AUDIO
    ]
    assert [t.language for t in audio] == ["eng"]
