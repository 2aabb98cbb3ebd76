"""Identity, asked for person keys and the time bank's recipient rule (E4).

Identity sees this service as `spiffe://linli/<community>/points`. A recipient identity does
not know is NOT_RELATED (points refuses it); anything but an answer is Unavailable, so a
transfer is never accepted for want of one (the sender retries, then aborts it).
"""

from __future__ import annotations

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_kit.errors import Unavailable
from linli_points.domain.timebank import Recipient
from linli_points.names import RESIDENT
from linli_points.service_layer.recipients import People

RECIPIENTS = {
    pb.TRANSFER_RECIPIENT_SELF: Recipient.SELF,
    pb.TRANSFER_RECIPIENT_RELATIVE: Recipient.RELATIVE,
    pb.TRANSFER_RECIPIENT_NOT_RELATED: Recipient.NOT_RELATED,
}


class IdentityPeople(People):
    """People backed by IdentityService GetPersonKey and CheckTransferRecipient (blocking)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0) -> None:
        self.stub, self.timeout = pb_grpc.IdentityServiceStub(channel), timeout

    def person_key(self, community_id: str, resident_id: str) -> str:
        """A resident's person key."""
        request = pb.GetPersonKeyRequest(
            name=RESIDENT.format(community=community_id, resident=resident_id)
        )
        try:
            return str(self.stub.GetPersonKey(request, timeout=self.timeout).person_key)
        except grpc.RpcError as exc:
            raise Unavailable(f"identity gave no person key: {exc.code().name}") from exc

    def recipient(self, community_id: str, resident_id: str, sender_key: str) -> Recipient:
        """What the resident is to the sender with this key."""
        request = pb.CheckTransferRecipientRequest(
            recipient=RESIDENT.format(community=community_id, resident=resident_id),
            sender_person_key=sender_key,
        )
        try:
            reply = self.stub.CheckTransferRecipient(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return Recipient.NOT_RELATED
            raise Unavailable(
                f"identity did not say who the recipient is: {exc.code().name}"
            ) from exc
        return RECIPIENTS.get(reply.recipient, Recipient.UNCHECKED)
