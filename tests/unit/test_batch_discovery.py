"""Discovery: extensions, hidden, temp files, symlink duplicates and loops, unreadable folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vpo_tui.batch.discovery import discover
from vpo_tui.batch.workers import WorkerCountError, resolve_workers


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_recursive_sorted_filtered(tmp_path: Path) -> None:
    a = touch(tmp_path / "b" / "z.mkv")
    b = touch(tmp_path / "a.MP4")
    c = touch(tmp_path / "b" / "c" / "-leading dash é.webm")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden.mkv")
    touch(tmp_path / ".secret" / "x.mkv")
    touch(tmp_path / ".movie.vpo-tmp-123-abc.mkv")
    result = discover([tmp_path])
    assert result.files == tuple(sorted([a, b, c], key=str))
    assert result.problems == ()
    flat = discover([tmp_path], recursive=False)
    assert flat.files == (b,)


def test_configurable_extensions(tmp_path: Path) -> None:
    touch(tmp_path / "a.mkv")
    ts = touch(tmp_path / "b.ts")
    assert discover([tmp_path], extensions=[".ts"]).files == (ts,)


def test_symlink_duplicates_and_repeated_paths_are_queued_once(tmp_path: Path) -> None:
    real = touch(tmp_path / "lib" / "movie.mkv")
    (tmp_path / "lib" / "alias.mkv").symlink_to(real)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "linkdir").symlink_to(tmp_path / "lib")
    result = discover([tmp_path, tmp_path / "lib", real, tmp_path / "lib" / "alias.mkv"])
    assert result.files == (real,)


def test_symlink_loop_and_missing_paths_are_problems_not_fatal(tmp_path: Path) -> None:
    good = touch(tmp_path / "d" / "ok.mkv")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "self.mkv").symlink_to(tmp_path / "d" / "self.mkv")
    (tmp_path / "d" / "gone.mkv").symlink_to(tmp_path / "nowhere.mkv")
    result = discover([tmp_path / "d", tmp_path / "missing"])
    assert result.files == (good,)
    text = "\n".join(str(p) for p in result.problems)
    assert "loop" in text and "self.mkv" in text
    assert "gone.mkv: broken symbolic link" in text
    assert "missing: no such file or folder" in text


@pytest.mark.usefixtures("permissions_enforced")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    good = touch(tmp_path / "ok.mkv")
    locked = tmp_path / "locked"
    touch(locked / "x.mkv")
    locked.chmod(0)
    try:
        result = discover([tmp_path])
    finally:
        locked.chmod(0o755)
    assert result.files == (good,)
    assert any("cannot read folder" in str(p) and "locked" in str(p) for p in result.problems)


def test_explicit_non_video_file_is_reported(tmp_path: Path) -> None:
    txt = touch(tmp_path / "readme.txt")
    result = discover([txt])
    assert result.files == () and "not a video file" in str(result.problems[0])


def test_many_entries_are_all_found_once_in_order(tmp_path: Path) -> None:
    # speed is measured by bench/runner_scale.py, not asserted here
    for d in range(20):
        folder = tmp_path / f"d{d:02d}"
        folder.mkdir()
        for i in range(250):
            (folder / f"f{i:03d}.mkv").write_bytes(b"")
    result = discover([tmp_path, tmp_path / "d03"])
    names = [p.relative_to(tmp_path).as_posix() for p in result.files]
    assert len(names) == 5_000 == len(set(names))
    assert names[:2] == ["d00/f000.mkv", "d00/f001.mkv"] and names[-1] == "d19/f249.mkv"


def test_worker_resolution() -> None:
    assert resolve_workers(None, None, None, cores=8).workers == 2
    assert resolve_workers(None, 3, None, cores=8).workers == 3
    assert resolve_workers(1, 3, None, cores=8).workers == 1
    capped = resolve_workers(6, None, None, cores=4)
    assert capped.workers == 2 and capped.cap == 2
    assert capped.warning is not None
    # the core count is said once, with the way to raise the cap
    assert capped.warning == (
        "6 workers requested (--workers), using 2: half of the 4 CPU cores on this machine; "
        "raise it with [processing] max_workers"
    )
    raised = resolve_workers(6, None, 8, cores=4)
    assert raised.workers == 6 and raised.cap == 8 and raised.warning is None
    set_cap = resolve_workers(6, None, 3, cores=1)
    assert set_cap.warning == (
        "6 workers requested (--workers), using 3: "
        "the cap set by [processing] max_workers = 3 (1 CPU core on this machine)"
    )
    assert resolve_workers(1, None, None, cores=1).cap == 1
    with pytest.raises(WorkerCountError, match="--workers must be at least 1"):
        resolve_workers(0, None, None, cores=4)


def test_unreadable_folder_is_reported_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root can read a chmod 0 folder, so simulate the EACCES that a user would get."""
    good = touch(tmp_path / "ok.mkv")
    touch(tmp_path / "locked" / "x.mkv")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("vpo_tui.batch.discovery.os.scandir", scandir)
    result = discover([tmp_path])
    assert result.files == (good,)
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'locked'}: cannot read folder: Permission denied"
    ]


def test_default_count_is_capped_silently() -> None:
    choice = resolve_workers(None, None, None, cores=2)
    assert choice.workers == 1 and choice.warning is None


