"""The points service, asked about a resident's standing over gRPC (mutual TLS in production).

Points sees this service as `spiffe://linli/<community>/partners`; anything but an answer is
Unavailable, so a check never answers "no" for want of one.
"""

from __future__ import annotations

import grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.errors import Unavailable
from linli_partners.domain.eligibility import Standing
from linli_partners.domain.names import COMMUNITY, RESIDENT


class GrpcPoints:
    """Points backed by PointsService (blocking; used from worker threads)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0) -> None:
        self.stub, self.timeout = pb_grpc.PointsServiceStub(channel), timeout

    def standing(self, community_id: str, resident_id: str, top_n: int) -> Standing:
        """Balances and tier (GetBalance), and the place among the year's top_n if asked."""
        resident = RESIDENT.format(community=community_id, resident=resident_id)
        try:
            balance = self.stub.GetBalance(
                pb.GetBalanceRequest(name=f"{resident}/balance"), timeout=self.timeout
            ).balance
            rank = 0
            if top_n:
                board = self.stub.GetLeaderboard(
                    pb.GetLeaderboardRequest(
                        parent=COMMUNITY.format(community=community_id),
                        scope="community",
                        page_size=top_n,
                    ),
                    timeout=self.timeout,
                )
                rank = next((e.rank for e in board.entries if e.resident == resident), 0)
        except grpc.RpcError as exc:
            raise Unavailable(f"points service did not answer: {exc.code().name}") from exc
        return Standing(
            yearly=balance.yearly_centipoints,
            lifetime=balance.lifetime_centipoints,
            tier=balance.honour_tier,
            rank=rank,
        )
