"""Settings per service from LINLI_<SERVICE>_* variables, validated at start."""

from __future__ import annotations

import binascii
import sys
from typing import Annotated, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# The largest request of a service that takes photos or frames (identity, and attendance, which
# passes a kiosk's burst on to it): a 4 MiB field and the rest. gRPC refuses a larger request
# (RESOURCE_EXHAUSTED) before the server holds it.
PHOTO_REQUEST_BYTES = (4 * 1024 + 64) * 1024
MessageBytes = Annotated[int, Field(ge=64 * 1024, le=16 * 1024 * 1024)]


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set env_prefix, e.g. LINLI_POINTS_."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(min_length=1)
    redis_url: str = Field(min_length=1)
    grpc_host: str = "0.0.0.0"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="0 disables /metrics")
    stream_prefix: str = ""
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="json", pattern="^(json|console)$")
    # A folder holding tls.key, tls.crt and ca.crt: the server then requires mutual TLS and
    # calls other services with it. Unset: plaintext, where only bearer tokens authenticate.
    tls_dir: str = ""
    # With TLS, grpc.health.v1 in plaintext on this port for the kubelet (0: none).
    health_port: int = Field(default=0, ge=0, le=65535)
    reflection: bool = False
    # Calls served at once; the next is refused at once with RESOURCE_EXHAUSTED (Capacity).
    max_calls_in_flight: int = Field(default=64, ge=1, le=10_000)
    max_open_streams: int = Field(default=4096, ge=1, le=100_000)


class SigningKeysSetting(BaseModel):
    """An Ed25519 signing keyring: {"current": "s2", "keys": {"s1": "<base64>", ...}}.

    Each key is a 32-byte Ed25519 seed. Rotate by adding a key and making it current; the
    old one keeps verifying what it signed until it is removed (after the longest lifetime of
    what it signs: refresh tokens for identity, vouchers for rewards).
    """

    current: str = Field(min_length=1, max_length=100)
    keys: dict[str, str]

    def seeds(self) -> dict[str, bytes]:
        """The seeds by key id, validated (32 bytes each, the current one present)."""
        try:
            seeds = {
                key_id: binascii.a2b_base64(value, strict_mode=True)
                for key_id, value in self.keys.items()
            }
        except binascii.Error as exc:
            raise ValueError(f"a signing key is not valid base64: {exc}") from None
        if self.current not in seeds:
            raise ValueError(f"current signing key {self.current!r} is not in keys")
        for key_id, seed in seeds.items():
            if len(seed) != 32 or not 0 < len(key_id) <= 100:
                raise ValueError(f"signing key {key_id!r} must be 32 bytes under a short id")
        return seeds


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Read settings from the environment or stop the process naming each bad variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        lines = [
            f"  {prefix}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        sys.stderr.write("invalid configuration:\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from None
