"""The whole-process harness of the fault suite.

Everything here treats vpo-tui as a user does: ``python -m vpo_tui --no-tui --json``
in a subprocess, with its own ``--db`` and ``--config`` in the test's folder. After
whatever the test did to it (kill -9, signals, lying tools, a full disk) the checks
are the promise itself:

- ``assert_nothing_lost``: every original is byte-identical, or it was replaced by a
  complete output that probes back as compliant with the policy (plan again → empty);
- ``temp_files``: no ``.name.vpo-tmp-…`` file is left behind;
- ``tool_processes``: no process whose command line names the test's unique folder
  is still alive (a tool that outlived its owner is work nobody will verify).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.processes import is_running
from vpo_tui.engine.probe import probe
from vpo_tui.engine.safety import is_temp_name
from vpo_tui.policy.load import load_policy
from vpo_tui.policy.model import Policy
from vpo_tui.policy.plan import plan

MEDIA_SUFFIXES = frozenset({".mkv", ".mp4", ".m4v", ".mov", ".avi", ".webm"})
ENGINE_FAKE_TOOLS = Path(__file__).parents[1] / "integration" / "fake_tools"
FAULT_TOOLS = Path(__file__).parent / "fake_tools"
RUN_TIMEOUT_S = 90.0
FFPROBE = shutil.which("ffprobe") or "ffprobe"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_files(root: Path) -> list[Path]:
    """Media files under ``root`` (hidden temp files excluded)."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in MEDIA_SUFFIXES
        and p.is_file()
        and not p.is_symlink()
        and not is_temp_name(p.name)
    )


def snapshot(root: Path) -> dict[Path, str]:
    """The content hash of every original, to compare after the fault."""
    return {p: sha256(p) for p in media_files(root)}


def temp_files(root: Path) -> list[Path]:
    """Our temp files anywhere under ``root``, whoever owns them."""
    found: list[Path] = []
    for dirpath, _dirs, files in os.walk(root):
        found += [Path(dirpath, name) for name in files if is_temp_name(name)]
    return sorted(found)


# -- the promise ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How each original ended: untouched or replaced by a valid, compliant output."""

    intact: tuple[Path, ...]
    processed: tuple[Path, ...]

    @property
    def total(self) -> int:
        return len(self.intact) + len(self.processed)


def _is_compliant(path: Path, policy: Policy) -> str | None:
    """None when ``path`` probes fine and planning again gives nothing to do."""
    try:
        media = probe(path, FFPROBE)
    except Exception as exc:  # a probe error is exactly what we are looking for
        return f"does not probe: {exc}"
    again = plan(policy, media)
    if not again.compliant:
        return f"probes but is not compliant: {list(again.changes)}"
    return None


def assert_nothing_lost(
    before: Mapping[Path, str], policy: Policy | str, *, allow_missing: Iterable[Path] = ()
) -> Outcome:
    """Every original is byte-identical, or completely processed and valid.

    A processed original lives at its own path or, after a container change, at the
    same stem with another media suffix; both are probed and planned again.
    """
    policy = load_policy(policy) if isinstance(policy, str) else policy
    skip = set(allow_missing)
    intact: list[Path] = []
    processed: list[Path] = []
    problems: list[str] = []
    for original, digest in sorted(before.items()):
        if original in skip:
            continue
        if original.exists() and sha256(original) == digest:
            intact.append(original)
            continue
        candidates = [original] if original.exists() else []
        candidates += [
            original.with_suffix(s)
            for s in sorted(MEDIA_SUFFIXES)
            if s != original.suffix and original.with_suffix(s).exists()
        ]
        if not candidates:
            problems.append(f"{original}: LOST (neither the original nor an output exists)")
            continue
        reasons = [(c, _is_compliant(c, policy)) for c in candidates]
        if any(reason is None for _c, reason in reasons):
            processed.append(original)
        else:
            problems += [f"{original} -> {c}: {reason}" for c, reason in reasons]
    assert not problems, "media damaged or lost:\n" + "\n".join(problems)
    return Outcome(tuple(intact), tuple(processed))


