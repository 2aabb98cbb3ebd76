"""The time bank across a year end (P4, E4) on PostgreSQL: two communities in one database, the
peer's side reached in process (the network is the multi-process test's; here the clock is).

A transfer made on 31 December lands as points of that year wherever it ends: voided after the
year ended in the sender's community, its points expire there; accepted after the year ended in
the recipient's, they expire there; closes of the year run while transfers are pending. Points
are conserved across both communities throughout, and both ledgers verify.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from linli_kit.db import migrate, sql_plumbing
from linli_kit.errors import Unavailable
from linli_kit.principals import SYSTEM, Kind, Principal
from linli_points.adapters import events, orm
from linli_points.domain.ledger import EXPIRY, ISSUANCE, Account, Purpose, RuleKind
from linli_points.domain.periods import year_bounds
from linli_points.domain.rules import award
from linli_points.domain.timebank import (
    Offer,
    Peer,
    PeerAnswer,
    Recipient,
    Transfer,
    TransferState,
    answer_of,
)
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import closes, commands, queries, timebank
from linli_points.service_layer.timebank import Exchange, Federation
from linli_points.timebank_wiring import uow_factory

EAST, WEST = "tb-east", "tb-west"
YEAR = 2026
YEAR_END = year_bounds(YEAR)[1]  # 1 January 2027 00:00 Asia/Shanghai
TIMEOUT = timedelta(seconds=30)


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class InProcess(Exchange):
    """The peer's exchange reached in process; the transfers of residents in `cut` do not get
    through, and `lose` drops the next answer after the peer decided (its reply never arrives)."""

    def __init__(self, uows: timebank.UowFactory, peer: Federation, clock: Clock) -> None:
        self.uows, self.peer, self.clock = uows, peer, clock
        self.cut: set[str] = set()
        self.lose = False

    def _reachable(self, transfer_id: str) -> None:
        with self.uows() as uow:
            sender = uow.transfers.get(EAST, transfer_id)
        if sender is not None and sender.resident_id in self.cut:
            raise Unavailable("the peer cannot be reached")

    def _answered(self) -> None:
        if self.lose:
            self.lose = False
            raise Unavailable("the answer was lost")

    def accept(self, peer: Peer, transfer: Transfer, timeout: float) -> tuple[PeerAnswer, str]:
        self._reachable(transfer.id)
        offer = Offer(
            transfer.id,
            transfer.community_id,
            transfer.resident_id,
            transfer.counterpart,
            transfer.amount,
            transfer.memo,
            transfer.created_at,
            transfer.deadline,
            recipient=Recipient.SELF,  # identity's answer, not asked in this one-process test
        )
        decided = timebank.accept_offer(offer, self.uows(), self.peer, self.clock)
        self._answered()
        return answer_of(decided), decided.reason

    def abort(self, peer: Peer, transfer_id: str, reason: str) -> PeerAnswer:
        self._reachable(transfer_id)
        sender = next(iter(self.peer.peers))
        decided = timebank.abort_offer(
            sender, transfer_id, reason, self.uows(), self.peer, self.clock
        )
        return answer_of(decided)

    def exchange_statements(self, peer: Peer, statement: str) -> str:
        raise NotImplementedError("not exchanged in this test")


@pytest.fixture
def bank(make_database: Callable[[str], str]):
    """Both communities on one migrated database, east's residents with points of YEAR."""
    url = make_database("points")
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "points.events", events.encode)
    uows = uow_factory(plumbing)
    clock = Clock(YEAR_END - timedelta(seconds=10))
    east = Federation(EAST, {WEST: Peer(WEST, credit_limit=10_000)}, TIMEOUT)
    west = Federation(WEST, {EAST: Peer(EAST, credit_limit=10_000)}, TIMEOUT)
    with uows() as uow:
        for resident in ("r-ann", "r-bo", "r-cy"):
            uow.ledger.post(
                award(
                    community_id=EAST,
                    resident_id=resident,
                    amount=1_000,
                    rule_id="p1.hourly.regular",
                    source_id=f"seed-{resident}",
                    reason="10 h",
                    at=datetime(YEAR, 6, 1, tzinfo=UTC),
                    rule_kind=RuleKind.SERVICE,
                )
            )
        for resident in ("r-wu", "r-xi", "r-yu"):
            uow.directory.set_org_unit(WEST, resident, "grid-1/building-1")
        uow.commit()
    to_west = InProcess(uows, west, clock)
    yield uows, clock, east, to_west
    plumbing.engine.dispose()


