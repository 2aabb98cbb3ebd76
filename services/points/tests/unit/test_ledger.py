"""The ledger's invariants: balanced, whole, non-zero postings within one community."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_kit.errors import InvalidArgument
from linli_points.domain.ledger import ISSUANCE, Account, LedgerTransaction, Posting, Purpose

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ALICE_YEARLY = Account("c-east", "r-alice", Purpose.YEARLY)
ALICE_LIFETIME = Account("c-east", "r-alice", Purpose.LIFETIME)
ISSUANCE_YEARLY = Account("c-east", ISSUANCE, Purpose.YEARLY)


def transaction(*postings: Posting, community_id: str = "c-east") -> LedgerTransaction:
    """A transaction of the given postings with a fixed reason and time."""
    return LedgerTransaction(
        id="t1",
        community_id=community_id,
        source_id="e1",
        rule_id="test",
        reason="test",
        postings=postings,
        created_at=AT,
    )


def test_a_balanced_transaction_is_accepted_and_nets_per_account() -> None:
    t = transaction(
        Posting(ISSUANCE_YEARLY, -250), Posting(ALICE_YEARLY, 200), Posting(ALICE_YEARLY, 50)
    )

    assert t.amount_for("r-alice", Purpose.YEARLY) == 250
    assert t.amount_for(ISSUANCE, Purpose.YEARLY) == -250
    assert t.amount_for("r-alice", Purpose.LIFETIME) == 0


def test_postings_that_do_not_sum_to_zero_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="sum to zero"):
        transaction(Posting(ISSUANCE_YEARLY, -100), Posting(ALICE_YEARLY, 101))


def test_a_transaction_needs_postings() -> None:
    with pytest.raises(InvalidArgument, match="needs postings"):
        transaction()


@pytest.mark.parametrize("amount", [0, 1.0, 0.5, True, "100"])
def test_zero_or_non_int_amounts_are_refused(amount: object) -> None:
    with pytest.raises(InvalidArgument, match="non-zero whole hundredths"):
        transaction(Posting(ISSUANCE_YEARLY, -1), Posting(ALICE_YEARLY, amount))  # type: ignore[arg-type]


def test_a_transaction_stays_within_one_community() -> None:
    elsewhere = Account("c-west", "r-alice", Purpose.YEARLY)

    with pytest.raises(InvalidArgument, match="one community"):
        transaction(Posting(ISSUANCE_YEARLY, -100), Posting(elsewhere, 100))


def test_postings_must_be_in_the_transactions_own_community() -> None:
    with pytest.raises(InvalidArgument, match="one community"):
        transaction(
            Posting(ISSUANCE_YEARLY, -100), Posting(ALICE_LIFETIME, 100), community_id="c-west"
        )


def test_account_key_names_holder_and_purpose() -> None:
    assert ALICE_LIFETIME.key == "r-alice:lifetime"
