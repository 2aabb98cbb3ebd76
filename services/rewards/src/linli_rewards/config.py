"""Rewards settings from LINLI_REWARDS_* variables."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings, SigningKeysSetting


class RewardsSettings(ServiceSettings):
    """Everything the rewards service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_REWARDS_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50054, ge=0, le=65535)
    points_address: str = Field(default="127.0.0.1:50053", min_length=3)
    # Partners keeps what each partner may do (its scopes), asked on every partner's call.
    partners_address: str = Field(default="127.0.0.1:50056", min_length=3)
    # Identity publishes the keys access tokens are checked with.
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    points_timeout_seconds: float = Field(default=5.0, gt=0)
    # JSON voucher keyring, from a secret (see SigningKeysSetting). Without one (and without
    # dev_voucher_keys) the service does not start.
    voucher_keys: SigningKeysSetting | None = None
    # Sign vouchers with a public, insecure key derived from a constant. For `make run` only.
    dev_voucher_keys: bool = False
    # How often the recovery job looks for sagas left half-way and vouchers past their validity.
    recovery_sweep_seconds: float = Field(default=30.0, gt=0)
    # A saga untouched this long is taken over by the recovery job (finished or undone).
    stall_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _check_voucher_keys(self) -> Self:
        if (self.voucher_keys is None) == (not self.dev_voucher_keys):
            raise ValueError("set exactly one of voucher_keys and dev_voucher_keys")
        if self.voucher_keys is not None:
            try:
                self.voucher_keys.seeds()
            except ValueError as exc:
                raise ValueError(f"voucher_keys: {exc}") from None
        return self
