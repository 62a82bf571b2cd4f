"""A dry run says where each file would go, and that two files cannot become one.

``a.mp4`` and ``a.m4v`` (the same film twice, as libraries have) both remuxed to
Matroska would both be ``a.mkv``: the real run refuses the second, so the dry run
must say so too. Real files, real tools; the JSON is what a user reads.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.conftest import MakeMedia, sha256
from vpo_tui.config import Config
from vpo_tui.headless import HeadlessOptions, run_headless


def _run(folder: Path, db: Path, *, dry_run: bool) -> tuple[int, dict[str, dict[str, object]]]:
    out = io.StringIO()
    code = run_headless(
        HeadlessOptions(
            paths=(folder,),
            policy="normalize",
            json=True,
            dry_run=dry_run,
            db=db,
            workers=1,
            config=Config(),
        ),
        stdout=out,
        stderr=io.StringIO(),
        install_signals=False,
    )
    doc = json.loads(out.getvalue())
    return code, {Path(f["path"]).name: f for f in doc["files"]}


def test_two_files_that_would_become_one_are_predicted(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    mp4 = make_file("a.mp4", folder=lib, container="mp4")
    m4v = make_file("a.m4v", folder=lib, container="mp4")
    other = make_file("b.mp4", folder=lib, container="mp4")
    digests = {p: sha256(p) for p in (mp4, m4v, other)}

    code, planned = _run(lib, tmp_path / "h.db", dry_run=True)
    assert planned["b.mp4"]["status"] == "planned"
    assert planned["b.mp4"]["output_path"] == str(lib / "b.mkv")  # where it would go
    statuses = sorted(planned[n]["status"] for n in ("a.mp4", "a.m4v"))
    assert statuses == ["failed", "planned"], planned
    (loser,) = (n for n in ("a.mp4", "a.m4v") if planned[n]["status"] == "failed")
    error = str(planned[loser]["error"])
    assert "a.mkv would also be written from a." in error and loser in error, error
    assert code == 1  # as the real run will end
    assert {p: sha256(p) for p in digests} == digests  # a dry run writes nothing

    code, done = _run(lib, tmp_path / "h.db", dry_run=False)
    assert sorted(done[n]["status"] for n in ("a.mp4", "a.m4v")) == ["failed", "ok"], done
    assert done["b.mp4"]["status"] == "ok" and code == 1
    (refused,) = (lib / n for n in ("a.mp4", "a.m4v") if done[n]["status"] == "failed")
    assert sha256(refused) == digests[refused]  # the second is left as it was
    assert (lib / "a.mkv").exists() and (lib / "b.mkv").exists()
