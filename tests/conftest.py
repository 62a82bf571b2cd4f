"""Shared fixtures: real tiny media made by ffmpeg at test time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

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


__all__ = ["AudioSpec", "MakeMedia", "SubtitleSpec", "sha256"]
