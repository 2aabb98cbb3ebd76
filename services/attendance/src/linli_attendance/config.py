"""Attendance settings from LINLI_ATTENDANCE_* variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings


class AttendanceSettings(ServiceSettings):
    """Everything the attendance service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_ATTENDANCE_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50052, ge=0, le=65535)
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    # Face identification decodes a burst of frames 1:N; it takes longer than a lookup.
    face_timeout_seconds: float = Field(default=10.0, gt=0)
    # How often open sessions past the sign-out grace are closed for staff review.
    forgotten_sweep_seconds: float = Field(default=60.0, gt=0)
