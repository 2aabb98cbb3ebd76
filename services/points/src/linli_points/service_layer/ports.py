"""What the points use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from linli_kit.domain import AbstractUnitOfWork, Inbox, Repository
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.audit import ChainEntry
from linli_points.domain.council import AppealDecision, AuditAdoption, Meeting, Member, Vote
from linli_points.domain.ledger import Account, LedgerTransaction, Purpose
from linli_points.domain.reservations import Reservation
from linli_points.domain.runs import Run


@dataclass(frozen=True)
class TransactionPage:
    """One page of transactions, newest first."""

    transactions: list[LedgerTransaction]
    has_more: bool


class Ledger(Repository, abc.ABC):
    """Append-only, hash-chained store of transactions and the balances derived from them."""

    @abc.abstractmethod
    def fence(self, community_id: str) -> None:
        """Hold the community's chain until the unit of work ends: another writer waits."""

    def snapshot(self) -> None:
        """Read from one snapshot for the rest of the unit of work (a verification while
        writers post: chain and balances as of one moment). Call before any read."""

    @abc.abstractmethod
    def post(self, transaction: LedgerTransaction) -> None:
        """Append and chain a transaction and apply it to the balances atomically.

        Raises InsufficientPoints when a resident's account would go below zero.
        """

    @abc.abstractmethod
    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""

    def balances_of(self, community_id: str, holder: str) -> dict[Purpose, int]:
        """A holder's balance of every purpose (0 for an account that never moved)."""
        return {p: self.balance(Account(community_id, holder, p)) for p in Purpose}

    @abc.abstractmethod
    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first."""

    @abc.abstractmethod
    def get(self, community_id: str, transaction_id: str) -> LedgerTransaction | None:
        """One transaction, or None."""

    @abc.abstractmethod
    def find(
        self,
        community_id: str,
        *,
        session: str | None = None,
        resident_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LedgerTransaction]:
        """Transactions matching every given filter (created_at in [since, until)), oldest first."""

    @abc.abstractmethod
    def sources(self, community_id: str, rule_ids: Iterable[str]) -> set[tuple[str, str]]:
        """The (rule id, source id) pairs already posted for some rules."""

    @abc.abstractmethod
    def chain(self, community_id: str) -> Iterator[ChainEntry]:
        """Every transaction of a community in chain order, with the hash stored for it."""

    @abc.abstractmethod
    def stored_balances(self, community_id: str) -> dict[Account, int]:
        """The balance kept for every account of a community."""

    @abc.abstractmethod
    def communities(self) -> list[str]:
        """Every community with a transaction."""


class Reservations(Repository, abc.ABC):
    """Pending and settled reservations."""

    @abc.abstractmethod
    def add(self, reservation: Reservation) -> None:
        """Store a new reservation."""

    @abc.abstractmethod
    def get(self, community_id: str, reservation_id: str) -> Reservation | None:
        """One reservation, locked for update, or None."""

    @abc.abstractmethod
    def save(self, reservation: Reservation) -> None:
        """Store a reservation's new state."""

    @abc.abstractmethod
    def expired(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        """(community, id) of pending reservations that expired before an instant."""


class Appeals(Repository, abc.ABC):
    """Appeals and their decisions."""

    @abc.abstractmethod
    def add(self, appeal: Appeal) -> None:
        """Store a new appeal."""

    @abc.abstractmethod
    def get(self, community_id: str, appeal_id: str) -> Appeal | None:
        """One appeal, locked for update, or None."""

    @abc.abstractmethod
    def save(self, appeal: Appeal) -> None:
        """Store an appeal's decision."""

    @abc.abstractmethod
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


class Runs(Repository, abc.ABC):
    """What each close, rebuild and committee change did."""

    @abc.abstractmethod
    def add(self, run: Run) -> None:
        """Store a run."""

    @abc.abstractmethod
    def get(self, community_id: str, run_id: str) -> Run | None:
        """One run, or None."""


class Directory(abc.ABC):
    """Local read models: org units, emergency activities, training corrections, committee."""

    @abc.abstractmethod
    def set_org_unit(
        self, community_id: str, resident_id: str, org_unit: str, at: datetime | None = None
    ) -> None:
        """Remember where a resident lives (from identity.events) and since when."""

    @abc.abstractmethod
    def placed_at(self, community_id: str, resident_id: str) -> datetime | None:
        """When identity placed the resident where points has them (None: unknown or older)."""

    @abc.abstractmethod
    def org_unit(self, community_id: str, resident_id: str) -> str:
        """A resident's org unit, '' if unknown."""

    @abc.abstractmethod
    def org_units(self, community_id: str) -> Mapping[str, str]:
        """Every known resident's org unit."""

    @abc.abstractmethod
    def mark_emergency(self, community_id: str, activity: str, at: datetime) -> None:
        """Remember that an activity answers an emergency (from attendance.events)."""

    @abc.abstractmethod
    def is_emergency(self, community_id: str, activity: str) -> bool:
        """Whether an activity answers an emergency."""

    @abc.abstractmethod
    def corrected_at(self, community_id: str, kind: str, session: str) -> datetime | None:
        """When the latest correction of a kind applied to an attendance session was made."""

    @abc.abstractmethod
    def set_corrected_at(self, community_id: str, kind: str, session: str, at: datetime) -> None:
        """Remember the latest correction of a kind applied to an attendance session."""

    @abc.abstractmethod
    def committee(self, community_id: str) -> set[str]:
        """The supervision committee's members."""

    @abc.abstractmethod
    def set_committee_member(
        self, community_id: str, resident_id: str, member: bool, at: datetime
    ) -> None:
        """Add a resident to the committee or remove them."""


class Council(Repository, abc.ABC):
    """The supervision council's members, meetings, votes, decisions and adopted audits."""

    @abc.abstractmethod
    def known_resident(self, community_id: str, resident_id: str) -> bool:
        """Whether identity's events told points of the resident (ResidentRegistered)."""

    @abc.abstractmethod
    def add_member(self, member: Member) -> None:
        """Store a new seat."""

    @abc.abstractmethod
    def get_member(self, community_id: str, member_id: str) -> Member | None:
        """One seat, or None."""

    @abc.abstractmethod
    def save_member(self, member: Member) -> None:
        """Store a seat's early end."""

    @abc.abstractmethod
    def members(self, community_id: str, offset: int = 0, limit: int | None = None) -> list[Member]:
        """Every seat of the community, current and past, oldest first; `limit` of them from
        `offset` if given."""

    @abc.abstractmethod
    def add_meeting(self, meeting: Meeting) -> None:
        """Store a new meeting."""

    @abc.abstractmethod
    def get_meeting(self, community_id: str, meeting_id: str) -> Meeting | None:
        """One meeting with its votes, decisions and adoptions, locked for update, or None."""

    @abc.abstractmethod
    def save_meeting(self, meeting: Meeting) -> None:
        """Store a meeting's state, attendance and minutes."""

    @abc.abstractmethod
    def meetings(self, community_id: str, offset: int, limit: int) -> list[Meeting]:
        """A page of the community's meetings, newest first."""

    @abc.abstractmethod
    def add_vote(self, meeting: Meeting, appeal_id: str, vote: Vote) -> None:
        """Store a vote; AlreadyExists if the member voted on the appeal at the meeting."""

    @abc.abstractmethod
    def add_decision(self, meeting: Meeting, decision: AppealDecision) -> None:
        """Store a council decision; AlreadyExists if the appeal was decided by the council."""

    @abc.abstractmethod
    def decisions(self, community_id: str, appeal_ids: Iterable[str]) -> dict[str, str]:
        """The meeting that decided each of the appeals the council decided (appeal → meeting)."""

    @abc.abstractmethod
    def add_adoption(self, community_id: str, adoption: AuditAdoption) -> None:
        """Store an adopted audit; AlreadyExists if the quarter's audit was adopted."""

    @abc.abstractmethod
    def adoptions(self, community_id: str) -> list[AuditAdoption]:
        """Every adopted audit of the community, oldest quarter first."""

    @abc.abstractmethod
    def ledger_start(self, community_id: str) -> datetime | None:
        """When the community's first transaction was posted (None without one)."""


class Households(abc.ABC):
    """Identity's answer to whether two residents live in one household (never the household)."""

    @abc.abstractmethod
    def same_household(self, community_id: str, resident_id: str, other_id: str) -> bool:
        """Whether both residents are of one household; Unavailable if identity is unreachable."""


class LeaderboardStore(abc.ABC):
    """Where leaderboards are served from (a cache: the ledger is the truth)."""

    @abc.abstractmethod
    def replace(
        self, community_id: str, year: int, boards: Mapping[str, Mapping[str, int]]
    ) -> None:
        """Swap in freshly computed boards (scope → resident → score) for a year."""


class Leaderboards(abc.ABC):
    """The boards as served (a cache of the ledger): their top places, one earning at a time."""

    @abc.abstractmethod
    async def top(
        self, community_id: str, year: int, scope: str, size: int
    ) -> list[tuple[str, int]]:
        """The first places of a board, highest score first; Unavailable if unreachable."""

    @abc.abstractmethod
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
        """Add an earning to every board of the resident once; False for a repeated event."""

    @abc.abstractmethod
    async def place(
        self, community_id: str, year: int, resident_id: str, org_unit: str, former: Sequence[str]
    ) -> None:
        """Put the resident's score of a year on the boards of their org unit (its grid and
        building) and take it off those of the former ones; the same call twice changes nothing."""

    @abc.abstractmethod
    async def placement(self, community_id: str, resident_id: str) -> str | None:
        """The org unit the resident's boards were last placed by (`place`), or None."""

    @abc.abstractmethod
    async def remember_name(self, community_id: str, resident_id: str, display_name: str) -> None:
        """Keep a resident's display name (from identity) for the boards."""

    @abc.abstractmethod
    async def display_names(
        self, community_id: str, resident_ids: Sequence[str]
    ) -> Mapping[str, str]:
        """The known display names of the residents (resident id → name, unknown ones left out)."""


class LeaderboardWatch(abc.ABC):
    """Live standings of a board for any number of watchers."""

    @abc.abstractmethod
    def watch(
        self, community_id: str, year: int, scope: str, size: int
    ) -> AsyncIterator[list[tuple[str, int]]]:
        """The board's standings now, then again whenever they change (coalesced)."""


class PointsUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over the ledger, reservations, appeals, runs and the local read models."""

    ledger: Ledger
    reservations: Reservations
    appeals: Appeals
    runs: Runs
    directory: Directory
    council: Council

    def item(self, inbox: Inbox | None = None) -> PointsUnitOfWork:
        """One item's view of this unit of work, for a batch that commits once."""
        return BatchItem(self, inbox)

    def commit_deliveries(self, deliveries: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record (consumer, event id) pairs as applied and commit, unless some were applied
        before: then nothing is committed and those are returned."""
        applied = {d for d in deliveries if not self.inbox.first_delivery(*d)}
        if not applied:
            self.commit()
        return applied


class DeferredInbox(Inbox):
    """A batch's inbox: deliveries are noted here and recorded at once before the commit.

    An event already recorded by an earlier commit is found then; the writer runs the batch
    again with that event in `applied`, so that its item sees a redelivery.
    """

    def __init__(self) -> None:
        self.applied: set[tuple[str, str]] = set()
        self.noted: dict[tuple[str, str], None] = {}

    def first_delivery(self, consumer: str, event_id: str) -> bool:
        """Note the delivery; False if it was applied before or is already in this batch."""
        key = (consumer, event_id)
        if key in self.applied or key in self.noted:
            return False
        self.noted[key] = None
        return True

    def restart(self, applied: set[tuple[str, str]]) -> None:
        """Forget the noted deliveries before a rerun; remember which were applied before."""
        self.applied |= applied
        self.noted.clear()


class BatchItem(PointsUnitOfWork):
    """One item of a batch: the batch's repositories; its commit only marks the item done.

    The batch commits (or rolls back) every item at once; an item that raises is dropped
    from the batch by the writer, which runs the others again without it.
    """

    def __init__(self, batch: PointsUnitOfWork, inbox: Inbox | None = None) -> None:
        self.ledger, self.reservations = batch.ledger, batch.reservations
        self.appeals, self.runs, self.directory = batch.appeals, batch.runs, batch.directory
        self.council = batch.council
        self.requests, self.inbox = batch.requests, inbox or batch.inbox
        self.done = False

    def commit(self) -> None:
        """The item's work is complete; it becomes durable with its batch."""
        self.done = True

    def rollback(self) -> None:
        """Nothing of its own to undo: a failed item makes the writer rerun the batch without it."""
