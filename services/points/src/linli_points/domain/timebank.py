"""The time bank across communities (E4, ARCHITECTURE §3): points move, never appear or vanish.

- Each community keeps a clearing (mirror) account for every peer, `system-clearing-<peer>`,
  with a credit limit agreed per pair: the exposure it accepts to that peer.
- A → B: A holds the sender's points (yearly → reserved) and records a pending transfer under a
  global transfer id. B accepts (credits its resident, debits its clearing account for A) or
  refuses: the recipient is not registered in B, or is neither the sender themself (the same
  person key, identity's HMAC of the phone number) nor has the sender as a confirmed relative
  (identity's answer, `Recipient`), the clearing account would pass its limit, the transfer's
  deadline passed, or A aborted it first. A then commits (reserved → its
  clearing account for B) or voids (reserved → yearly). Each step happens once per transfer id.
- A pending transfer whose deadline passed is aborted at B before A voids it: B then never
  accepts it, and if B had accepted already A commits instead. Nothing is decided on a guess.
- A positive clearing balance in A for B is what A owes B (B's residents hold points A's
  residents earned); B's clearing account for A shows the same debt negated (at the pair's rate).
- Expiry (P4) applies where the points are: a transfer made in year Y lands as year-Y points;
  accepted after Y ended in B, or voided after Y ended in A, its points go to expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from linli_kit.domain import new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from linli_kit.principals import (
    SYSTEM,
    Principal,
    Role,
    require_community,
    require_self_or_staff,
)
from linli_points.domain.ledger import (
    EXPIRY,
    SYSTEM_PREFIX,
    Account,
    Kind,
    LedgerTransaction,
    Posting,
    Purpose,
)
from linli_points.domain.periods import policy_year
from linli_points.domain.rules import format_points

HOLD_RULE, COMMIT_RULE, VOID_RULE, ACCEPT_RULE = "e4.hold", "e4.commit", "e4.void", "e4.accept"
# How far the two communities' clocks may disagree, and the longest a peer may take to decide.
MAX_SKEW = timedelta(minutes=5)
MAX_WINDOW = timedelta(days=1)


def clearing_holder(peer: str) -> str:
    """The holder of a community's clearing (mirror) account for a peer."""
    return f"{SYSTEM_PREFIX}clearing-{peer}"


@dataclass(frozen=True)
class Peer:
    """A peer community as configured: where it is, the credit it gets here, the rate."""

    id: str
    address: str = ""
    # The lowest the clearing account for the peer may go (as -credit_limit), in hundredths.
    credit_limit: int = 0
    # One point of the peer is worth numerator/denominator points here (1:1 by default).
    rate_numerator: int = 1
    rate_denominator: int = 1

    def __post_init__(self) -> None:
        if self.credit_limit < 0 or self.rate_numerator <= 0 or self.rate_denominator <= 0:
            raise InvalidArgument(f"peer {self.id}: limit >= 0 and a positive rate")

    def converted(self, amount: int) -> int:
        """The peer's amount in hundredths here; refused unless it converts exactly."""
        whole, rest = divmod(amount * self.rate_numerator, self.rate_denominator)
        if rest:
            raise InvalidArgument(f"{amount} hundredths do not convert exactly at the pair's rate")
        return whole

    def clearing(self, community_id: str) -> Account:
        """This community's clearing account for the peer."""
        return Account(community_id, clearing_holder(self.id), Purpose.YEARLY)


class TransferState(StrEnum):
    """Sent: pending until committed or voided. Received: accepted, refused or aborted."""

    PENDING = "pending"
    COMMITTED = "committed"
    VOIDED = "voided"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    ABORTED = "aborted"


class Direction(StrEnum):
    """Whether this community sent the transfer or received it."""

    SENT = "sent"
    RECEIVED = "received"


class PeerAnswer(StrEnum):
    """The peer's decision about a transfer, or that it never heard of it."""

    UNKNOWN = "unknown"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    ABORTED = "aborted"


