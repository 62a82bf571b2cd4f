"""The history's probe cache, as a batch uses it around each file.

A re-run over a compliant library must start no tool: a file the store knows to
comply (same real path, size, mtime and policy digest) is reported unchanged
without the engine, and a file a dry run already probed carries that probe to the
engine, which checks its fingerprint again under the file's lock. Every store call
goes through the runner's ``store_call``, so a database problem is a warning,
never a lost batch.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vpo_tui.engine.job import FileJob, FileResult, FileStatus, KnownProbe
from vpo_tui.engine.links import link_target

if TYPE_CHECKING:
    from vpo_tui.store.history import HistoryStore

StoreCall = Callable[[str, Callable[["HistoryStore"], object]], object]


def cached_result(job: FileJob, store_call: StoreCall) -> FileResult | None:
    """UNCHANGED without calling the engine, if the store knows the file complies."""
    digest = job.policy.digest
    if not digest:
        return None
    try:
        real = os.path.realpath(job.path)
        st = os.stat(real)
    except OSError:
        return None  # let the engine report the problem properly
    hit = store_call(
        "read the probe cache",
        lambda s: s.is_compliant(real, st.st_size, st.st_mtime_ns, digest),
    )
    if hit is not True:
        return None
    return FileResult(
        job.path,
        FileStatus.UNCHANGED,
        changes=(),
        output_path=job.path,
        fingerprint=(st.st_size, st.st_mtime_ns),
        pass_kind="cached",
        link_target=link_target(Path(job.path).absolute()),  # as the engine says it
    )


def with_known_probe(job: FileJob, store_call: StoreCall) -> FileJob:
    """The job with the file's kept probe (from a dry run), if the store has one.

    The engine checks the fingerprint again under the file's lock; this only
    saves it the probe when a dry run already paid for it.
    """
    if job.known is not None:
        return job
    try:
        real = os.path.realpath(job.path)
        fingerprint = KnownProbe.fingerprint_of(os.stat(real))
    except OSError:
        return job  # let the engine report the problem properly
    record = store_call("read the probe cache", lambda s: s.known_probe(real, fingerprint))
    if not isinstance(record, str):
        return job
    return dataclasses.replace(job, known=KnownProbe(fingerprint, record))


def remember(job: FileJob, result: FileResult, store_call: StoreCall) -> None:
    """Keep what the file's run learnt: that it complies now, and its probe."""
    _remember_compliant(job, result, store_call)
    _remember_probe(job, result, store_call)


def _remember_compliant(job: FileJob, result: FileResult, store_call: StoreCall) -> None:
    if result.status not in (FileStatus.OK, FileStatus.UNCHANGED):
        return
    if result.fingerprint is None or result.pass_kind == "cached":
        return
    digest = job.policy.digest
    if not digest:
        return
    target = os.path.realpath(result.output_path or result.path)
    size, mtime_ns = result.fingerprint
    store_call(
        "update the probe cache",
        lambda s: s.mark_compliant(target, size, mtime_ns, digest),
    )


def _remember_probe(job: FileJob, result: FileResult, store_call: StoreCall) -> None:
    probe = result.probe
    if probe is None or probe == job.known:
        return  # nothing probed, or the kept probe was used as it is
    real = os.path.realpath(job.path)
    store_call(
        "update the probe cache",
        lambda s: s.remember_probe(real, probe.fingerprint, probe.record),
    )