def assert_all_compliant(root: Path, policy: Policy | str) -> int:
    """After a finishing run: every media file under ``root`` complies."""
    policy = load_policy(policy) if isinstance(policy, str) else policy
    files = media_files(root)
    problems = [f"{p}: {r}" for p in files if (r := _is_compliant(p, policy)) is not None]
    assert not problems, "not compliant after the finishing run:\n" + "\n".join(problems)
    return len(files)


# -- processes -----------------------------------------------------------------


def tool_processes(marker: str) -> list[tuple[int, str]]:
    """Live processes (not zombies) whose command line contains ``marker``."""
    found: list[tuple[int, str]] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        cmdline = raw.replace(b"\0", b" ").decode("utf-8", "replace")
        if marker in cmdline and is_running(int(entry.name)):
            found.append((int(entry.name), cmdline))
    return found


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


def assert_no_orphans(marker: str, timeout_s: float = 5.0) -> None:
    """No process naming our folder survives (PDEATHSIG acts at once; allow a moment)."""
    deadline = time.monotonic() + timeout_s
    while (left := tool_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"orphaned tool processes after vpo-tui died: {left}"


# -- running vpo-tui -------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """One test's private world: library, database, config; a marker unique to it."""

    root: Path
    library: Path
    db: Path
    config: Path

    @property
    def marker(self) -> str:
        return str(self.root)

    def write_config(
        self,
        *,
        tools: Mapping[str, str | Path] | None = None,
        processing: Mapping[str, object] | None = None,
        probe: Mapping[str, object] | None = None,
    ) -> Path:
        lines: list[str] = []
        for section, table in (("tools", tools), ("processing", processing), ("probe", probe)):
            if table:
                lines.append(f"[{section}]")
                lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def make_workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(
        tmp_path, tmp_path / "library", tmp_path / "state" / "history.db", tmp_path / "config.toml"
    )
    ws.library.mkdir(parents=True, exist_ok=True)
    ws.db.parent.mkdir(parents=True, exist_ok=True)
    if not ws.config.exists():
        ws.write_config()
    return ws


def vpo_argv(ws: Workspace, policy: str, paths: Sequence[Path], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vpo_tui",
        "--no-tui",
        "--json",
        "--policy",
        policy,
        "--db",
        str(ws.db),
        "--config",
        str(ws.config),
        *extra,
        "--",
        *(str(p) for p in paths),
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VPO_TUI_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class RunResult:
    returncode: int
    document: dict[str, Any] | None
    stdout: str
    stderr: str

    def by_path(self) -> dict[Path, dict[str, Any]]:
        assert self.document is not None, f"no JSON on stdout; stderr:\n{self.stderr}"
        return {Path(f["path"]): f for f in self.document["files"]}

    def statuses(self) -> dict[Path, str]:
        return {path: f["status"] for path, f in self.by_path().items()}


def _parse(stdout: str) -> dict[str, Any] | None:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def run_vpo(
    ws: Workspace, policy: str, paths: Sequence[Path], *extra: str, timeout_s: float = RUN_TIMEOUT_S
) -> RunResult:
    """Run vpo-tui headless to the end; the JSON document is parsed when there is one."""
    done = subprocess.run(
        vpo_argv(ws, policy, paths, *extra),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    return RunResult(done.returncode, _parse(done.stdout), done.stdout, done.stderr)


def spawn_vpo(
    ws: Workspace, policy: str, paths: Sequence[Path], *extra: str
) -> subprocess.Popen[str]:
    """Start vpo-tui headless in its own session, as a shell would start a job."""
    return subprocess.Popen(
        vpo_argv(ws, policy, paths, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(),
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], timeout_s: float = RUN_TIMEOUT_S) -> RunResult:
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"vpo-tui did not exit within {timeout_s:g} s:\n{stderr}") from None
    return RunResult(proc.returncode, _parse(stdout), stdout, stderr)


def kill9(proc: subprocess.Popen[str]) -> None:
    """``kill -9`` the vpo-tui process itself (its tools are in their own groups)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def running_tool(marker: str, tool: str) -> list[tuple[int, str]]:
    """Tool processes (by program name) whose arguments name our folder."""
    return [
        (pid, cmd)
        for pid, cmd in tool_processes(marker)
        if os.path.basename(cmd.split(" ", 1)[0]).startswith(tool) and "vpo_tui" not in cmd
    ]
