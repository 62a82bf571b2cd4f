"""``config.toml``: user settings, validated strictly so that a typo never silently does nothing.

Where it is: ``--config FILE`` > ``$VPO_TUI_CONFIG`` > ``user_config_dir("vpo-tui")/config.toml``.
A missing *default* file means defaults; a file the user named explicitly must exist.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from vpo_tui.engine.job import EngineSettings, ProbeBackend, ToolPaths
from vpo_tui.hours import TimeWindow
from vpo_tui.policy.load import did_you_mean
from vpo_tui.policy.model import OnError

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ENV_VAR = "VPO_TUI_CONFIG"
DEFAULT_EXTENSIONS: tuple[str, ...] = (".mkv", ".mp4", ".m4v", ".mov", ".avi", ".webm")


class ConfigError(Exception):
    """The config file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class ProcessingConfig:
    workers: int | None = None
    max_workers: int | None = None
    on_error: OnError | None = None  # overrides the policy's on_error when set
    keep_backups: bool = False
    space_margin: float = 0.05
    tool_timeout: float | None = None
    stall_minutes: float | None = None  # a tool silent this long is killed: file "stalled"
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    executor: str | None = None  # threads | local-cluster[:N] | dask://HOST:PORT


@dataclass(frozen=True)
class ToolsConfig:
    ffprobe: str | None = None
    ffmpeg: str | None = None
    mkvmerge: str | None = None
    mkvpropedit: str | None = None


@dataclass(frozen=True)
class PathsConfig:
    database: Path | None = None


@dataclass(frozen=True)
class ClusterConfig:
    """How vpo-tui may talk to a Dask scheduler (``[cluster]``, issue 20)."""

    certs: Path | None = None  # the folder `vpo-tui cluster certs DIR` made, for tls://
    allow_insecure: bool = False  # plain dask:// to another machine: anyone there runs code


@dataclass(frozen=True)
class SafetyConfig:
    in_place: str = "auto"  # "auto" | "never": see engine/inplace.py


@dataclass(frozen=True)
class UiConfig:
    theme: str | None = None


@dataclass(frozen=True)
class ProbeConfig:
    backend: ProbeBackend = "auto"  # auto | pyav | ffprobe (see engine/probe.py)


@dataclass(frozen=True)
class WatchConfig:
    """``vpo-tui watch``: how long a file must be quiet, and when files may run."""

    settle: float = 60.0  # seconds without a change before a file is taken
    hours: TimeWindow | None = None  # files start only inside it (None: any time)


@dataclass(frozen=True)
class TranscodeConfig:
    # a transcode whose output is larger than this times the source keeps the original
    max_size_ratio: float = 1.0


