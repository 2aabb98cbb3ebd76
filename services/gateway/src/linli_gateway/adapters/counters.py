"""Shop counters: the partners whose cashiers check and consume vouchers through the gateway.

Rewards admits ConsumeVoucher from a partner principal only (its mutual-TLS certificate,
`spiffe://linli/<community>/partner/<id>`, with the `vouchers` scope partners grants), never
from a person's token. So the gateway holds, per partner, the partner's certificate and the
SHA-256 of a counter key (a random secret the partner's manager types once on the counter's
device); a cashier signed in with it calls rewards as that partner. Revoking the partner in
the partners service takes its scopes at once, whatever the gateway holds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc

from linli_kit import auth

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
KEY_FILE = "counter-key.sha256"
MIN_KEY_LENGTH = 32


class CountersMisconfigured(ValueError):
    """The counters folder is not as the settings describe it (the gateway does not start)."""


@dataclass(frozen=True)
class Counter:
    """One partner's counter credential."""

    partner_id: str
    key_sha256: bytes
    tls: auth.TlsFiles


@dataclass
class Counters:
    """The partners' counter credentials, and a rewards channel as each partner."""

    counters: dict[str, Counter]
    rewards_address: str
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, directory: str, rewards_address: str) -> Counters:
        """Every <partner id>/ folder of the directory ("": none); fails fast when one is bad."""
        if not directory:
            return cls({}, rewards_address)
        root = Path(directory)
        if not root.is_dir():
            raise CountersMisconfigured(f"counters_dir {directory} is not a folder")
        found = {}
        for folder in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            if not PARTNER_ID.match(folder.name):
                raise CountersMisconfigured(f"{folder.name} in {directory} is not a partner id")
            digest = (folder / KEY_FILE).read_text().strip()
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise CountersMisconfigured(f"{folder / KEY_FILE} is not a hex SHA-256")
            found[folder.name] = Counter(
                folder.name, bytes.fromhex(digest), auth.TlsFiles.from_dir(folder)
            )
        return cls(found, rewards_address)

    def admits(self, partner_id: str, key: str) -> bool:
        """Whether the key is this partner's counter key (in constant time)."""
        counter = self.counters.get(partner_id)
        typed = hashlib.sha256(key.encode()).digest()
        expected = counter.key_sha256 if counter else hashlib.sha256(b"").digest()
        return bool(counter) and len(key) >= MIN_KEY_LENGTH and hmac.compare_digest(typed, expected)

    def rewards(self, partner_id: str) -> rwd_grpc.RewardsServiceStub:
        """RewardsService called as the partner (its certificate, no token)."""
        if partner_id not in self.channels:
            tls = self.counters[partner_id].tls
            self.channels[partner_id] = grpc.aio.secure_channel(
                self.rewards_address, tls.channel_credentials()
            )
        return rwd_grpc.RewardsServiceStub(self.channels[partner_id])

    async def close(self) -> None:
        """Close the partners' channels."""
        for channel in self.channels.values():
            await channel.close()
        self.channels.clear()
