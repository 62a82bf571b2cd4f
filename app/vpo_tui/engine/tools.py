"""Find the four external tools and report on them (``vpo-tui doctor``).

Paths come from config (``[tools]``) when given, else from ``PATH``. A command
that needs a missing tool must fail *before touching anything*, with a message
that names the tool and says how to install it; ``require_tools`` is that gate.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpo_tui.engine.job import ToolPaths
from vpo_tui.engine.run import ToolError, run_tool

TOOL_NAMES: tuple[str, ...] = ("ffprobe", "ffmpeg", "mkvmerge", "mkvpropedit")

_PACKAGE = {
    "ffprobe": "ffmpeg",
    "ffmpeg": "ffmpeg",
    "mkvmerge": "mkvtoolnix",
    "mkvpropedit": "mkvtoolnix",
}

_VERSION_ARGS = {
    "ffprobe": ["-version"],
    "ffmpeg": ["-version"],
    "mkvmerge": ["--version"],
    "mkvpropedit": ["--version"],
}


def install_hint(missing: Iterable[str] = TOOL_NAMES) -> str:
    """The command that installs the packages of the ``missing`` tools on this machine.

    Only the packages needed (a missing mkvmerge does not call for ffmpeg), and
    no ``sudo`` for root, who has it neither needs nor, in a container, often has.
    """
    names = list(missing)
    packages = sorted({_PACKAGE[name] for name in names})
    them = "it" if len(names) == 1 else "them"
    if sys.platform == "darwin":
        command = "brew install"
    elif _is_root():
        command = "apt-get install"
    else:
        command = "sudo apt-get install"
    return f"install {them} with: {command} {' '.join(packages)}"


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


class MissingToolError(Exception):
    """A required tool is not installed or the configured path is wrong."""


@dataclass(frozen=True)
class ToolInfo:
    """One tool as ``doctor`` sees it. ``problem`` says why it is not usable."""

    name: str
    path: str | None
    version: str | None
    found: bool
    problem: str | None = None


def _configured(paths: ToolPaths, name: str) -> str | None:
    value = getattr(paths, name)
    return str(value) if value else None


def resolve_tool(paths: ToolPaths, name: str) -> tuple[str | None, str | None]:
    """``(absolute path, None)`` or ``(None, why not)`` for one tool."""
    if name not in TOOL_NAMES:
        raise ValueError(f"unknown tool {name!r}")
    configured = _configured(paths, name)
    if configured is not None:
        candidate = Path(configured).expanduser()
        if not candidate.is_absolute() and os.sep not in configured:
            found = shutil.which(configured)
            if found is None:
                return None, f"[tools] {name} = {configured!r} is not on PATH"
            return str(Path(found).absolute()), None
        if not candidate.is_file():
            return None, f"[tools] {name} = {configured!r} does not exist"
        if not os.access(candidate, os.X_OK):
            return None, f"[tools] {name} = {configured!r} is not executable"
        return str(candidate.absolute()), None
    found = shutil.which(name)
    if found is None:
        return None, f"{name} not found on PATH (package {_PACKAGE[name]})"
    return str(Path(found).absolute()), None


def tool_version(path: str) -> str | None:
    """First line of ``tool -version``, shortened to the version string."""
    name = Path(path).name
    args = _VERSION_ARGS.get(name, ["-version"])
    try:
        done = run_tool([path, *args], timeout_s=10, capture_stdout=True, name=name)
    except ToolError:
        return None
    first = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if not first:
        return None
    words = first[0].split()
    # "ffmpeg version 5.1.9-0+deb12u1 ..." / "mkvmerge v74.0.0 ('...') 64-bit"
    if len(words) >= 3 and words[1] == "version":
        return words[2]
    if len(words) >= 2 and words[1].startswith("v"):
        return words[1][1:]
    return first[0]


def find_tools(paths: ToolPaths) -> dict[str, str | None]:
    """Absolute path of each of the four tools, ``None`` where missing."""
    return {name: resolve_tool(paths, name)[0] for name in TOOL_NAMES}


def require_tools(
    paths: ToolPaths, names: tuple[str, ...] | list[str] = TOOL_NAMES
) -> dict[str, str]:
    """The absolute paths of ``names``, or ``MissingToolError`` naming every missing one."""
    resolved: dict[str, str] = {}
    problems: list[str] = []
    missing: list[str] = []
    misconfigured = False
    for name in names:
        path, problem = resolve_tool(paths, name)
        if path is None:
            problems.append(problem or f"{name} is missing")
            missing.append(name)
            misconfigured = misconfigured or _configured(paths, name) is not None
        else:
            resolved[name] = path
    if problems:
        # A wrong [tools] path is fixed in the config, not by installing anything.
        hint = (
            "fix the path under [tools] in config.toml" if misconfigured else install_hint(missing)
        )
        raise MissingToolError(f"missing tool: {'; '.join(problems)}; {hint}")
    return resolved


def doctor_report(paths: ToolPaths) -> list[ToolInfo]:
    """Each tool's path, version and whether it is usable."""
    report: list[ToolInfo] = []
    for name in TOOL_NAMES:
        path, problem = resolve_tool(paths, name)
        if path is None:
            report.append(ToolInfo(name, _configured(paths, name), None, False, problem))
            continue
        version = tool_version(path)
        if version is None:
            report.append(ToolInfo(name, path, None, False, f"{path} did not report a version"))
        else:
            report.append(ToolInfo(name, path, version, True))
    return report


def batch_tools_problem(paths: ToolPaths, dry_run: bool) -> str | None:
    """Why a batch must be refused for want of a tool (with the install hint), or None.

    Both front ends ask this before a batch starts and show the same words: a real
    run needs all four tools, a dry run (which writes nothing) ffprobe and mkvmerge.
    """
    names = ("ffprobe", "mkvmerge") if dry_run else TOOL_NAMES
    try:
        require_tools(paths, names)
    except MissingToolError as exc:
        return str(exc)
    return None
