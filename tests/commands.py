"""Running vpo-tui as a user would (a subprocess), with tools that log every call.

Shared by the headless, terminal and app tests; test modules import it from here,
never from each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vpo_tui.policy.load import parse_policy

FFPROBE = shutil.which("ffprobe") or "ffprobe"


def env_for(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VPO_TUI_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    return env


def vpo_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vpo_tui", "--no-tui", *args]


def vpo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        vpo_cmd(*args),
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def logging_tools(tmp_path: Path, *, delay: float = 0.0) -> tuple[Path, Path]:
    """A config whose [tools] are wrappers that log every call (and may sleep first)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "tools.log"
    lines = ["[tools]"]
    for name in ("ffprobe", "ffmpeg", "mkvmerge", "mkvpropedit"):
        wrapper = bin_dir / name
        sleep = f"sleep {delay}\n" if delay and name != "ffprobe" else ""
        wrapper.write_text(
            f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{sleep}exec {shutil.which(name)} "$@"\n'
        )
        wrapper.chmod(0o755)
        lines.append(f'{name} = "{wrapper}"')
    cfg = tmp_path / "config.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg, log


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".vpo-tmp-" in p.name]


# slow on purpose: a kill must land while ffmpeg is encoding
SLOW_HEVC = parse_policy(
    'name = "slow-hevc"\n[transcode.video]\ncodec = "hevc"\ncrf = 30\npreset = "veryslow"\n',
    "slow-hevc.toml",
)
