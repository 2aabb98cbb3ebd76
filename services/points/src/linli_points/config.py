"""Points settings from LINLI_POINTS_* variables."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings


class PointsSettings(ServiceSettings):
    """Everything the points service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_POINTS_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50053, ge=0, le=65535)
    consumer_name: str = Field(default_factory=lambda: f"points-{socket.gethostname()}")
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
