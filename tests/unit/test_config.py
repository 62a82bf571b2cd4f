"""config.toml: defaults, strict validation naming the key, engine settings, theme saving."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpo_tui.config import Config, ConfigError, load_config, save_ui_theme
from vpo_tui.policy.model import OnError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VPO_TUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing"))
    assert load_config() == Config()


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_env_var_points_at_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[processing]\nworkers = 3\n")
    monkeypatch.setenv("VPO_TUI_CONFIG", str(path))
    assert load_config().processing.workers == 3


def test_full_config_is_read_and_becomes_engine_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[processing]
workers = 2
max_workers = 4
on_error = "fail"
keep_backups = true
space_margin = 0.2
tool_timeout = 60
extensions = ["MKV", "mp4"]

[tools]
ffprobe = "/opt/ff/ffprobe"

[paths]
database = "~/h.db"

[ui]
theme = "nord"
""",
    )
    config = load_config(path)
    assert config.processing.on_error is OnError.FAIL
    assert config.processing.extensions == (".mkv", ".mp4")
    assert config.paths.database == Path("~/h.db").expanduser()
    settings = config.engine_settings()
    assert settings.tools.ffprobe == "/opt/ff/ffprobe" and settings.tools.ffmpeg is None
    assert settings.keep_backups and settings.space_margin == 0.2
    assert settings.tool_timeout_s == 60.0
    assert config.ui.theme == "nord"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[processing]\nworkrs = 2\n", r"\[processing\] workrs: unknown key"),
        ("[procesing]\nworkers = 2\n", r"unknown section \[procesing\]"),
        ('[processing]\nworkers = "2"\n', r"\[processing\] workers: expected an integer"),
        ("[processing]\nworkers = true\n", r"\[processing\] workers: expected an integer"),
        ("[processing]\nworkers = 0\n", r"\[processing\] workers: must be at least 1"),
        ('[processing]\non_error = "ignore"\n', r"\[processing\] on_error: expected one of"),
        ("[processing]\nkeep_backups = 1\n", r"\[processing\] keep_backups: expected true"),
        ("[processing]\nextensions = [1]\n", r"\[processing\] extensions\[0\]"),
        ("[tools]\nffmpeg = 5\n", r"\[tools\] ffmpeg: expected a non-empty string"),
        ("[processing]\nworkers = 4\nmax_workers = 2\n", r"above max_workers"),
        ("processing = 3\n", r"processing: expected a \[processing\] table"),
        ("[processing\n", r"TOML syntax error"),
        (
            '[processing]\nexecutor = "dask://nas"\n',
            r"\[processing\] executor: expected threads, local-cluster\[:N\], tls://HOST:PORT or dask://HOST:PORT",
        ),
        ('[processing]\nexecutor = "local-cluster:0"\n', r"executor: local-cluster:N needs"),
        ('[safety]\nin_place = "always"\n', r'\[safety\] in_place: expected "auto" or "never"'),
        ("[safety]\nin_place = true\n", r"\[safety\] in_place: expected a non-empty string"),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[processing]\nworkers = "x"\nfoo = 1\n[bogus]\n[tools]\nffmpeg = 5\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{path}: ") for line in lines)
    assert "[processing] workers: expected an integer" in lines[0]
    assert "[processing] foo: unknown key" in lines[1]
    assert "unknown section [bogus]" in lines[2]
    assert "[tools] ffmpeg: expected a non-empty string" in lines[3]


def test_save_ui_theme_rewrites_only_that_key(tmp_path: Path) -> None:
    original = '# mine\n[processing]\nworkers = 3  # keep\n\n[ui]\ntheme = "old"\n'
    path = write(tmp_path, original)
    save_ui_theme(path, "gruvbox")
    text = path.read_text()
    assert text == original.replace('"old"', '"gruvbox"')
    assert load_config(path).ui.theme == "gruvbox"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def test_save_ui_theme_adds_the_section_or_creates_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[processing]\nworkers = 3\n")
    save_ui_theme(path, 'we"ird')
    config = load_config(path)
    assert config.ui.theme == 'we"ird' and config.processing.workers == 3
    fresh = tmp_path / "sub" / "config.toml"
    save_ui_theme(fresh, "nord")
    assert load_config(fresh).ui.theme == "nord"


def test_save_ui_theme_refuses_to_touch_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[processing\n")
    with pytest.raises(Exception):  # noqa: B017 - any parse error; the file must stay as it was
        save_ui_theme(path, "nord")
    assert path.read_text() == "[processing\n"


def test_executor_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[processing]\nexecutor = "dask://nas.local:8786"\n')
    assert load_config(path).processing.executor == "dask://nas.local:8786"
    assert Config().processing.executor is None  # threads


def test_safety_in_place_key(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).engine_settings().in_place == "auto"
    never = load_config(write(tmp_path, '[safety]\nin_place = "never"\n'))
    assert never.safety.in_place == "never"
    assert never.engine_settings().in_place == "never"


def test_config_typos_get_did_you_mean_as_policy_typos_do(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[procesing]\nworkers = 1\n[processing]\nwokers = 2\n[paths]\nmax_workers = 3\n"
        "[tools]\nzzz = 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cfg)
    said = str(caught.value)
    assert "unknown section [procesing]; did you mean [processing]?" in said
    assert "[processing] wokers: unknown key; did you mean [processing] workers?" in said
    # the right key in the wrong table
    assert "[paths] max_workers: unknown key; did you mean [processing] max_workers?" in said
    assert "[tools] zzz: unknown key (known:" in said  # nothing close: no guess
