"""Attendance limits as per-community data: the policy's figures by default, overrides by name."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli_attendance.config import AttendanceSettings
from linli_attendance.domain.limits import (
    DEFAULT_LIMITS,
    POLICY_LIMITS,
    Limits,
    limit_book_from_config,
)
from linli_kit.errors import InvalidArgument
from linli_kit.settings import load_settings


def test_the_policy_figures_are_the_defaults() -> None:
    assert (
        Limits(
            time_cap=timedelta(hours=8),
            sign_out_grace=timedelta(hours=2),
            rating_window=timedelta(hours=72),
            max_sessions_per_day=4,
            two_sites_gap=timedelta(0),
        )
        == POLICY_LIMITS
    )
    assert DEFAULT_LIMITS.of("c-anywhere") == POLICY_LIMITS


def test_a_community_changes_only_the_figures_it_names() -> None:
    book = limit_book_from_config(
        {
            "*": {"rating_window_minutes": 48 * 60},
            "c-east": {"time_cap_minutes": 360, "max_sessions_per_day": 6},
        }
    )

    east, west = book.of("c-east"), book.of("c-west")
    assert (east.time_cap, east.max_sessions_per_day) == (timedelta(hours=6), 6)
    assert east.rating_window == west.rating_window == timedelta(hours=48)
    assert west.time_cap == timedelta(hours=8)


def test_every_figure_has_a_key() -> None:
    book = limit_book_from_config(
        {
            "*": {
                "time_cap_minutes": 1,
                "sign_out_grace_minutes": 2,
                "rating_window_minutes": 3,
                "max_sessions_per_day": 4,
                "two_sites_gap_minutes": 5,
            }
        }
    )
    assert book.default == Limits(
        *(timedelta(minutes=m) for m in (1, 2, 3)), 4, timedelta(minutes=5)
    )


def test_the_sweep_looks_back_by_the_shortest_grace() -> None:
    book = limit_book_from_config({"c-east": {"sign_out_grace_minutes": 30}})
    assert book.shortest_grace == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"*": {"daily_cap": 8}}, r"\*\.daily_cap is not a limit"),
        ({"c-east": {"time_cap_minutes": 0}}, "c-east.time_cap_minutes must be 1 to 1440"),
        ({"*": {"max_sessions_per_day": 2.5}}, "whole number"),
        ({"*": {"max_sessions_per_day": True}}, "whole number"),
        ({"c-east": [480]}, "c-east must be an object"),
        ([{"time_cap_minutes": 480}], "keyed by community"),
    ],
)
def test_bad_figures_are_refused(config, message) -> None:
    with pytest.raises(InvalidArgument, match=message):
        limit_book_from_config(config)


def test_the_settings_parse_the_limits_variable(monkeypatch) -> None:
    monkeypatch.setenv("LINLI_ATTENDANCE_LIMITS", '{"c-east": {"time_cap_minutes": 240}}')
    settings = AttendanceSettings(database_url="sqlite://", redis_url="redis://")

    assert settings.limit_book.of("c-east").time_cap == timedelta(hours=4)


def test_unset_limits_are_the_policy_figures() -> None:
    settings = AttendanceSettings(database_url="sqlite://", redis_url="redis://")
    assert settings.limit_book is DEFAULT_LIMITS


def test_a_bad_limits_variable_stops_the_start_naming_it(monkeypatch, capsys) -> None:
    monkeypatch.setenv("LINLI_ATTENDANCE_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("LINLI_ATTENDANCE_REDIS_URL", "redis://")
    monkeypatch.setenv("LINLI_ATTENDANCE_LIMITS", '{"*": {"time_cap_minutes": 0}}')

    with pytest.raises(SystemExit):
        load_settings(AttendanceSettings)
    assert "LINLI_ATTENDANCE_LIMITS" in capsys.readouterr().err
