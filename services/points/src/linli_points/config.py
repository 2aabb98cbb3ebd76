"""Points settings from LINLI_POINTS_* variables."""

from __future__ import annotations

import socket
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from linli_kit.errors import InvalidArgument
from linli_kit.settings import ServiceSettings
from linli_points.domain.council import DEFAULT_RULE, CouncilRule
from linli_points.domain.rules import DEFAULT_CATALOG, RuleCatalog, catalog_from_config
from linli_points.timebank_settings import TimeBankSettings

RulesConfig = list[dict[str, Any]] | dict[str, list[dict[str, Any]]]


class CouncilRuleSettings(BaseModel):
    """One community's council rule (domain/council.py CouncilRule); unknown keys stop the start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    each_seat: int = Field(default=DEFAULT_RULE.each_seat, ge=0, le=20)
    majority: bool = DEFAULT_RULE.majority
    single_member_appeals: bool = DEFAULT_RULE.single_member_appeals
    audit_grace_days: int = Field(default=DEFAULT_RULE.audit_grace_days, ge=0, le=366)


class PointsSettings(ServiceSettings):
    """Everything the points service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LINLI_POINTS_", extra="ignore", frozen=True)

    grpc_port: int = Field(default=50053, ge=0, le=65535)
    consumer_name: str = Field(default_factory=lambda: f"points-{socket.gethostname()}")
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    # Consumers of attendance.events side by side in this replica, so that the community's
    # writer finds several events waiting and commits them at once. Above 1, events of one
    # session may apply out of order (as across replicas): a rating that overtakes its
    # session's award adds nothing.
    attendance_consumers: int = Field(default=1, ge=1, le=64)
    # JSON: a list of rules for every community, or {"<community>": [...], "*": [...]}; each
    # rule {id, activity_kind, service_type, points_per_hour, coefficient_percent, daily_cap,
    # amount, stars, streak_periods} in integer hundredths. Unset: the policy defaults.
    earning_rules: RulesConfig | None = None
    reservation_sweep_seconds: float = Field(default=5.0, gt=0)
    leaderboard_min_interval_seconds: float = Field(default=0.25, ge=0.05)
    # Close ended weeks (P2 bonuses) and the previous year (P4) at each week or year boundary.
    scheduler_enabled: bool = True
    # Where identity publishes the signing keys that access tokens are checked against.
    identity_address: str = "127.0.0.1:50051"
    # JSON {"<community>": "masked" | "full", "*": …}: how the public leaderboards show display
    # names; masked (李*, 王*明) unless a community (or "*") says full.
    leaderboard_names: dict[str, Literal["masked", "full"]] = Field(default_factory=dict)
    # JSON: the time bank across communities (E4), off without peers; see timebank_settings.py.
    timebank: TimeBankSettings = Field(default_factory=TimeBankSettings)
    # JSON {"<community>": {each_seat, majority, single_member_appeals, audit_grace_days}, "*":
    # …}: the supervision council's quorum (at least each_seat of every seat present and, with
    # majority, more than half of the members serving), whether one committee member may still
    # decide an appeal alone, and the days after a quarter before its audit is overdue.
    council: dict[str, CouncilRuleSettings] = Field(default_factory=dict)
    # How often the overdue audits (linli_council_audits_overdue) are counted again.
    council_overdue_seconds: float = Field(default=300.0, gt=0)

    @field_validator("earning_rules")
    @classmethod
    def _rules_are_valid(cls, value: RulesConfig | None) -> RulesConfig | None:
        if value is not None:
            try:
                catalog_from_config(value)
            except (InvalidArgument, TypeError, ValueError) as exc:
                raise ValueError(str(exc)) from exc
        return value

    def council_rule(self, community_id: str) -> CouncilRule:
        """A community's council rule: its own entry, else "*", else the defaults."""
        found = self.council.get(community_id, self.council.get("*"))
        return DEFAULT_RULE if found is None else CouncilRule(**found.model_dump())

    def shows_full_names(self, community_id: str) -> bool:
        """Whether a community's public leaderboards show display names unmasked."""
        shown = self.leaderboard_names.get(community_id, self.leaderboard_names.get("*", "masked"))
        return shown == "full"

    @property
    def catalog(self) -> RuleCatalog:
        """The earning rules per community."""
        return (
            DEFAULT_CATALOG
            if self.earning_rules is None
            else catalog_from_config(self.earning_rules)
        )
