"""The RecognitionService servicer (R2, R3): map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the use cases apply `domain.access` to the
caller passed as the command's actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from linli.rewards.v1 import recognition_service_pb2 as pb
from linli.rewards.v1 import recognition_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.domain import Clock, utc_now
from linli_kit.names import decode_page_token, next_page_token, page_size, same_community
from linli_kit.principals import STAFF_ROLES, Role, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer
from linli_kit.wire import required_time, timestamp
from linli_rewards.domain.benefits import ApplicationState, Benefit, BenefitApplication
from linli_rewards.domain.names import (
    BENEFIT,
    BENEFIT_APPLICATION,
    COMMUNITY,
    NOMINATION,
    RESIDENT,
    SEAT_ALLOCATION,
)
from linli_rewards.domain.recognition import (
    Nomination,
    NominationState,
    SeatAllocation,
    SeatState,
)
from linli_rewards.service_layer import benefits, commands, recognition
from linli_rewards.service_layer.ports import Points, RewardsUnitOfWork

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
POLICY: auth.Policy = {
    "CreateSeatAllocation": STAFF,
    "GetSeatAllocation": auth.persons(),
    # A resident for themself, staff for anyone.
    "ApplyForSeat": auth.persons(),
    "AllocateSeats": STAFF,
    "DeclineSeat": auth.persons(),
    "CreateNomination": STAFF,
    "EndorseNomination": auth.persons(Role.COMMITTEE_MEMBER),
    "SubmitNomination": STAFF,
    "RecordNominationOutcome": STAFF,
    # Staff, the committee, and the nominee.
    "GetNomination": auth.persons(),
    "ListNominations": auth.persons(*STAFF_ROLES, Role.COMMITTEE_MEMBER),
    "CreateBenefit": STAFF,
    "CreateDefaultBenefits": STAFF,
    "ListBenefits": auth.persons(),
    "ApplyForBenefit": auth.persons(),
    "DecideBenefitApplication": STAFF,
    "ListBenefitApplications": auth.persons(),
}
# Applications ask points about the resident; a resident has no reason to apply often.
LIMITS: Limits = {
    "ApplyForSeat": per_minute(30, burst=10),
    "ApplyForBenefit": per_minute(30, burst=10),
}
SEAT_STATES = {s: pb.SeatState.Value(f"SEAT_STATE_{s.name}") for s in SeatState}
NOMINATION_STATES = {
    s: pb.NominationState.Value(f"NOMINATION_STATE_{s.name}") for s in NominationState
}
APPLICATION_STATES = {
    s: pb.ApplicationState.Value(f"APPLICATION_STATE_{s.name}") for s in ApplicationState
}


def _resident(community_id: str, resident_id: str) -> str:
    return RESIDENT.format(community=community_id, resident=resident_id) if resident_id else ""


def allocation_message(allocation: SeatAllocation, staff: bool) -> pb.SeatAllocation:
    """The API's view of an allocation; points are shown to staff only."""
    return pb.SeatAllocation(
        name=SEAT_ALLOCATION.format(community=allocation.community_id, allocation=allocation.id),
        title=allocation.title,
        event_time=timestamp(allocation.event_at),
        seats=allocation.seats,
        apply_until_time=timestamp(allocation.apply_until),
        allocated=allocation.allocated_at is not None,
        allocate_time=timestamp(allocation.allocated_at),
        applicants=[
            pb.SeatApplicant(
                resident=_resident(allocation.community_id, a.resident_id),
                state=SEAT_STATES[a.state],
                rank=a.rank,
                points_centipoints=a.points if staff else 0,
                apply_time=timestamp(a.applied_at),
            )
            for a in allocation.applicants
        ],
    )


def nomination_message(nomination: Nomination) -> pb.Nomination:
    """The API's view of a nomination and its steps."""
    community = nomination.community_id
    return pb.Nomination(
        name=NOMINATION.format(community=community, nomination=nomination.id),
        resident=_resident(community, nomination.resident_id),
        honour=nomination.honour,
        reason=nomination.reason,
        state=NOMINATION_STATES[nomination.state],
        steps=[
            pb.NominationStep(
                state=NOMINATION_STATES[step.state],
                by=_resident(community, step.by),
                time=timestamp(step.at),
                note=step.note,
            )
            for step in nomination.steps
        ],
    )


def benefit_message(benefit: Benefit) -> pb.Benefit:
    """The API's view of a benefit."""
    return pb.Benefit(
        name=BENEFIT.format(community=benefit.community_id, benefit=benefit.id),
        title=benefit.title,
        description=benefit.description,
        min_lifetime_centipoints=benefit.min_lifetime,
        tiers=list(benefit.tiers),
    )


