"""``--no-tui`` with video files whose extension is not enabled: counted and said once,
never an error (real files, run as a user runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands import vpo
from tests.conftest import MakeMedia

NOTE = (
    "note: 5 video files with other extensions were not considered (.ts 3, .wmv 2); "
    "add them to [processing] extensions in config.toml to include them\n"
)


@pytest.fixture
def lib(tmp_path: Path, make_file: MakeMedia) -> Path:
    """Two real .mkv files, five empty ones of other video kinds, and non-video files."""
    folder = tmp_path / "lib"
    (folder / "sub").mkdir(parents=True)
    make_file("a.mkv", folder=folder)
    make_file("b.mkv", folder=folder / "sub")
    for name in ("c.ts", "d.TS", "sub/e.ts", "f.wmv", "sub/g.wmv"):
        (folder / name).write_bytes(b"")
    for name in ("a.srt", "a.nfo", "poster.jpg", ".hidden.ts", "sub/notes.txt"):
        (folder / name).write_bytes(b"")
    return folder


def test_other_video_files_are_counted_in_a_note(tmp_path: Path, lib: Path) -> None:
    text = vpo(tmp_path, "--dry-run", "--db", "h.db", "lib")
    assert text.returncode == 0, text.stderr
    assert text.stderr.count("not considered") == 1 and NOTE in text.stderr
    assert "Done: 2 files" in text.stderr
    as_json = vpo(tmp_path, "--json", "--dry-run", "--db", "h.db", "lib")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["ignored_extensions"] == {".ts": 3, ".wmv": 2}
    assert doc["summary"]["total"] == 2 and doc["problems"] == [] and doc["warnings"] == []


def test_quiet_leaves_the_note_out_when_files_were_found(tmp_path: Path, lib: Path) -> None:
    done = vpo(tmp_path, "--quiet", "--dry-run", "--db", "h.db", "lib")
    assert done.returncode == 0, done.stderr
    assert "not considered" not in done.stderr


def test_nothing_found_says_why_even_when_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "tv"
    folder.mkdir()
    (folder / "episode.ts").write_bytes(b"")
    done = vpo(tmp_path, "--quiet", "--json", "--dry-run", "--db", "h.db", "tv")
    assert done.returncode == 4, done.stderr
    assert (
        "note: 1 video file with another extension was not considered (.ts 1); "
        "add it to [processing] extensions in config.toml to include it\n"
    ) in done.stderr
    assert json.loads(done.stdout)["ignored_extensions"] == {".ts": 1}


def test_an_enabled_extension_is_not_ignored(tmp_path: Path, lib: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[processing]\nextensions = [".mkv", ".wmv"]\n')
    done = vpo(tmp_path, "--json", "--dry-run", "--db", "h.db", "--config", str(cfg), "lib")
    doc = json.loads(done.stdout)
    # the empty .wmv files are queued now (and fail to probe: exit 1, as any bad file)
    assert doc["summary"]["total"] == 4 and done.returncode == 1
    assert doc["ignored_extensions"] == {".ts": 3}
    assert "(.ts 3); add them" in done.stderr
