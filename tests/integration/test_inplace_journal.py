"""The pieces of an in-place edit on real files: layout, undo journal, clone, choice.

Files are made by ffmpeg and mkvmerge (whose layouts differ: ffmpeg leaves little
room, so mkvpropedit moves Tracks to the end; mkvmerge reserves a Void).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.engine import edit_journal, inplace
from vpo_tui.engine.clone import CopyMethod, clone_or_copy, folder_can_clone
from vpo_tui.engine.matroska_layout import CLUSTER_ID, LayoutError, read_layout

TWO_AUDIO = (AudioSpec("fre", default=True), AudioSpec("eng"))
LONG_TITLE = "a title long enough that the header cannot keep it where it was " * 3


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mkvpropedit(path: Path, *more: str) -> None:
    argv = ["mkvpropedit", str(path), "--edit", "track:a1", "--set", "flag-default=0"]
    argv += ["--edit", "track:a2", "--set", "flag-default=1", *more]
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture(params=["ffmpeg", "mkvmerge"])
def movie(request: pytest.FixtureRequest, make_file: MakeMedia, tmp_path: Path) -> Path:
    made = make_file("src.mkv", duration=2.0, audio=TWO_AUDIO)
    if request.param == "ffmpeg":
        return made.rename(tmp_path / "movie.mkv")
    target = tmp_path / "movie.mkv"
    subprocess.run(["mkvmerge", "-q", "-o", str(target), str(made)], check=True)
    made.unlink()
    return target


def test_layout_tiles_the_file_and_saves_only_headers(movie: Path) -> None:
    layout = read_layout(movie)
    assert layout.file_size == movie.stat().st_size
    spans = [(layout.ebml_header.offset, layout.ebml_header.end)]
    spans += [(layout.segment.offset, layout.segment.offset + layout.segment.header)]
    spans += [(e.offset, e.end) for e in layout.children]
    assert spans[0][0] == 0 and spans[-1][1] == layout.file_size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no gap, no overlap
    clusters = [e for e in layout.children if e.id == CLUSTER_ID]
    assert clusters
    saved = layout.saved_ranges()
    for cluster in clusters:
        assert all(o + n <= cluster.offset or o >= cluster.end for o, n in saved)
    headers = sum(n for _o, n in saved)
    assert headers + sum(c.header + c.size for c in clusters) == layout.file_size
    assert headers < layout.saved_bytes < headers + 25 * len(clusters)  # + the Cluster heads


def test_layout_refuses_what_it_cannot_read(tmp_path: Path, movie: Path) -> None:
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(LayoutError):
        read_layout(garbage)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(movie.read_bytes()[: movie.stat().st_size // 2])
    with pytest.raises(LayoutError, match="runs past the end"):
        read_layout(cut)
    trailing = tmp_path / "trailing.mkv"
    trailing.write_bytes(movie.read_bytes() + b"junk")
    with pytest.raises(LayoutError):
        read_layout(trailing)


def test_journal_restores_the_original_byte_for_byte(movie: Path) -> None:
    original = _digest(movie)
    st = movie.stat()
    layout = read_layout(movie)
    journal = edit_journal.write_journal(movie, layout, st, pid=999_999_999)
    assert journal.name.startswith(".movie.mkv.vpo-inplace-999999999@")
    _mkvpropedit(movie, "--edit", "info", "--set", f"title={LONG_TITLE}")
    assert _digest(movie) != original
    after = read_layout(movie)
    assert after.cluster_signature == layout.cluster_signature  # mkvpropedit left the media
    assert edit_journal.stale_edit_journals([movie.parent]) == [journal]
    assert edit_journal.restore_interrupted_edits([movie.parent]) == [movie]
    assert _digest(movie) == original
    assert movie.stat().st_mtime_ns == st.st_mtime_ns
    assert not journal.exists()


def test_a_torn_journal_is_dropped_and_the_file_left_alone(movie: Path) -> None:
    original = _digest(movie)
    journal = edit_journal.write_journal(movie, read_layout(movie), movie.stat(), pid=999_999_999)
    whole = journal.read_bytes()
    for cut in (3, len(whole) // 2, len(whole) - 1):
        journal.write_bytes(whole[:cut])
        assert edit_journal.read_journal(journal) is None
    assert edit_journal.restore_interrupted_edits([movie.parent]) == []
    assert not journal.exists()
    assert _digest(movie) == original


def test_a_journal_never_writes_into_a_replaced_file(movie: Path, tmp_path: Path) -> None:
    journal = edit_journal.write_journal(movie, read_layout(movie), movie.stat(), pid=999_999_999)
    other = tmp_path / "other.bin"
    other.write_bytes(b"another file now has this name")
    os.replace(other, movie)
    assert edit_journal.restore_interrupted_edits([movie.parent]) == []
    assert movie.read_bytes() == b"another file now has this name"
    assert not journal.exists()


def test_journals_of_live_processes_are_left_alone(movie: Path) -> None:
    journal = edit_journal.write_journal(movie, read_layout(movie), movie.stat())  # our pid
    assert edit_journal.stale_edit_journals([movie.parent]) == []
    edit_journal.discard(journal)


def test_clone_or_copy_falls_back_honestly(movie: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.mkv"
    target.touch()
    seen: list[int] = []
    method = clone_or_copy(movie, target, seen.append)
    assert _digest(target) == _digest(movie)
    assert seen and seen[-1] == movie.stat().st_size
    can = folder_can_clone(tmp_path)
    assert (method is CopyMethod.REFLINK) == bool(can)
    assert not [p for p in tmp_path.iterdir() if ".vpo-tmp-" in p.name]  # the probe cleaned up


def test_choice_says_why_not_in_place(movie: Path, tmp_path: Path) -> None:
    if folder_can_clone(tmp_path):
        pytest.skip("this tmp folder can clone: the clone path is taken")
    st = movie.stat()
    assert inplace.choose(movie, st, "auto", keep_backups=False).in_place
    assert "never" in inplace.choose(movie, st, "never", keep_backups=False).reason
    assert "keep_backups" in inplace.choose(movie, st, "auto", keep_backups=True).reason
    os.link(movie, tmp_path / "seeding.mkv")
    linked = inplace.choose(movie, movie.stat(), "auto", keep_backups=False)
    assert not linked.in_place and "2 hard links" in linked.reason
    (tmp_path / "seeding.mkv").unlink()
    writer = subprocess.Popen(
        ["python3", "-c", "import sys,time; f=open(sys.argv[1],'r+b'); time.sleep(30)", str(movie)]
    )
    try:
        for _ in range(100):
            if inplace.writers_of(movie):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        busy = inplace.choose(movie, movie.stat(), "auto", keep_backups=False)
        assert not busy.in_place and f"pid {writer.pid}" in busy.reason
    finally:
        writer.kill()
        writer.wait()
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(b"\x1a\x45\xdf\xa3" + os.urandom(100))
    bad = inplace.choose(garbage, garbage.stat(), "auto", keep_backups=False)
    assert not bad.in_place and "layout" in bad.reason


def test_edit_refuses_a_file_changed_after_the_journal(movie: Path) -> None:
    st = movie.stat()
    layout = read_layout(movie)

    def another_program() -> None:
        with movie.open("r+b") as f:
            f.seek(layout.ebml_header.end + 20)
            f.write(b"\x00")

    def never() -> None:
        raise AssertionError("the edit must not run")

    with pytest.raises(inplace.InPlaceRefused, match="changed by another program"):
        inplace.edit(movie, st, layout, never, lambda: None, after_journal=another_program)
    assert not [p for p in movie.parent.iterdir() if edit_journal.is_journal_name(p.name)]


def test_edit_restores_when_the_edit_strays(movie: Path) -> None:
    original = _digest(movie)
    st = movie.stat()
    layout = read_layout(movie)
    cluster = next(e for e in layout.children if e.id == CLUSTER_ID)

    def into_the_media() -> None:
        with movie.open("r+b") as f:
            f.seek(cluster.offset + cluster.header + 2)
            f.write(b"\xff\xff")

    with pytest.raises(inplace.EditStrayed):
        inplace.edit(movie, st, layout, into_the_media, lambda: None)
    assert _digest(movie) == original
    assert not [p for p in movie.parent.iterdir() if edit_journal.is_journal_name(p.name)]


def test_edit_keeps_a_good_edit_and_drops_the_journal(movie: Path) -> None:
    st = movie.stat()
    layout = read_layout(movie)
    result = inplace.edit(
        movie,
        st,
        layout,
        lambda: _mkvpropedit(movie, "--edit", "info", "--set", "title=x"),
        lambda: 7,
    )
    assert result == 7
    assert not [p for p in movie.parent.iterdir() if edit_journal.is_journal_name(p.name)]
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=index:stream_disposition=default",
            "-of",
            "csv=p=0",
            str(movie),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[-2:] == ["1,0", "2,1"]
    assert shutil.which("mkvpropedit")


def test_an_edit_that_moves_a_header_element_to_the_end_is_kept(movie: Path) -> None:
    """A title too long for its place: mkvpropedit moves Tracks/Info to the end (the file
    grows) and voids the old place. Still only header bytes: accepted, journal dropped."""
    st = movie.stat()
    layout = read_layout(movie)
    media = [(e.offset, e.end) for e in layout.children if e.id == CLUSTER_ID]
    title = ["--edit", "info", "--set", f"title={LONG_TITLE * 80}"]
    inplace.edit(movie, st, layout, lambda: _mkvpropedit(movie, *title), lambda: None)
    after = read_layout(movie)
    assert after.file_size > layout.file_size  # the element went to the end
    assert [(e.offset, e.end) for e in after.children if e.id == CLUSTER_ID] == media
    assert not [p for p in movie.parent.iterdir() if edit_journal.is_journal_name(p.name)]
