"""Appeal use cases (P8): file, decide, read, and the committee as identity's role grants."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent, once_per_event
from linli_points.domain import access
from linli_points.domain.appeals import Appeal, AppealStatus, file_appeal
from linli_points.domain.council import (
    DEFAULT_RULE,
    CouncilRule,
    require_single_member_decisions,
)
from linli_points.domain.ledger import Kind, LedgerTransaction
from linli_points.domain.reservations import COMMIT_RULE, Reservation
from linli_points.domain.rules import DEFAULT_CATALOG, RuleBook, RuleCatalog
from linli_points.domain.runs import Run, RunKind, record_run
from linli_points.service_layer.commands import ChangeCommittee, DecideAppeal, FileAppeal
from linli_points.service_layer.ports import PointsUnitOfWork

COMMITTEE_CONSUMER = "points.committee-role"


def _appeal(uow: PointsUnitOfWork, community_id: str, appeal_id: str) -> Appeal:
    found = uow.appeals.get(community_id, appeal_id)
    if found is None:
        raise NotFound(f"no appeal {appeal_id} in {community_id}")
    return found


def _disputed(uow: PointsUnitOfWork, community_id: str, transaction_id: str) -> LedgerTransaction:
    found = uow.ledger.get(community_id, transaction_id)
    if found is None:
        raise NotFound(f"no transaction {transaction_id} in {community_id}")
    return found


def _redemption(uow: PointsUnitOfWork, disputed: LedgerTransaction) -> Reservation | None:
    """The reservation a disputed spend committed, locked (a refund waits), or None."""
    if disputed.kind is not Kind.COMMIT or disputed.rule_id != COMMIT_RULE:
        return None
    return uow.reservations.get(disputed.community_id, disputed.source_id)


def _reload(uow: PointsUnitOfWork, cmd: FileAppeal | DecideAppeal, reference: str) -> Appeal:
    return _appeal(uow, cmd.community_id, reference)


@idempotent(_reload)
def file_an_appeal(cmd: FileAppeal, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Appeal:
    """File a resident's appeal against one of their transactions; the resident themself."""
    access.require_appellant(cmd.actor, cmd.community_id, cmd.resident_id)
    disputed = _disputed(uow, cmd.community_id, cmd.transaction_id)
    open_ones = [
        a
        for a in uow.appeals.list(cmd.community_id, transaction_id=cmd.transaction_id)
        if a.status is AppealStatus.FILED and a.resident_id == cmd.resident_id
    ]
    if open_ones:
        raise AlreadyExists(f"appeal {open_ones[0].id} against this transaction is open")
    appeal = file_appeal(
        resident_id=cmd.resident_id,
        disputed=disputed,
        reason=cmd.reason,
        at=clock(),
        redemption=_redemption(uow, disputed),
    )
    uow.appeals.add(appeal)
    return appeal


@idempotent(_reload)
def decide_appeal(
    cmd: DecideAppeal,
    uow: PointsUnitOfWork,
    catalog: RuleCatalog = DEFAULT_CATALOG,
    clock: Clock = utc_now,
    council_rules: Callable[[str], CouncilRule] = lambda community_id: DEFAULT_RULE,
) -> Appeal:
    """Accept (compensating transaction) or reject (reason kept) an appeal; one committee
    member, where the community's council rule lets one member decide alone."""
    reviewer = access.reviewer_of(cmd.actor, cmd.community_id)
    require_single_member_decisions(council_rules(cmd.community_id))
    appeal = _appeal(uow, cmd.community_id, cmd.appeal_id)
    return apply_decision(
        uow,
        appeal,
        reviewer=reviewer,
        accept=cmd.accept,
        amount=cmd.amount,
        reason=cmd.reason,
        committee=uow.directory.committee(cmd.community_id),
        book=catalog.for_community(cmd.community_id),
        at=clock(),
    )


def apply_decision(
    uow: PointsUnitOfWork,
    appeal: Appeal,
    *,
    reviewer: str,
    accept: bool,
    amount: int,
    reason: str,
    committee: set[str],
    book: RuleBook,
    at: datetime,
) -> Appeal:
    """The one way an appeal's outcome is applied: one member's or the council's decision.

    Accepting posts the compensating transaction (within the ceiling); rejecting keeps the
    reason. The reviewer must be in `committee` (the committee, or the members present at the
    council's meeting) and never the appellant nor the disputed decision's actor.
    """
    disputed = _disputed(uow, appeal.community_id, appeal.transaction_id)
    if accept:
        uow.ledger.post(
            appeal.accept(
                reviewer=reviewer,
                reason=reason,
                amount=amount,
                at=at,
                committee=committee,
                disputed=disputed,
                book=book,
                redemption=_redemption(uow, disputed),
            )
        )
    else:
        appeal.reject(
            reviewer=reviewer, reason=reason, at=at, committee=committee, disputed=disputed
        )
    uow.appeals.save(appeal)
    return appeal


def get_appeal(
    actor: Principal, community_id: str, appeal_id: str, uow: PointsUnitOfWork
) -> Appeal:
    """One appeal and its status, for its appellant, the committee and the staff."""
    with uow:
        appeal = _appeal(uow, community_id, appeal_id)
    access.require_appeal_reader(actor, community_id, appeal.resident_id)
    return appeal


def list_appeals(
    actor: Principal,
    community_id: str,
    resident_id: str | None,
    statuses: Collection[AppealStatus],
    offset: int,
    limit: int,
    uow: PointsUnitOfWork,
) -> tuple[list[Appeal], bool]:
    """A page of a community's appeals (committee and staff), or of one resident's (also the
    resident), in the given statuses (any if none), and whether more follow."""
    access.require_appeal_reader(actor, community_id, resident_id)
    with uow:
        found = uow.appeals.list(
            community_id,
            resident_id=resident_id,
            statuses=statuses,
            offset=offset,
            limit=limit + 1,
        )
    return found[:limit], len(found) > limit


@once_per_event(COMMITTEE_CONSUMER)
def change_committee(cmd: ChangeCommittee, uow: PointsUnitOfWork) -> Run:
    """Follow identity's committee_member grant or revocation; the run records the committee."""
    uow.directory.set_committee_member(
        cmd.community_id, cmd.resident_id, cmd.member, cmd.occurred_at
    )
    members = tuple(sorted(uow.directory.committee(cmd.community_id)))
    run = record_run(cmd.community_id, RunKind.COMMITTEE_CHANGE, cmd.occurred_at, members=members)
    uow.runs.add(run)
    return run
