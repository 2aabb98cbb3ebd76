"""In-memory fakes of the points ports: a ledger that keeps balances from its postings."""

from __future__ import annotations

import asyncio
import copy
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from linli.events.v1.envelope_pb2 import EventEnvelope
from linli.events.v1.identity_events_pb2 import RoleGranted

from linli_kit.domain import DomainEvent
from linli_kit.errors import AlreadyExists
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog
from linli_kit.principals import Kind, Principal
from linli_kit.streams import EnvelopeHandler
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.audit import GENESIS, ChainEntry, entry_hash
from linli_points.domain.council import AppealDecision, AuditAdoption, Meeting, Member, Vote
from linli_points.domain.ledger import Account, LedgerTransaction, check_spendable
from linli_points.domain.reservations import Reservation, ReservationState
from linli_points.domain.runs import Run
from linli_points.domain.standings import COMMUNITY_SCOPE, scopes_for
from linli_points.service_layer.ports import (
    Appeals,
    Council,
    Directory,
    Households,
    Leaderboards,
    LeaderboardStore,
    LeaderboardWatch,
    Ledger,
    PointsUnitOfWork,
    Reservations,
    Runs,
    TransactionPage,
)


class FakeLedger(Ledger):
    """Transactions in a list; balances updated from each posting, as the SQL ledger does."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions: list[LedgerTransaction] = []
        self.balances: dict[Account, int] = defaultdict(int)
        self.entries: dict[str, list[ChainEntry]] = defaultdict(list)

    def post(self, transaction: LedgerTransaction) -> None:
        """Refuse an overdraft, else append, chain and apply the postings to the balances."""
        if any(
            (t.community_id, t.rule_id, t.source_id)
            == (transaction.community_id, transaction.rule_id, transaction.source_id)
            for t in self.transactions
        ):
            raise AssertionError("the SQL ledger's unique constraint would refuse this")
        after = {p.account: self.balances.get(p.account, 0) for p in transaction.postings}
        for posting in transaction.postings:
            after[posting.account] += posting.amount
        check_spendable(after)
        self.transactions.append(transaction)
        for posting in transaction.postings:
            self.balances[posting.account] += posting.amount
        chain = self.entries[transaction.community_id]
        previous = chain[-1].hash if chain else GENESIS
        seq = len(chain) + 1
        chain.append(ChainEntry(seq, entry_hash(previous, seq, transaction), transaction))

    def fence(self, community_id: str) -> None:
        """Nothing to hold: the fake unit of work already runs one at a time."""

    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""
        return self.balances.get(account, 0)

    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first."""
        touching = [
            t
            for t in self.transactions
            if any(
                p.account.community_id == community_id and p.account.holder == holder
                for p in t.postings
            )
        ]
        touching.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        rows = touching[offset : offset + limit + 1]
        return TransactionPage(rows[:limit], has_more=len(rows) > limit)

    def get(self, community_id: str, transaction_id: str) -> LedgerTransaction | None:
        """One transaction, or None."""
        return next(
            (
                t
                for t in self.transactions
                if t.community_id == community_id and t.id == transaction_id
            ),
            None,
        )

    def find(
        self,
        community_id: str,
        *,
        session: str | None = None,
        resident_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LedgerTransaction]:
        """Transactions matching every given filter, oldest first."""
        found = [
            t
            for t in self.transactions
            if t.community_id == community_id
            and (session is None or t.session == session)
            and (resident_id is None or t.resident_id == resident_id)
            and (since is None or t.created_at >= since)
            and (until is None or t.created_at < until)
        ]
        return sorted(found, key=lambda t: t.created_at)

    def sources(self, community_id: str, rule_ids: Iterable[str]) -> set[tuple[str, str]]:
        """The (rule id, source id) pairs already posted for some rules."""
        wanted = set(rule_ids)
        return {
            (t.rule_id, t.source_id)
            for t in self.transactions
            if t.community_id == community_id and t.rule_id in wanted
        }

    def chain(self, community_id: str) -> Iterator[ChainEntry]:
        """Every transaction of a community in chain order."""
        return iter(list(self.entries[community_id]))

    def stored_balances(self, community_id: str) -> dict[Account, int]:
        """The balance kept for every account of a community."""
        return {a: b for a, b in self.balances.items() if a.community_id == community_id}

    def communities(self) -> list[str]:
        """Every community with a transaction."""
        return sorted(self.entries)


