"""Awards of one call at once on real PostgreSQL: the call's row lock keeps them in its budget."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from linli_kit.db import migrate, sql_plumbing
from linli_kit.errors import FailedPrecondition
from linli_kit.principals import Kind, Principal, Role
from linli_partners.adapters import events, orm
from linli_partners.bootstrap import sql_uow_factory
from linli_partners.entrypoints.cli import MIGRATIONS
from linli_partners.service_layer import commands, fund
from linli_partners.service_layer.ports import PartnersUnitOfWork

C = "c-east"
STAFF = Principal(
    Kind.PERSON, f"communities/{C}/residents/r-staff", C, frozenset({Role.SOCIAL_WORKER})
)
SUBMITTED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
AFTER = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def uow_factory(make_database: Callable[[str], str]) -> Iterator[Callable[[], PartnersUnitOfWork]]:
    """Units of work over a fresh, migrated PostgreSQL database."""
    url = make_database("partners")
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "partners.events", events.encode)
    yield sql_uow_factory(plumbing)
    plumbing.engine.dispose()


def test_awards_at_once_stay_within_the_budget(uow_factory) -> None:
    call, _ = fund.create_fund_call(
        commands.CreateFundCall(
            community_id=C,
            title="2026 社区创新基金",
            year=2026,
            opens_on=date(2026, 5, 1),
            closes_on=date(2026, 6, 30),
            budget_fen=1_000_000,
            actor=STAFF,
        ),
        uow_factory(),
    )
    proposals = [
        fund.submit_proposal(
            commands.SubmitProposal(
                community_id=C,
                call_id=call.id,
                resident_id=f"r-{n}",
                title="楼道花园",
                summary="把楼道变成花园",
                requested_fen=400_000,
                actor=Principal(Kind.PERSON, f"communities/{C}/residents/r-{n}", C),
            ),
            uow_factory(),
            lambda: SUBMITTED,
        )
        for n in range(8)
    ]
    start = threading.Barrier(len(proposals))
    outcomes: list[str] = []

    def award(proposal_id: str) -> None:
        command = commands.AwardProposal(
            community_id=C,
            call_id=call.id,
            proposal_id=proposal_id,
            amount_fen=400_000,
            actor=STAFF,
        )
        start.wait()
        try:
            fund.award_proposal(command, uow_factory(), lambda: AFTER)
            outcomes.append("awarded")
        except FailedPrecondition:
            outcomes.append("refused")

    threads = [threading.Thread(target=award, args=(p.id,)) for p in proposals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["awarded"] * 2 + ["refused"] * 6
    assert fund.get_fund_call(STAFF, C, call.id, uow_factory())[1] == 800_000
