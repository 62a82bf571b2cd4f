"""Choosing who reads the files: ``[probe] backend``, ``--probe``, doctor, a broken PyAV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import env_for, logging_tools
from tests.conftest import AudioSpec, MakeMedia
from vpo_tui.config import ConfigError, parse_config

TWO_AUDIO = (AudioSpec("eng", default=True), AudioSpec("ger"))


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vpo_tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_backend_is_checked_like_every_key() -> None:
    assert parse_config({"probe": {"backend": "ffprobe"}}).engine_settings().probe_backend == (
        "ffprobe"
    )
    assert parse_config({}).engine_settings().probe_backend == "auto"
    with pytest.raises(ConfigError, match=r"\[probe\] backend: .*'pyv'; did you mean pyav\?"):
        parse_config({"probe": {"backend": "pyv"}})
    with pytest.raises(ConfigError, match=r"\[probe\] backnd: unknown key"):
        parse_config({"probe": {"backnd": "auto"}})


def test_doctor_shows_pyavs_ffmpeg_beside_the_systems(tmp_path: Path) -> None:
    done = _run(env_for(tmp_path), tmp_path, "doctor")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split()[:2] == ["ok", "ffprobe"] for line in lines)
    pyav = [line for line in lines if "PyAV" in line]
    assert len(pyav) == 1 and pyav[0].split()[:3] == ["ok", "PyAV", "FFmpeg"], pyav
    assert "libavformat" in pyav[0]
    forced = _run(env_for(tmp_path), tmp_path, "doctor", "--probe", "ffprobe")
    assert [line for line in forced.stdout.splitlines() if "PyAV" in line] == [
        "  probe    ffprobe      ([probe] backend = ffprobe: PyAV is not used)"
    ]


def _broken_pyav_env(tmp_path: Path) -> dict[str, str]:
    """An ``av`` that cannot be imported, first on the path (as a broken install is)."""
    fake = tmp_path / "broken-site" / "av"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("simulated broken PyAV")\n')
    env = env_for(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(fake.parent), env.get("PYTHONPATH")) if p)
    return env


def test_a_broken_pyav_is_one_line_in_doctor_and_ffprobe_reads(
    make_file: MakeMedia, tmp_path: Path
) -> None:
    env = _broken_pyav_env(tmp_path)
    doctor = _run(env, tmp_path, "doctor")
    assert doctor.returncode == 0, doctor.stderr
    pyav = [line for line in doctor.stdout.splitlines() if "PyAV" in line]
    assert len(pyav) == 1 and "simulated broken PyAV" in pyav[0], doctor.stdout
    assert pyav[0].endswith("probing with ffprobe")
    cfg, log = logging_tools(tmp_path)
    lib = tmp_path / "lib"
    make_file("movie.mkv", folder=lib, audio=TWO_AUDIO)
    args = ("--no-tui", "--config", str(cfg), "--json")
    db = ("--db", str(tmp_path / "h.sqlite"))
    dry = _run(env, tmp_path, *args, *db, "--dry-run", "--policy", "english-only", str(lib))
    assert dry.returncode == 0, dry.stderr
    assert [f["status"] for f in json.loads(dry.stdout)["files"]] == ["planned"]
    assert [line.split(" ", 1)[0] for line in log.read_text().splitlines()] == ["ffprobe"]
    # asked for PyAV by name, a broken one is every file's clear error (a fresh history:
    # the one above keeps the probe, which would be reused)
    fresh = ("--db", str(tmp_path / "other.sqlite"))
    strict = _run(env, tmp_path, *args, *fresh, "--probe", "pyav", "--dry-run", str(lib))
    files = json.loads(strict.stdout)["files"]
    assert strict.returncode == 1 and [f["status"] for f in files] == ["failed"]
    assert '[probe] backend = "pyav" but PyAV cannot be used' in files[0]["error"]
    assert "simulated broken PyAV" in files[0]["error"]
