"""The points service's reservations, asked over gRPC (mutual TLS in production).

Points sees this service as `spiffe://linli/<community>/rewards`. Its refusals keep their
meaning for the saga (FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT); anything else, or no
answer in time, is Unavailable: the saga stays where it is and the recovery job goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from linli_rewards.domain.benefits import Standing
from linli_rewards.domain.names import RESERVATION, RESIDENT
from linli_rewards.service_layer.ports import Hold

REFUSALS: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
}
STATE_PREFIX = "RESERVATION_STATE_"


def _hold(reservation: pb.Reservation) -> Hold:
    state = pb.ReservationState.Name(reservation.state).removeprefix(STATE_PREFIX).lower()
    return Hold(RESERVATION.parse(reservation.name)["reservation"], state)


class GrpcPoints:
    """Points backed by PointsService (blocking; used from worker threads)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0) -> None:
        self.stub, self.timeout = pb_grpc.PointsServiceStub(channel), timeout

    def _ask(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            refusal = REFUSALS.get(exc.code())
            if refusal is None:
                raise Unavailable(f"points service did not answer: {exc.code().name}") from exc
            raise refusal(f"points: {exc.details()}") from exc

    def _call(self, method: Callable[..., Any], request: Any) -> Hold:
        return _hold(self._ask(method, request).reservation)

    def standing(self, community_id: str, resident_id: str) -> Standing:
        """A resident's yearly and lifetime points and honour tier."""
        name = f"{RESIDENT.format(community=community_id, resident=resident_id)}/balance"
        balance = self._ask(self.stub.GetBalance, pb.GetBalanceRequest(name=name)).balance
        return Standing(
            yearly=balance.yearly_centipoints,
            lifetime=balance.lifetime_centipoints,
            tier=balance.honour_tier,
        )

    def reserve(
        self,
        community_id: str,
        resident_id: str,
        amount: int,
        memo: str,
        ttl_seconds: int,
        request_id: str,
    ) -> Hold:
        """Hold points of a resident."""
        request = pb.CreateReservationRequest(
            parent=RESIDENT.format(community=community_id, resident=resident_id),
            amount_centipoints=amount,
            sink=pb.SINK_REWARDS,
            memo=memo,
            ttl_seconds=ttl_seconds,
            request_id=request_id,
        )
        return self._call(self.stub.CreateReservation, request)

    def get(self, community_id: str, reservation_id: str) -> Hold:
        """A reservation's state."""
        name = RESERVATION.format(community=community_id, reservation=reservation_id)
        return self._call(self.stub.GetReservation, pb.GetReservationRequest(name=name))

    def commit(self, community_id: str, reservation_id: str, request_id: str) -> Hold:
        """Spend a held amount."""
        name = RESERVATION.format(community=community_id, reservation=reservation_id)
        request = pb.CommitReservationRequest(name=name, request_id=request_id)
        return self._call(self.stub.CommitReservation, request)

    def void(self, community_id: str, reservation_id: str, reason: str, request_id: str) -> Hold:
        """Release a held amount."""
        name = RESERVATION.format(community=community_id, reservation=reservation_id)
        request = pb.VoidReservationRequest(name=name, reason=reason, request_id=request_id)
        return self._call(self.stub.VoidReservation, request)

    def refund(self, community_id: str, reservation_id: str, reason: str, request_id: str) -> Hold:
        """Give a spent amount back."""
        name = RESERVATION.format(community=community_id, reservation=reservation_id)
        request = pb.RefundReservationRequest(name=name, reason=reason, request_id=request_id)
        return self._call(self.stub.RefundReservation, request)
