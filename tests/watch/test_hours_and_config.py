"""The unattended settings: the daily window, end times and their config keys."""

from __future__ import annotations

from datetime import datetime

import pytest

from vpo_tui.config import ConfigError, parse_config
from vpo_tui.hours import TimeWindow, next_time, parse_hhmm


def at(hhmm: str, day: int = 6) -> datetime:
    h, m = hhmm.split(":")
    return datetime(2026, 12, day, int(h), int(m))


def test_a_window_across_midnight() -> None:
    night = TimeWindow.parse("22:00-07:00")
    assert str(night) == "22:00-07:00"
    assert [night.contains(at(t)) for t in ("21:59", "22:00", "03:00", "06:59", "07:00")] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert night.next_open(at("12:00")) == at("22:00")
    assert night.next_open(at("23:00")) == at("23:00")


def test_a_window_inside_one_day() -> None:
    day = TimeWindow.parse("09:30-17:00")
    assert day.contains(at("09:30")) and not day.contains(at("17:00"))
    assert day.next_open(at("18:00")) == at("09:30", day=7)


def test_an_end_time_is_its_next_occurrence() -> None:
    assert next_time(parse_hhmm("06:00"), at("23:00")) == at("06:00", day=7)
    assert next_time(parse_hhmm("06:00"), at("05:00")) == at("06:00")


@pytest.mark.parametrize("text", ["22-07", "22:00", "25:00-07:00", "07:00-07:00", "7:60-8:00"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        TimeWindow.parse(text)


def test_the_unattended_config_keys() -> None:
    config = parse_config(
        {
            "watch": {"settle": 5, "hours": "22:00-07:00"},
            "transcode": {"max_size_ratio": 0.9},
            "processing": {"stall_minutes": 10},
            "notify": {"command": ["curl", "-d", "@-", "http://jf/refresh"], "urls": "tgram://x"},
        }
    )
    assert config.watch.settle == 5.0 and config.watch.hours == TimeWindow(22 * 60, 7 * 60)
    settings = config.engine_settings()
    assert settings.stall_s == 600.0 and settings.max_size_ratio == 0.9
    assert config.notify.command[0] == "curl" and config.notify.urls == ("tgram://x",)
    defaults = parse_config({})
    assert defaults.watch.settle == 60.0 and defaults.watch.hours is None
    assert defaults.engine_settings().stall_s is None
    assert defaults.engine_settings().max_size_ratio == 1.0


def test_bad_unattended_keys_name_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "watch": {"hours": "late", "settle": -1},
                "notify": {"command": []},
                "transcode": {"max_size_ratio": 0},
            }
        )
    text = str(caught.value)
    for key in (
        "[watch] hours",
        "[watch] settle",
        "[notify] command",
        "[transcode] max_size_ratio",
    ):
        assert key in text