@dataclass(frozen=True)
class NotifyConfig:
    """Who hears of a changed file: a command (the file's JSON on stdin), Apprise URLs."""

    command: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    processing: ProcessingConfig = field(default_factory=ProcessingConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    transcode: TranscodeConfig = field(default_factory=TranscodeConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    source: Path | None = None  # the file it came from (None = defaults only)

    def engine_settings(self) -> EngineSettings:
        t = self.tools
        return EngineSettings(
            tools=ToolPaths(
                ffprobe=t.ffprobe, ffmpeg=t.ffmpeg, mkvmerge=t.mkvmerge, mkvpropedit=t.mkvpropedit
            ),
            keep_backups=self.processing.keep_backups,
            space_margin=self.processing.space_margin,
            tool_timeout_s=self.processing.tool_timeout,
            probe_backend=self.probe.backend,
            stall_s=(
                self.processing.stall_minutes * 60
                if self.processing.stall_minutes is not None
                else None
            ),
            max_size_ratio=self.transcode.max_size_ratio,
            in_place=self.safety.in_place,
        )


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("vpo-tui")) / "config.toml"


def config_path(explicit: Path | str | None = None) -> tuple[Path, bool]:
    """The config file to use and whether the user named it (then it must exist)."""
    if explicit is not None:
        return Path(explicit).expanduser(), True
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


# -- validation ----------------------------------------------------------------

Converter = Callable[[str, Any], Any]


def _int(minimum: int) -> Converter:
    def convert(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_kind(value)}")
        if value < minimum:
            raise ConfigError(f"{key}: must be at least {minimum}, got {value}")
        return value

    return convert


def _number(minimum: float) -> Converter:
    def convert(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_kind(value)}")
        if value < minimum:
            raise ConfigError(f"{key}: must be at least {minimum}, got {value}")
        return float(value)

    return convert


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {_kind(value)}")
    return value


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a non-empty string, got {_kind(value)}")
    return value


def _path(key: str, value: Any) -> Path:
    return Path(_str(key, value)).expanduser()


def _on_error(key: str, value: Any) -> OnError:
    choices = [e.value for e in OnError]
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{key}: expected one of {choices}, got {value!r}")
    return OnError(value)


def _extensions(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key}: expected a non-empty list of extensions, got {_kind(value)}")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip(".").strip():
            raise ConfigError(f'{key}[{i}]: expected an extension like ".mkv", got {item!r}')
        out.append("." + item.lower().lstrip("."))
    return tuple(dict.fromkeys(out))


def _executor(key: str, value: Any) -> str:
    from vpo_tui.executors import parse_executor

    text = _str(key, value)
    try:
        return str(parse_executor(text))
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _probe_backend(key: str, value: Any) -> ProbeBackend:
    from vpo_tui.engine.probe import BACKENDS

    for backend in BACKENDS:
        if value == backend:
            return backend
    close = difflib.get_close_matches(str(value), BACKENDS, n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ConfigError(f"{key}: expected one of {list(BACKENDS)}, got {value!r}{hint}")


def _window(key: str, value: Any) -> TimeWindow:
    try:
        return TimeWindow.parse(_str(key, value))
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _command(key: str, value: Any) -> tuple[str, ...]:
    """A program and its arguments: a list of strings (never run through a shell)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key}: expected a command as a list of strings, got {_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or (i == 0 and not item.strip()):
            raise ConfigError(f"{key}[{i}]: expected a string, got {_kind(item)}")
    return tuple(value)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {_kind(value)}")
    return tuple(value)


def _in_place(key: str, value: Any) -> str:
    text = _str(key, value)
    if text not in ("auto", "never"):
        raise ConfigError(f'{key}: expected "auto" or "never", got {text!r}')
    return text


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__) + f" ({value!r})"


_SCHEMA: dict[str, dict[str, Converter]] = {
    "processing": {
        "workers": _int(1),
        "max_workers": _int(1),
        "on_error": _on_error,
        "keep_backups": _bool,
        "space_margin": _number(0.0),
        "tool_timeout": _number(0.001),
        "stall_minutes": _number(0.001),
        "extensions": _extensions,
        "executor": _executor,
    },
    "tools": {name: _str for name in ("ffprobe", "ffmpeg", "mkvmerge", "mkvpropedit")},
    "paths": {"database": _path},
    "ui": {"theme": _str},
    "cluster": {"certs": _path, "allow_insecure": _bool},
    "probe": {"backend": _probe_backend},
    "watch": {"settle": _number(0.0), "hours": _window},
    "transcode": {"max_size_ratio": _number(0.01)},
    "notify": {"command": _command, "urls": _strings},
    "safety": {"in_place": _in_place},
}


_ALL_KEYS = [f"{section}.{key}" for section, keys in _SCHEMA.items() for key in keys]


def parse_config(document: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a parsed TOML document; every error names ``[section] key``.

    All problems are reported together, one per line, so a config is fixed in one pass.
    """
    where = f"{source}: " if source is not None else ""
    problems: list[str] = []
    sections: dict[str, dict[str, Any]] = {}
    for section, table in document.items():
        if section not in _SCHEMA:
            known = ", ".join(f"[{s}]" for s in _SCHEMA)
            close = did_you_mean(section, list(_SCHEMA))
            hint = f"; did you mean [{close}]?" if close else ""
            problems.append(f"{where}unknown section [{section}]{hint} (known: {known})")
            continue
        if not isinstance(table, dict):
            problems.append(f"{where}{section}: expected a [{section}] table")
            continue
        values: dict[str, Any] = {}
        for key, value in table.items():
            converter = _SCHEMA[section].get(key)
            if converter is None:
                known = ", ".join(_SCHEMA[section])
                close = did_you_mean(f"{section}.{key}", _ALL_KEYS)
                hint = "; did you mean [{}] {}?".format(*close.split(".", 1)) if close else ""
                problems.append(f"{where}[{section}] {key}: unknown key{hint} (known: {known})")
                continue
            try:
                values[key] = converter(f"[{section}] {key}", value)
            except ConfigError as exc:
                problems.append(f"{where}{exc}")
        sections[section] = values
    processing = ProcessingConfig(**sections.get("processing", {}))
    if (
        processing.workers is not None
        and processing.max_workers is not None
        and processing.workers > processing.max_workers
    ):
        problems.append(
            f"{where}[processing] workers = {processing.workers} is above "
            f"max_workers = {processing.max_workers}"
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return Config(
        processing=processing,
        tools=ToolsConfig(**sections.get("tools", {})),
        paths=PathsConfig(**sections.get("paths", {})),
        ui=UiConfig(**sections.get("ui", {})),
        cluster=ClusterConfig(**sections.get("cluster", {})),
        probe=ProbeConfig(**sections.get("probe", {})),
        watch=WatchConfig(**sections.get("watch", {})),
        transcode=TranscodeConfig(**sections.get("transcode", {})),
        notify=NotifyConfig(**sections.get("notify", {})),
        safety=SafetyConfig(**sections.get("safety", {})),
        source=source,
    )


def load_config(path: Path | str | None = None) -> Config:
    """Load and validate the config (see the module doc for where it is looked for)."""
    target, explicit = config_path(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{target}: config file not found") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read config file: {exc.strerror}") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{target}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: TOML syntax error: {exc}") from None
    return parse_config(document, target)


_UI_HEADER = re.compile(r"^\s*\[ui\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_THEME_LINE = re.compile(r"^\s*theme\s*=")


def save_ui_theme(path: Path | str | None, theme: str) -> Path:
    """Remember the chosen theme: rewrite only ``[ui] theme``, keep every other byte.

    The new text is validated before it replaces the file (temp file + ``os.replace``),
    so a crash or a bad edit can never leave a broken config behind.
    """
    target = config_path(path)[0]
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    line = f"theme = {_toml_string(theme)}"
    lines = text.splitlines()
    in_ui = False
    ui_at: int | None = None
    replaced = False
    for i, current in enumerate(lines):
        if _UI_HEADER.match(current):
            in_ui, ui_at = True, i
        elif _ANY_HEADER.match(current):
            in_ui = False
        elif in_ui and _THEME_LINE.match(current):
            lines[i] = line
            replaced = True
            break
    if not replaced:
        if ui_at is not None:
            lines.insert(ui_at + 1, line)
        else:
            if lines and lines[-1].strip():
                lines.append("")
            lines += ["[ui]", line]
    new_text = "\n".join(lines) + "\n"
    parse_config(tomllib.loads(new_text), target)  # never write something we cannot read
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