class FakeReservations(Reservations):
    """Reservations in a dict; get returns a copy, as a database read would."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Reservation] = {}

    def add(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        self.rows[(reservation.community_id, reservation.id)] = copy.copy(reservation)

    def get(self, community_id: str, reservation_id: str) -> Reservation | None:
        """One reservation, or None."""
        found = self.rows.get((community_id, reservation_id))
        return copy.copy(found) if found else None

    def save(self, reservation: Reservation) -> None:
        """Store a reservation's new state."""
        self.rows[(reservation.community_id, reservation.id)] = copy.copy(reservation)

    def expired(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        """Pending reservations that expired before an instant."""
        due = [
            k
            for k, r in self.rows.items()
            if r.state is ReservationState.PENDING and r.expires_at <= before
        ]
        return due[:limit]


class FakeAppeals(Appeals):
    """Appeals in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Appeal] = {}

    def add(self, appeal: Appeal) -> None:
        """Store a new appeal."""
        self.rows[(appeal.community_id, appeal.id)] = copy.copy(appeal)

    def get(self, community_id: str, appeal_id: str) -> Appeal | None:
        """One appeal, or None."""
        found = self.rows.get((community_id, appeal_id))
        return copy.copy(found) if found else None

    def save(self, appeal: Appeal) -> None:
        """Store an appeal's decision."""
        self.rows[(appeal.community_id, appeal.id)] = copy.copy(appeal)

    def list(
        self,
        community_id: str,
        *,
        resident_id: str | None = None,
        transaction_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Collection[AppealStatus] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Appeal]:
        """Appeals matching every given filter (any status if none is named), oldest first;
        `limit` of them from `offset` if given."""
        found = sorted(
            (
                copy.copy(a)
                for (c, _), a in self.rows.items()
                if c == community_id
                and (resident_id is None or a.resident_id == resident_id)
                and (transaction_id is None or a.transaction_id == transaction_id)
                and (since is None or a.filed_at >= since)
                and (until is None or a.filed_at < until)
                and (not statuses or a.status in statuses)
            ),
            key=lambda a: (a.filed_at, a.id),
        )
        return found[offset:] if limit is None else found[offset : offset + limit]


class FakeRuns(Runs):
    """Runs in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Run] = {}

    def add(self, run: Run) -> None:
        """Store a run."""
        self.rows[(run.community_id, run.id)] = run

    def get(self, community_id: str, run_id: str) -> Run | None:
        """One run, or None."""
        return self.rows.get((community_id, run_id))


class FakeDirectory(Directory):
    """Read models in dicts and sets."""

    def __init__(self) -> None:
        self.units: dict[tuple[str, str], str] = {}
        self.emergencies: set[tuple[str, str]] = set()
        self.members: set[tuple[str, str]] = set()
        self.corrections: dict[tuple[str, str, str], datetime] = {}
        self.placed: dict[tuple[str, str], datetime | None] = {}

    def set_org_unit(
        self, community_id: str, resident_id: str, org_unit: str, at: datetime | None = None
    ) -> None:
        """Remember where a resident lives and since when."""
        self.units[(community_id, resident_id)] = org_unit
        self.placed[(community_id, resident_id)] = at

    def placed_at(self, community_id: str, resident_id: str) -> datetime | None:
        """When the resident was placed where they are."""
        return self.placed.get((community_id, resident_id))

    def org_unit(self, community_id: str, resident_id: str) -> str:
        """A resident's org unit, '' if unknown."""
        return self.units.get((community_id, resident_id), "")

    def org_units(self, community_id: str) -> Mapping[str, str]:
        """Every known resident's org unit."""
        return {r: u for (c, r), u in self.units.items() if c == community_id}

    def mark_emergency(self, community_id: str, activity: str, at: datetime) -> None:
        """Remember that an activity answers an emergency."""
        self.emergencies.add((community_id, activity))

    def is_emergency(self, community_id: str, activity: str) -> bool:
        """Whether an activity answers an emergency."""
        return (community_id, activity) in self.emergencies

    def corrected_at(self, community_id: str, kind: str, session: str) -> datetime | None:
        """When the latest correction of a kind applied to a session was made."""
        return self.corrections.get((community_id, kind, session))

    def set_corrected_at(self, community_id: str, kind: str, session: str, at: datetime) -> None:
        """Remember the latest correction of a kind applied to a session."""
        self.corrections[(community_id, kind, session)] = at

    def committee(self, community_id: str) -> set[str]:
        """The committee's members."""
        return {r for c, r in self.members if c == community_id}

    def set_committee_member(
        self, community_id: str, resident_id: str, member: bool, at: datetime
    ) -> None:
        """Add or remove a member."""
        if member:
            self.members.add((community_id, resident_id))
        else:
            self.members.discard((community_id, resident_id))


class _Link:
    """A reference the unit of work's snapshots keep as it is (not copied)."""

    def __init__(self, uow: PointsUnitOfWork) -> None:
        self.uow = uow

    def __deepcopy__(self, memo: dict[int, object]) -> _Link:
        return self


class FakeCouncil(Council):
    """Council records in dicts, with the SQL keys' refusals (one vote, decision, adoption)."""

    def __init__(self, uow: PointsUnitOfWork) -> None:
        self.link = _Link(uow)
        self.seats: dict[str, Member] = {}
        self.meetings_by_id: dict[str, Meeting] = {}
        self.decided: dict[tuple[str, str], str] = {}
        self.adopted: dict[tuple[str, int, int], AuditAdoption] = {}

    def known_resident(self, community_id: str, resident_id: str) -> bool:
        """Whether ResidentRegistered reached the directory."""
        return (community_id, resident_id) in self.link.uow.directory.units  # type: ignore[attr-defined]

    def add_member(self, member: Member) -> None:
        """Store a copy of a new seat."""
        self.seats[member.id] = copy.deepcopy(member)

    def get_member(self, community_id: str, member_id: str) -> Member | None:
        """A copy of one seat, or None."""
        found = self.seats.get(member_id)
        return copy.deepcopy(found) if found and found.community_id == community_id else None

    def save_member(self, member: Member) -> None:
        """Store a copy of the seat."""
        self.seats[member.id] = copy.deepcopy(member)

    def members(self, community_id: str, offset: int = 0, limit: int | None = None) -> list[Member]:
        """Copies of the community's seats, oldest first; `limit` of them from `offset`."""
        found = [m for m in self.seats.values() if m.community_id == community_id]
        ordered = sorted(found, key=lambda m: (m.seated_at, m.id))[offset:]
        return copy.deepcopy(ordered if limit is None else ordered[:limit])

    def add_meeting(self, meeting: Meeting) -> None:
        """Store a copy of a new meeting."""
        self.meetings_by_id[meeting.id] = copy.deepcopy(meeting)

    def get_meeting(self, community_id: str, meeting_id: str) -> Meeting | None:
        """A copy of one meeting, or None."""
        found = self.meetings_by_id.get(meeting_id)
        return copy.deepcopy(found) if found and found.community_id == community_id else None

    def save_meeting(self, meeting: Meeting) -> None:
        """Store the meeting's state, attendance and minutes (votes and the rest are added)."""
        kept = self.meetings_by_id[meeting.id]
        kept.state, kept.attendees, kept.held_at = meeting.state, meeting.attendees, meeting.held_at
        kept.minutes, kept.closed_at = meeting.minutes, meeting.closed_at

    def meetings(self, community_id: str, offset: int, limit: int) -> list[Meeting]:
        """Copies of a page of meetings, newest first."""
        found = [m for m in self.meetings_by_id.values() if m.community_id == community_id]
        found.sort(key=lambda m: (m.scheduled_for, m.id), reverse=True)
        return copy.deepcopy(found[offset : offset + limit])

    def add_vote(self, meeting: Meeting, appeal_id: str, vote: Vote) -> None:
        """Store a vote, refused for a second one of the member on the appeal at the meeting."""
        cast = self.meetings_by_id[meeting.id].votes.setdefault(appeal_id, {})
        if vote.member in cast:
            raise AlreadyExists(f"{vote.member} has voted on appeal {appeal_id} already")
        cast[vote.member] = vote

    def add_decision(self, meeting: Meeting, decision: AppealDecision) -> None:
        """Store a decision, refused for an appeal the council decided already."""
        key = (meeting.community_id, decision.appeal_id)
        if key in self.decided:
            raise AlreadyExists(f"the council decided appeal {decision.appeal_id} already")
        self.decided[key] = meeting.id
        self.meetings_by_id[meeting.id].decisions[decision.appeal_id] = decision

    def decisions(self, community_id: str, appeal_ids: Iterable[str]) -> dict[str, str]:
        """The meeting that decided each of the appeals the council decided."""
        return {
            a: self.decided[(community_id, a)]
            for a in appeal_ids
            if (community_id, a) in self.decided
        }

    def add_adoption(self, community_id: str, adoption: AuditAdoption) -> None:
        """Store an adoption, refused for a quarter adopted already."""
        key = (community_id, adoption.year, adoption.quarter)
        if key in self.adopted:
            raise AlreadyExists(f"{adoption.year} Q{adoption.quarter}'s audit was adopted already")
        self.adopted[key] = adoption
        self.meetings_by_id[adoption.meeting_id].adoptions[(adoption.year, adoption.quarter)] = (
            adoption
        )

    def adoptions(self, community_id: str) -> list[AuditAdoption]:
        """The community's adopted audits, oldest quarter first."""
        return [a for (c, _, _), a in sorted(self.adopted.items()) if c == community_id]

    def ledger_start(self, community_id: str) -> datetime | None:
        """When the community's first transaction was posted."""
        times = [
            t.created_at
            for t in self.link.uow.ledger.transactions
            if t.community_id == community_id
        ]  # type: ignore[attr-defined]
        return min(times) if times else None


class FakeHouseholds(Households):
    """Households as identity would answer: residents grouped by a household label."""

    def __init__(self) -> None:
        self.of: dict[tuple[str, str], str] = {}

    def same_household(self, community_id: str, resident_id: str, other_id: str) -> bool:
        """Whether both residents have one (non-empty) household."""
        mine = self.of.get((community_id, resident_id), "")
        return bool(mine) and mine == self.of.get((community_id, other_id), "")


class FakePointsUnitOfWork(PointsUnitOfWork):
    """Unit of work whose commit publishes the collected events; rollback restores the state."""

    def __init__(self) -> None:
        self.ledger = FakeLedger()
        self.reservations = FakeReservations()
        self.appeals = FakeAppeals()
        self.runs = FakeRuns()
        self.directory = FakeDirectory()
        self.council = FakeCouncil(self)
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.committed = False
        self.published: list[DomainEvent] = []
        self._saved = self._state()
        self._clean = True
        # The app's threads (RPCs, schedules) share this one unit of work: one at a time.
        self._turn = threading.RLock()

    def _state(self) -> dict[str, object]:
        parts = (
            "ledger",
            "reservations",
            "appeals",
            "runs",
            "directory",
            "council",
            "requests",
            "inbox",
        )
        return {name: copy.deepcopy(vars(getattr(self, name))) for name in parts}

    def __enter__(self) -> FakePointsUnitOfWork:
        self._turn.acquire()
        self._clean = False
        return self

    def __exit__(self, *args: object) -> None:
        try:
            super().__exit__(*args)
        finally:
            self._turn.release()

    def __call__(self) -> FakePointsUnitOfWork:
        """The same unit of work again, as a uow factory hands out a fresh one."""
        return self

    def commit(self) -> None:
        """Mark the work committed and publish the events it raised."""
        self.committed = True
        self.published.extend(self.collect_new_events())
        self._saved = self._state()
        self._clean = True

    def rollback(self) -> None:
        """Put back whatever was changed since the last commit, as a database would."""
        if self._clean:
            return
        self._clean = True
        for name, saved in self._saved.items():
            vars(getattr(self, name)).update(copy.deepcopy(saved))


class FakeLeaderboards(Leaderboards, LeaderboardWatch, LeaderboardStore):
    """Boards in dicts, as Redis keeps them: served, watched (snapshot only) and replaced."""

    def __init__(self) -> None:
        self.boards: dict[tuple[str, int, str], dict[str, int]] = defaultdict(dict)
        self.seen: set[str] = set()
        self.names: dict[tuple[str, str], str] = {}
        self.placed: dict[tuple[str, str], str] = {}

    async def top(
        self, community_id: str, year: int, scope: str, size: int
    ) -> list[tuple[str, int]]:
        """The first places of a board, highest score first (ties by resident id)."""
        board = self.boards.get((community_id, year, scope), {})
        return sorted(board.items(), key=lambda kv: (-kv[1], kv[0]))[:size]

    async def apply(
        self,
        *,
        event_id: str,
        community_id: str,
        year: int,
        resident_id: str,
        org_unit: str,
        delta: int,
    ) -> bool:
        """Add an earning to every board of the resident once."""
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        for scope in scopes_for(org_unit):
            board = self.boards[(community_id, year, scope)]
            board[resident_id] = board.get(resident_id, 0) + delta
        return True

    async def place(
        self, community_id: str, year: int, resident_id: str, org_unit: str, former: Sequence[str]
    ) -> None:
        """Move the resident's score of a year to the boards of their org unit."""
        self.placed[(community_id, resident_id)] = org_unit
        score = self.boards.get((community_id, year, COMMUNITY_SCOPE), {}).get(resident_id)
        new = scopes_for(org_unit)[1:]
        for unit in former:
            for scope in scopes_for(unit)[1:]:
                if scope not in new:
                    self.boards.get((community_id, year, scope), {}).pop(resident_id, None)
        if score is not None:
            for scope in new:
                self.boards[(community_id, year, scope)][resident_id] = score

    async def placement(self, community_id: str, resident_id: str) -> str | None:
        """The org unit the resident's boards were last placed by, or None."""
        return self.placed.get((community_id, resident_id))

    async def remember_name(self, community_id: str, resident_id: str, display_name: str) -> None:
        """Keep a resident's display name."""
        self.names[(community_id, resident_id)] = display_name

    async def display_names(
        self, community_id: str, resident_ids: Sequence[str]
    ) -> Mapping[str, str]:
        """The known display names of the residents."""
        return {
            r: self.names[(community_id, r)]
            for r in resident_ids
            if (community_id, r) in self.names
        }

    async def watch(
        self, community_id: str, year: int, scope: str, size: int
    ) -> AsyncIterator[list[tuple[str, int]]]:
        """The standings now; then nothing changes (a fake has no pub/sub)."""
        yield await self.top(community_id, year, scope, size)
        await asyncio.Event().wait()

    def replace(
        self, community_id: str, year: int, boards: Mapping[str, Mapping[str, int]]
    ) -> None:
        """Swap in freshly computed boards for a year."""
        for key in [k for k in self.boards if k[:2] == (community_id, year)]:
            del self.boards[key]
        for scope, scores in boards.items():
            self.boards[(community_id, year, scope)] = dict(scores)


class FakeConsumer:
    """A stream consumer that never reads a stream: tests hand it envelopes themselves."""

    def __init__(self, handlers: dict[str, EnvelopeHandler]) -> None:
        self.handlers = handlers

    async def run(self) -> None:
        """Nothing to read."""

    async def close(self) -> None:
        """Nothing to release."""


class FakeConsumers:
    """Builds fake consumers and keeps them by stream, for a test to deliver to."""

    def __init__(self) -> None:
        self.by_stream: dict[str, FakeConsumer] = {}

    def __call__(
        self, stream: str, group: str, routes: dict[str, EnvelopeHandler], lane: int = 0
    ) -> FakeConsumer:
        """A consumer of one stream (every lane of a stream hands the same handlers)."""
        self.by_stream[stream] = FakeConsumer(routes)
        return self.by_stream[stream]


def envelope(community_id: str, payload: Message, at: datetime) -> EventEnvelope:
    """An event as its publisher's relay puts it on a stream."""
    wrapped = EventEnvelope(
        event_id=str(uuid.uuid4()), type=payload.DESCRIPTOR.full_name, community_id=community_id
    )
    wrapped.occurred_at.FromDatetime(at)
    wrapped.payload.Pack(payload)
    return wrapped


async def seat_on_committee(app: Any, community_id: str, resident_id: str, at: datetime) -> None:
    """Deliver identity's RoleGranted(committee_member) for a resident to the running app."""
    granted = RoleGranted(
        resident=f"communities/{community_id}/residents/{resident_id}",
        role="committee_member",
        granted_by="system",
    )
    handlers = app.consumers.by_stream["identity.events"].handlers
    await handlers[RoleGranted.DESCRIPTOR.full_name](envelope(community_id, granted, at))


def person(community_id: str, resident_id: str, *roles: str) -> Principal:
    """A signed-in resident holding the roles, as the auth interceptor makes them."""
    subject = f"communities/{community_id}/residents/{resident_id}"
    return Principal(Kind.PERSON, subject, community_id, frozenset(roles))
