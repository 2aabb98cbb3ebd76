"""Identity settings from LINLI_IDENTITY_* variables."""

from __future__ import annotations

from linli_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class IdentitySettings(ServiceSettings):
    """Everything the identity service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_IDENTITY_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50051, ge=0, le=65535)
