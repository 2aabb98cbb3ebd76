"""Mentoring pairs (O2, 老带新): a core volunteer mentors up to 3 newcomers at a time.

The "successful" rule: a pair succeeds when the newcomer is granted the volunteer (or core
volunteer) role within SUCCESS_WINDOW of pairing. Staff grant that role once a newcomer has
served on their own (the programme's promotion step), so identity can decide success from
facts it owns. Success is recorded once and published as MentoringPairSucceeded, which the
points service can reward; a pair past the window without success lapses and frees the slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from linli_identity.domain.org import Role
from linli_identity.domain.residents import Resident
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument

MAX_NEWCOMERS = 3
SUCCESS_WINDOW = timedelta(days=180)
PROMOTED_ROLES = frozenset({Role.VOLUNTEER, Role.CORE_VOLUNTEER})


class PairStatus(StrEnum):
    """Where a pair stands."""

    ACTIVE = "active"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True, kw_only=True)
class MentoringPairSucceeded(DomainEvent):
    """A newcomer mentored by a core volunteer became a volunteer in time."""

    pair_id: str
    mentor_id: str
    newcomer_id: str


@dataclass(kw_only=True, eq=False)
class MentoringPair(Aggregate):
    """One core volunteer mentoring one newcomer."""

    community_id: str
    id: str
    mentor_id: str
    newcomer_id: str
    started_at: datetime
    status: PairStatus = PairStatus.ACTIVE
    succeeded_at: datetime | None = None

    @classmethod
    def start(
        cls,
        mentor: Resident,
        newcomer: Resident,
        mentor_pairs: list[MentoringPair],
        newcomer_pairs: list[MentoringPair],
        at: datetime,
    ) -> MentoringPair:
        """Pair a core volunteer with a newcomer, within the mentor's capacity."""
        if mentor.id == newcomer.id or mentor.community_id != newcomer.community_id:
            raise InvalidArgument("mentor and newcomer must be two residents of one community")
        if Role.CORE_VOLUNTEER not in mentor.roles:
            raise FailedPrecondition("only a core volunteer can mentor newcomers")
        if newcomer.roles & PROMOTED_ROLES:
            raise FailedPrecondition("the newcomer is already a volunteer")
        if any(pair.open_at(at) for pair in newcomer_pairs):
            raise AlreadyExists("the newcomer already has a mentor")
        if sum(pair.open_at(at) for pair in mentor_pairs) >= MAX_NEWCOMERS:
            raise FailedPrecondition(f"a mentor takes at most {MAX_NEWCOMERS} newcomers at a time")
        return cls(
            community_id=mentor.community_id,
            id=f"m{uuid.uuid4().hex[:16]}",
            mentor_id=mentor.id,
            newcomer_id=newcomer.id,
            started_at=at,
        )

    def open_at(self, at: datetime) -> bool:
        """True while the pair is active and inside its success window."""
        return self.status is PairStatus.ACTIVE and at < self.started_at + SUCCESS_WINDOW

    def newcomer_promoted(self, at: datetime) -> bool:
        """Apply the success rule to a promotion of the newcomer; True if the pair succeeded."""
        if not self.open_at(at):
            return False
        self.status = PairStatus.SUCCEEDED
        self.succeeded_at = at
        self.events.append(
            MentoringPairSucceeded(
                community_id=self.community_id,
                occurred_at=at,
                pair_id=self.id,
                mentor_id=self.mentor_id,
                newcomer_id=self.newcomer_id,
            )
        )
        return True
