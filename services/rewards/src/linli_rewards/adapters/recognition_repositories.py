"""Repositories of seat allocations, nominations and benefits on SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_kit.db import insert_once, locked
from linli_kit.errors import AlreadyExists, FailedPrecondition
from linli_rewards.adapters.orm import (
    benefit_applications,
    benefits,
    nominations,
    seat_allocations,
)
from linli_rewards.domain.benefits import ApplicationState, Benefit, BenefitApplication
from linli_rewards.domain.recognition import (
    Nomination,
    NominationState,
    NominationStep,
    SeatAllocation,
    SeatApplicant,
    SeatState,
)
from linli_rewards.service_layer.ports import Benefits, Nominations, SeatAllocations


def _applicants_json(allocation: SeatAllocation) -> list[dict[str, Any]]:
    return [
        {
            "resident_id": a.resident_id,
            "applied_at": a.applied_at.isoformat(),
            "state": a.state.value,
            "rank": a.rank,
            "points": a.points,
        }
        for a in allocation.applicants
    ]


def _allocation(row: Any) -> SeatAllocation:
    values = row._asdict()
    values["applicants"] = [
        SeatApplicant(
            resident_id=a["resident_id"],
            applied_at=datetime.fromisoformat(a["applied_at"]),
            state=SeatState(a["state"]),
            rank=a["rank"],
            points=a["points"],
        )
        for a in values["applicants"]
    ]
    return SeatAllocation(**values)


class SqlSeatAllocations(SeatAllocations):
    """Seat allocations table; the applicants are a JSON list written under the row lock."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, allocation: SeatAllocation) -> None:
        """Store a new allocation."""
        self.db.execute(
            sa.insert(seat_allocations).values(
                community_id=allocation.community_id,
                id=allocation.id,
                title=allocation.title,
                event_at=allocation.event_at,
                seats=allocation.seats,
                apply_until=allocation.apply_until,
                created_at=allocation.created_at,
                allocated_at=allocation.allocated_at,
                applicants=_applicants_json(allocation),
            )
        )

    def get(self, community_id: str, allocation_id: str) -> SeatAllocation | None:
        """An allocation by id, locked for update until the unit of work ends, or None."""
        query = sa.select(seat_allocations).where(
            seat_allocations.c.community_id == community_id,
            seat_allocations.c.id == allocation_id,
        )
        row = self.db.execute(locked(query, self.db)).first()
        return None if row is None else _allocation(row)

    def save(self, allocation: SeatAllocation) -> None:
        """Store an allocation's applicants and allocation."""
        self.db.execute(
            sa.update(seat_allocations)
            .where(
                seat_allocations.c.community_id == allocation.community_id,
                seat_allocations.c.id == allocation.id,
            )
            .values(allocated_at=allocation.allocated_at, applicants=_applicants_json(allocation))
        )


def _steps_json(nomination: Nomination) -> list[dict[str, str]]:
    return [
        {"state": s.state.value, "by": s.by, "at": s.at.isoformat(), "note": s.note}
        for s in nomination.steps
    ]


def _nomination(row: Any) -> Nomination:
    steps = [
        NominationStep(
            state=NominationState(s["state"]),
            by=s["by"],
            at=datetime.fromisoformat(s["at"]),
            note=s["note"],
        )
        for s in row.steps
    ]
    return Nomination(
        community_id=row.community_id,
        id=row.id,
        resident_id=row.resident_id,
        honour=row.honour,
        reason=row.reason,
        steps=steps,
    )


