"""Time-bank use cases (E4): send, accept or refuse, commit or void, recover, reconcile, settle.

The sender's side runs in three steps, each its own unit of work or call: hold and record the
pending transfer (idempotent by request id), ask the peer (idempotent by transfer id), commit
or void on its answer. A crash between any two leaves a pending transfer that `recover` drives
to an end: it asks the peer again before the deadline, aborts it there after. The steps that
post (hold, commit or void; the peer's accept and abort) are work for the community's writer
(`submit`: its group commit); without one each runs in a unit of work of its own.
"""

from __future__ import annotations

import abc
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_kit.domain import Clock, Inbox, Repository, utc_now
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_points.domain import timebank
from linli_points.domain.periods import SHANGHAI
from linli_points.domain.timebank import (
    Direction,
    Offer,
    Peer,
    PeerAnswer,
    PeerSettlement,
    Statement,
    Transfer,
    TransferState,
)
from linli_points.service_layer.ports import BatchItem, PointsUnitOfWork
from linli_points.service_layer.writer import InOwnUnits, Submit

log = logging.getLogger(__name__)


class Transfers(Repository, abc.ABC):
    """Each community's side of its transfers."""

    @abc.abstractmethod
    def add(self, transfer: Transfer) -> None:
        """Store a new transfer."""

    @abc.abstractmethod
    def get(self, community_id: str, transfer_id: str) -> Transfer | None:
        """One transfer, locked for update, or None."""

    @abc.abstractmethod
    def save(self, transfer: Transfer) -> None:
        """Store a transfer's new state."""

    @abc.abstractmethod
    def of_resident(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Transfer]:
        """A resident's transfers, sent and received, newest first."""

    @abc.abstractmethod
    def pending(self, limit: int) -> list[tuple[str, str]]:
        """(community, id) of sent transfers still pending, oldest first."""

    @abc.abstractmethod
    def settled(
        self, community_id: str, peer: str, since: datetime, until: datetime
    ) -> list[Transfer]:
        """Transfers with a peer settled in [since, until)."""

    @abc.abstractmethod
    def pending_to(self, community_id: str, peer: str) -> tuple[int, datetime | None]:
        """How many transfers to a peer are pending, and when the oldest was made."""

    @abc.abstractmethod
    def moved(self, community_id: str, peer: str) -> tuple[int, str]:
        """How many transfers with a peer moved the clearing account, and the greatest id."""

    @abc.abstractmethod
    def registered(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered in the community (known from identity.events)."""

    @abc.abstractmethod
    def chain_head(self, community_id: str) -> tuple[int, str]:
        """The community's chain position and hash now."""


class TimeBankUnitOfWork(PointsUnitOfWork, abc.ABC):
    """The points unit of work with the transfers beside the ledger."""

    transfers: Transfers

    def item(self, inbox: Inbox | None = None) -> TimeBankUnitOfWork:
        """One item's view of this unit of work, the transfers too."""
        return TimeBankItem(self, inbox)


class TimeBankItem(BatchItem, TimeBankUnitOfWork):
    """One item of a batch, with the batch's transfers."""

    def __init__(self, batch: TimeBankUnitOfWork, inbox: Inbox | None = None) -> None:
        super().__init__(batch, inbox)
        self.transfers = batch.transfers


class Exchange(abc.ABC):
    """The peers' exchange services, over mutual TLS; Unavailable when a peer does not answer."""

    @abc.abstractmethod
    def accept(self, peer: Peer, transfer: Transfer, timeout: float) -> tuple[PeerAnswer, str]:
        """Ask the peer to accept a transfer: its decision and reason."""

    @abc.abstractmethod
    def abort(self, peer: Peer, transfer_id: str, reason: str) -> PeerAnswer:
        """Ask the peer never to accept a transfer: ABORTED, or ACCEPTED if it did already."""

    @abc.abstractmethod
    def exchange_statements(self, peer: Peer, statement: str) -> str:
        """Send our signed statement about the peer; the peer's about us."""


class Statements(abc.ABC):
    """Signs this community's statements and reads the peers' (Ed25519)."""

    @abc.abstractmethod
    def sign(self, statement: Statement) -> str:
        """The signed statement."""

    @abc.abstractmethod
    def read(self, peer: str, token: str) -> Statement:
        """A statement signed by the peer's key; InvalidArgument otherwise."""


@dataclass(frozen=True)
class Federation:
    """This community's place in the time bank: who it is, its peers, how long a peer has."""

    community_id: str
    peers: Mapping[str, Peer]
    timeout: timedelta = timedelta(seconds=30)

    def peer(self, peer_id: str) -> Peer:
        """A configured peer; NotFound for any other community."""
        found = self.peers.get(peer_id)
        if found is None:
            raise NotFound(f"communities/{peer_id} is not a peer of {self.community_id}")
        return found


@dataclass(frozen=True)
class SendTransfer:
    """A resident sends points to a resident of a peer community."""

    actor: Principal
    request_id: str
    community_id: str
    resident_id: str
    peer: str
    recipient_id: str
    amount: int
    memo: str


def _transfer(uow: TimeBankUnitOfWork, community_id: str, transfer_id: str) -> Transfer:
    found = uow.transfers.get(community_id, transfer_id)
    if found is None:
        raise NotFound(f"no transfer {transfer_id} in {community_id}")
    return found


def _reload(uow: TimeBankUnitOfWork, cmd: SendTransfer, reference: str) -> Transfer:
    return _transfer(uow, cmd.community_id, reference)


@idempotent(_reload)
def open_transfer(
    cmd: SendTransfer, uow: TimeBankUnitOfWork, federation: Federation, clock: Clock = utc_now
) -> Transfer:
    """Hold the sender's points and record the pending transfer (the first step, once)."""
    timebank.require_sender(cmd.actor, cmd.community_id, cmd.resident_id)
    peer = federation.peer(cmd.peer)
    now = clock()
    transfer = timebank.send(
        community_id=cmd.community_id,
        peer=peer,
        sender_id=cmd.resident_id,
        recipient_id=cmd.recipient_id,
        amount=cmd.amount,
        memo=cmd.memo,
        at=now,
        deadline=now + federation.timeout,
        request_id=cmd.request_id,
    )
    uow.ledger.post(transfer.hold())
    uow.transfers.add(transfer)
    return transfer


UowFactory = Callable[[], TimeBankUnitOfWork]


def settle_transfer(
    community_id: str,
    transfer_id: str,
    answer: PeerAnswer,
    why: str,
    clock: Clock,
    uow: TimeBankUnitOfWork,
) -> Transfer:
    """Commit or void a pending transfer on the peer's answer, once (a settled one is kept)."""
    with uow:
        transfer = _transfer(uow, community_id, transfer_id)
        if transfer.final:
            return transfer
        transaction = transfer.settle(answer, clock(), why)
        if transaction is None:
            return transfer
        uow.ledger.post(transaction)
        uow.transfers.save(transfer)
        uow.commit()
    return transfer


def drive(
    uow_factory: UowFactory,
    exchange: Exchange,
    federation: Federation,
    community_id: str,
    transfer_id: str,
    clock: Clock = utc_now,
    submit: Submit[TimeBankUnitOfWork] | None = None,
) -> Transfer:
    """Take a pending transfer one step on: ask the peer (before the deadline) or abort it
    there (after), then commit or void; still pending while the peer does not answer."""
    with uow_factory() as uow:
        transfer = _transfer(uow, community_id, transfer_id)
    if transfer.final:
        return transfer
    peer = federation.peer(transfer.peer)
    left = (transfer.deadline - clock()).total_seconds()
    try:
        if left > 0:
            answer, why = exchange.accept(peer, transfer, left)
        else:
            answer, why = exchange.abort(peer, transfer.id, "timed out"), "timed out"
    except Unavailable as exc:
        log.info("transfer %s stays pending: %s", transfer.id, exc)
        return transfer
    settling = functools.partial(settle_transfer, community_id, transfer_id, answer, why, clock)
    return (submit or InOwnUnits(uow_factory))(community_id, settling).result()


def send_transfer(
    cmd: SendTransfer,
    uow_factory: UowFactory,
    exchange: Exchange,
    federation: Federation,
    clock: Clock = utc_now,
    submit: Submit[TimeBankUnitOfWork] | None = None,
) -> Transfer:
    """Send points: hold them, ask the peer, settle; a retry picks up where the first left."""
    write = submit or InOwnUnits(uow_factory)
    holding = functools.partial(open_transfer, cmd, federation=federation, clock=clock)
    transfer = write(cmd.community_id, holding).result()
    return drive(uow_factory, exchange, federation, cmd.community_id, transfer.id, clock, write)


def recover(
    uow_factory: UowFactory,
    exchange: Exchange,
    federation: Federation,
    now: datetime,
    limit: int = 100,
    submit: Submit[TimeBankUnitOfWork] | None = None,
) -> int:
    """Drive every pending transfer one step on (after a crash, a lost answer, a timeout);
    returns how many it settled. Harmless on several replicas: each settles once, locked."""
    with uow_factory() as uow:
        due = uow.transfers.pending(limit)
    settled = 0
    for community_id, transfer_id in due:
        if community_id != federation.community_id:
            continue
        done = drive(
            uow_factory, exchange, federation, community_id, transfer_id, lambda: now, submit
        )
        settled += done.final
    return settled


# ---- the peer's side -------------------------------------------------------------------


def _offered_by(transfer: Transfer, peer: Peer) -> bool:
    return transfer.direction is Direction.RECEIVED and transfer.peer == peer.id


def accept_offer(
    offer: Offer, uow: TimeBankUnitOfWork, federation: Federation, clock: Clock = utc_now
) -> Transfer:
    """Decide a peer's offer once: credit the recipient or refuse; a repeat gets the decision."""
    peer = federation.peer(offer.peer)
    community_id = federation.community_id
    with uow:
        uow.ledger.fence(community_id)  # one decision at a time: a repeat waits, then reads it
        found = uow.transfers.get(community_id, offer.transfer_id)
        if found is not None:
            if not _offered_by(found, peer):
                raise FailedPrecondition(f"transfer {offer.transfer_id} is not {peer.id}'s")
            if found.state is not TransferState.ABORTED and not offer.same_as(found):
                raise FailedPrecondition(
                    f"transfer {offer.transfer_id} was offered before with other arguments"
                )
            return found
        transfer, transaction = timebank.receive(
            offer,
            community_id=community_id,
            peer=peer,
            registered=uow.transfers.registered(community_id, offer.recipient_id),
            clearing_balance=uow.ledger.balance(peer.clearing(community_id)),
            at=clock(),
        )
        if transaction is not None:
            uow.ledger.post(transaction)
        uow.transfers.add(transfer)
        uow.commit()
    return transfer


def abort_offer(
    peer_id: str,
    transfer_id: str,
    reason: str,
    uow: TimeBankUnitOfWork,
    federation: Federation,
    clock: Clock = utc_now,
) -> Transfer:
    """Never accept a transfer its sender gave up on; if accepted already, say so."""
    peer = federation.peer(peer_id)
    community_id = federation.community_id
    with uow:
        uow.ledger.fence(community_id)
        found = uow.transfers.get(community_id, transfer_id)
        if found is not None:
            if not _offered_by(found, peer):
                raise FailedPrecondition(f"transfer {transfer_id} is not {peer.id}'s")
            return found
        tombstone = timebank.aborted(
            transfer_id, community_id=community_id, peer=peer.id, at=clock(), reason=reason
        )
        uow.transfers.add(tombstone)
        uow.commit()
    return tombstone


def offer_status(
    peer_id: str, transfer_id: str, uow: TimeBankUnitOfWork, federation: Federation
) -> Transfer | None:
    """This community's decision about a peer's transfer, or None if it never heard of it."""
    peer = federation.peer(peer_id)
    with uow:
        found = uow.transfers.get(federation.community_id, transfer_id)
    return found if found is not None and _offered_by(found, peer) else None


# ---- reads, reconciliation and settlement ----------------------------------------------


def get_transfer(
    actor: Principal, community_id: str, transfer_id: str, uow: TimeBankUnitOfWork
) -> Transfer:
    """One transfer and its state, for the resident here or the community's staff."""
    with uow:
        transfer = _transfer(uow, community_id, transfer_id)
    if transfer.state is TransferState.ABORTED:  # a tombstone is nobody's transfer
        raise NotFound(f"no transfer {transfer_id} in {community_id}")
    timebank.require_transfer_reader(actor, community_id, transfer.resident_id)
    return transfer


def list_transfers(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: TimeBankUnitOfWork,
) -> tuple[list[Transfer], bool]:
    """A resident's transfers, newest first, and whether more follow."""
    timebank.require_transfer_reader(actor, community_id, resident_id)
    with uow:
        found = uow.transfers.of_resident(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def statement_about(uow: TimeBankUnitOfWork, federation: Federation, peer: Peer) -> Statement:
    """What this community's books say about a peer now."""
    community_id = federation.community_id
    with uow:
        uow.ledger.snapshot()
        count, last = uow.transfers.moved(community_id, peer.id)
        pending, _ = uow.transfers.pending_to(community_id, peer.id)
        seq, head = uow.transfers.chain_head(community_id)
        clearing = uow.ledger.balance(peer.clearing(community_id))
    return Statement(
        issuer=community_id,
        about=peer.id,
        clearing=clearing,
        transfers=count,
        last_transfer_id=last,
        pending=pending,
        chain_seq=seq,
        chain_head=head,
        at=utc_now(),
    )


def answer_statement(
    peer_id: str,
    token: str,
    uow: TimeBankUnitOfWork,
    federation: Federation,
    statements: Statements,
) -> tuple[str, list[str]]:
    """A peer's statement read and compared: our signed statement about it, and mismatches."""
    peer = federation.peer(peer_id)
    theirs = statements.read(peer.id, token)
    if theirs.issuer != peer.id or theirs.about != federation.community_id:
        raise InvalidArgument("the statement is not the caller's about this community")
    mine = statement_about(uow, federation, peer)
    found = timebank.mismatches(mine, theirs, peer)
    for problem in found:
        log.error("time bank %s/%s does not reconcile: %s", mine.issuer, peer.id, problem)
    return statements.sign(mine), found


@dataclass(frozen=True)
class Reconciliation:
    """One exchange of statements with a peer: what disagreed, and if it could be compared."""

    peer: str
    mismatches: tuple[str, ...]
    compared: bool  # False while a transfer is in flight on either side, or the peer is away
    mine: Statement | None = None
    theirs: Statement | None = None


def reconcile(
    uow_factory: UowFactory,
    exchange: Exchange,
    federation: Federation,
    statements: Statements,
) -> list[Reconciliation]:
    """Exchange signed statements with every peer and compare them."""
    results = []
    for peer in federation.peers.values():
        mine = statement_about(uow_factory(), federation, peer)
        try:
            theirs = statements.read(
                peer.id, exchange.exchange_statements(peer, statements.sign(mine))
            )
        except (Unavailable, InvalidArgument) as exc:
            log.warning("no statement from %s: %s", peer.id, exc)
            results.append(Reconciliation(peer.id, (), False, mine))
            continue
        found = tuple(timebank.mismatches(mine, theirs, peer))
        for problem in found:
            log.error("time bank %s/%s does not reconcile: %s", mine.issuer, peer.id, problem)
        compared = not (mine.pending or theirs.pending)
        results.append(Reconciliation(peer.id, found, compared, mine, theirs))
    return results


def settlement_report(
    actor: Principal,
    community_id: str,
    year: int,
    month: int,
    uow: TimeBankUnitOfWork,
    federation: Federation,
) -> list[PeerSettlement]:
    """Per peer, the month's transfers settled and who owes whom, net."""
    timebank.require_settlement_reader(actor, community_id)
    if community_id != federation.community_id:
        raise NotFound(f"communities/{community_id} is not in the time bank here")
    if not (2000 <= year <= 3000 and 1 <= month <= 12):
        raise InvalidArgument("year and month name a calendar month")
    since = datetime(year, month, 1, tzinfo=SHANGHAI)
    until = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI)
    report = []
    with uow:
        for peer in federation.peers.values():
            pending, _ = uow.transfers.pending_to(community_id, peer.id)
            report.append(
                timebank.settlement(
                    peer,
                    uow.transfers.settled(community_id, peer.id, since, until),
                    uow.ledger.balance(peer.clearing(community_id)),
                    pending,
                )
            )
    return report


@dataclass(frozen=True)
class PeerGauge:
    """What the metrics show for a peer: pending transfers, the oldest's age, the clearing."""

    peer: str
    pending: int
    oldest_seconds: float
    clearing: int
    credit_limit: int


def gauges(uow: TimeBankUnitOfWork, federation: Federation, now: datetime) -> list[PeerGauge]:
    """The time bank's state per peer, for the metrics."""
    community_id, found = federation.community_id, []
    with uow:
        for peer in federation.peers.values():
            pending, oldest = uow.transfers.pending_to(community_id, peer.id)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            clearing = uow.ledger.balance(peer.clearing(community_id))
            found.append(PeerGauge(peer.id, pending, age, clearing, peer.credit_limit))
    return found