def application_message(application: BenefitApplication) -> pb.BenefitApplication:
    """The API's view of an application."""
    community = application.community_id
    return pb.BenefitApplication(
        name=BENEFIT_APPLICATION.format(community=community, application=application.id),
        benefit=BENEFIT.format(community=community, benefit=application.benefit_id),
        resident=_resident(community, application.resident_id),
        state=APPLICATION_STATES[application.state],
        lifetime_centipoints=application.lifetime,
        honour_tier=application.tier,
        apply_time=timestamp(application.applied_at),
        decided_by=_resident(community, application.decided_by),
        decide_time=timestamp(application.decided_at),
        note=application.note,
    )


class RecognitionServicer(UseCaseServicer, pb_grpc.RecognitionServiceServicer):
    """Priority seats, nominations and high-score benefits over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], RewardsUnitOfWork],
        points: Points,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.points, self.clock = uow_factory, points, clock

    def _seats(self, allocation: SeatAllocation) -> pb.SeatAllocation:
        """The allocation as the caller may see it: all of it for staff, else their own place."""
        caller = current_principal()
        seen = allocation.as_seen_by(None if caller.is_staff else caller.resident_id)
        return allocation_message(seen, caller.is_staff)

    async def CreateSeatAllocation(
        self, request: pb.CreateSeatAllocationRequest, context: Context
    ) -> pb.CreateSeatAllocationResponse:
        """Open priority seats at an event."""
        given = request.allocation
        command = commands.CreateSeatAllocation(
            community_id=COMMUNITY.parse(request.parent, "parent")["community"],
            title=given.title,
            event_at=required_time(given, "event_time"),
            seats=given.seats,
            apply_until=required_time(given, "apply_until_time"),
            request_id=request.request_id,
            actor=current_principal(),
        )
        opened = await self._run(recognition.create_seat_allocation, command, clock=self.clock)
        return pb.CreateSeatAllocationResponse(allocation=self._seats(opened))

    async def GetSeatAllocation(
        self, request: pb.GetSeatAllocationRequest, context: Context
    ) -> pb.GetSeatAllocationResponse:
        """An allocation as the caller may see it."""
        ids = SEAT_ALLOCATION.parse(request.name)
        found = await self._query(
            recognition.get_seat_allocation, ids["community"], ids["allocation"]
        )
        return pb.GetSeatAllocationResponse(allocation=self._seats(found))

    def _seat_command(self, kind: type, request: Any) -> Any:
        ids = SEAT_ALLOCATION.parse(request.allocation, "allocation")
        resident = RESIDENT.parse(request.resident, "resident")
        community = same_community(ids["community"], resident["community"])
        return kind(
            community,
            ids["allocation"],
            resident["resident"],
            request.request_id,
            actor=current_principal(),
        )

    async def ApplyForSeat(
        self, request: pb.ApplyForSeatRequest, context: Context
    ) -> pb.ApplyForSeatResponse:
        """Apply for a seat."""
        command = self._seat_command(commands.ApplyForSeat, request)
        found = await self._run(recognition.apply_for_seat, command, clock=self.clock)
        return pb.ApplyForSeatResponse(allocation=self._seats(found))

    async def AllocateSeats(
        self, request: pb.AllocateSeatsRequest, context: Context
    ) -> pb.AllocateSeatsResponse:
        """Allocate the seats by points."""
        ids = SEAT_ALLOCATION.parse(request.name)
        command = commands.AllocateSeats(
            ids["community"], ids["allocation"], request.request_id, actor=current_principal()
        )
        found = await self._run(recognition.allocate_seats, command, self.points, clock=self.clock)
        return pb.AllocateSeatsResponse(allocation=self._seats(found))

    async def DeclineSeat(
        self, request: pb.DeclineSeatRequest, context: Context
    ) -> pb.DeclineSeatResponse:
        """Give a seat or a place in line up."""
        command = self._seat_command(commands.DeclineSeat, request)
        found = await self._run(recognition.decline_seat, command)
        return pb.DeclineSeatResponse(allocation=self._seats(found))

    async def CreateNomination(
        self, request: pb.CreateNominationRequest, context: Context
    ) -> pb.CreateNominationResponse:
        """Nominate a resident for a district honour."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        nominee = RESIDENT.parse(request.nomination.resident, "nomination.resident")
        command = commands.CreateNomination(
            community_id=same_community(community, nominee["community"]),
            resident_id=nominee["resident"],
            honour=request.nomination.honour,
            reason=request.nomination.reason,
            request_id=request.request_id,
            actor=current_principal(),
        )
        made = await self._run(recognition.create_nomination, command, clock=self.clock)
        return pb.CreateNominationResponse(nomination=nomination_message(made))

    async def _advance(self, name: str, to: NominationState, note: str, request_id: str) -> Any:
        ids = NOMINATION.parse(name)
        command = commands.AdvanceNomination(
            community_id=ids["community"],
            nomination_id=ids["nomination"],
            to=to,
            note=note,
            request_id=request_id,
            actor=current_principal(),
        )
        advanced = await self._run(recognition.advance_nomination, command, clock=self.clock)
        return nomination_message(advanced)

    async def EndorseNomination(
        self, request: pb.EndorseNominationRequest, context: Context
    ) -> pb.EndorseNominationResponse:
        """The committee endorses a nomination."""
        endorsed = await self._advance(
            request.name, NominationState.ENDORSED, request.note, request.request_id
        )
        return pb.EndorseNominationResponse(nomination=endorsed)

    async def SubmitNomination(
        self, request: pb.SubmitNominationRequest, context: Context
    ) -> pb.SubmitNominationResponse:
        """Record the submission to the district."""
        submitted = await self._advance(
            request.name, NominationState.SUBMITTED, request.note, request.request_id
        )
        return pb.SubmitNominationResponse(nomination=submitted)

    async def RecordNominationOutcome(
        self, request: pb.RecordNominationOutcomeRequest, context: Context
    ) -> pb.RecordNominationOutcomeResponse:
        """Record the district's decision."""
        outcome = NominationState.AWARDED if request.awarded else NominationState.NOT_AWARDED
        decided = await self._advance(request.name, outcome, request.note, request.request_id)
        return pb.RecordNominationOutcomeResponse(nomination=decided)

    async def GetNomination(
        self, request: pb.GetNominationRequest, context: Context
    ) -> pb.GetNominationResponse:
        """A nomination with its steps."""
        ids = NOMINATION.parse(request.name)
        found = await self._query(recognition.get_nomination, ids["community"], ids["nomination"])
        return pb.GetNominationResponse(nomination=nomination_message(found))

    async def ListNominations(
        self, request: pb.ListNominationsRequest, context: Context
    ) -> pb.ListNominationsResponse:
        """A page of nominations, newest first."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(recognition.list_nominations, community, offset, limit)
        return pb.ListNominationsResponse(
            nominations=[nomination_message(n) for n in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateBenefit(
        self, request: pb.CreateBenefitRequest, context: Context
    ) -> pb.CreateBenefitResponse:
        """Offer a benefit with its threshold."""
        given = request.benefit
        command = commands.CreateBenefit(
            community_id=COMMUNITY.parse(request.parent, "parent")["community"],
            id=request.benefit_id,
            title=given.title,
            description=given.description,
            min_lifetime=given.min_lifetime_centipoints,
            tiers=tuple(given.tiers),
            request_id=request.request_id,
            actor=current_principal(),
        )
        offered = await self._run(benefits.create_benefit, command)
        return pb.CreateBenefitResponse(benefit=benefit_message(offered))

    async def CreateDefaultBenefits(
        self, request: pb.CreateDefaultBenefitsRequest, context: Context
    ) -> pb.CreateDefaultBenefitsResponse:
        """Offer the policy's default benefits."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        command = commands.CreateDefaultBenefits(
            community, request.request_id, actor=current_principal()
        )
        added = await self._run(benefits.create_default_benefits, command)
        return pb.CreateDefaultBenefitsResponse(benefits=[benefit_message(b) for b in added])

    async def ListBenefits(
        self, request: pb.ListBenefitsRequest, context: Context
    ) -> pb.ListBenefitsResponse:
        """A page of the community's benefits."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(benefits.list_benefits, community, offset, limit)
        return pb.ListBenefitsResponse(
            benefits=[benefit_message(b) for b in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ApplyForBenefit(
        self, request: pb.ApplyForBenefitRequest, context: Context
    ) -> pb.ApplyForBenefitResponse:
        """Apply for a benefit."""
        resident = RESIDENT.parse(request.parent, "parent")
        ids = BENEFIT.parse(request.benefit, "benefit")
        command = commands.ApplyForBenefit(
            same_community(resident["community"], ids["community"]),
            resident["resident"],
            ids["benefit"],
            request.request_id,
            actor=current_principal(),
        )
        applied = await self._run(
            benefits.apply_for_benefit, command, self.points, clock=self.clock
        )
        return pb.ApplyForBenefitResponse(application=application_message(applied))

    async def DecideBenefitApplication(
        self, request: pb.DecideBenefitApplicationRequest, context: Context
    ) -> pb.DecideBenefitApplicationResponse:
        """Grant or refuse an application."""
        ids = BENEFIT_APPLICATION.parse(request.name)
        command = commands.DecideBenefitApplication(
            community_id=ids["community"],
            application_id=ids["application"],
            grant=request.grant,
            note=request.note,
            request_id=request.request_id,
            actor=current_principal(),
        )
        decided = await self._run(benefits.decide_benefit_application, command, clock=self.clock)
        return pb.DecideBenefitApplicationResponse(application=application_message(decided))

    async def ListBenefitApplications(
        self, request: pb.ListBenefitApplicationsRequest, context: Context
    ) -> pb.ListBenefitApplicationsResponse:
        """A page of a resident's or the community's applications."""
        if "/residents/" in request.parent:
            ids = RESIDENT.parse(request.parent, "parent")
            community, resident = ids["community"], ids["resident"]
        else:
            community, resident = COMMUNITY.parse(request.parent, "parent")["community"], None
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(
            benefits.list_applications, community, resident, offset, limit
        )
        return pb.ListBenefitApplicationsResponse(
            applications=[application_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )
