"""Points use cases: plain functions taking a command and a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_kit.names import encode_page_token
from linli_points.domain import rules
from linli_points.domain.ledger import Account, LedgerTransaction, Purpose
from linli_points.service_layer.ports import PointsUnitOfWork

SESSION_CONSUMER = "points.session-completed"


@dataclass(frozen=True)
class AwardForSession:
    """Award the hourly points for a completed session (from a SessionCompleted event)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    service_type: rules.ServiceType
    duration_seconds: int
    occurred_at: datetime


@dataclass(frozen=True)
class Balance:
    """A resident's balances in hundredths of a point."""

    yearly: int
    lifetime: int


@dataclass(frozen=True)
class TransactionList:
    """A page of a resident's transactions and the token for the next one."""

    transactions: list[LedgerTransaction]
    next_page_token: str


def award_for_session(cmd: AwardForSession, uow: PointsUnitOfWork) -> LedgerTransaction | None:
    """Credit hours × rate once per event; a redelivered event changes nothing."""
    with uow:
        if not uow.inbox.first_delivery(SESSION_CONSUMER, cmd.event_id):
            return None
        amount = rules.hourly_award(cmd.service_type, cmd.duration_seconds)
        transaction = None
        if amount > 0:
            minutes = cmd.duration_seconds // 60
            transaction = rules.award(
                community_id=cmd.community_id,
                resident_id=cmd.resident_id,
                amount=amount,
                rule_id=rules.hourly_rule_id(cmd.service_type),
                source_id=cmd.event_id,
                reason=(
                    f"{minutes // 60}h{minutes % 60:02d}m of {cmd.service_type} service in "
                    f"{cmd.session} at {rules.format_points(rules.HOURLY_RATE[cmd.service_type])}/h"
                ),
                at=cmd.occurred_at,
            )
            uow.ledger.post(transaction)
        uow.commit()
        return transaction


def get_balance(community_id: str, resident_id: str, uow: PointsUnitOfWork) -> Balance:
    """A resident's yearly and lifetime balances."""
    with uow:
        return Balance(
            yearly=uow.ledger.balance(Account(community_id, resident_id, Purpose.YEARLY)),
            lifetime=uow.ledger.balance(Account(community_id, resident_id, Purpose.LIFETIME)),
        )


def list_transactions(
    community_id: str, resident_id: str, offset: int, limit: int, uow: PointsUnitOfWork
) -> TransactionList:
    """A page of the transactions behind a resident's balances, newest first."""
    with uow:
        page = uow.ledger.transactions_of(community_id, resident_id, offset, limit)
        token = encode_page_token(offset + limit) if page.has_more else ""
        return TransactionList(page.transactions, token)
