"""The supervision council's records in SQL (issue 18)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_kit.db import insert_once, locked
from linli_kit.errors import AlreadyExists
from linli_points.adapters.orm import (
    council_audits,
    council_decisions,
    council_meetings,
    council_members,
    council_votes,
    resident_units,
    transactions,
)
from linli_points.domain.council import (
    AppealDecision,
    AuditAdoption,
    Meeting,
    MeetingState,
    Member,
    Seat,
    Vote,
    VoteChoice,
)
from linli_points.service_layer.ports import Council


def _audits(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(y), int(q)) for y, _, q in (item.partition("Q") for item in text.split()))


def _member(row: Any) -> Member:
    return Member(
        id=row.id,
        community_id=row.community_id,
        resident_id=row.resident_id,
        seat=Seat(row.seat),
        organisation=row.organisation,
        term_start=row.term_start,
        term_end=row.term_end,
        seated_by=row.seated_by,
        seated_at=row.seated_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


def _adoption(row: Any) -> AuditAdoption:
    return AuditAdoption(
        year=row.year,
        quarter=row.quarter,
        integrity_ok=row.integrity_ok,
        transactions_checked=row.transactions_checked,
        accounts_checked=row.accounts_checked,
        breaks=row.breaks,
        report_sha256=row.report_sha256,
        meeting_id=row.meeting_id,
        adopted_by=row.adopted_by,
        adopted_at=row.adopted_at,
    )


class SqlCouncil(Council):
    """Council members, meetings, votes, decisions and adopted audits in SQL."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def known_resident(self, community_id: str, resident_id: str) -> bool:
        """Whether identity's ResidentRegistered reached points for the resident."""
        row = self.session.execute(
            sa.select(resident_units.c.resident_id).where(
                resident_units.c.community_id == community_id,
                resident_units.c.resident_id == resident_id,
            )
        ).first()
        return row is not None

    def add_member(self, member: Member) -> None:
        """Store a new seat."""
        self.session.execute(
            sa.insert(council_members).values(
                id=member.id,
                community_id=member.community_id,
                resident_id=member.resident_id,
                seat=member.seat.value,
                organisation=member.organisation,
                term_start=member.term_start,
                term_end=member.term_end,
                seated_by=member.seated_by,
                seated_at=member.seated_at,
                ended_at=member.ended_at,
                end_reason=member.end_reason,
            )
        )

    def get_member(self, community_id: str, member_id: str) -> Member | None:
        """One seat, locked for update, or None."""
        query = sa.select(council_members).where(
            council_members.c.community_id == community_id, council_members.c.id == member_id
        )
        row = self.session.execute(locked(query, self.session)).first()
        return None if row is None else _member(row)

    def save_member(self, member: Member) -> None:
        """Store a seat's early end."""
        self.session.execute(
            sa.update(council_members)
            .where(council_members.c.id == member.id)
            .values(ended_at=member.ended_at, end_reason=member.end_reason)
        )

    def members(self, community_id: str, offset: int = 0, limit: int | None = None) -> list[Member]:
        """Every seat of the community, oldest first; `limit` of them from `offset` if given."""
        rows = self.session.execute(
            sa.select(council_members)
            .where(council_members.c.community_id == community_id)
            .order_by(council_members.c.seated_at, council_members.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_member(r) for r in rows]

    @staticmethod
    def _values(meeting: Meeting) -> dict[str, Any]:
        return {
            "state": meeting.state.value,
            "attendees": " ".join(sorted(meeting.attendees)),
            "held_at": meeting.held_at,
            "minutes": meeting.minutes,
            "closed_at": meeting.closed_at,
        }

    def add_meeting(self, meeting: Meeting) -> None:
        """Store a new meeting."""
        self.session.execute(
            sa.insert(council_meetings).values(
                id=meeting.id,
                community_id=meeting.community_id,
                title=meeting.title,
                scheduled_for=meeting.scheduled_for,
                scheduled_by=meeting.scheduled_by,
                appeal_ids=" ".join(meeting.appeal_ids),
                audits=" ".join(f"{y}Q{q}" for y, q in meeting.audits),
                **self._values(meeting),
            )
        )

    def _loaded(self, rows: Iterable[Any]) -> list[Meeting]:
        """Meetings with their votes, decisions and adoptions (three reads for the lot)."""
        meetings = {
            row.id: Meeting(
                id=row.id,
                community_id=row.community_id,
                title=row.title,
                scheduled_for=row.scheduled_for,
                scheduled_by=row.scheduled_by,
                appeal_ids=tuple(row.appeal_ids.split()),
                audits=_audits(row.audits),
                state=MeetingState(row.state),
                attendees=frozenset(row.attendees.split()),
                held_at=row.held_at,
                minutes=row.minutes,
                closed_at=row.closed_at,
            )
            for row in rows
        }
        if not meetings:
            return []
        ids = list(meetings)
        votes: dict[str, list[Vote]] = {}
        for row in self.session.execute(
            sa.select(council_votes).where(council_votes.c.meeting_id.in_(ids))
        ):
            vote = Vote(row.member, VoteChoice(row.choice), row.compensation, row.at)
            meetings[row.meeting_id].votes.setdefault(row.appeal_id, {})[row.member] = vote
            votes.setdefault(f"{row.meeting_id} {row.appeal_id}", []).append(vote)
        for row in self.session.execute(
            sa.select(council_decisions).where(council_decisions.c.meeting_id.in_(ids))
        ):
            cast = sorted(
                votes.get(f"{row.meeting_id} {row.appeal_id}", []), key=lambda v: v.member
            )
            meetings[row.meeting_id].decisions[row.appeal_id] = AppealDecision(
                appeal_id=row.appeal_id,
                upheld=row.upheld,
                compensation=row.compensation,
                reason=row.reason,
                consensus=row.consensus,
                votes=tuple(sorted(cast, key=lambda v: v.member)),
                recorded_by=row.recorded_by,
                decided_at=row.decided_at,
            )
        for row in self.session.execute(
            sa.select(council_audits).where(council_audits.c.meeting_id.in_(ids))
        ):
            meetings[row.meeting_id].adoptions[(row.year, row.quarter)] = _adoption(row)
        return list(meetings.values())

    def get_meeting(self, community_id: str, meeting_id: str) -> Meeting | None:
        """One meeting with its votes, decisions and adoptions, locked for update, or None."""
        query = sa.select(council_meetings).where(
            council_meetings.c.community_id == community_id, council_meetings.c.id == meeting_id
        )
        found = self._loaded(self.session.execute(locked(query, self.session)).all())
        return found[0] if found else None

    def save_meeting(self, meeting: Meeting) -> None:
        """Store a meeting's state, attendance and minutes."""
        self.session.execute(
            sa.update(council_meetings)
            .where(council_meetings.c.id == meeting.id)
            .values(**self._values(meeting))
        )

    def meetings(self, community_id: str, offset: int, limit: int) -> list[Meeting]:
        """A page of the community's meetings, newest first."""
        rows = self.session.execute(
            sa.select(council_meetings)
            .where(council_meetings.c.community_id == community_id)
            .order_by(council_meetings.c.scheduled_for.desc(), council_meetings.c.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return self._loaded(rows)

    def add_vote(self, meeting: Meeting, appeal_id: str, vote: Vote) -> None:
        """Store a vote; AlreadyExists if the member voted on the appeal at the meeting."""
        insert_once(
            self.session,
            sa.insert(council_votes).values(
                meeting_id=meeting.id,
                appeal_id=appeal_id,
                member=vote.member,
                choice=vote.choice.value,
                compensation=vote.compensation,
                at=vote.at,
            ),
            AlreadyExists(f"{vote.member} has voted on appeal {appeal_id} already"),
        )

    def add_decision(self, meeting: Meeting, decision: AppealDecision) -> None:
        """Store a council decision; AlreadyExists if the council decided the appeal already."""
        insert_once(
            self.session,
            sa.insert(council_decisions).values(
                community_id=meeting.community_id,
                appeal_id=decision.appeal_id,
                meeting_id=meeting.id,
                upheld=decision.upheld,
                compensation=decision.compensation,
                reason=decision.reason,
                consensus=decision.consensus,
                recorded_by=decision.recorded_by,
                decided_at=decision.decided_at,
            ),
            AlreadyExists(f"the council decided appeal {decision.appeal_id} already"),
        )

    def decisions(self, community_id: str, appeal_ids: Iterable[str]) -> dict[str, str]:
        """The meeting that decided each of the appeals the council decided."""
        wanted = list(appeal_ids)
        if not wanted:
            return {}
        rows = self.session.execute(
            sa.select(council_decisions.c.appeal_id, council_decisions.c.meeting_id).where(
                council_decisions.c.community_id == community_id,
                council_decisions.c.appeal_id.in_(wanted),
            )
        )
        return {row.appeal_id: row.meeting_id for row in rows}

    def add_adoption(self, community_id: str, adoption: AuditAdoption) -> None:
        """Store an adopted audit; AlreadyExists if the quarter's audit was adopted."""
        insert_once(
            self.session,
            sa.insert(council_audits).values(
                community_id=community_id,
                year=adoption.year,
                quarter=adoption.quarter,
                meeting_id=adoption.meeting_id,
                integrity_ok=adoption.integrity_ok,
                transactions_checked=adoption.transactions_checked,
                accounts_checked=adoption.accounts_checked,
                breaks=adoption.breaks,
                report_sha256=adoption.report_sha256,
                adopted_by=adoption.adopted_by,
                adopted_at=adoption.adopted_at,
            ),
            AlreadyExists(f"{adoption.year} Q{adoption.quarter}'s audit was adopted already"),
        )

    def adoptions(self, community_id: str) -> list[AuditAdoption]:
        """Every adopted audit of the community, oldest quarter first."""
        rows = self.session.execute(
            sa.select(council_audits)
            .where(council_audits.c.community_id == community_id)
            .order_by(council_audits.c.year, council_audits.c.quarter)
        )
        return [_adoption(r) for r in rows]

    def ledger_start(self, community_id: str) -> datetime | None:
        """When the community's first transaction was posted."""
        first = self.session.execute(
            sa.select(sa.func.min(transactions.c.created_at)).where(
                transactions.c.community_id == community_id
            )
        ).scalar()
        return first if isinstance(first, datetime) else None