@dataclass(kw_only=True, eq=False)
class Transfer:
    """One community's side of a transfer: the resident here, the one there, what happened.

    It raises no events of its own (its transactions raise theirs), so it is no aggregate.
    """

    id: str
    community_id: str
    direction: Direction
    peer: str
    resident_id: str  # the sender (sent) or the recipient (received), a resident here
    counterpart: str  # the other resident, in the peer community
    amount: int  # in the sending community's hundredths
    credited: int  # what moves here: the amount (sent) or its conversion (received)
    memo: str
    created_at: datetime  # when the sender made it (its policy year is the points' year)
    deadline: datetime
    state: TransferState
    reason: str = ""
    settled_at: datetime | None = None
    request_id: str = ""

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the transfer here."""
        return self.state is not TransferState.PENDING

    @property
    def moved_clearing(self) -> bool:
        """Whether the transfer moved the clearing account (committed here or accepted here)."""
        return self.state in (TransferState.COMMITTED, TransferState.ACCEPTED)

    def _transaction(
        self, rule: str, kind: Kind, moves: list[tuple[str, Purpose, int]], at: datetime, why: str
    ) -> LedgerTransaction:
        return LedgerTransaction(
            id=new_id("t"),
            community_id=self.community_id,
            source_id=self.id,
            rule_id=rule,
            reason=f"{why} {format_points(self.credited)} ({self.memo})",
            postings=tuple(
                Posting(Account(self.community_id, holder, purpose), amount)
                for holder, purpose, amount in moves
            ),
            created_at=at,
            kind=kind,
            resident_id=self.resident_id,
        )

    def hold(self) -> LedgerTransaction:
        """Hold the sender's points while the peer decides."""
        return self._transaction(
            HOLD_RULE,
            Kind.RESERVE,
            [
                (self.resident_id, Purpose.YEARLY, -self.amount),
                (self.resident_id, Purpose.RESERVED, self.amount),
            ],
            self.created_at,
            f"held for {self.counterpart} in {self.peer}:",
        )

    def _settle(self, state: TransferState, at: datetime, reason: str) -> None:
        if self.direction is not Direction.SENT or self.state is not TransferState.PENDING:
            raise FailedPrecondition(f"transfer {self.id} is already {self.state}")
        self.state, self.settled_at, self.reason = state, at, reason

    def commit(self, at: datetime) -> LedgerTransaction:
        """The peer accepted: the held points go to the clearing account for the peer."""
        self._settle(TransferState.COMMITTED, at, "")
        return self._transaction(
            COMMIT_RULE,
            Kind.COMMIT,
            [
                (self.resident_id, Purpose.RESERVED, -self.amount),
                (clearing_holder(self.peer), Purpose.YEARLY, self.amount),
            ],
            at,
            f"sent to {self.counterpart} in {self.peer}:",
        )

    def void(self, at: datetime, reason: str) -> LedgerTransaction:
        """The peer refused or never will accept: the points go back (or expire, P4)."""
        self._settle(TransferState.VOIDED, at, reason)
        back = (
            (self.resident_id, Purpose.YEARLY)
            if policy_year(at) == policy_year(self.created_at)
            else (EXPIRY, Purpose.YEARLY)
        )
        return self._transaction(
            VOID_RULE,
            Kind.VOID,
            [(self.resident_id, Purpose.RESERVED, -self.amount), (*back, self.amount)],
            at,
            f"returned ({reason}):",
        )

    def settle(self, answer: PeerAnswer, at: datetime, why: str = "") -> LedgerTransaction | None:
        """Commit or void on the peer's final answer; None while it has not decided."""
        if answer is PeerAnswer.ACCEPTED:
            return self.commit(at)
        if answer in (PeerAnswer.REFUSED, PeerAnswer.ABORTED):
            return self.void(at, f"{answer} by {self.peer}" + (f": {why}" if why else ""))
        return None


def send(
    *,
    community_id: str,
    peer: Peer,
    sender_id: str,
    recipient_id: str,
    amount: int,
    memo: str,
    at: datetime,
    deadline: datetime,
    request_id: str = "",
) -> Transfer:
    """A new pending transfer of a positive amount to a resident of a peer."""
    if type(amount) is not int or amount <= 0:
        raise InvalidArgument("a transfer moves a positive whole number of hundredths")
    if peer.id == community_id:
        raise InvalidArgument("a transfer goes to another community")
    return Transfer(
        id=new_id("x"),
        community_id=community_id,
        direction=Direction.SENT,
        peer=peer.id,
        resident_id=sender_id,
        counterpart=recipient_id,
        amount=amount,
        credited=amount,
        memo=memo,
        created_at=at,
        deadline=deadline,
        state=TransferState.PENDING,
        request_id=request_id,
    )


class Recipient(StrEnum):
    """What the recipient here is to the sender there, as identity here answers; UNCHECKED
    until it was asked (and refused as such: nothing is accepted on a guess)."""

    UNCHECKED = "unchecked"
    SELF = "self"
    RELATIVE = "relative"
    NOT_RELATED = "not_related"


@dataclass(frozen=True)
class Offer:
    """What a peer asks this community to accept, and what identity here said of it."""

    transfer_id: str
    peer: str
    sender_id: str
    recipient_id: str
    amount: int
    memo: str
    created_at: datetime
    deadline: datetime
    sender_key: str = ""  # the sender's person key, as the peer's identity derived it
    recipient: Recipient = Recipient.UNCHECKED

    def same_as(self, transfer: Transfer) -> bool:
        """Whether a recorded transfer is this very offer (a repeat), not another one."""
        return (
            transfer.direction is Direction.RECEIVED
            and (transfer.peer, transfer.counterpart, transfer.resident_id)
            == (self.peer, self.sender_id, self.recipient_id)
            and (transfer.amount, transfer.memo) == (self.amount, self.memo)
            and (transfer.created_at, transfer.deadline) == (self.created_at, self.deadline)
        )


def receive(
    offer: Offer,
    *,
    community_id: str,
    peer: Peer,
    registered: bool,
    clearing_balance: int,
    at: datetime,
) -> tuple[Transfer, LedgerTransaction | None]:
    """Decide an offer once: accepted (with its transaction) or refused with the reason."""
    if offer.created_at > at + MAX_SKEW or not (
        offer.created_at < offer.deadline <= offer.created_at + MAX_WINDOW
    ):
        raise InvalidArgument("a transfer is made now and decided within a day of it")
    credited = peer.converted(offer.amount)
    transfer = Transfer(
        id=offer.transfer_id,
        community_id=community_id,
        direction=Direction.RECEIVED,
        peer=peer.id,
        resident_id=offer.recipient_id,
        counterpart=offer.sender_id,
        amount=offer.amount,
        credited=credited,
        memo=offer.memo,
        created_at=offer.created_at,
        deadline=offer.deadline,
        state=TransferState.REFUSED,
        settled_at=at,
    )
    if not registered:
        transfer.reason = f"{offer.recipient_id} is not a resident of {community_id}"
    elif offer.recipient not in (Recipient.SELF, Recipient.RELATIVE):
        transfer.reason = (
            f"{offer.recipient_id} is neither the sender themself nor a confirmed relative"
            + (" (not checked)" if offer.recipient is Recipient.UNCHECKED else "")
        )
    elif at >= offer.deadline:
        transfer.reason = "the transfer's deadline passed"
    elif clearing_balance - credited < -peer.credit_limit:
        transfer.reason = (
            f"the credit limit for {peer.id} ({format_points(peer.credit_limit)}) would be passed"
        )
    if transfer.reason:
        return transfer, None
    transfer.state = TransferState.ACCEPTED
    # Points of a year that has ended here by now expire at once: they are that year's (P4).
    lands = (
        (offer.recipient_id, Purpose.YEARLY)
        if policy_year(at) == policy_year(offer.created_at)
        else (EXPIRY, Purpose.YEARLY)
    )
    return transfer, transfer._transaction(
        ACCEPT_RULE,
        Kind.TRANSFER,
        [(clearing_holder(peer.id), Purpose.YEARLY, -credited), (*lands, credited)],
        at,
        f"received from {offer.sender_id} in {peer.id}:",
    )


