"""Identity's domain objects as protobuf messages, and the enums both ways."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.liveness import Challenge
from linli_identity.domain.login import AuthEvent, masked
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.openset import Outcome
from linli_identity.domain.org import OrgLevel, OrgUnit, UnitSize
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamService
from linli_identity.service_layer.faces import FaceBurst, FaceDecision
from linli_identity.service_layer.login import Tokens
from linli_kit.errors import InvalidArgument

LEVELS_IN = {
    pb.ORG_LEVEL_COMMUNITY_HQ: OrgLevel.COMMUNITY_HQ,
    pb.ORG_LEVEL_GRID_STATION: OrgLevel.GRID_STATION,
    pb.ORG_LEVEL_BUILDING_GROUP: OrgLevel.BUILDING_GROUP,
}
LEVELS_OUT = {level: number for number, level in LEVELS_IN.items()}
GROUPS_IN = {
    pb.SERVED_GROUP_ELDERLY: ServedGroup.ELDERLY,
    pb.SERVED_GROUP_DISABLED: ServedGroup.DISABLED,
}
GROUPS_OUT = {group: number for number, group in GROUPS_IN.items()}
SERVICES_IN = {
    pb.TEAM_SERVICE_HOME_VISIT: TeamService.HOME_VISIT,
    pb.TEAM_SERVICE_COUNSELLING: TeamService.COUNSELLING,
}
SERVICES_OUT = {service: number for number, service in SERVICES_IN.items()}
CHALLENGES = {
    pb.LIVENESS_CHALLENGE_BLINK: Challenge.BLINK,
    pb.LIVENESS_CHALLENGE_HEAD_TURN: Challenge.HEAD_TURN,
}
CHALLENGES_OUT = {challenge: number for number, challenge in CHALLENGES.items()}


def resident_name(community_id: str, resident_id: str) -> str:
    """The resource name of a resident."""
    return names.RESIDENT.format(community=community_id, resident=resident_id)


def unit_name(community_id: str, unit_id: str) -> str:
    """The resource name of an org unit."""
    return names.ORG_UNIT.format(community=community_id, unit=unit_id)


def community_message(community: Community) -> pb.Community:
    """A community as its protobuf message."""
    message = pb.Community(
        name=names.COMMUNITY.format(community=community.id), display_name=community.display_name
    )
    message.create_time.FromDatetime(community.created_at)
    return message


def resident_message(resident: Resident) -> pb.Resident:
    """A resident as its protobuf message."""
    message = pb.Resident(
        name=resident_name(resident.community_id, resident.id),
        display_name=resident.display_name,
        phone=resident.phone,
        org_unit=resident.org_unit,
    )
    message.create_time.FromDatetime(resident.created_at)
    if resident.birth_date is not None:
        message.birth_date = resident.birth_date.isoformat()
    message.household = resident.household
    if resident.home_unit_id:
        message.home_unit = unit_name(resident.community_id, resident.home_unit_id)
    message.roles.extend(sorted(role.value for role in resident.roles))
    return message


def pair_message(pair: MentoringPair) -> pb.MentoringPair:
    """A mentoring pair as its protobuf message."""
    message = pb.MentoringPair(
        name=names.MENTORING_PAIR.format(community=pair.community_id, pair=pair.id),
        mentor=resident_name(pair.community_id, pair.mentor_id),
        newcomer=resident_name(pair.community_id, pair.newcomer_id),
    )
    message.start_time.FromDatetime(pair.started_at)
    if pair.succeeded_at is not None:
        message.success_time.FromDatetime(pair.succeeded_at)
    return message


def unit_message(unit: OrgUnit) -> pb.OrgUnit:
    """An org unit as its protobuf message."""
    message = pb.OrgUnit(
        name=unit_name(unit.community_id, unit.id),
        level=LEVELS_OUT[unit.level],
        display_name=unit.display_name,
        parent_unit=unit_name(unit.community_id, unit.parent_id) if unit.parent_id else "",
    )
    message.create_time.FromDatetime(unit.created_at)
    return message


def size_message(size: UnitSize) -> pb.OrgUnitSize:
    """One unit's size report as its protobuf message."""
    return pb.OrgUnitSize(
        org_unit=unit_name(size.unit.community_id, size.unit.id),
        households=size.households,
        role_counts={role.value: count for role, count in size.roles.items()},
        warnings=list(size.warnings),
    )


def team_message(team: SpecialTeam, show_former: bool = False) -> pb.SpecialTeam:
    """A special team as its protobuf message, with current (or all) members."""
    message = pb.SpecialTeam(
        name=names.SPECIAL_TEAM.format(community=team.community_id, team=team.id),
        display_name=team.display_name,
        served_group=GROUPS_OUT[team.served_group],
        services=[SERVICES_OUT[service] for service in team.services],
        lead=resident_name(team.community_id, team.lead_id),
        org_unit=unit_name(team.community_id, team.org_unit_id) if team.org_unit_id else "",
    )
    message.create_time.FromDatetime(team.created_at)
    for membership in team.memberships if show_former else team.current_members():
        member = message.members.add(
            resident=resident_name(team.community_id, membership.resident_id)
        )
        member.join_time.FromDatetime(membership.joined_at)
        if membership.left_at is not None:
            member.leave_time.FromDatetime(membership.left_at)
    return message


def consent_message(consent: FaceConsent) -> pb.FaceConsent:
    """A face consent as its protobuf message."""
    message = pb.FaceConsent(
        name=names.FACE_CONSENT.format(
            community=consent.community_id, resident=consent.resident_id, consent=consent.id
        ),
        purpose=consent.purpose,
        policy_version=consent.policy_version,
        retention_days=consent.retention_days,
        granted_by=consent.granted_by,
        withdrawn_by=consent.withdrawn_by or "",
        guardian=(
            ""
            if consent.guardian_id is None
            else resident_name(consent.community_id, consent.guardian_id)
        ),
    )
    message.grant_time.FromDatetime(consent.granted_at)
    if consent.withdrawn_at is not None:
        message.withdraw_time.FromDatetime(consent.withdrawn_at)
    return message


def enrolment_message(enrolment: FaceEnrolment) -> pb.FaceEnrolment:
    """A face enrolment as its protobuf message (without the template)."""
    message = pb.FaceEnrolment(
        resident=resident_name(enrolment.community_id, enrolment.resident_id),
        engine=enrolment.template.engine,
        model_version=enrolment.template.model_version,
        photos=enrolment.photos,
    )
    message.enrol_time.FromDatetime(enrolment.enrolled_at)
    return message


OUTCOMES = {
    Outcome.IDENTIFIED: pb.FACE_OUTCOME_IDENTIFIED,
    Outcome.NEEDS_CONFIRMATION: pb.FACE_OUTCOME_NEEDS_CONFIRMATION,
}


def decision_message(decision: FaceDecision) -> pb.FaceDecision:
    """A biometric decision record as its protobuf message."""
    match = decision.match
    return pb.FaceDecision(
        engine=match.engine,
        model_version=match.model_version,
        similarity=match.similarity,
        threshold=match.threshold,
        matched=match.matched,
        challenge=CHALLENGES_OUT[decision.liveness.challenge],
        frames=decision.liveness.frames,
        gallery_size=match.gallery_size,
        second_similarity=match.second_similarity,
        required_margin=match.required_margin,
        verification_threshold=match.verification_threshold,
        agreeing_frames=match.agreeing_frames,
        outcome=OUTCOMES[match.outcome] if match.outcome else pb.FACE_OUTCOME_UNSPECIFIED,
    )


def burst(frames: Sequence[bytes], challenge: int) -> Callable[[], FaceBurst]:
    """How to copy a request's burst out of it, or InvalidArgument without a challenge.

    The copy (megabytes) is left to the caller's face thread: on the event loop it held up
    every other call while large bursts arrived.
    """
    if challenge not in CHALLENGES:
        raise InvalidArgument("challenge must be LIVENESS_CHALLENGE_BLINK or _HEAD_TURN")
    return lambda: FaceBurst(tuple(frames), CHALLENGES[challenge])


def tokens_message(tokens: Tokens) -> pb.TokenPair:
    """An issued pair of tokens as its protobuf message."""
    record = tokens.record
    message = pb.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        resident=resident_name(record.community_id, record.resident_id),
        roles=list(record.roles),
    )
    message.access_expire_time.FromDatetime(record.access_expires_at)
    message.refresh_expire_time.FromDatetime(record.expires_at)
    return message


def auth_event_message(event: AuthEvent) -> pb.AuthEvent:
    """A login audit record as its protobuf message (the phone masked)."""
    message = pb.AuthEvent(
        kind=event.kind.value,
        resident=resident_name(event.community_id, event.resident_id) if event.resident_id else "",
        phone=masked(event.phone) if event.phone else "",
        client=event.client,
        detail=event.detail,
    )
    message.occur_time.FromDatetime(event.at)
    return message
