"""Shared fixtures: real tiny media made by ffmpeg at test time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import fuzzing  # noqa: F401  (loads the hypothesis profile before any test module)
from tests.faults.report import pytest_terminal_summary  # the fault report, under make check too
from vpo_tui.samples import AudioSpec, SampleSpec, SubtitleSpec, make_media

MakeMedia = Callable[..., Path]


@pytest.fixture
def make_file(tmp_path: Path) -> MakeMedia:
    """``make_file("name.mkv", audio=(...), subtitles=(...), ...)`` → a real file in tmp_path."""

    def _make(name: str = "movie.mkv", folder: Path | None = None, **spec: object) -> Path:
        container = spec.pop("container", None) or Path(name).suffix.lstrip(".") or "mkv"
        target = (folder or tmp_path) / name
        return make_media(target, SampleSpec(container=str(container), **spec))  # type: ignore[arg-type]

    return _make


def sha256(path: Path) -> str:
    """Content hash, to prove an original is byte-identical after a failure."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = ["AudioSpec", "MakeMedia", "SubtitleSpec", "pytest_terminal_summary", "sha256"]


def _permissions_enforced() -> bool:
    """True when chmod can actually deny us access (false for root with CAP_DAC_OVERRIDE)."""
    import stat
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_bytes(b"x")
        probe.chmod(0)
        try:
            with open(probe, "rb"):
                return False
        except PermissionError:
            return True
        finally:
            probe.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.fixture(scope="session")
def permissions_enforced() -> None:
    """Skip a test that needs chmod to bite (unreadable files, read-only folders).

    The Makefile runs the suite as root without CAP_DAC_OVERRIDE (setpriv), so in CI
    these tests run; a developer running pytest as plain root sees them skipped with
    this reason instead of passing vacuously.
    """
    if not _permissions_enforced():
        pytest.skip("running with CAP_DAC_OVERRIDE: chmod cannot deny access (use `make test`)")
