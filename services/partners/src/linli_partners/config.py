"""Partners settings from LINLI_PARTNERS_* variables."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from linli_kit.settings import ServiceSettings, SigningKeysSetting
from linli_partners.domain.partners import DEFAULT_TITLE_THRESHOLD_FEN


class PartnersSettings(ServiceSettings):
    """Everything the partners service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_PARTNERS_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50056, ge=0, le=65535)
    points_address: str = Field(default="127.0.0.1:50053", min_length=3)
    # Identity publishes the keys access tokens are checked with.
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    points_timeout_seconds: float = Field(default=5.0, gt=0)
    # JSON keyring eligibility answers are signed with, from a secret (see SigningKeysSetting);
    # its current key also makes residents' codes. Without one (and without dev_proof_keys) the
    # service does not start.
    proof_keys: SigningKeysSetting | None = None
    # Sign with a public, insecure key derived from a constant. For `make run` only.
    dev_proof_keys: bool = False
    # JSON {"<community>": fen, "*": fen}: the year's value that earns the 社区公益伙伴 title;
    # unset: 50,000 yuan.
    title_thresholds: dict[str, int] = Field(default_factory=dict)
    # How often a watched CSR board is looked at for a change.
    board_poll_seconds: float = Field(default=0.25, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.proof_keys is None) == (not self.dev_proof_keys):
            raise ValueError("set exactly one of proof_keys and dev_proof_keys")
        if self.proof_keys is not None:
            try:
                self.proof_keys.seeds()
            except ValueError as exc:
                raise ValueError(f"proof_keys: {exc}") from None
        if any(value < 1 for value in self.title_thresholds.values()):
            raise ValueError("title_thresholds must be positive amounts in fen")
        return self

    def title_threshold(self, community_id: str) -> int:
        """A community's title threshold in fen."""
        default = self.title_thresholds.get("*", DEFAULT_TITLE_THRESHOLD_FEN)
        return self.title_thresholds.get(community_id, default)
