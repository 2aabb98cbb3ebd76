"""Gateway settings from LINLI_GATEWAY_* variables, validated at start."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("identity", "attendance", "points", "rewards", "training", "partners")


class GatewaySettings(BaseSettings):
    """Everything the gateway reads from its environment (it has no database and no Redis)."""

    model_config = SettingsConfigDict(env_prefix="LINLI_GATEWAY_", extra="ignore", frozen=True)

    # The community this stack serves (one stack per community, ARCHITECTURE §1).
    community: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # Prometheus /metrics on its own port (the chart: 9464); 0, the default, leaves it off.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    identity_address: str = Field(default="127.0.0.1:50051", min_length=3)
    attendance_address: str = Field(default="127.0.0.1:50052", min_length=3)
    points_address: str = Field(default="127.0.0.1:50053", min_length=3)
    rewards_address: str = Field(default="127.0.0.1:50054", min_length=3)
    training_address: str = Field(default="127.0.0.1:50055", min_length=3)
    partners_address: str = Field(default="127.0.0.1:50056", min_length=3)
    # tls.key, tls.crt (SAN spiffe://linli/<community>/gateway) and ca.crt: the services require
    # mutual TLS, and a person's bearer token travels only over it. Unset: plaintext (tests).
    tls_dir: str = ""
    # The partners whose cashiers use the shop-counter page: one folder per partner id, holding
    # tls.key, tls.crt (SAN spiffe://linli/<community>/partner/<id>), ca.crt and
    # counter-key.sha256 (hex SHA-256 of the counter key the cashier types). Empty: no counters.
    counters_dir: str = ""
    # The peer communities of the time bank (E4), comma-separated ids, as points' timeBank
    # names them: the peers a resident may send points to. Empty: the time bank is not set up.
    timebank_peers: str = Field(
        default="", max_length=2000, pattern=r"^$|^[a-z][a-z0-9-]{1,62}(,[a-z][a-z0-9-]{1,62})*$"
    )
    # Believe the browser address the ingress appends to X-Forwarded-For (its last entry):
    # only when every request comes through an ingress that sets it. Off: the TCP peer.
    trust_forwarded_for: bool = False
    # How long one call to a service may take before the page answers 504.
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Signs the session cookie (itsdangerous); at least 32 characters, from a Secret.
    session_secret: str = Field(default="", max_length=512)
    # A public, insecure session key derived from the community. For `make run` only.
    dev_session_secret: bool = False
    # Send the cookie only over HTTPS (off for `make run` on plain http://127.0.0.1).
    cookie_secure: bool = True
    # How long a browser session lives without use (the refresh token's life bounds it too).
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    # Refresh the access token when it has fewer seconds than this left.
    refresh_margin_seconds: int = Field(default=60, ge=0, le=600)
    # Unsafe requests with a larger body are refused (413) before any work.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # The privacy policy text residents consent to face sign-in under, and how long it holds.
    face_policy_version: str = Field(default="2026-01", min_length=1, max_length=40)
    face_retention_days: int = Field(default=365, ge=1, le=3650)
    default_locale: str = Field(default="zh_CN", pattern="^(zh_CN|en)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="json", pattern="^(json|console)$")

    @model_validator(mode="after")
    def _check_session_secret(self) -> Self:
        if bool(self.session_secret) == self.dev_session_secret:
            raise ValueError("set exactly one of session_secret and dev_session_secret")
        if self.session_secret and len(self.session_secret) < 32:
            raise ValueError("session_secret must be at least 32 characters")
        return self

    def address(self, service: str) -> str:
        """host:port of one of the services."""
        return str(getattr(self, f"{service}_address"))

    def peers(self) -> tuple[str, ...]:
        """The time bank's peer community ids (none when it is not set up)."""
        return tuple(p for p in self.timebank_peers.split(",") if p)

    def secret(self) -> str:
        """The key the session cookie is signed with."""
        return self.session_secret or f"linli-dev-session-{self.community}-insecure-public-key"
