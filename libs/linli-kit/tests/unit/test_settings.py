"""Settings fail fast: a bad value stops the process with exit code 2, naming the variable."""

from __future__ import annotations

import os

import pytest
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings, load_settings

PREFIX = "LINLI_POINTS_"


class PointsLikeSettings(ServiceSettings):
    """A service's settings read from LINLI_POINTS_* variables."""

    model_config = SettingsConfigDict(env_prefix=PREFIX)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only the two required variables set; anything else with the prefix removed."""
    for name in [n for n in os.environ if n.upper().startswith(PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(f"{PREFIX}DATABASE_URL", "sqlite:///points.db")
    monkeypatch.setenv(f"{PREFIX}REDIS_URL", "redis://127.0.0.1:6379/0")
    return monkeypatch


def refused(capsys: pytest.CaptureFixture[str]) -> str:
    """Load the settings expecting exit code 2; the message written to stderr."""
    with pytest.raises(SystemExit) as stopped:
        load_settings(PointsLikeSettings)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_valid_settings_are_read_with_their_defaults(environment: pytest.MonkeyPatch) -> None:
    environment.setenv(f"{PREFIX}GRPC_PORT", "50053")

    settings = load_settings(PointsLikeSettings)

    assert (settings.database_url, settings.grpc_port, settings.metrics_port) == (
        "sqlite:///points.db",
        50053,
        9464,
    )
    assert (settings.log_level, settings.log_format) == ("INFO", "json")


def test_a_port_that_is_not_a_number_is_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(f"{PREFIX}GRPC_PORT", "abc")

    message = refused(capsys)

    assert message.startswith("invalid configuration:\n")
    assert "  LINLI_POINTS_GRPC_PORT: Input should be a valid integer" in message


def test_the_bad_value_itself_is_not_echoed(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(f"{PREFIX}METRICS_PORT", "s3cret")

    message = refused(capsys)

    assert "LINLI_POINTS_METRICS_PORT" in message
    assert "s3cret" not in message


def test_a_port_out_of_range_is_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(f"{PREFIX}METRICS_PORT", "70000")

    assert "LINLI_POINTS_METRICS_PORT: Input should be less than or equal to 65535" in refused(
        capsys
    )


def test_a_missing_required_variable_is_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.delenv(f"{PREFIX}DATABASE_URL")

    assert "LINLI_POINTS_DATABASE_URL: Field required" in refused(capsys)


def test_every_bad_variable_is_named_once(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(f"{PREFIX}LOG_LEVEL", "TRACE")
    environment.setenv(f"{PREFIX}LOG_FORMAT", "xml")
    environment.setenv(f"{PREFIX}REDIS_URL", "")

    lines = refused(capsys).splitlines()[1:]

    assert sorted(line.split(":")[0].strip() for line in lines) == [
        "LINLI_POINTS_LOG_FORMAT",
        "LINLI_POINTS_LOG_LEVEL",
        "LINLI_POINTS_REDIS_URL",
    ]
