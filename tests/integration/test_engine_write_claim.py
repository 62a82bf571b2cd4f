"""The engine's write claim: a second lock, taken only when the plan writes.

The cluster executor passes one (a ``distributed.Lock``); here plain context
managers stand in for it, and real tools run on real media.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import AudioSpec, MakeMedia, sha256
from vpo_tui.engine.job import FileJob, FileStatus
from vpo_tui.engine.locks import FileLocked
from vpo_tui.engine.process import process_file
from vpo_tui.policy.load import load_policy

NEEDS_REMUX = (AudioSpec("jpn", default=True), AudioSpec("eng"))


class Claims:
    """Records each claim; ``meanwhile`` runs inside it, as another run would."""

    def __init__(self, meanwhile: object = None, refuse: bool = False) -> None:
        self.taken: list[Path] = []
        self.meanwhile = meanwhile
        self.refuse = refuse

    @contextlib.contextmanager
    def __call__(self, path: Path) -> Iterator[None]:
        if self.refuse:
            raise FileLocked(f"{path}: being processed by another vpo-tui client (cluster lock)")
        self.taken.append(path)
        if callable(self.meanwhile):
            self.meanwhile(path)
        yield


def test_a_write_takes_the_claim_a_read_does_not(make_file: MakeMedia) -> None:
    policy = load_policy("normalize")
    changed = make_file("changed.mkv", audio=NEEDS_REMUX)
    claims = Claims()
    assert process_file(FileJob(changed, policy), claim=claims).status is FileStatus.OK
    assert claims.taken == [changed]
    # now compliant: probing and planning it writes nothing, so nothing is claimed
    again = Claims()
    assert process_file(FileJob(changed, policy), claim=again).status is FileStatus.UNCHANGED
    planned = process_file(FileJob(make_file("dry.mkv", audio=NEEDS_REMUX), policy, dry_run=True))
    assert planned.status is FileStatus.PLANNED
    assert again.taken == []


def test_a_refused_claim_skips_the_file_untouched(make_file: MakeMedia) -> None:
    path = make_file("held.mkv", audio=NEEDS_REMUX)
    before = sha256(path)
    result = process_file(FileJob(path, load_policy("normalize")), claim=Claims(refuse=True))
    assert result.status is FileStatus.SKIPPED and "cluster lock" in (result.error or "")
    assert sha256(path) == before
    assert not list(path.parent.glob(".*vpo-tmp*"))


def test_a_file_changed_before_the_claim_is_left_alone(make_file: MakeMedia) -> None:
    """Another run converted it between our probe and our claim: our plan is stale."""
    path = make_file("raced.mkv", audio=NEEDS_REMUX)

    def other_run_rewrote_it(p: Path) -> None:
        p.write_bytes(p.read_bytes())  # same bytes, a new write
        os.utime(p, ns=(1, 1))

    result = process_file(
        FileJob(path, load_policy("normalize")), claim=Claims(other_run_rewrote_it)
    )
    assert result.status is FileStatus.SKIPPED
    assert "changed since it was probed" in (result.error or ""), result.error
    assert path.stat().st_mtime_ns == 1  # as the other run left it
    assert not list(path.parent.glob(".*vpo-tmp*"))


def test_a_file_gone_before_the_claim_is_reported_so(make_file: MakeMedia) -> None:
    path = make_file("gone.mkv", audio=NEEDS_REMUX)
    result = process_file(
        FileJob(path, load_policy("normalize")), claim=Claims(lambda p: p.unlink())
    )
    assert result.status is FileStatus.SKIPPED
    assert "already processed by another vpo-tui run" in (result.error or "")
