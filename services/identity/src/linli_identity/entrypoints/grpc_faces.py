"""IdentityService RPCs of face biometrics: consent, enrolment, 1:1, 1:N, key rotation (I2, A1)."""

from __future__ import annotations

import asyncio

import grpc
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.consent import FaceEnrolment
from linli_identity.entrypoints.face_work import time_left_of
from linli_identity.entrypoints.grpc_base import ServicerBase
from linli_identity.entrypoints.messages import (
    burst,
    consent_message,
    decision_message,
    enrolment_message,
    resident_name,
)
from linli_identity.service_layer import consents, faces, key_rotation
from linli_identity.service_layer.commands import (
    EnrolFace,
    GrantFaceConsent,
    RotateTemplateKeys,
    WithdrawFaceConsent,
)
from linli_kit import auth, metrics, ratelimits
from linli_kit.errors import DomainError, InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal

# Who may call each RPC (deny by default); the use cases check whose face (domain.access).
POLICY: auth.Policy = {
    "GrantFaceConsent": auth.persons(),
    "WithdrawFaceConsent": auth.persons(),
    "ListFaceConsents": auth.persons(),
    "EnrolFace": auth.persons(),
    "VerifyFace": auth.persons() + auth.services("attendance"),
    "IdentifyFace": auth.services("attendance"),
    "RotateTemplateKeys": auth.persons(Role.SRE),
}
# Attendance is one caller for every kiosk of its community: generous, but bounded.
LIMITS: ratelimits.Limits = {
    "VerifyFace": ratelimits.per_minute(600, burst=60),
    "IdentifyFace": ratelimits.per_minute(600, burst=60),
}


def recorder() -> str:
    """Who records a consent change: the caller (a request cannot name someone else)."""
    return current_principal().subject


class FaceRpcs(ServicerBase):
    """Consent, faces and template keys over gRPC."""

    async def GrantFaceConsent(
        self, request: pb.GrantFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GrantFaceConsentResponse:
        """Record consent to face sign-in."""
        ids = names.RESIDENT.parse(request.parent, "parent")
        guardian = names.RESIDENT.parse(request.guardian, "guardian") if request.guardian else None
        if guardian is not None and guardian["community"] != ids["community"]:
            raise InvalidArgument("the guardian must be a resident of the same community")
        command = GrantFaceConsent(
            ids["community"],
            ids["resident"],
            request.policy_version,
            request.retention_days,
            recorder(),
            guardian["resident"] if guardian else "",
            request.request_id,
            actor=current_principal(),
        )
        consent = await asyncio.to_thread(
            consents.grant_face_consent, command, self.uow_factory(), self.galleries, self.clock
        )
        return pb.GrantFaceConsentResponse(consent=consent_message(consent))

    async def WithdrawFaceConsent(
        self, request: pb.WithdrawFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.WithdrawFaceConsentResponse:
        """Withdraw consent and delete the face templates."""
        ids = names.RESIDENT.parse(request.parent, "parent")
        command = WithdrawFaceConsent(
            ids["community"],
            ids["resident"],
            recorder(),
            request.request_id,
            actor=current_principal(),
        )
        consent = await asyncio.to_thread(
            consents.withdraw_face_consent, command, self.uow_factory(), self.galleries, self.clock
        )
        return pb.WithdrawFaceConsentResponse(
            consent=consent_message(consent), deleted_templates=consent.deleted_templates
        )

    async def ListFaceConsents(
        self, request: pb.ListFaceConsentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFaceConsentsResponse:
        """A page of a resident's consent history."""
        ids = names.RESIDENT.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        history, more = await asyncio.to_thread(
            consents.list_face_consents,
            ids["community"],
            ids["resident"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListFaceConsentsResponse(
            consents=[consent_message(c) for c in history],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def EnrolFace(
        self, request: pb.EnrolFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrolFaceResponse:
        """Enrol a face from one photo."""
        ids, actor = names.RESIDENT.parse(request.resident, "resident"), current_principal()

        def enrol(time_left: faces.TimeLeft) -> FaceEnrolment:
            # The photos (megabytes) are copied out of the request here, off the event loop.
            images = ([request.image] if request.image else []) + list(request.images)
            command = EnrolFace(
                ids["community"], ids["resident"], tuple(images), request.request_id, actor=actor
            )
            return faces.enrol_face(
                command,
                self.uow_factory(),
                self.engine,
                self.galleries,
                self.open_set,
                self.clock,
                time_left,
            )

        # Decoding and encoding a face is CPU-bound: on the bounded face workers.
        enrolment = await self.face_work.run(enrol, time_left_of(context))
        return pb.EnrolFaceResponse(enrolment=enrolment_message(enrolment))

    async def VerifyFace(
        self, request: pb.VerifyFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyFaceResponse:
        """Verify 1:1 that a live burst shows the named resident."""
        ids = names.RESIDENT.parse(request.resident, "resident")
        frames, actor = burst(request.frames, request.challenge), current_principal()
        decision = await self.face_work.run(
            lambda time_left: faces.verify_face(
                ids["community"],
                ids["resident"],
                frames(),
                self.uow_factory(),
                self.engine,
                self.open_set,
                clock=self.clock,
                time_left=time_left,
                actor=actor,
            ),
            time_left_of(context),
        )
        return pb.VerifyFaceResponse(decision=decision_message(decision))

    async def IdentifyFace(
        self, request: pb.IdentifyFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.IdentifyFaceResponse:
        """Identify which of the candidates a live burst shows (open-set 1:N)."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        candidates = [names.RESIDENT.parse(name, "candidates") for name in request.candidates]
        if any(c["community"] != ids["community"] for c in candidates):
            raise InvalidArgument("every candidate must be a resident of the parent community")
        frames, actor = burst(request.frames, request.challenge), current_principal()
        try:
            decision = await self.face_work.run(
                lambda time_left: faces.identify_face(
                    ids["community"],
                    [c["resident"] for c in candidates],
                    frames(),
                    self.uow_factory(),
                    self.engine,
                    self.galleries,
                    self.open_set,
                    clock=self.clock,
                    time_left=time_left,
                    actor=actor,
                ),
                time_left_of(context),
            )
        except DomainError as refusal:
            self._count_identification(ids["community"], type(refusal).__name__)
            raise
        assert decision.match.resident_id is not None  # nobody is NotFound
        self._count_identification(ids["community"], str(decision.match.outcome))
        return pb.IdentifyFaceResponse(
            resident=resident_name(ids["community"], decision.match.resident_id),
            decision=decision_message(decision),
        )

    def _count_identification(self, community_id: str, outcome: str) -> None:
        metrics.FACE_IDENTIFICATIONS.labels(community_id, self.engine.name, outcome).inc()

    async def RotateTemplateKeys(
        self, request: pb.RotateTemplateKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateTemplateKeysResponse:
        """Re-encrypt a community's face templates under its current key."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        command = RotateTemplateKeys(
            ids["community"], request.request_id, actor=current_principal()
        )
        rotation = await asyncio.to_thread(
            key_rotation.rotate_template_keys,
            command,
            self.uow_factory(),
            clock=self.clock,
        )
        return pb.RotateTemplateKeysResponse(
            re_encrypted=rotation.re_encrypted, current_key_id=rotation.key_id
        )