def test_problems_say_whether_a_path_could_not_be_read(tmp_path: Path) -> None:
    """Headless exits 1 for what could not be read, not for what was left out on purpose."""
    touch(tmp_path / "d" / "ok.mkv")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "gone.mkv").symlink_to(tmp_path / "nowhere.mkv")
    txt = touch(tmp_path / "notes.txt")
    temp = touch(tmp_path / ".x.mkv.vpo-tmp-1-ab.mkv")
    result = discover([tmp_path / "d", txt, temp])
    flags = {p.path.name: p.unreadable for p in result.problems}
    assert flags == {"loop": True, "gone.mkv": True, "notes.txt": False, temp.name: False}


def test_other_video_extensions_are_counted_not_queued(tmp_path: Path) -> None:
    mkv = touch(tmp_path / "a.mkv")
    for name in ("b.ts", "c.M2TS", "d/e.ts", "d/f.mpg", "g.flv", "h.3gp"):
        touch(tmp_path / name)
    for name in ("a.srt", "a.nfo", "a.jpg", "README", ".hidden.wmv", "i.ts.part"):
        touch(tmp_path / name)
    result = discover([tmp_path])
    assert result.files == (mkv,) and result.problems == ()
    assert result.ignored == ((".ts", 2), (".3gp", 1), (".flv", 1), (".m2ts", 1), (".mpg", 1))
    assert result.ignored_count == 6
    assert result.ignored_text() == (
        "6 video files with other extensions were not considered "
        "(.ts 2, .3gp 1, .flv 1, .m2ts 1, .mpg 1)"
    )
    assert discover([tmp_path], recursive=False).ignored_count == 4
    # an enabled extension is queued, not counted
    enabled = discover([tmp_path], extensions=[".mkv", "TS"])
    assert len(enabled.files) == 3 and dict(enabled.ignored).get(".ts") is None
    # nothing to say when there is nothing left out
    assert discover([mkv]).ignored == () and discover([mkv]).ignored_note() == ""


def test_a_given_file_with_another_video_extension_says_how_to_enable_it(
    tmp_path: Path,
) -> None:
    ts = touch(tmp_path / "show.ts")
    result = discover([ts])
    assert result.files == () and not result.problems[0].unreadable
    assert result.problems[0].message.startswith(".ts is not among the extensions looked for")
    assert "add it to [processing] extensions" in result.problems[0].message


def test_fifo_socket_and_device_are_reported_given_or_found(tmp_path: Path) -> None:
    import socket

    from tests.special_files import bind_here

    good = touch(tmp_path / "lib" / "ok.mkv")
    os.mkfifo(tmp_path / "lib" / "pipe.mkv")
    os.mkfifo(tmp_path / "lib" / "pipe.txt")  # not named like a video: not our business
    (tmp_path / "lib" / "null.mkv").symlink_to("/dev/null")
    (tmp_path / "lib" / "folder.mkv").mkdir()  # a folder is walked like any folder
    inner = touch(tmp_path / "lib" / "folder.mkv" / "inner.mkv")
    os.mkfifo(tmp_path / "given.mkv")
    with socket.socket(socket.AF_UNIX) as sock:
        bind_here(sock, tmp_path / "lib" / "sock.mkv")
        result = discover([tmp_path / "lib", tmp_path / "given.mkv"])
    assert result.files == (inner, good)
    said = {p.path.name: (p.message, p.unreadable) for p in result.problems}
    rest = ", not a regular file: never opened, skipped"
    assert said == {
        "pipe.mkv": ("a FIFO (named pipe)" + rest, False),
        "sock.mkv": ("a socket" + rest, False),
        "null.mkv": ("a character device" + rest, False),
        "given.mkv": ("a FIFO (named pipe)" + rest, False),
    }


def test_a_folder_named_like_a_video_is_said_when_not_descending(tmp_path: Path) -> None:
    (tmp_path / "folder.mkv").mkdir()
    touch(tmp_path / "folder.mkv" / "inner.mkv")
    result = discover([tmp_path], recursive=False)
    assert result.files == ()
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'folder.mkv'}: a folder named like a video file: not looked into "
        "(--no-recursive)"
    ]


def test_hard_links_are_one_file_queued_once_under_the_first_name(tmp_path: Path) -> None:
    a = touch(tmp_path / "lib" / "a.mkv")
    os.link(a, tmp_path / "lib" / "b.mkv")
    os.link(a, tmp_path / "outside.mkv")  # another name, not in the batch: not a problem
    c = touch(tmp_path / "lib" / "c.mkv")
    result = discover([tmp_path / "lib", tmp_path / "lib" / "b.mkv"])
    assert result.files == (a, c)
    assert [(str(p), p.unreadable) for p in result.problems] == [
        (
            f"{tmp_path / 'lib' / 'b.mkv'}: another name (a hard link) of {a}: the file is "
            "processed once, under that name; this name keeps the original",
            False,
        )
    ]


def test_a_file_reached_only_through_a_link_is_queued_under_the_link(tmp_path: Path) -> None:
    outside = touch(tmp_path / "outside" / "movie.mkv")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "alias.mkv").symlink_to(outside)
    direct = touch(lib / "direct.mkv")
    (lib / "again.mkv").symlink_to("direct.mkv")
    assert discover([lib]).files == (lib / "alias.mkv", direct)
    # given as well: the name that is no link wins, whatever the order
    assert discover([lib / "alias.mkv", outside]).files == (outside,)
    assert discover([outside, lib]).files == (direct, outside)
