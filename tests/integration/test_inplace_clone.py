"""Clones for real: a small btrfs (or XFS) image on a loop device, where the machine lets us.

Skipped, with the reason, where mounting is impossible (not root, no loop device, no
mkfs). The fallback chain on a filesystem that cannot clone is tested in
``test_inplace_journal.py`` on the test's own tmp folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vpo_tui.engine.clone import CopyMethod, clone_or_copy, folder_can_clone
from vpo_tui.engine.inplace import CLONE_REASON
from vpo_tui.engine.job import EngineSettings, FileJob, FileStatus
from vpo_tui.engine.process import process_file
from vpo_tui.policy.load import parse_policy
from vpo_tui.samples import AudioSpec, SampleSpec, make_media


def _mount_reflink_fs(tmp: Path) -> tuple[Path, Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a loop image needs root")
    for mkfs, args, size in (
        ("mkfs.btrfs", ["-q"], "128M"),
        ("mkfs.xfs", ["-q", "-m", "reflink=1"], "320M"),
    ):
        if shutil.which(mkfs) is None:
            continue
        image = tmp / "reflink.img"
        subprocess.run(["truncate", "-s", size, str(image)], check=True)
        made = subprocess.run([mkfs, *args, str(image)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"{mkfs} failed: {made.stderr.strip()}")
        mountpoint = tmp / "mnt"
        mountpoint.mkdir()
        done = subprocess.run(
            ["mount", "-o", "loop", str(image), str(mountpoint)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a loop image here: {done.stderr.strip()}")
        return mountpoint, image
    pytest.skip("neither mkfs.btrfs nor mkfs.xfs is installed (apt-get install btrfs-progs)")


@pytest.fixture(scope="module")
def reflink_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mountpoint, image = _mount_reflink_fs(tmp_path_factory.mktemp("reflink"))
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)
        with contextlib.suppress(OSError):
            image.unlink()


def test_a_clone_is_made_where_the_filesystem_can(reflink_dir: Path) -> None:
    assert folder_can_clone(reflink_dir) is True
    source = reflink_dir / "film.bin"
    source.write_bytes(os.urandom(8 * 1024 * 1024))
    target = reflink_dir / "copy.bin"
    target.touch()
    free = shutil.disk_usage(reflink_dir).free
    assert clone_or_copy(source, target) is CopyMethod.REFLINK
    assert target.read_bytes() == source.read_bytes()
    assert free - shutil.disk_usage(reflink_dir).free < 4 * 1024 * 1024  # blocks shared
    with target.open("r+b") as f:  # a write to the clone leaves the original alone
        f.write(b"changed")
    assert source.read_bytes()[:7] != b"changed"
    assert not [p for p in reflink_dir.iterdir() if ".vpo-tmp-" in p.name]


def test_doctor_says_per_folder_whether_it_can_clone(reflink_dir: Path, tmp_path: Path) -> None:
    local_can = folder_can_clone(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "vpo_tui", "doctor", str(reflink_dir), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "VPO_TUI_CONFIG": str(config)},
    )
    lines = done.stdout.splitlines()
    assert any(line.split()[:2] == ["clone", f"{reflink_dir}:"] for line in lines), done.stdout
    expected = "clone" if local_can else "journal"
    assert any(line.split()[:2] == [expected, f"{tmp_path}:"] for line in lines), done.stdout


TWO_AUDIO = (AudioSpec("fre", default=True), AudioSpec("eng"))
SMALL_FS = EngineSettings(min_free_bytes=0)  # the image is small; the check is not the point
DEFAULT_ENG = parse_policy(
    'name = "default-eng"\n[languages]\naudio = ["eng"]\nreorder = false\n'
    '[audio]\nkeep = ["eng", "fre"]\ndefault = "preferred"\n',
    "default-eng.toml",
)


def test_a_flags_only_change_on_a_cloning_filesystem_takes_the_clone(reflink_dir: Path) -> None:
    """Where the filesystem can clone, today's protocol runs on a free, instant clone:
    the original is replaced by the verified clone, never edited in place."""
    folder = reflink_dir / "clone-path"
    folder.mkdir()
    path = make_media(folder / "movie.mkv", SampleSpec(duration=2.0, audio=TWO_AUDIO))
    inode = path.stat().st_ino
    dry = process_file(FileJob(path, DEFAULT_ENG, SMALL_FS, dry_run=True))
    assert dry.status is FileStatus.PLANNED and dry.how == CLONE_REASON
    result = process_file(FileJob(path, DEFAULT_ENG, SMALL_FS))
    assert result.status is FileStatus.OK, result
    assert result.how == CLONE_REASON
    assert path.stat().st_ino != inode  # replaced by the verified clone, not edited in place
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_hard_linked_file_on_a_cloning_filesystem(reflink_dir: Path) -> None:
    folder = reflink_dir / "linked"
    folder.mkdir()
    path = make_media(folder / "movie.mkv", SampleSpec(duration=2.0, audio=TWO_AUDIO))
    seeding = folder / "seeding.mkv.part"
    os.link(path, seeding)
    digest = seeding.read_bytes()
    result = process_file(FileJob(path, DEFAULT_ENG, SMALL_FS))
    assert result.status is FileStatus.OK, result
    assert result.how == CLONE_REASON
    assert any("a clone sharing its data" in change for change in result.changes)
    assert seeding.read_bytes() == digest and seeding.stat().st_nlink == 1
