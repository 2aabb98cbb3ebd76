"""Project leads (O4): volunteers apply to lead a project, staff approve, runs promote.

A successful run is an occurrence of the project at which the approved lead's own session
completed (signed out, or confirmed by staff) with time counted; each occurrence counts once. At
RUNS_TO_PROMOTE runs the lead becomes a star administrator, announced once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_attendance.domain.review import Attempt, SelfConfirmation
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument

RUNS_TO_PROMOTE = 3
MAX_MOTIVATION = 500


class LeadStatus(StrEnum):
    """Where an application to lead is."""

    APPLIED = "applied"
    APPROVED = "approved"
    PROMOTED = "promoted"


@dataclass(frozen=True, kw_only=True)
class ProjectLeadPromoted(DomainEvent):
    """A lead reached the successful runs that make a star administrator."""

    resident_id: str
    activity_id: str
    successful_runs: int


@dataclass(kw_only=True, eq=False)
class ProjectLead(Aggregate):
    """A volunteer's application to lead a project, and how it went."""

    community_id: str
    id: str
    activity_id: str
    resident_id: str
    motivation: str
    status: LeadStatus
    applied_at: datetime
    approved_by: str = ""
    approved_at: datetime | None = None
    runs: tuple[datetime, ...] = ()
    promoted_at: datetime | None = None

    @classmethod
    def apply(
        cls, community_id: str, activity_id: str, resident_id: str, motivation: str, at: datetime
    ) -> ProjectLead:
        """A new application."""
        if len(motivation) > MAX_MOTIVATION:
            raise InvalidArgument(f"motivation is longer than {MAX_MOTIVATION} characters")
        return cls(
            community_id=community_id,
            id=f"l{uuid.uuid4().hex}",
            activity_id=activity_id,
            resident_id=resident_id,
            motivation=motivation.strip(),
            status=LeadStatus.APPLIED,
            applied_at=at,
        )

    def approve(self, staff_id: str, at: datetime) -> None:
        """A staff member approves the application."""
        if staff_id == self.resident_id:
            raise SelfConfirmation(
                "a volunteer cannot approve their own application",
                Attempt(self.community_id, self.resident_id, self.activity_id, at),
            )
        if self.status is not LeadStatus.APPLIED:
            raise FailedPrecondition(f"the application is already {self.status.value}")
        self.status, self.approved_by, self.approved_at = LeadStatus.APPROVED, staff_id, at

    def record_run(self, occurrence_start: datetime, at: datetime) -> None:
        """Count a completed occurrence led by this lead; promote at the threshold, once."""
        if self.status is LeadStatus.APPLIED or occurrence_start in self.runs:
            return
        self.runs = tuple(sorted((*self.runs, occurrence_start)))
        if self.status is LeadStatus.APPROVED and len(self.runs) >= RUNS_TO_PROMOTE:
            self.status, self.promoted_at = LeadStatus.PROMOTED, at
            self.events.append(
                ProjectLeadPromoted(
                    community_id=self.community_id,
                    occurred_at=at,
                    resident_id=self.resident_id,
                    activity_id=self.activity_id,
                    successful_runs=len(self.runs),
                )
            )
