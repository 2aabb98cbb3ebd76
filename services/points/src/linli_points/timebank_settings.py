"""The time bank's settings (LINLI_POINTS_TIMEBANK, JSON): this community and its peers (E4)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from linli_kit.settings import SigningKeysSetting
from linli_points.domain.timebank import Peer
from linli_points.service_layer.timebank import Federation

COMMUNITY_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"


class PeerSetting(BaseModel):
    """One peer community: where its exchange listens, its CA, the credit and rate agreed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=COMMUNITY_PATTERN)
    address: str = Field(min_length=1)  # host:port of the peer's exchange
    ca_file: str = Field(min_length=1)  # the peer community's CA certificate (PEM)
    # How far the clearing account for the peer may go below zero, in hundredths of a point.
    credit_limit: int = Field(ge=0)
    # "<peer points>:<our points>": one point of the peer is worth this many here (1:1).
    rate: str = Field(default="1:1", pattern=r"^[1-9][0-9]{0,5}:[1-9][0-9]{0,5}$")
    # The peer's statement public key (PASERK k4.public…), to check its signed statements.
    statement_key: str = Field(pattern=r"^k4\.public\.")

    def peer(self) -> Peer:
        """The peer as the domain sees it."""
        theirs, ours = (int(n) for n in self.rate.split(":"))
        return Peer(self.id, self.address, self.credit_limit, ours, theirs)

    def ca_pem(self) -> bytes:
        """The peer's CA certificate, read from its file."""
        return Path(self.ca_file).read_bytes()


class TimeBankSettings(BaseModel):
    """Off without peers. With them: this community, the exchange port, timeouts and keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    community: str = Field(default="", pattern=r"^$|" + COMMUNITY_PATTERN)
    peers: list[PeerSetting] = Field(default_factory=list, max_length=100)
    # The port the peers call (ExchangeService, mutual TLS with their CAs only).
    exchange_port: int = Field(default=50063, ge=0, le=65535)
    # A peer that has not decided within this is asked to abort, and the transfer is voided.
    timeout_seconds: float = Field(default=30.0, gt=0, le=86400)
    # The recovery job (every pending transfer one step on) and the reconciliation job.
    recovery_seconds: float = Field(default=5.0, gt=0)
    reconcile_seconds: float = Field(default=3600.0, gt=0)
    # This community's Ed25519 statement keyring ({"current", "keys"}), given inline or as a
    # file (a mounted Secret); its public key is each peer's statement_key.
    statement_keys: SigningKeysSetting | None = None
    statement_keys_file: str = ""
    # The exchange's key, certificate (spiffe://linli/<community>/points) and CA; empty: the
    # service's own LINLI_POINTS_TLS_DIR.
    tls_dir: str = ""

    @model_validator(mode="after")
    def _complete(self) -> TimeBankSettings:
        if not self.peers:
            return self
        if not self.community or not (self.statement_keys or self.statement_keys_file):
            raise ValueError("with peers, the time bank needs community and statement keys")
        ids = [p.id for p in self.peers]
        if len(set(ids)) != len(ids) or self.community in ids:
            raise ValueError("peers are distinct communities other than this one")
        return self

    def keys(self) -> SigningKeysSetting:
        """The statement keyring, read from its file if not given inline."""
        if self.statement_keys is not None:
            return self.statement_keys
        return SigningKeysSetting.model_validate_json(Path(self.statement_keys_file).read_text())

    @property
    def enabled(self) -> bool:
        """Whether this community takes part in the time bank."""
        return bool(self.peers)

    def federation(self) -> Federation:
        """This community's place in the time bank."""
        return Federation(
            self.community,
            {p.id: p.peer() for p in self.peers},
            timedelta(seconds=self.timeout_seconds),
        )
