"""Attendance settings from LINLI_ATTENDANCE_* variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook, limit_book_from_config
from linli_kit.errors import InvalidArgument
from linli_kit.settings import PHOTO_REQUEST_BYTES, MessageBytes, ServiceSettings

LimitsConfig = dict[str, dict[str, Any]]


class AttendanceSettings(ServiceSettings):
    """Everything the attendance service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_ATTENDANCE_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50052, ge=0, le=65535)
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    # Face identification decodes a burst of frames 1:N; it takes longer than a lookup.
    face_timeout_seconds: float = Field(default=10.0, gt=0)
    # How often open sessions past the sign-out grace are closed for staff review.
    forgotten_sweep_seconds: float = Field(default=60.0, gt=0)
    # The largest request accepted, as identity's (LINLI_IDENTITY_MAX_MESSAGE_BYTES): a kiosk's
    # burst passes on to identity, so one identity would refuse is refused here, by gRPC,
    # before the server holds it.
    max_message_bytes: MessageBytes = PHOTO_REQUEST_BYTES
    # JSON: {"*": {figures}, "<community>": {figures}}; figures time_cap_minutes,
    # sign_out_grace_minutes, rating_window_minutes, max_sessions_per_day,
    # two_sites_gap_minutes. A community names only what it changes. Unset: the policy's.
    limits: LimitsConfig | None = None

    @field_validator("limits")
    @classmethod
    def _limits_are_valid(cls, value: LimitsConfig | None) -> LimitsConfig | None:
        if value is not None:
            try:
                limit_book_from_config(value)
            except (InvalidArgument, TypeError, ValueError) as exc:
                raise ValueError(str(exc)) from exc
        return value

    @property
    def limit_book(self) -> LimitBook:
        """The attendance limits per community."""
        return DEFAULT_LIMITS if self.limits is None else limit_book_from_config(self.limits)
