"""Finding the tools, their versions, and the clear error when one is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vpo_tui.engine.job import ToolPaths
from vpo_tui.engine.tools import (
    TOOL_NAMES,
    MissingToolError,
    doctor_report,
    find_tools,
    require_tools,
)


def test_doctor_finds_the_real_tools_with_versions() -> None:
    report = {info.name: info for info in doctor_report(ToolPaths())}
    assert set(report) == set(TOOL_NAMES)
    for name, info in report.items():
        assert info.found, info.problem
        assert info.path == str(Path(shutil.which(name) or "").absolute())
        assert info.version and info.version[0].isdigit()


def test_configured_path_wins_over_path(tmp_path: Path) -> None:
    link = tmp_path / "my-ffmpeg"
    link.symlink_to(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")
    assert find_tools(ToolPaths(ffmpeg=str(link)))["ffmpeg"] == str(link)


def test_missing_configured_tool_is_named_with_the_config_to_fix() -> None:
    report = {i.name: i for i in doctor_report(ToolPaths(mkvmerge="/nonexistent/mkvmerge"))}
    assert not report["mkvmerge"].found
    assert "/nonexistent/mkvmerge" in (report["mkvmerge"].problem or "")
    with pytest.raises(MissingToolError) as caught:
        require_tools(ToolPaths(mkvmerge="/nonexistent/mkvmerge"), ["ffprobe", "mkvmerge"])
    message = str(caught.value)
    # the configured path is wrong: installing the package would not help
    assert "/nonexistent/mkvmerge" in message and "fix the path under [tools]" in message
    assert "apt-get" not in message


def test_tool_missing_from_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("vpo_tui.engine.tools.os.geteuid", lambda: 1000)
    with pytest.raises(MissingToolError, match="ffprobe not found on PATH") as caught:
        require_tools(ToolPaths(), ["ffprobe"])
    assert str(caught.value).endswith("; install it with: sudo apt-get install ffmpeg")


def ffmpeg_only_path(folder: Path) -> Path:
    """A PATH folder holding the real ffprobe and ffmpeg, and no mkvtoolnix."""
    folder.mkdir()
    for name in ("ffprobe", "ffmpeg"):
        (folder / name).symlink_to(shutil.which(name) or f"/usr/bin/{name}")
    return folder


@pytest.mark.parametrize(("uid", "command"), [(1000, "sudo apt-get"), (0, "apt-get")])
def test_install_hint_names_only_the_missing_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uid: int, command: str
) -> None:
    monkeypatch.setenv("PATH", str(ffmpeg_only_path(tmp_path / "bin")))
    monkeypatch.setattr("vpo_tui.engine.tools.os.geteuid", lambda: uid)
    with pytest.raises(MissingToolError) as caught:
        require_tools(ToolPaths())
    message = str(caught.value)
    assert "mkvmerge not found on PATH" in message and "mkvpropedit not found" in message
    assert "ffprobe" not in message and "ffmpeg" not in message
    # root has no need of sudo (and a container often has no sudo at all)
    assert message.endswith(f"; install them with: {command} install mkvtoolnix")


def test_not_executable_configured_tool(tmp_path: Path) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o644)
    with pytest.raises(MissingToolError, match="not executable"):
        require_tools(ToolPaths(ffmpeg=str(fake)), ["ffmpeg"])


def test_tool_that_prints_no_version_is_not_usable(tmp_path: Path) -> None:
    fake = tmp_path / "ffprobe"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    info = next(i for i in doctor_report(ToolPaths(ffprobe=str(fake))) if i.name == "ffprobe")
    assert not info.found and "did not report a version" in (info.problem or "")
