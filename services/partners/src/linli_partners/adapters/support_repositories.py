"""Funds and grants repositories (O5, E5) on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_kit.db import insert_once, locked
from linli_kit.errors import AlreadyExists
from linli_partners.adapters.orm import (
    agencies,
    case_steps,
    fund_calls,
    legal_cases,
    milestones,
    proposals,
    research_grants,
    rota_slots,
    scores,
    visits,
)
from linli_partners.domain.fund import FundCall, Milestone, Proposal, Score
from linli_partners.domain.support import (
    Agency,
    CaseState,
    CaseStep,
    LegalCase,
    ResearchGrant,
    RotaSlot,
    SupervisionVisit,
)
from linli_partners.service_layer.support_ports import (
    Agencies,
    FundCalls,
    LegalAid,
    Proposals,
    ResearchGrants,
)


class SqlFundCalls(FundCalls):
    """Fund calls table; what a call awarded is summed from its proposals."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, call: FundCall) -> None:
        """Store a new call; AlreadyExists if the year has one."""
        refusal = AlreadyExists(f"{call.community_id} has a fund call for {call.year} already")
        insert_once(self.db, sa.insert(fund_calls).values(**vars(call)), refusal)

    def get(self, community_id: str, call_id: str, lock: bool = False) -> FundCall | None:
        """A call by id (locked for update if asked), or None."""
        query = sa.select(fund_calls).where(
            fund_calls.c.community_id == community_id, fund_calls.c.id == call_id
        )
        row = self.db.execute(locked(query, self.db) if lock else query).first()
        return None if row is None else FundCall(**row._asdict())

    def page(self, community_id: str, offset: int, limit: int) -> list[FundCall]:
        """A community's calls, newest year first."""
        rows = self.db.execute(
            sa.select(fund_calls)
            .where(fund_calls.c.community_id == community_id)
            .order_by(fund_calls.c.year.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return [FundCall(**row._asdict()) for row in rows]

    def awarded(self, community_id: str, call_id: str) -> int:
        """What a call has awarded so far, in fen."""
        total = self.db.execute(
            sa.select(sa.func.coalesce(sa.func.sum(proposals.c.awarded_fen), 0)).where(
                proposals.c.community_id == community_id, proposals.c.call_id == call_id
            )
        ).scalar_one()
        return int(total)


_TALLY = (
    sa.select(
        scores.c.community_id,
        scores.c.call_id,
        scores.c.proposal_id,
        sa.func.count().label("score_count"),
        sa.func.avg(scores.c.score).label("mean_score"),
    )
    .group_by(scores.c.community_id, scores.c.call_id, scores.c.proposal_id)
    .subquery()
)
_PROPOSALS = sa.select(
    proposals,
    sa.func.coalesce(_TALLY.c.score_count, 0).label("score_count"),
    sa.func.coalesce(_TALLY.c.mean_score, 0).label("mean_score"),
).outerjoin(
    _TALLY,
    sa.and_(
        _TALLY.c.community_id == proposals.c.community_id,
        _TALLY.c.call_id == proposals.c.call_id,
        _TALLY.c.proposal_id == proposals.c.id,
    ),
)


def _proposal(row: Any) -> Proposal:
    values = row._asdict()
    values["score_count"], values["mean_score"] = (
        int(values["score_count"]),
        float(values["mean_score"]),
    )
    return Proposal(**values)


class SqlProposals(Proposals):
    """Proposals, scores and milestones tables; an award is one conditional update."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, proposal: Proposal) -> None:
        """Store a new proposal."""
        values = {k: v for k, v in vars(proposal).items() if k not in ("score_count", "mean_score")}
        self.db.execute(sa.insert(proposals).values(**values))

    def get(self, community_id: str, call_id: str, proposal_id: str) -> Proposal | None:
        """A proposal by id with its panel's tally, or None."""
        row = self.db.execute(
            _PROPOSALS.where(
                proposals.c.community_id == community_id,
                proposals.c.call_id == call_id,
                proposals.c.id == proposal_id,
            )
        ).first()
        return None if row is None else _proposal(row)

    def page(self, community_id: str, call_id: str, offset: int, limit: int) -> list[Proposal]:
        """A call's proposals, oldest first."""
        rows = self.db.execute(
            _PROPOSALS.where(
                proposals.c.community_id == community_id, proposals.c.call_id == call_id
            )
            .order_by(proposals.c.submitted_at, proposals.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_proposal(row) for row in rows]

    def save_award(self, proposal: Proposal) -> bool:
        """Store an award unless the proposal has one (then False): one conditional UPDATE."""
        updated = self.db.execute(
            sa.update(proposals)
            .where(
                proposals.c.community_id == proposal.community_id,
                proposals.c.call_id == proposal.call_id,
                proposals.c.id == proposal.id,
                proposals.c.awarded_fen.is_(None),
            )
            .values(
                awarded_fen=proposal.awarded_fen,
                awarded_by=proposal.awarded_by,
                awarded_at=proposal.awarded_at,
            )
        )
        return bool(updated.rowcount)  # type: ignore[attr-defined]

    def add_score(self, score: Score) -> None:
        """Store a score; AlreadyExists if the member scored the proposal already."""
        insert_once(
            self.db,
            sa.insert(scores).values(**vars(score)),
            AlreadyExists("this panel member has scored the proposal already"),
        )

    def score(
        self, community_id: str, call_id: str, proposal_id: str, member_id: str
    ) -> Score | None:
        """One member's score of a proposal, or None."""
        row = self.db.execute(
            sa.select(scores).where(
                scores.c.community_id == community_id,
                scores.c.call_id == call_id,
                scores.c.proposal_id == proposal_id,
                scores.c.member_id == member_id,
            )
        ).first()
        return None if row is None else Score(**row._asdict())

    def scores(
        self, community_id: str, call_id: str, proposal_id: str, offset: int, limit: int
    ) -> list[Score]:
        """A proposal's scores, oldest first."""
        rows = self.db.execute(
            sa.select(scores)
            .where(
                scores.c.community_id == community_id,
                scores.c.call_id == call_id,
                scores.c.proposal_id == proposal_id,
            )
            .order_by(scores.c.scored_at, scores.c.member_id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Score(**row._asdict()) for row in rows]

    def add_milestone(self, milestone: Milestone) -> None:
        """Store a milestone."""
        self.db.execute(sa.insert(milestones).values(**vars(milestone)))

    def milestone(
        self, community_id: str, call_id: str, proposal_id: str, milestone_id: str
    ) -> Milestone | None:
        """A milestone by id, or None."""
        row = self.db.execute(
            sa.select(milestones).where(
                milestones.c.community_id == community_id,
                milestones.c.call_id == call_id,
                milestones.c.proposal_id == proposal_id,
                milestones.c.id == milestone_id,
            )
        ).first()
        return None if row is None else Milestone(**row._asdict())

    def milestones(
        self, community_id: str, call_id: str, proposal_id: str, offset: int, limit: int
    ) -> list[Milestone]:
        """A proposal's milestones by date."""
        rows = self.db.execute(
            sa.select(milestones)
            .where(
                milestones.c.community_id == community_id,
                milestones.c.call_id == call_id,
                milestones.c.proposal_id == proposal_id,
            )
            .order_by(milestones.c.on, milestones.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Milestone(**row._asdict()) for row in rows]


def _visit(row: Any) -> SupervisionVisit:
    values = row._asdict()
    values["topics"] = tuple(values["topics"])
    return SupervisionVisit(**values)


class SqlAgencies(Agencies):
    """Agencies and supervision visits tables."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, agency: Agency) -> None:
        """Store a new agency."""
        self.db.execute(sa.insert(agencies).values(**vars(agency)))

    def get(self, community_id: str, agency_id: str) -> Agency | None:
        """An agency by id, or None."""
        row = self.db.execute(
            sa.select(agencies).where(
                agencies.c.community_id == community_id, agencies.c.id == agency_id
            )
        ).first()
        return None if row is None else Agency(**row._asdict())

    def page(self, community_id: str, offset: int, limit: int) -> list[Agency]:
        """A community's agencies by name."""
        rows = self.db.execute(
            sa.select(agencies)
            .where(agencies.c.community_id == community_id)
            .order_by(agencies.c.display_name, agencies.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Agency(**row._asdict()) for row in rows]

    def add_visit(self, visit: SupervisionVisit) -> None:
        """Store a visit."""
        values = vars(visit) | {"topics": list(visit.topics)}
        self.db.execute(sa.insert(visits).values(**values))

    def visit(self, community_id: str, agency_id: str, visit_id: str) -> SupervisionVisit | None:
        """A visit by id, or None."""
        row = self.db.execute(
            sa.select(visits).where(
                visits.c.community_id == community_id,
                visits.c.agency_id == agency_id,
                visits.c.id == visit_id,
            )
        ).first()
        return None if row is None else _visit(row)

    def visits(
        self, community_id: str, agency_id: str, offset: int, limit: int
    ) -> list[SupervisionVisit]:
        """An agency's visits, newest first."""
        rows = self.db.execute(
            sa.select(visits)
            .where(visits.c.community_id == community_id, visits.c.agency_id == agency_id)
            .order_by(visits.c.on.desc(), visits.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_visit(row) for row in rows]


def _grant(row: Any) -> ResearchGrant:
    values = row._asdict()
    values["volunteer_ids"] = tuple(values["volunteer_ids"])
    return ResearchGrant(**values)


class SqlResearchGrants(ResearchGrants):
    """Research grants table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, grant: ResearchGrant) -> None:
        """Store a new grant."""
        values = vars(grant) | {"volunteer_ids": list(grant.volunteer_ids)}
        self.db.execute(sa.insert(research_grants).values(**values))

    def get(self, community_id: str, grant_id: str, lock: bool = False) -> ResearchGrant | None:
        """A grant by id (locked for update if asked), or None."""
        query = sa.select(research_grants).where(
            research_grants.c.community_id == community_id, research_grants.c.id == grant_id
        )
        row = self.db.execute(locked(query, self.db) if lock else query).first()
        return None if row is None else _grant(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[ResearchGrant]:
        """A community's grants, newest first."""
        rows = self.db.execute(
            sa.select(research_grants)
            .where(research_grants.c.community_id == community_id)
            .order_by(research_grants.c.granted_on.desc(), research_grants.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_grant(row) for row in rows]

    def save(self, grant: ResearchGrant) -> None:
        """Store a grant's outcomes and publication decision."""
        self.db.execute(
            sa.update(research_grants)
            .where(
                research_grants.c.community_id == grant.community_id,
                research_grants.c.id == grant.id,
            )
            .values(
                outcomes=grant.outcomes,
                recommend_publication=grant.recommend_publication,
                decided_by=grant.decided_by,
                decided_at=grant.decided_at,
            )
        )


class SqlLegalAid(LegalAid):
    """Rota slots, cases and their steps tables."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add_slot(self, slot: RotaSlot) -> None:
        """Store a rota slot."""
        self.db.execute(sa.insert(rota_slots).values(**vars(slot)))

    def slot(self, community_id: str, slot_id: str) -> RotaSlot | None:
        """A rota slot by id, or None."""
        row = self.db.execute(
            sa.select(rota_slots).where(
                rota_slots.c.community_id == community_id, rota_slots.c.id == slot_id
            )
        ).first()
        return None if row is None else RotaSlot(**row._asdict())

    def slots(self, community_id: str, offset: int, limit: int) -> list[RotaSlot]:
        """The rota by weekday and hour."""
        rows = self.db.execute(
            sa.select(rota_slots)
            .where(rota_slots.c.community_id == community_id)
            .order_by(rota_slots.c.weekday, rota_slots.c.start_hour, rota_slots.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [RotaSlot(**row._asdict()) for row in rows]

    def add_case(self, case: LegalCase) -> None:
        """Store a new case with its first step."""
        self.db.execute(
            sa.insert(legal_cases).values(
                community_id=case.community_id,
                id=case.id,
                resident_id=case.resident_id,
                summary=case.summary,
                opened_at=case.opened_at,
                state=case.state.value,
                slot_id=case.slot_id,
                firm=case.firm,
            )
        )
        for seq, step in enumerate(case.steps):
            self._insert_step(case, seq, step)

    def _insert_step(self, case: LegalCase, seq: int, step: CaseStep) -> None:
        self.db.execute(
            sa.insert(case_steps).values(
                community_id=case.community_id,
                case_id=case.id,
                seq=seq,
                state=step.state.value,
                actor=step.actor,
                at=step.at,
                note=step.note,
            )
        )

    def case(self, community_id: str, case_id: str, lock: bool = False) -> LegalCase | None:
        """A case with its steps (locked for update if asked), or None."""
        query = sa.select(legal_cases).where(
            legal_cases.c.community_id == community_id, legal_cases.c.id == case_id
        )
        row = self.db.execute(locked(query, self.db) if lock else query).first()
        return None if row is None else self._with_steps([row])[0]

    def cases(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[LegalCase]:
        """Cases newest first: one resident's, or all for ''."""
        query = sa.select(legal_cases).where(legal_cases.c.community_id == community_id)
        if resident_id:
            query = query.where(legal_cases.c.resident_id == resident_id)
        rows = self.db.execute(
            query.order_by(legal_cases.c.opened_at.desc(), legal_cases.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return self._with_steps(rows)

    def _with_steps(self, rows: Sequence[Any]) -> list[LegalCase]:
        if not rows:
            return []
        community_id = rows[0].community_id
        steps: dict[str, list[CaseStep]] = {row.id: [] for row in rows}
        for step in self.db.execute(
            sa.select(case_steps)
            .where(case_steps.c.community_id == community_id, case_steps.c.case_id.in_(list(steps)))
            .order_by(case_steps.c.case_id, case_steps.c.seq)
        ).all():
            steps[step.case_id].append(
                CaseStep(state=CaseState(step.state), actor=step.actor, at=step.at, note=step.note)
            )
        found = []
        for row in rows:
            values = row._asdict()
            del values["state"]
            found.append(LegalCase(**values, steps=steps[row.id]))
        return found

    def add_step(self, case: LegalCase, step: CaseStep) -> None:
        """Store a case's new step and where it stands."""
        self._insert_step(case, len(case.steps) - 1, step)
        self.db.execute(
            sa.update(legal_cases)
            .where(legal_cases.c.community_id == case.community_id, legal_cases.c.id == case.id)
            .values(state=case.state.value, slot_id=case.slot_id, firm=case.firm)
        )
