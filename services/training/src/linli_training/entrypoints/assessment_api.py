"""The AssessmentService servicer (T4): map the request, call the use case, map the result.

POLICY admits persons; who reads a result (the resident and their social workers) is decided
in `domain.access`, on the resident the result belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from linli.training.v1 import assessment_service_pb2 as pb
from linli.training.v1 import assessment_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.domain import Clock, utc_now
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_training.domain.instruments import Instrument, TeqBands, catalogue
from linli_training.domain.names import INSTRUMENT, RESIDENT
from linli_training.entrypoints.messages import assessment_message, instrument_message
from linli_training.service_layer import assessments, commands
from linli_training.service_layer.ports import TrainingUnitOfWork

Context: TypeAlias = grpc.aio.ServicerContext

POLICY: auth.Policy = {
    "ListInstruments": auth.persons(),
    # The resident, or a social worker of their community (domain.access).
    "SubmitAssessment": auth.persons(),
    "DeclineAssessment": auth.persons(),
    "ListAssessments": auth.persons(),
}
# Answers to a yearly questionnaire: nobody has a reason to send them often.
LIMITS: Limits = {
    "SubmitAssessment": per_minute(20, burst=5),
    "DeclineAssessment": per_minute(20, burst=5),
}


class AssessmentServicer(pb_grpc.AssessmentServiceServicer):
    """The growth assessment over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], TrainingUnitOfWork],
        clock: Clock = utc_now,
        bands: Callable[[str], TeqBands] = lambda community_id: TeqBands(),
    ) -> None:
        self.uow_factory, self.clock, self.bands = uow_factory, clock, bands

    async def _run(self, use_case: Callable[..., Any], cmd: Any, **kw: Any) -> Any:
        """Run a use case in a worker thread with a fresh unit of work."""
        return await asyncio.to_thread(use_case, cmd, self.uow_factory(), self.clock, **kw)

    def _tools(self, community_id: str) -> dict[str, Instrument]:
        """The instruments as the community bands them."""
        return catalogue(self.bands(community_id))

    async def ListInstruments(
        self, request: pb.ListInstrumentsRequest, context: Context
    ) -> pb.ListInstrumentsResponse:
        """The instruments, their items and sources."""
        tools = self._tools(current_principal().community)
        return pb.ListInstrumentsResponse(
            instruments=[instrument_message(i) for i in tools.values()]
        )

    async def SubmitAssessment(
        self, request: pb.SubmitAssessmentRequest, context: Context
    ) -> pb.SubmitAssessmentResponse:
        """Score a resident's answers for the year."""
        ids = RESIDENT.parse(request.parent, "parent")
        command = commands.SubmitAssessment(
            community_id=ids["community"],
            resident_id=ids["resident"],
            instrument_id=INSTRUMENT.parse(request.instrument, "instrument")["instrument"],
            answers=tuple(request.answers),
            request_id=request.request_id,
            actor=current_principal(),
        )
        result = await self._run(
            assessments.submit_assessment, command, tools=self._tools(command.community_id)
        )
        return pb.SubmitAssessmentResponse(assessment=assessment_message(result))

    async def DeclineAssessment(
        self, request: pb.DeclineAssessmentRequest, context: Context
    ) -> pb.DeclineAssessmentResponse:
        """Record the resident's decline of this year's assessment."""
        ids = RESIDENT.parse(request.parent, "parent")
        command = commands.DeclineAssessment(
            ids["community"], ids["resident"], request.request_id, actor=current_principal()
        )
        declined = await self._run(assessments.decline_assessment, command)
        return pb.DeclineAssessmentResponse(assessment=assessment_message(declined))

    async def ListAssessments(
        self, request: pb.ListAssessmentsRequest, context: Context
    ) -> pb.ListAssessmentsResponse:
        """A page of a resident's results, newest first."""
        ids = RESIDENT.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            assessments.list_assessments,
            current_principal(),
            ids["community"],
            ids["resident"],
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListAssessmentsResponse(
            assessments=[assessment_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )
