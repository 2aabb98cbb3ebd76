"""Helpers for time-bank communities in tests: a community's real identity (person keys, the
recipient rule) and its residents and relatives registered through it, identity's published keys
alone for a community that needs no more of it, events as identity and attendance publish them,
statement keys, and one community's points process with peers."""

from __future__ import annotations

import base64
import json
import os
import sys
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

from linli_identity.domain.relatives import PersonKeys
from linli_kit import auth
from linli_kit.paseto import PasetoKeyring, dev_seeds
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import ServiceProcess, free_port
from linli_kit.streams import ENVELOPE_FIELD
from linli_kit.testing import Credentials

# The person keys the test identities derive (their public dev federation secret).
PERSON_KEYS = PersonKeys(dev_seeds("federation")["dev"])


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


@dataclass
class FacelessIdentity(ServiceProcess):
    """Identity's own app and command line without the face engine (identity_without_faces.py):
    real residents, relatives, person keys, tokens and events, none of dlib's start-up."""

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("identity_without_faces.py")), *args]


def identity_process(
    community: str, ca: DevelopmentCA, key: auth.SigningKey, folder: Path, settings: dict[str, str]
) -> ServiceProcess:
    """A community's identity on mutual TLS, signing with `key`, with the dev federation
    secret (settings: its database, Redis and stream prefix), without face sign-in."""
    tls_dir = ca.write(folder / community / "identity-pki", f"spiffe://linli/{community}/identity")
    full = {
        "grpc_host": "127.0.0.1",
        "grpc_port": str(free_port()),
        "health_port": str(free_port()),
        "metrics_port": "0",
        "log_format": "console",
        "tls_dir": str(tls_dir),
        "signing_keys": Credentials(key, ca).signing_keys(),
        "dev_federation_secret": "true",
        **settings,
    }
    return FacelessIdentity("identity", full, folder / f"{community}-identity.log")


class Registry:
    """A community's residents and their relatives, through its real identity (as its staff)."""

    def __init__(
        self, community: str, ca: DevelopmentCA, key: auth.SigningKey, address: str
    ) -> None:
        self.community, self.ca, self.key, self.address = community, ca, key, address
        self.parent = f"communities/{community}"

    def _stub(self, resident: str, *roles: str) -> tuple[grpc.Channel, Any]:
        subject = f"{self.parent}/residents/{resident}"
        token = auth.issue_access_token(
            self.key, subject=subject, community=self.community, roles=roles
        )
        tls = self.ca.tls_files(f"spiffe://linli/{self.community}/gateway")
        channel = auth.channel(self.address, tls, token)
        return channel, idn_grpc.IdentityServiceStub(channel)

    def create_community(self) -> None:
        """The community itself (an sre)."""
        channel, stub = self._stub("operator", "sre")
        with channel:
            stub.CreateCommunity(
                idn.CreateCommunityRequest(community_id=self.community, display_name="社区"),
                timeout=30,
            )

    def register(self, name: str, phone: str) -> str:
        """A resident registered by the community's staff; their id."""
        channel, stub = self._stub("operator", "social_worker")
        with channel:
            request = idn.RegisterResidentRequest(
                parent=self.parent, display_name=name, phone=phone
            )
            return str(stub.RegisterResident(request, timeout=30).resident.name.rpartition("/")[2])

    def declare(self, resident: str, phone: str, *, confirmed: bool) -> None:
        """The resident declares a relative elsewhere by phone; staff confirm it if asked."""
        channel, stub = self._stub(resident)
        with channel:
            declared = stub.DeclareRelative(
                idn.DeclareRelativeRequest(
                    parent=f"{self.parent}/residents/{resident}",
                    phone=phone,
                    relation=idn.RELATION_PARENT,
                    display_label="母亲",
                    request_id=uuid.uuid4().hex,
                ),
                timeout=30,
            )
        if confirmed:
            channel, stub = self._stub("operator", "social_worker")
            with channel:
                stub.ConfirmRelative(
                    idn.ConfirmRelativeRequest(
                        name=declared.relative.name, request_id=uuid.uuid4().hex
                    ),
                    timeout=30,
                )


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
