"""The identity service, asked over gRPC whether residents exist."""

from __future__ import annotations

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_kit.errors import Unavailable


class GrpcResidentDirectory:
    """ResidentDirectory backed by IdentityService.GetResident (blocking; used from threads)."""

    def __init__(self, address: str, timeout: float = 3.0) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub, self.timeout = pb_grpc.IdentityServiceStub(self.channel), timeout

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered; raises Unavailable if identity cannot say."""
        name = f"communities/{community_id}/residents/{resident_id}"
        try:
            self.stub.GetResident(
                pb.GetResidentRequest(name=name), timeout=self.timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise Unavailable(f"identity service did not answer: {exc.code().name}") from exc
        return True

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()