def aborted(offer_id: str, *, community_id: str, peer: str, at: datetime, reason: str) -> Transfer:
    """The tombstone of a transfer its sender gave up on before this community decided."""
    return Transfer(
        id=offer_id,
        community_id=community_id,
        direction=Direction.RECEIVED,
        peer=peer,
        resident_id="",
        counterpart="",
        amount=0,
        credited=0,
        memo="",
        created_at=at,
        deadline=at,
        state=TransferState.ABORTED,
        reason=reason,
        settled_at=at,
    )


def answer_of(transfer: Transfer | None) -> PeerAnswer:
    """What this community answers a peer asking about one of its transfers."""
    if transfer is None:
        return PeerAnswer.UNKNOWN
    return {
        TransferState.ACCEPTED: PeerAnswer.ACCEPTED,
        TransferState.REFUSED: PeerAnswer.REFUSED,
        TransferState.ABORTED: PeerAnswer.ABORTED,
    }[transfer.state]


@dataclass(frozen=True)
class Statement:
    """What one community's books say about a peer, signed and sent to it."""

    issuer: str
    about: str
    clearing: int  # the issuer's clearing balance for `about`, in the issuer's hundredths
    transfers: int  # transfers between the two that moved the issuer's clearing account
    last_transfer_id: str  # the greatest id among them
    pending: int  # transfers the issuer sent to `about` that are still pending
    chain_seq: int
    chain_head: str
    at: datetime


def mismatches(mine: Statement, theirs: Statement, peer: Peer) -> list[str]:
    """Where two statements of a pair disagree; none while either has a transfer in flight."""
    if (theirs.issuer, theirs.about) != (mine.about, mine.issuer):
        return [f"the statement is by {theirs.issuer} about {theirs.about}, not this pair"]
    if mine.pending or theirs.pending:
        return []
    found = []
    if mine.clearing * peer.rate_denominator != -theirs.clearing * peer.rate_numerator:
        found.append(
            f"clearing: {mine.clearing} here for {peer.id}, {theirs.clearing} there for us"
        )
    if (mine.transfers, mine.last_transfer_id) != (theirs.transfers, theirs.last_transfer_id):
        found.append(
            f"transfers: {mine.transfers} up to {mine.last_transfer_id or '-'} here, "
            f"{theirs.transfers} up to {theirs.last_transfer_id or '-'} there"
        )
    return found


@dataclass(frozen=True)
class PeerSettlement:
    """A month between this community and one peer: sent, received, and who owes whom."""

    peer: str
    sent: int
    received: int
    clearing: int
    credit_limit: int
    pending: int

    @property
    def net(self) -> int:
        """Sent less received: positive, this community owes the peer; negative, the reverse."""
        return self.sent - self.received

    def summary(self, community_id: str) -> str:
        """One line: who owes whom for the month, net."""
        if self.net > 0:
            return f"{community_id} owes {self.peer} {format_points(self.net)}"
        if self.net < 0:
            return f"{self.peer} owes {community_id} {format_points(-self.net)}"
        return f"{community_id} and {self.peer} are even"


def settlement(
    peer: Peer, transfers: list[Transfer], clearing: int, pending: int
) -> PeerSettlement:
    """The settlement of a month with a peer from the transfers settled in it."""
    sent = sum(t.credited for t in transfers if t.state is TransferState.COMMITTED)
    received = sum(t.credited for t in transfers if t.state is TransferState.ACCEPTED)
    return PeerSettlement(peer.id, sent, received, clearing, peer.credit_limit, pending)


def require_sender(actor: Principal, community_id: str, resident_id: str) -> None:
    """A resident sends only their own points, and no one sends them for them."""
    require_community(actor, community_id)
    if not actor.is_resident(community_id, resident_id):
        raise PermissionDenied("a resident sends only their own points")


def require_transfer_reader(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident here (sender or recipient) or the community's staff."""
    require_self_or_staff(actor, community_id, resident_id)


def require_settlement_reader(actor: Principal, community_id: str) -> None:
    """The settlement report: the community's staff and committee members."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.is_staff or actor.has_role(Role.COMMITTEE_MEMBER)):
        raise PermissionDenied("only the community's staff and committee see the settlement")
