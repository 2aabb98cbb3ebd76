"""Training settings from LINLI_TRAINING_* variables."""

from __future__ import annotations

import socket
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings
from linli_training.domain.instruments import TeqBands
from linli_training.domain.sessions import DEFAULT_TARGET_HOURS


class TrainingSettings(ServiceSettings):
    """Everything the training service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_TRAINING_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50055, ge=0, le=65535)
    # Identity publishes the keys access tokens are checked with; attendance plans the
    # sign-in activity of each course session.
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    attendance_address: str = Field(default="127.0.0.1:50052", min_length=3)
    attendance_timeout_seconds: float = Field(default=5.0, gt=0)
    # Face-to-face teaching hours each community is to give in a year (T2).
    teaching_target_hours: int = Field(default=DEFAULT_TARGET_HOURS, ge=1, le=10_000)
    # How often the teaching shortfall and overdue allowances are measured for the gauges.
    gauge_sweep_seconds: float = Field(default=300.0, gt=0)
    consumer_name: str = Field(default_factory=lambda: f"training-{socket.gethostname()}")
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    # JSON {"<community>": [typical_from, higher_from], "*": [...]}: the TEQ totals where the
    # "typical" and "higher" advice bands start (the authors publish no cut-offs); unset: 40, 56.
    teq_bands: dict[str, tuple[int, int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Self:
        for community, (typical_from, higher_from) in self.teq_bands.items():
            try:
                TeqBands(typical_from, higher_from)
            except ValueError as exc:
                raise ValueError(f"teq_bands[{community}]: {exc}") from None
        return self

    def bands_of(self, community_id: str) -> TeqBands:
        """A community's TEQ advice bands."""
        found = self.teq_bands.get(community_id, self.teq_bands.get("*"))
        return TeqBands() if found is None else TeqBands(*found)
