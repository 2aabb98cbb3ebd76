"""The identity service, asked over gRPC whether residents exist and whom a face shows.

Both ride one channel built in bootstrap: mutual TLS in production, where identity sees this
service as `spiffe://linli/<community>/attendance`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_attendance.domain.activities import FaceMatch
from linli_attendance.service_layer.ports import LivenessChallenge
from linli_kit.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from linli_kit.names import COMMUNITY, RESIDENT


class GrpcResidentDirectory:
    """ResidentDirectory backed by IdentityService.GetResident (blocking; used from threads).

    Identity never removes a registered resident, so a yes is remembered (the `remembered`
    most recently asked): a sign-out, after its sign-in, asks identity nothing. A no is asked
    again every time, since the resident may register meanwhile.
    """

    def __init__(
        self, channel: grpc.Channel, timeout: float = 3.0, remembered: int = 100_000
    ) -> None:
        self.stub, self.timeout = pb_grpc.IdentityServiceStub(channel), timeout
        self.remembered = remembered
        self._known: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered; raises Unavailable if identity cannot say."""
        name = RESIDENT.format(community=community_id, resident=resident_id)
        with self._lock:
            if name in self._known:
                self._known.move_to_end(name)
                return True
        try:
            self.stub.GetResident(
                pb.GetResidentRequest(name=name), timeout=self.timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise Unavailable(f"identity service did not answer: {exc.code().name}") from exc
        with self._lock:
            self._known[name] = None
            if len(self._known) > self.remembered:
                self._known.popitem(last=False)
        return True


CHALLENGES = {
    LivenessChallenge.BLINK: pb.LIVENESS_CHALLENGE_BLINK,
    LivenessChallenge.HEAD_TURN: pb.LIVENESS_CHALLENGE_HEAD_TURN,
}
# Identity's refusals keep their meaning for the kiosk; anything else means it could not say.
REFUSALS: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
}


class GrpcFaceIdentifier:
    """FaceIdentifier backed by IdentityService.IdentifyFace (blocking; used from threads)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 10.0) -> None:
        self.stub, self.timeout = pb_grpc.IdentityServiceStub(channel), timeout

    def identify(
        self,
        community_id: str,
        candidates: Sequence[str],
        frames: Sequence[bytes],
        challenge: LivenessChallenge,
    ) -> tuple[str, FaceMatch]:
        """Which candidate it is with the decision record, or identity's refusal as an error."""
        request = pb.IdentifyFaceRequest(
            parent=COMMUNITY.format(community=community_id),
            frames=list(frames),
            challenge=CHALLENGES[challenge],
            candidates=[RESIDENT.format(community=community_id, resident=c) for c in candidates],
        )
        try:
            reply = self.stub.IdentifyFace(request, timeout=self.timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            refusal = REFUSALS.get(exc.code())
            if refusal is None:
                raise Unavailable(f"identity service did not answer: {exc.code().name}") from exc
            raise refusal(f"face not accepted: {exc.details()}") from exc
        decision = reply.decision
        resident = RESIDENT.parse(reply.resident, "resident")
        return resident["resident"], FaceMatch(
            decision.engine,
            decision.model_version,
            decision.similarity,
            decision.threshold,
            gallery_size=decision.gallery_size,
            second_similarity=decision.second_similarity,
            required_margin=decision.required_margin,
            verification_threshold=decision.verification_threshold,
            agreeing_frames=decision.agreeing_frames,
            frames=decision.frames,
            # Anything but a clear identification is for staff to confirm.
            needs_confirmation=decision.outcome != pb.FACE_OUTCOME_IDENTIFIED,
        )
