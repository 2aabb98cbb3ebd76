"""Identity domain events as protobuf payloads for identity.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import identity_events_pb2

from linli_identity.domain import names
from linli_identity.domain.consent import FaceConsentWithdrawn, FaceEnrolled
from linli_identity.domain.mentoring import MentoringPairSucceeded
from linli_identity.domain.residents import ResidentRegistered, RoleGranted, RoleRevoked
from linli_identity.domain.teams import SpecialTeamMemberJoined, SpecialTeamMemberLeft
from linli_kit.domain import DomainEvent


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for an identity event."""
    match event:
        case ResidentRegistered():
            return identity_events_pb2.ResidentRegistered(
                resident=_resident(event.community_id, event.resident_id),
                display_name=event.display_name,
                org_unit=event.org_unit,
            )
        case FaceEnrolled():
            return identity_events_pb2.FaceEnrolled(
                resident=_resident(event.community_id, event.resident_id),
                engine=event.engine,
                model_version=event.model_version,
            )
        case MentoringPairSucceeded():
            return identity_events_pb2.MentoringPairSucceeded(
                pair=names.MENTORING_PAIR.format(community=event.community_id, pair=event.pair_id),
                mentor=_resident(event.community_id, event.mentor_id),
                newcomer=_resident(event.community_id, event.newcomer_id),
            )
        case FaceConsentWithdrawn():
            resident = _resident(event.community_id, event.resident_id)
            return identity_events_pb2.FaceConsentWithdrawn(
                resident=resident,
                consent=names.FACE_CONSENT.format(
                    community=event.community_id,
                    resident=event.resident_id,
                    consent=event.consent_id,
                ),
                deleted_templates=event.deleted_templates,
            )
        case SpecialTeamMemberJoined():
            return identity_events_pb2.SpecialTeamMemberJoined(
                team=_team(event.community_id, event.team_id),
                resident=_resident(event.community_id, event.resident_id),
                served_group=event.served_group.value,
                services=[service.value for service in event.services],
            )
        case SpecialTeamMemberLeft():
            return identity_events_pb2.SpecialTeamMemberLeft(
                team=_team(event.community_id, event.team_id),
                resident=_resident(event.community_id, event.resident_id),
            )
        case RoleGranted():
            return identity_events_pb2.RoleGranted(
                resident=_resident(event.community_id, event.resident_id),
                role=event.role.value,
                granted_by=event.granted_by,
            )
        case RoleRevoked():
            return identity_events_pb2.RoleRevoked(
                resident=_resident(event.community_id, event.resident_id),
                role=event.role.value,
                revoked_by=event.revoked_by,
            )
    raise TypeError(f"no payload for {type(event).__name__}")


def _resident(community_id: str, resident_id: str) -> str:
    return names.RESIDENT.format(community=community_id, resident=resident_id)


def _team(community_id: str, team_id: str) -> str:
    return names.SPECIAL_TEAM.format(community=community_id, team=team_id)
