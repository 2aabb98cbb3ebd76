"""Identity, asked whether two residents share a household (for the council's votes).

Identity sees this service as `spiffe://linli/<community>/points` and answers yes or no,
never the household itself. Anything but an answer is Unavailable, so a vote is never let
through for want of one.
"""

from __future__ import annotations

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_kit.errors import Unavailable
from linli_points.names import RESIDENT
from linli_points.service_layer.ports import Households


class IdentityHouseholds(Households):
    """Households backed by IdentityService.CheckSameHousehold (blocking; worker threads)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0) -> None:
        self.stub, self.timeout = pb_grpc.IdentityServiceStub(channel), timeout

    def same_household(self, community_id: str, resident_id: str, other_id: str) -> bool:
        """Whether identity records both residents in one household."""
        request = pb.CheckSameHouseholdRequest(
            name=RESIDENT.format(community=community_id, resident=resident_id),
            other=RESIDENT.format(community=community_id, resident=other_id),
        )
        try:
            return self.stub.CheckSameHousehold(request, timeout=self.timeout).same_household
        except grpc.RpcError as exc:
            raise Unavailable(
                f"identity did not answer about households: {exc.code().name}"
            ) from exc
