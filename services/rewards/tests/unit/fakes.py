"""Test doubles for the rewards service: points as a dict of reservations, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.errors import FailedPrecondition, NotFound, Unavailable
from linli_kit.principals import Kind, Principal, Role
from linli_rewards.domain.benefits import Standing
from linli_rewards.service_layer.ports import Hold

C = "c-east"
# Points' default honour tiers, highest first: (lifetime floor in hundredths, name).
TIERS = ((300_000, "star"), (100_000, "gold"), (50_000, "silver"), (10_000, "bronze"))


def person(resident: str, *roles: str, community: str = C) -> Principal:
    """A signed-in person of the community."""
    return Principal(
        Kind.PERSON, f"communities/{community}/residents/{resident}", community, frozenset(roles)
    )


def partner(partner_id: str, community: str = C) -> Principal:
    """A partner's counter, by its certificate."""
    return Principal(Kind.PARTNER, partner_id, community)


ALICE, BOB = person("r-alice"), person("r-bob")
STAFF = person("r-staff", Role.SOCIAL_WORKER)


@dataclass
class FixedClock:
    """A clock that tells the time it is set to."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Reservation:
    """One hold in the fake points."""

    resident_id: str
    amount: int
    state: str = "pending"


@dataclass
class FakePoints:
    """Points' reservations: idempotent by request id, refusing what points refuses.

    `down` makes every call fail as if points did not answer; `lose_answers` makes calls take
    effect but lose their answer (a timeout after points committed).
    """

    balances: dict[str, int]
    reservations: dict[str, Reservation] = field(default_factory=dict)
    answered: dict[str, Hold] = field(default_factory=dict)
    down: bool = False
    lose_answers: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    lifetime: dict[str, int] = field(default_factory=dict)

    def _once(self, request_id: str, step: str, work: object) -> Hold:
        if self.down:
            raise Unavailable("points service did not answer: UNAVAILABLE")
        self.calls.append(step)
        if request_id not in self.answered:
            self.answered[request_id] = work()  # type: ignore[operator]
        if step in self.lose_answers:
            raise Unavailable("points service did not answer: DEADLINE_EXCEEDED")
        return self.answered[request_id]

    def _settle(self, reservation_id: str, was: str, to: str) -> Hold:
        held = self.reservations.get(reservation_id)
        if held is None:
            raise NotFound(f"no reservation {reservation_id}")
        if held.state != was:
            raise FailedPrecondition(f"reservation {reservation_id} is already {held.state}")
        held.state = to
        if to in ("voided", "refunded"):
            self.balances[held.resident_id] += held.amount
        return Hold(reservation_id, to)

    def reserve(self, community_id, resident_id, amount, memo, ttl_seconds, request_id) -> Hold:
        def hold() -> Hold:
            if resident_id not in self.balances:
                raise NotFound(f"points: no resident {resident_id}")
            if self.balances[resident_id] < amount:
                raise FailedPrecondition("points: not enough spendable points")
            self.balances[resident_id] -= amount
            reservation_id = f"r{len(self.reservations) + 1}"
            self.reservations[reservation_id] = Reservation(resident_id, amount)
            return Hold(reservation_id, "pending")

        return self._once(request_id, "reserve", hold)

    def standing(self, community_id, resident_id) -> Standing:
        if self.down:
            raise Unavailable("points service did not answer: UNAVAILABLE")
        lifetime = self.lifetime.get(resident_id, 0)
        tier = next((name for floor, name in TIERS if lifetime >= floor), "")
        return Standing(yearly=self.balances.get(resident_id, 0), lifetime=lifetime, tier=tier)

    def get(self, community_id, reservation_id) -> Hold:
        if self.down:
            raise Unavailable("points service did not answer: UNAVAILABLE")
        return Hold(reservation_id, self.reservations[reservation_id].state)

    def commit(self, community_id, reservation_id, request_id) -> Hold:
        return self._once(
            request_id, "commit", lambda: self._settle(reservation_id, "pending", "committed")
        )

    def void(self, community_id, reservation_id, reason, request_id) -> Hold:
        return self._once(
            request_id, "void", lambda: self._settle(reservation_id, "pending", "voided")
        )

    def refund(self, community_id, reservation_id, reason, request_id) -> Hold:
        return self._once(
            request_id, "refund", lambda: self._settle(reservation_id, "committed", "refunded")
        )

    def held(self) -> int:
        """Points held by pending reservations."""
        return sum(r.amount for r in self.reservations.values() if r.state == "pending")
