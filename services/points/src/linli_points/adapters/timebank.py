"""The time bank's outside world: transfers in SQL, the peers over mutual TLS, signed statements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import grpc
import pyseto
import sqlalchemy as sa
from linli.points.v1 import timebank_service_pb2 as pb
from linli.points.v1 import timebank_service_pb2_grpc as pb_grpc
from sqlalchemy.orm import Session

from linli_kit import auth
from linli_kit.errors import InvalidArgument, Unavailable
from linli_kit.paseto import PasetoKeyring
from linli_kit.wire import timestamp
from linli_points.adapters.ledger import SqlPointsUnitOfWork
from linli_points.adapters.orm import chain_heads, resident_units, timebank_transfers
from linli_points.domain.audit import GENESIS
from linli_points.domain.timebank import (
    Direction,
    Peer,
    PeerAnswer,
    Statement,
    Transfer,
    TransferState,
)
from linli_points.names import RESIDENT
from linli_points.service_layer.recipients import People
from linli_points.service_layer.timebank import Exchange, Statements, TimeBankUnitOfWork, Transfers

T = timebank_transfers
MOVED = (TransferState.COMMITTED.value, TransferState.ACCEPTED.value)


def _row(t: Transfer) -> dict[str, Any]:
    return {
        "community_id": t.community_id,
        "id": t.id,
        "direction": t.direction.value,
        "peer": t.peer,
        "resident_id": t.resident_id,
        "counterpart": t.counterpart,
        "amount": t.amount,
        "credited": t.credited,
        "memo": t.memo,
        "state": t.state.value,
        "reason": t.reason[:300],
        "created_at": t.created_at,
        "deadline": t.deadline,
        "settled_at": t.settled_at,
        "request_id": t.request_id,
    }


def _transfer(row: Any) -> Transfer:
    return Transfer(
        id=row.id,
        community_id=row.community_id,
        direction=Direction(row.direction),
        peer=row.peer,
        resident_id=row.resident_id,
        counterpart=row.counterpart,
        amount=row.amount,
        credited=row.credited,
        memo=row.memo,
        created_at=row.created_at,
        deadline=row.deadline,
        state=TransferState(row.state),
        reason=row.reason,
        settled_at=row.settled_at,
        request_id=row.request_id,
    )


class SqlTransfers(Transfers):
    """Transfers in SQL; a read locks the row so that one settlement wins."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, transfer: Transfer) -> None:
        """Store a new transfer."""
        self.session.execute(sa.insert(T).values(**_row(transfer)))

    def get(self, community_id: str, transfer_id: str) -> Transfer | None:
        """One transfer, locked for update, or None."""
        row = self.session.execute(
            sa.select(T)
            .where(T.c.community_id == community_id, T.c.id == transfer_id)
            .with_for_update()
        ).first()
        return None if row is None else _transfer(row)

    def save(self, transfer: Transfer) -> None:
        """Store a transfer's new state."""
        self.session.execute(
            sa.update(T)
            .where(T.c.community_id == transfer.community_id, T.c.id == transfer.id)
            .values(
                state=transfer.state.value,
                reason=transfer.reason[:300],
                settled_at=transfer.settled_at,
            )
        )

    def of_resident(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Transfer]:
        """A resident's transfers, sent and received, newest first."""
        rows = self.session.execute(
            sa.select(T)
            .where(T.c.community_id == community_id, T.c.resident_id == resident_id)
            .order_by(T.c.created_at.desc(), T.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_transfer(r) for r in rows]

    def pending(self, limit: int) -> list[tuple[str, str]]:
        """(community, id) of sent transfers still pending, oldest first."""
        rows = self.session.execute(
            sa.select(T.c.community_id, T.c.id)
            .where(T.c.state == TransferState.PENDING.value)
            .order_by(T.c.deadline)
            .limit(limit)
        )
        return [(r.community_id, r.id) for r in rows]

    def settled(
        self, community_id: str, peer: str, since: datetime, until: datetime
    ) -> list[Transfer]:
        """Transfers with a peer settled in [since, until)."""
        rows = self.session.execute(
            sa.select(T).where(
                T.c.community_id == community_id,
                T.c.peer == peer,
                T.c.settled_at >= since,
                T.c.settled_at < until,
            )
        )
        return [_transfer(r) for r in rows]

    def pending_to(self, community_id: str, peer: str) -> tuple[int, datetime | None]:
        """How many transfers to a peer are pending, and when the oldest was made."""
        row = self.session.execute(
            sa.select(sa.func.count(), sa.func.min(T.c.created_at)).where(
                T.c.community_id == community_id,
                T.c.peer == peer,
                T.c.state == TransferState.PENDING.value,
            )
        ).one()
        oldest = row[1]
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return int(row[0]), oldest

    def moved(self, community_id: str, peer: str) -> tuple[int, str]:
        """How many transfers with a peer moved the clearing account, and the greatest id."""
        row = self.session.execute(
            sa.select(sa.func.count(), sa.func.max(T.c.id)).where(
                T.c.community_id == community_id, T.c.peer == peer, T.c.state.in_(MOVED)
            )
        ).one()
        return int(row[0]), row[1] or ""

    def registered(self, community_id: str, resident_id: str) -> bool:
        """Whether identity announced the resident in the community (ResidentRegistered)."""
        found = self.session.execute(
            sa.select(resident_units.c.resident_id).where(
                resident_units.c.community_id == community_id,
                resident_units.c.resident_id == resident_id,
            )
        ).first()
        return found is not None

    def chain_head(self, community_id: str) -> tuple[int, str]:
        """The community's chain position and hash now."""
        row = self.session.execute(
            sa.select(chain_heads.c.seq, chain_heads.c.hash).where(
                chain_heads.c.community_id == community_id
            )
        ).first()
        return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


class SqlTimeBankUnitOfWork(SqlPointsUnitOfWork, TimeBankUnitOfWork):
    """The points unit of work with the transfers on the same session."""

    transfers: SqlTransfers

    def open_repositories(self, session: Session) -> None:
        """Create the repositories on the session."""
        super().open_repositories(session)
        self.transfers = SqlTransfers(session)


ANSWERS = {
    pb.EXCHANGE_STATUS_UNKNOWN: PeerAnswer.UNKNOWN,
    pb.EXCHANGE_STATUS_ACCEPTED: PeerAnswer.ACCEPTED,
    pb.EXCHANGE_STATUS_REFUSED: PeerAnswer.REFUSED,
    pb.EXCHANGE_STATUS_ABORTED: PeerAnswer.ABORTED,
}


class GrpcExchange(Exchange):
    """The peers' ExchangeService over mutual TLS: our certificate, each peer's own CA; the
    sender's person key from identity here goes with every offer."""

    def __init__(
        self,
        community_id: str,
        tls: auth.TlsFiles,
        peer_cas: Mapping[str, bytes],
        people: People,
        timeout: float = 5.0,
    ) -> None:
        self.community_id, self.timeout, self.people = community_id, timeout, people
        self._tls, self._cas = tls, peer_cas
        self._stubs: dict[str, pb_grpc.ExchangeServiceStub] = {}
        self._channels: list[grpc.Channel] = []

    def _stub(self, peer: Peer) -> pb_grpc.ExchangeServiceStub:
        if peer.id not in self._stubs:
            files = auth.TlsFiles(self._tls.key_pem, self._tls.cert_pem, self._cas[peer.id])
            channel = auth.channel(peer.address, files)
            self._channels.append(channel)
            self._stubs[peer.id] = pb_grpc.ExchangeServiceStub(channel)
        return self._stubs[peer.id]

    def _call(self, peer: Peer, method: str, request: Any, timeout: float) -> Any:
        try:
            return getattr(self._stub(peer), method)(request, timeout=max(timeout, 0.05))
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            raise Unavailable(f"peer {peer.id} {method}: {code}") from exc

    def accept(self, peer: Peer, transfer: Transfer, timeout: float) -> tuple[PeerAnswer, str]:
        """Ask the peer to accept a transfer: its decision and reason."""
        sender_key = self.people.person_key(self.community_id, transfer.resident_id)
        request = pb.AcceptTransferRequest(
            transfer_id=transfer.id,
            sender=RESIDENT.format(community=self.community_id, resident=transfer.resident_id),
            recipient=RESIDENT.format(community=peer.id, resident=transfer.counterpart),
            amount_centipoints=transfer.amount,
            memo=transfer.memo,
            create_time=timestamp(transfer.created_at),
            deadline_time=timestamp(transfer.deadline),
            request_id=f"accept-{transfer.id}",
            sender_person_key=sender_key,
        )
        reply = self._call(peer, "AcceptTransfer", request, min(timeout, self.timeout))
        return ANSWERS[reply.status], reply.reason

    def abort(self, peer: Peer, transfer_id: str, reason: str) -> PeerAnswer:
        """Ask the peer never to accept a transfer: ABORTED, or ACCEPTED if it did already."""
        request = pb.AbortTransferRequest(
            transfer_id=transfer_id, reason=reason, request_id=f"abort-{transfer_id}"
        )
        return ANSWERS[self._call(peer, "AbortTransfer", request, self.timeout).status]

    def exchange_statements(self, peer: Peer, statement: str) -> str:
        """Send our signed statement about the peer; the peer's about us."""
        request = pb.ExchangeStatementsRequest(statement=statement)
        return str(self._call(peer, "ExchangeStatements", request, self.timeout).statement)

    def close(self) -> None:
        """Close the channels to the peers."""
        for channel in self._channels:
            channel.close()


def _payload(statement: Statement) -> dict[str, Any]:
    return {
        "issuer": statement.issuer,
        "about": statement.about,
        "clearing": statement.clearing,
        "transfers": statement.transfers,
        "last_transfer_id": statement.last_transfer_id,
        "pending": statement.pending,
        "chain_seq": statement.chain_seq,
        "chain_head": statement.chain_head,
        "at": statement.at.isoformat(),
    }


def _statement(payload: Mapping[str, Any]) -> Statement:
    try:
        return Statement(
            issuer=str(payload["issuer"]),
            about=str(payload["about"]),
            clearing=int(payload["clearing"]),
            transfers=int(payload["transfers"]),
            last_transfer_id=str(payload["last_transfer_id"]),
            pending=int(payload["pending"]),
            chain_seq=int(payload["chain_seq"]),
            chain_head=str(payload["chain_head"]),
            at=datetime.fromisoformat(str(payload["at"])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"a malformed statement: {exc}") from None


class PasetoStatements(Statements):
    """Statements as PASETO v4.public tokens: ours signed by our ring, the peers' checked
    against the public keys (PASERK) configured for each."""

    def __init__(self, keyring: PasetoKeyring, peer_keys: Mapping[str, str]) -> None:
        self.keyring = keyring
        self._keys = {peer: pyseto.Key.from_paserk(paserk) for peer, paserk in peer_keys.items()}

    def sign(self, statement: Statement) -> str:
        """The signed statement."""
        return self.keyring.sign(_payload(statement))

    def read(self, peer: str, token: str) -> Statement:
        """A statement signed by the peer's configured key; InvalidArgument otherwise."""
        key = self._keys.get(peer)
        if key is None:
            raise InvalidArgument(f"no statement key is configured for {peer}")
        try:
            decoded = pyseto.decode(key, token)
            payload = json.loads(cast(bytes, decoded.payload))
        except (ValueError, TypeError, pyseto.PysetoError):
            raise InvalidArgument(f"the statement is not signed by {peer}'s key") from None
        if not isinstance(payload, dict):
            raise InvalidArgument(f"the statement is not signed by {peer}'s key")
        return _statement(payload)