def _send(uows, clock, east, exchange, sender: str, recipient: str, amount: int) -> Transfer:
    command = timebank.SendTransfer(
        actor=_person(sender),
        request_id=f"send-{sender}",
        community_id=EAST,
        resident_id=sender,
        peer=WEST,
        recipient_id=recipient,
        amount=amount,
        memo="年终",
    )
    return timebank.send_transfer(command, uows, exchange, east, clock)


def _person(resident: str) -> Principal:
    return Principal(Kind.PERSON, f"communities/{EAST}/residents/{resident}", EAST)


def _balances(uows) -> dict[tuple[str, str, str], int]:
    with uows() as uow:
        return {
            (a.community_id, a.holder, a.purpose.value): b
            for c in (EAST, WEST)
            for a, b in uow.ledger.stored_balances(c).items()
        }


def _close(uows, clock, community: str) -> None:
    command = commands.CloseYear(SYSTEM, f"close-{community}-{clock.at}", community, YEAR)
    closes.close_year(command, uows(), clock)


def test_a_year_end_with_transfers_pending_conserves_and_lands_them_as_that_years_points(bank):
    uows, clock, east, to_west = bank
    # 23:59:50 on 31 December. Ann's and Cy's transfers do not reach west; Bo's is accepted
    # there, but the answer is lost: all three are pending in east.
    to_west.cut = {"r-ann", "r-cy"}
    ann = _send(uows, clock, east, to_west, "r-ann", "r-wu", 300)
    cy = _send(uows, clock, east, to_west, "r-cy", "r-yu", 100)
    to_west.lose = True
    bo = _send(uows, clock, east, to_west, "r-bo", "r-xi", 200)
    assert (ann.state, bo.state, cy.state) == (TransferState.PENDING,) * 3

    clock.at = YEAR_END + timedelta(seconds=5)  # the new year, Asia/Shanghai
    _close(uows, clock, EAST)  # the held points of pending transfers do not expire
    _close(uows, clock, WEST)  # xi's 200, accepted within the year, expire with it
    to_west.cut = {"r-ann"}
    timebank.recover(uows, to_west, east, clock.at)  # bo committed; cy accepted in the new year
    clock.at = YEAR_END + TIMEOUT  # ann's deadline has passed: aborted at west, voided at east
    to_west.cut = set()
    timebank.recover(uows, to_west, east, clock.at)
    _close(uows, clock, EAST)
    _close(uows, clock, WEST)

    with uows() as uow:
        states = {t: uow.transfers.get(EAST, t).state for t in (ann.id, bo.id, cy.id)}
        theirs = {
            t: (found.state if (found := uow.transfers.get(WEST, t)) else None) for t in states
        }
    assert states == {
        ann.id: TransferState.VOIDED,
        bo.id: TransferState.COMMITTED,
        cy.id: TransferState.COMMITTED,
    }
    assert theirs == {
        ann.id: TransferState.ABORTED,
        bo.id: TransferState.ACCEPTED,
        cy.id: TransferState.ACCEPTED,
    }
    held = _balances(uows)
    issued = -held[(EAST, ISSUANCE, "yearly")]
    expired = held.get((EAST, EXPIRY, "yearly"), 0) + held.get((WEST, EXPIRY, "yearly"), 0)
    residents = sum(
        b for (c, h, p), b in held.items() if not h.startswith("system-") and p != "lifetime"
    )
    clearing = {k: b for k, b in held.items() if k[1].startswith("system-clearing-")}
    assert issued == 3_000
    assert residents == issued - expired  # nothing made or lost across the two
    assert sum(clearing.values()) == 0
    assert clearing[(EAST, f"system-clearing-{WEST}", "yearly")] == 300  # bo's and cy's
    # Every point of the year expired by its end, wherever it ended up: ann's voided in the new
    # year went to east's expiry; xi's (closed) and yu's (accepted after the end) to west's.
    assert residents == 0 and expired == 3_000
    assert held[(WEST, EXPIRY, "yearly")] == 300
    for community in (EAST, WEST):
        assert queries.verify_ledger(SYSTEM, community, uows()).ok


def test_the_sender_sees_what_happened_to_a_transfer(bank):
    uows, clock, east, to_west = bank
    sent = _send(uows, clock, east, to_west, "r-ann", "r-nobody", 100)
    assert sent.state is TransferState.VOIDED and "not a resident" in sent.reason
    shown = timebank.get_transfer(_person("r-ann"), EAST, sent.id, uows())
    assert shown.state is TransferState.VOIDED
    with uows() as uow:
        back = uow.ledger.balance(Account(EAST, "r-ann", Purpose.YEARLY))
    assert back == 1_000
