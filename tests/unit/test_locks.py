"""The file lock never opens anything but a regular file (a FIFO would block for ever)."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.special_files import bind_here
from vpo_tui.engine.locks import FileLock, FileLocked, NotRegularFile, not_regular


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.mkv"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock.mkv"
    with socket.socket(socket.AF_UNIX) as sock:
        bind_here(sock, path)
        yield path


def _acquire_in_a_thread(path: Path) -> BaseException | None:
    """Acquire on a daemon thread, so a blocking open fails the test instead of hanging it."""
    caught: list[BaseException | None] = []

    def go() -> None:
        try:
            FileLock(path).acquire()
        except BaseException as exc:
            caught.append(exc)
        else:
            caught.append(None)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), f"the lock blocked on {path}"
    return caught[0]


def test_a_fifo_a_socket_a_device_and_a_folder_are_never_opened(
    fifo: Path, unix_socket: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "folder.mkv"
    folder.mkdir()
    for path, kind in (
        (fifo, "a FIFO (named pipe)"),
        (unix_socket, "a socket"),
        (Path("/dev/null"), "a character device"),
        (folder, "a folder"),
    ):
        exc = _acquire_in_a_thread(path)
        assert isinstance(exc, NotRegularFile), (path, exc)
        assert isinstance(exc, FileLocked)  # reported skipped, like a locked file
        assert str(exc) == f"{path}: {kind}, not a regular file: never opened, skipped"


def test_a_link_to_a_fifo_is_not_opened_either(fifo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.mkv"
    link.symlink_to(fifo)
    assert isinstance(_acquire_in_a_thread(link), NotRegularFile)


def test_a_regular_file_locks_and_a_second_lock_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "movie.mkv"
    path.write_bytes(b"x")
    with FileLock(path), pytest.raises(FileLocked, match="locked by another process"):
        FileLock(path).acquire()
    assert not_regular(path.stat().st_mode) is None
    assert not_regular(stat.S_IFIFO) == "a FIFO (named pipe)"


def test_a_fifo_swapped_in_after_the_check_is_caught_by_the_belt(
    fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stat() saw a regular file, then a FIFO took the name: O_NONBLOCK returns at once
    and fstat() refuses what was opened."""
    regular = tmp_path / "regular.mkv"
    regular.write_bytes(b"x")
    real_stat = os.stat

    def stat_as_before_the_swap(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if Path(str(path)) == fifo:
            return real_stat(regular)
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("vpo_tui.engine.locks.os.stat", stat_as_before_the_swap)
    exc = _acquire_in_a_thread(fifo)
    assert isinstance(exc, NotRegularFile) and "a FIFO (named pipe)" in str(exc)
