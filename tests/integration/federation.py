"""Helpers for time-bank communities in tests: identity's published keys for a community that
runs points alone, events as identity and attendance publish them, statement keys, and one
community's points process with peers."""

from __future__ import annotations

import base64
import json
import os
import uuid
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import redis
from google.protobuf.message import Message
from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2, identity_events_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc

from linli_kit import auth
from linli_kit.paseto import PasetoKeyring
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import ServiceProcess, free_port
from linli_kit.streams import ENVELOPE_FIELD


class JwksServer(idn_grpc.IdentityServiceServicer):
    """Identity's published keys (GetJwks) for one community: all its points needs of it."""

    def __init__(self, key: auth.SigningKey) -> None:
        self.key = key

    def GetJwks(self, request: idn.GetJwksRequest, context: grpc.ServicerContext) -> Any:
        jwk = self.key.public_jwk
        fields = {f: jwk[f] for f in ("kty", "crv", "x", "kid", "alg", "use")}
        return idn.GetJwksResponse(keys=[idn.Jwk(**fields)])


def serve_jwks(key: auth.SigningKey, ca: DevelopmentCA, community: str) -> tuple[grpc.Server, int]:
    """A JwksServer on mutual TLS as the community's identity: the server and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(2))
    idn_grpc.add_IdentityServiceServicer_to_server(JwksServer(key), server)
    tls = ca.tls_files(f"spiffe://linli/{community}/identity")
    port = server.add_secure_port("127.0.0.1:0", tls.server_credentials())
    server.start()
    return server, port


def publish(client: redis.Redis, stream: str, community: str, payload: Message) -> None:
    """One event on a stream, in its envelope."""
    envelope = envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type=payload.DESCRIPTOR.full_name, community_id=community
    )
    envelope.occurred_at.FromDatetime(datetime.now(UTC))
    envelope.payload.Pack(payload)
    client.xadd(stream, {ENVELOPE_FIELD: envelope.SerializeToString()})


def seed_resident(
    client: redis.Redis, prefix: str, resident: str, name: str, hours: int = 0
) -> None:
    """A resident as identity registers it and, with hours, a completed regular session."""
    community = resident.split("/")[1]
    registered = identity_events_pb2.ResidentRegistered(
        resident=resident, display_name=name, org_unit="grid-1/building-1"
    )
    publish(client, f"{prefix}identity.events", community, registered)
    if not hours:
        return
    now = datetime.now(UTC)
    session = attendance_events_pb2.SessionCompleted(
        session=f"communities/{community}/activities/a/sessions/{uuid.uuid4().hex}",
        resident=resident,
        activity=f"communities/{community}/activities/a",
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        duration_seconds=hours * 3600,
    )
    session.signed_in_at.FromDatetime(now)
    session.signed_out_at.FromDatetime(now)
    publish(client, f"{prefix}attendance.events", community, session)


def statement_keys() -> tuple[str, str]:
    """A statement keyring setting and its public key (PASERK)."""
    seed = os.urandom(32)
    ring = PasetoKeyring({"s1": seed}, "s1")
    setting = {"current": "s1", "keys": {"s1": base64.b64encode(seed).decode()}}
    return json.dumps(setting), ring.public_keys()[0][1]


@dataclass(frozen=True)
class Member:
    """What a community's peers need of it: its id, exchange port, CA file and statement keys."""

    community: str
    exchange_port: int
    ca_file: Path
    keys: tuple[str, str]  # statement_keys(): the keyring setting, its public key

    def as_peer(self, credit_limit: int) -> dict[str, object]:
        """This community as an entry of another's LINLI_POINTS_TIMEBANK peers."""
        return {
            "id": self.community,
            "address": f"127.0.0.1:{self.exchange_port}",
            "ca_file": str(self.ca_file),
            "credit_limit": credit_limit,
            "statement_key": self.keys[1],
        }


def member(community: str, ca: DevelopmentCA, folder: Path) -> Member:
    """A community's place in a federation: a free exchange port, its CA written out, keys."""
    ca_file = folder / f"{community}-ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    return Member(community, free_port(), ca_file, statement_keys())


def points_with_peers(
    me: Member,
    peers: list[dict[str, object]],
    settings: dict[str, str],
    log: Path,
    timeout_seconds: float = 4.0,
) -> ServiceProcess:
    """A points process of `me` serving the time bank with these peers (settings: the rest)."""
    bank = {
        "community": me.community,
        "peers": peers,
        "exchange_port": me.exchange_port,
        "timeout_seconds": timeout_seconds,
        "recovery_seconds": 0.5,
        "statement_keys": json.loads(me.keys[0]),
    }
    full = {
        "grpc_host": "127.0.0.1",
        "grpc_port": str(free_port()),
        "health_port": str(free_port()),
        "metrics_port": "0",
        "log_format": "console",
        "scheduler_enabled": "false",
        **settings,
        "timebank": json.dumps(bank),
    }
    return ServiceProcess("points", full, log)