class SqlNominations(Nominations):
    """Nominations table; the steps are a JSON list written under the row lock."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, nomination: Nomination) -> None:
        """Store a new nomination."""
        self.db.execute(
            sa.insert(nominations).values(
                community_id=nomination.community_id,
                id=nomination.id,
                resident_id=nomination.resident_id,
                honour=nomination.honour,
                reason=nomination.reason,
                state=nomination.state.value,
                created_at=nomination.steps[0].at,
                steps=_steps_json(nomination),
            )
        )

    def get(self, community_id: str, nomination_id: str) -> Nomination | None:
        """A nomination by id, locked for update until the unit of work ends, or None."""
        query = sa.select(nominations).where(
            nominations.c.community_id == community_id, nominations.c.id == nomination_id
        )
        row = self.db.execute(locked(query, self.db)).first()
        return None if row is None else _nomination(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[Nomination]:
        """A community's nominations, newest first."""
        rows = self.db.execute(
            sa.select(nominations)
            .where(nominations.c.community_id == community_id)
            .order_by(nominations.c.created_at.desc(), nominations.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_nomination(row) for row in rows]

    def save(self, nomination: Nomination) -> None:
        """Store a nomination's steps."""
        self.db.execute(
            sa.update(nominations)
            .where(
                nominations.c.community_id == nomination.community_id,
                nominations.c.id == nomination.id,
            )
            .values(state=nomination.state.value, steps=_steps_json(nomination))
        )


def _benefit(row: Any) -> Benefit:
    values = row._asdict()
    values["tiers"] = tuple(values["tiers"])
    return Benefit(**values)


def _application(row: Any) -> BenefitApplication:
    values = row._asdict()
    values["state"] = ApplicationState(values["state"])
    return BenefitApplication(**values)


class SqlBenefits(Benefits):
    """Benefits and benefit applications tables."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, benefit: Benefit) -> None:
        """Store a new benefit; AlreadyExists if its id is taken."""
        insert_once(
            self.db,
            sa.insert(benefits).values(
                community_id=benefit.community_id,
                id=benefit.id,
                title=benefit.title,
                description=benefit.description,
                min_lifetime=benefit.min_lifetime,
                tiers=list(benefit.tiers),
            ),
            AlreadyExists(f"benefit {benefit.id} already exists"),
        )

    def get(self, community_id: str, benefit_id: str) -> Benefit | None:
        """A benefit by id, or None."""
        row = self.db.execute(
            sa.select(benefits).where(
                benefits.c.community_id == community_id, benefits.c.id == benefit_id
            )
        ).first()
        return None if row is None else _benefit(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[Benefit]:
        """A community's benefits by id."""
        rows = self.db.execute(
            sa.select(benefits)
            .where(benefits.c.community_id == community_id)
            .order_by(benefits.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_benefit(row) for row in rows]

    def add_application(self, application: BenefitApplication) -> None:
        """Store a new application; FailedPrecondition if one of the resident's is pending."""
        insert_once(
            self.db,
            sa.insert(benefit_applications).values(
                community_id=application.community_id,
                id=application.id,
                benefit_id=application.benefit_id,
                resident_id=application.resident_id,
                lifetime=application.lifetime,
                tier=application.tier,
                applied_at=application.applied_at,
                state=application.state.value,
            ),
            FailedPrecondition("an application for this benefit is already pending"),
        )

    def application(self, community_id: str, application_id: str) -> BenefitApplication | None:
        """An application by id, locked for update until the unit of work ends, or None."""
        query = sa.select(benefit_applications).where(
            benefit_applications.c.community_id == community_id,
            benefit_applications.c.id == application_id,
        )
        row = self.db.execute(locked(query, self.db)).first()
        return None if row is None else _application(row)

    def applications(
        self, community_id: str, resident_id: str | None, offset: int, limit: int
    ) -> list[BenefitApplication]:
        """A community's (or one resident's) applications, newest first."""
        query = sa.select(benefit_applications).where(
            benefit_applications.c.community_id == community_id
        )
        if resident_id is not None:
            query = query.where(benefit_applications.c.resident_id == resident_id)
        rows = self.db.execute(
            query.order_by(benefit_applications.c.applied_at.desc(), benefit_applications.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_application(row) for row in rows]

    def save_application(self, application: BenefitApplication) -> None:
        """Store an application's decision."""
        self.db.execute(
            sa.update(benefit_applications)
            .where(
                benefit_applications.c.community_id == application.community_id,
                benefit_applications.c.id == application.id,
            )
            .values(
                state=application.state.value,
                decided_by=application.decided_by,
                decided_at=application.decided_at,
                note=application.note,
            )
        )
