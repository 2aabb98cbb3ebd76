"""Logging: OpenTelemetry's cancelled-stream noise is dropped, nothing else."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from linli_kit.logs import configure_logging


@pytest.fixture(autouse=True)
def restored_root_logger() -> Iterator[None]:
    """Put the root logger's handlers and level back after the test configures logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_only_the_detach_context_noise_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", fmt="console")
    configure_logging("test", fmt="console")  # configuring twice adds no second filter
    context_logger = logging.getLogger("opentelemetry.context")
    assert len(context_logger.filters) == 1
    context_logger.error("Failed to detach context")
    context_logger.error("something else broke")
    err = capsys.readouterr().err
    assert "something else broke" in err
    assert "Failed to detach context" not in err
