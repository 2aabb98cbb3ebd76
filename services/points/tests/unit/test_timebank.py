"""The time bank's rules (E4) without I/O: postings of each step, refusals, rates, expiry,
statements and settlement; and the deny-by-default tables of both of its services."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from linli.points.v1 import timebank_service_pb2 as pb

from linli_kit.auth import missing_entries
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from linli_kit.principals import Kind, Principal, Role
from linli_points.domain import timebank
from linli_points.domain.ledger import EXPIRY, Purpose
from linli_points.domain.periods import year_bounds
from linli_points.domain.timebank import (
    Offer,
    Peer,
    PeerAnswer,
    Recipient,
    Statement,
    TransferState,
)
from linli_points.entrypoints.timebank_api import EXCHANGE_POLICY, POLICY

A, B = "c-east", "c-west"
AT = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
PEER_B = Peer(B, credit_limit=1_000)
PEER_A = Peer(A, credit_limit=1_000)


def _sent(amount: int = 300, at: datetime = AT) -> timebank.Transfer:
    return timebank.send(
        community_id=A,
        peer=PEER_B,
        sender_id="r-ann",
        recipient_id="r-wu",
        amount=amount,
        memo="m",
        at=at,
        deadline=at + timedelta(seconds=30),
    )


def _offer(transfer: timebank.Transfer) -> Offer:
    return Offer(
        transfer.id,
        A,
        "r-ann",
        "r-wu",
        transfer.amount,
        "m",
        transfer.created_at,
        transfer.deadline,
        recipient=Recipient.SELF,
    )


def _moves(transaction) -> dict[tuple[str, Purpose], int]:
    return {(p.account.holder, p.account.purpose): p.amount for p in transaction.postings}


def test_the_sender_holds_then_commits_to_the_clearing_account_for_the_peer() -> None:
    transfer = _sent()
    assert _moves(transfer.hold()) == {
        ("r-ann", Purpose.YEARLY): -300,
        ("r-ann", Purpose.RESERVED): 300,
    }
    commit = transfer.settle(PeerAnswer.ACCEPTED, AT + timedelta(seconds=1))
    assert commit is not None and transfer.state is TransferState.COMMITTED
    assert _moves(commit) == {
        ("r-ann", Purpose.RESERVED): -300,
        ("system-clearing-c-west", Purpose.YEARLY): 300,
    }
    with pytest.raises(FailedPrecondition):
        transfer.void(AT, "late")  # committed or voided, never both


def test_a_refusal_voids_back_to_yearly_and_after_the_year_to_expiry() -> None:
    refused = _sent()
    back = refused.settle(PeerAnswer.REFUSED, AT, "no such resident")
    assert back is not None and _moves(back)[("r-ann", Purpose.YEARLY)] == 300
    assert refused.reason == "refused by c-west: no such resident"
    late = _sent(at=year_bounds(2026)[1] - timedelta(seconds=5))
    gone = late.settle(PeerAnswer.ABORTED, year_bounds(2026)[1] + timedelta(seconds=40))
    assert gone is not None and _moves(gone)[(EXPIRY, Purpose.YEARLY)] == 300
    assert _sent().settle(PeerAnswer.UNKNOWN, AT) is None  # nothing decided on a guess


def _receive(offer: Offer, *, registered: bool = True, clearing: int = 0, at: datetime = AT):
    return timebank.receive(
        offer, community_id=B, peer=PEER_A, registered=registered, clearing_balance=clearing, at=at
    )


def test_the_recipient_accepts_within_the_credit_limit_and_refuses_past_it() -> None:
    offer = _offer(_sent())
    accepted, credit = _receive(offer, clearing=-700)
    assert accepted.state is TransferState.ACCEPTED and credit is not None
    assert _moves(credit) == {
        ("system-clearing-c-east", Purpose.YEARLY): -300,
        ("r-wu", Purpose.YEARLY): 300,
    }
    refused, none = _receive(offer, clearing=-701)
    assert refused.state is TransferState.REFUSED and none is None
    assert "credit limit" in refused.reason


def test_the_recipient_refuses_a_stranger_a_late_offer_and_one_made_in_the_future() -> None:
    offer = _offer(_sent())
    stranger, _ = _receive(offer, registered=False)
    assert stranger.state is TransferState.REFUSED and "not a resident" in stranger.reason
    late, _ = _receive(offer, at=offer.deadline)
    assert late.state is TransferState.REFUSED and "deadline" in late.reason
    with pytest.raises(InvalidArgument):
        _receive(offer, at=AT - timedelta(hours=1))


def test_the_recipient_refuses_one_neither_the_sender_nor_a_confirmed_relative() -> None:
    offer = _offer(_sent())
    relative, _ = _receive(dataclasses.replace(offer, recipient=Recipient.RELATIVE))
    assert relative.state is TransferState.ACCEPTED
    for unrelated in (Recipient.NOT_RELATED, Recipient.UNCHECKED):
        refused, none = _receive(dataclasses.replace(offer, recipient=unrelated))
        assert refused.state is TransferState.REFUSED and none is None
        assert "neither the sender themself nor a confirmed relative" in refused.reason


def test_points_of_an_ended_year_land_in_expiry() -> None:
    made = year_bounds(2026)[1] - timedelta(seconds=5)
    accepted, credit = _receive(_offer(_sent(at=made)), at=made + timedelta(seconds=10))
    assert accepted.state is TransferState.ACCEPTED and credit is not None
    assert _moves(credit)[(EXPIRY, Purpose.YEARLY)] == 300


def test_rates_convert_exactly_or_not_at_all() -> None:
    double = Peer(A, credit_limit=10_000, rate_numerator=2, rate_denominator=1)
    assert double.converted(150) == 300
    third = Peer(A, rate_numerator=1, rate_denominator=3)
    with pytest.raises(InvalidArgument):
        third.converted(100)


def _statement(issuer: str, about: str, clearing: int, pending: int = 0) -> Statement:
    return Statement(issuer, about, clearing, 2, "x2", pending, 7, "h", AT)


def test_statements_mirror_or_say_where_they_disagree() -> None:
    mine = _statement(A, B, 300)
    assert timebank.mismatches(mine, _statement(B, A, -300), PEER_B) == []
    assert timebank.mismatches(mine, _statement(B, A, -200), PEER_B)[0].startswith("clearing")
    in_flight = _statement(B, A, -200, pending=1)
    assert timebank.mismatches(mine, in_flight, PEER_B) == []  # compared once it settles
    assert timebank.mismatches(mine, _statement("c-north", A, 0), PEER_B)


def test_the_settlement_says_who_owes_whom_net() -> None:
    sent = _sent(500)
    sent.settle(PeerAnswer.ACCEPTED, AT)
    received, _ = _receive(_offer(_sent(200)))
    month = timebank.settlement(PEER_B, [sent, received], clearing=300, pending=0)
    assert (month.sent, month.received, month.net) == (500, 200, 300)
    assert month.summary(A) == "c-east owes c-west 3.00"


def test_only_the_resident_sends_and_only_staff_read_the_settlement() -> None:
    ann = Principal(Kind.PERSON, f"communities/{A}/residents/r-ann", A)
    timebank.require_sender(ann, A, "r-ann")
    with pytest.raises(PermissionDenied):
        timebank.require_sender(ann, A, "r-bo")
    with pytest.raises(PermissionDenied):
        timebank.require_settlement_reader(ann, A)
    staff = Principal(
        Kind.PERSON, f"communities/{A}/residents/s", A, frozenset({Role.SOCIAL_WORKER})
    )
    timebank.require_settlement_reader(staff, A)


def test_every_rpc_of_both_services_is_in_its_policy_table() -> None:
    services = pb.DESCRIPTOR.services_by_name
    assert missing_entries(POLICY, services["TimeBankService"].methods_by_name) == []
    assert missing_entries(EXCHANGE_POLICY, services["ExchangeService"].methods_by_name) == []
    assert all(rule.kind is Kind.PEER for rules in EXCHANGE_POLICY.values() for rule in rules)
