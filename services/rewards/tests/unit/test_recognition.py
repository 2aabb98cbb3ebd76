"""Priority seats, nominations (R2) and high-score benefits (R3) on SQLite with a fake points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli_kit.errors import FailedPrecondition, PermissionDenied
from linli_kit.principals import Role
from linli_kit.testing import load_beside
from linli_rewards.domain.benefits import ApplicationState
from linli_rewards.domain.recognition import NominationState, SeatState
from linli_rewards.service_layer import benefits, commands, recognition

fakes = load_beside(__file__, "fakes.py", "linli_rewards_unit_fakes")
C = fakes.C
CAROL, DAVE = fakes.person("r-carol"), fakes.person("r-dave")
COMMITTEE = fakes.person("r-zhou", Role.COMMITTEE_MEMBER)


def _allocation(uow_factory, clock, seats: int = 2):
    command = commands.CreateSeatAllocation(
        community_id=C,
        title="中秋文艺演出 前排座位",
        event_at=clock.now + timedelta(days=7),
        seats=seats,
        apply_until=clock.now + timedelta(days=1),
        actor=fakes.STAFF,
    )
    return recognition.create_seat_allocation(command, uow_factory(), clock)


def _apply(uow_factory, clock, allocation_id: str, who) -> None:
    command = commands.ApplyForSeat(C, allocation_id, who.resident_id, actor=who)
    recognition.apply_for_seat(command, uow_factory(), clock)


def _states(allocation) -> dict[str, SeatState]:
    return {a.resident_id: a.state for a in allocation.applicants}


def test_seats_go_to_the_most_points_and_the_rest_wait_in_order(uow_factory, points, clock, later):
    opened = _allocation(uow_factory, clock)
    points.balances.update({"r-alice": 500, "r-bob": 900, "r-carol": 900, "r-dave": 100})
    for who in (fakes.ALICE, CAROL, fakes.BOB, DAVE):  # carol applies before bob
        _apply(uow_factory, clock, opened.id, who)
        later(60)
    with pytest.raises(FailedPrecondition, match="already applied"):
        _apply(uow_factory, clock, opened.id, fakes.ALICE)
    allocate = commands.AllocateSeats(C, opened.id, actor=fakes.STAFF)
    with pytest.raises(FailedPrecondition, match="still open"):
        recognition.allocate_seats(allocate, uow_factory(), points, clock)

    later(86400)
    done = recognition.allocate_seats(allocate, uow_factory(), points, clock)

    assert [(a.resident_id, a.rank, a.state) for a in done.applicants] == [
        ("r-carol", 1, SeatState.SEATED),
        ("r-bob", 2, SeatState.SEATED),
        ("r-alice", 3, SeatState.WAITING),
        ("r-dave", 4, SeatState.WAITING),
    ]
    with pytest.raises(FailedPrecondition, match="closed"):
        _apply(uow_factory, clock, opened.id, fakes.person("r-erin"))
    decline = commands.DeclineSeat(C, opened.id, "r-bob", actor=fakes.BOB)
    after = recognition.decline_seat(decline, uow_factory())
    assert _states(after) == {
        "r-carol": SeatState.SEATED,
        "r-bob": SeatState.DECLINED,
        "r-alice": SeatState.SEATED,
        "r-dave": SeatState.WAITING,
    }


def test_a_resident_sees_only_their_own_place(uow_factory, points, clock, later):
    opened = _allocation(uow_factory, clock)
    for who in (fakes.ALICE, fakes.BOB):
        _apply(uow_factory, clock, opened.id, who)
    with pytest.raises(PermissionDenied):
        recognition.apply_for_seat(
            commands.ApplyForSeat(C, opened.id, "r-carol", actor=fakes.ALICE),
            uow_factory(),
            clock,
        )
    seen = recognition.get_seat_allocation(fakes.ALICE, C, opened.id, uow_factory())
    assert [a.resident_id for a in seen.as_seen_by("r-alice").applicants] == ["r-alice"]


def _nominate(uow_factory, clock):
    command = commands.CreateNomination(
        community_id=C,
        resident_id="r-alice",
        honour="最美志愿者",
        reason="三年来每周为独居老人送餐",
        actor=fakes.STAFF,
    )
    return recognition.create_nomination(command, uow_factory(), clock)


def _advance(uow_factory, clock, nomination_id: str, to: NominationState, who, note: str = ""):
    command = commands.AdvanceNomination(
        community_id=C, nomination_id=nomination_id, to=to, note=note, actor=who
    )
    return recognition.advance_nomination(command, uow_factory(), clock)


def test_a_nomination_records_every_step_with_who_and_when(uow_factory, clock, later):
    nominated = _nominate(uow_factory, clock)
    with pytest.raises(PermissionDenied):
        _advance(uow_factory, clock, nominated.id, NominationState.ENDORSED, fakes.STAFF)
    with pytest.raises(FailedPrecondition):
        _advance(uow_factory, clock, nominated.id, NominationState.SUBMITTED, fakes.STAFF)
    later(3600)
    _advance(uow_factory, clock, nominated.id, NominationState.ENDORSED, COMMITTEE, "一致同意")
    later(3600)
    _advance(uow_factory, clock, nominated.id, NominationState.SUBMITTED, fakes.STAFF)
    later(86400)
    done = _advance(uow_factory, clock, nominated.id, NominationState.AWARDED, fakes.STAFF)

    assert done.state is NominationState.AWARDED
    assert [(s.state, s.by) for s in done.steps] == [
        (NominationState.NOMINATED, "r-staff"),
        (NominationState.ENDORSED, "r-zhou"),
        (NominationState.SUBMITTED, "r-staff"),
        (NominationState.AWARDED, "r-staff"),
    ]
    assert done.steps[1].note == "一致同意"
    assert done.steps[3].at - done.steps[0].at == timedelta(hours=2, days=1)
    assert recognition.get_nomination(fakes.ALICE, C, done.id, uow_factory()).id == done.id
    with pytest.raises(PermissionDenied):
        recognition.get_nomination(fakes.BOB, C, done.id, uow_factory())


def test_no_committee_member_endorses_their_own_nomination(uow_factory, clock):
    command = commands.CreateNomination(
        community_id=C,
        resident_id="r-zhou",
        honour="最美志愿者",
        reason="组织义诊",
        actor=fakes.STAFF,
    )
    nominated = recognition.create_nomination(command, uow_factory(), clock)
    with pytest.raises(PermissionDenied, match="own nomination"):
        _advance(uow_factory, clock, nominated.id, NominationState.ENDORSED, COMMITTEE)


def _benefit(uow_factory, **terms):
    command = commands.CreateBenefit(
        community_id=C,
        id=terms.pop("id", "health-check"),
        title="家庭健康体检套餐",
        actor=fakes.STAFF,
        **terms,
    )
    return benefits.create_benefit(command, uow_factory())


def _apply_benefit(uow_factory, points, clock, benefit_id: str, who=fakes.ALICE):
    command = commands.ApplyForBenefit(C, who.resident_id, benefit_id, actor=who)
    return benefits.apply_for_benefit(command, uow_factory(), points, clock)


def test_a_benefit_is_applied_for_above_its_threshold_and_granted_by_staff(
    uow_factory, points, clock
):
    offered = _benefit(uow_factory, min_lifetime=100_000)
    points.lifetime["r-alice"] = 99_999
    with pytest.raises(FailedPrecondition, match="needs 1000 lifetime points"):
        _apply_benefit(uow_factory, points, clock, offered.id)

    points.lifetime["r-alice"] = 100_000
    applied = _apply_benefit(uow_factory, points, clock, offered.id)
    assert (applied.state, applied.lifetime, applied.tier) == (
        ApplicationState.PENDING,
        100_000,
        "gold",
    )
    with pytest.raises(FailedPrecondition, match="already pending"):
        _apply_benefit(uow_factory, points, clock, offered.id)
    decide = commands.DecideBenefitApplication(
        community_id=C, application_id=applied.id, grant=True, note="材料齐全", actor=fakes.STAFF
    )
    with pytest.raises(PermissionDenied):
        benefits.decide_benefit_application(
            commands.DecideBenefitApplication(
                community_id=C, application_id=applied.id, grant=True, actor=fakes.ALICE
            ),
            uow_factory(),
            clock,
        )
    granted = benefits.decide_benefit_application(decide, uow_factory(), clock)
    assert (granted.state, granted.decided_by) == (ApplicationState.GRANTED, "r-staff")
    with pytest.raises(FailedPrecondition, match="already granted"):
        benefits.decide_benefit_application(
            commands.DecideBenefitApplication(
                community_id=C, application_id=applied.id, grant=False, actor=fakes.STAFF
            ),
            uow_factory(),
            clock,
        )


def test_a_tier_benefit_needs_one_of_its_tiers(uow_factory, points, clock):
    offered = _benefit(uow_factory, id="childcare", tiers=("star",))
    points.lifetime["r-alice"] = 100_000  # gold
    with pytest.raises(FailedPrecondition, match="honour tier star"):
        _apply_benefit(uow_factory, points, clock, offered.id)
    points.lifetime["r-alice"] = 300_000
    assert _apply_benefit(uow_factory, points, clock, offered.id).tier == "star"


def test_the_default_benefits_are_added_once(uow_factory):
    command = commands.CreateDefaultBenefits(C, actor=fakes.STAFF)
    added = benefits.create_default_benefits(command, uow_factory())
    assert {b.id for b in added} == {"family-health-check", "summer-childcare-priority"}
    again = commands.CreateDefaultBenefits(C, request_id="second", actor=fakes.STAFF)
    assert benefits.create_default_benefits(again, uow_factory()) == []
