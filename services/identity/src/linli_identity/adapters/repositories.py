"""Identity repositories on SQLAlchemy Core."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import (
    communities,
    face_consents,
    face_templates,
    mentoring_pairs,
    org_units,
    resident_roles,
    residents,
    special_team_members,
    special_team_services,
    special_teams,
)
from linli_identity.adapters.template_cipher import EncryptedTemplate, TemplateCipher
from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.mentoring import MentoringPair, PairStatus
from linli_identity.domain.org import OrgLevel, OrgUnit, Role
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamMembership, TeamService
from linli_identity.service_layer.face_port import Galleries
from linli_identity.service_layer.ports import (
    Communities,
    FaceConsents,
    FaceTemplates,
    IdentityUnitOfWork,
    MentoringPairs,
    OrgUnits,
    Residents,
    SpecialTeams,
)
from linli_kit.db import SqlUnitOfWork

log = logging.getLogger(__name__)


class SqlCommunities(Communities):
    """Communities table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, community: Community) -> None:
        """Store a new community."""
        self.session.execute(
            sa.insert(communities).values(
                id=community.id,
                display_name=community.display_name,
                created_at=community.created_at,
            )
        )
        self._track(community)

    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        row = self.session.execute(
            sa.select(communities).where(communities.c.id == community_id)
        ).first()
        return None if row is None else Community(**row._asdict())


class SqlResidents(Residents):
    """Residents table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, resident: Resident) -> None:
        """Store a new resident."""
        self.session.execute(
            sa.insert(residents).values(
                community_id=resident.community_id,
                id=resident.id,
                display_name=resident.display_name,
                phone=resident.phone,
                org_unit=resident.org_unit,
                created_at=resident.created_at,
                birth_date=resident.birth_date,
                household=resident.household,
                home_unit_id=resident.home_unit_id,
            )
        )
        self.save_roles(resident)

    def _one(self, *where: Any) -> Resident | None:
        row = self.session.execute(sa.select(residents).where(*where)).first()
        return None if row is None else self._with_roles([row])[0]

    def _with_roles(self, rows: Sequence[sa.Row[Any]]) -> list[Resident]:
        if not rows:
            return []
        found = self.session.execute(
            sa.select(resident_roles).where(
                resident_roles.c.community_id == rows[0].community_id,
                resident_roles.c.resident_id.in_([row.id for row in rows]),
            )
        ).all()
        roles: dict[str, set[Role]] = {}
        for role in found:
            roles.setdefault(role.resident_id, set()).add(Role(role.role))
        return [Resident(**row._asdict(), roles=roles.get(row.id, set())) for row in rows]

    def save_roles(self, resident: Resident) -> None:
        """Store a resident's current set of roles."""
        self.session.execute(
            sa.delete(resident_roles).where(
                resident_roles.c.community_id == resident.community_id,
                resident_roles.c.resident_id == resident.id,
            )
        )
        if resident.roles:
            self.session.execute(
                sa.insert(resident_roles),
                [
                    {
                        "community_id": resident.community_id,
                        "resident_id": resident.id,
                        "role": role.value,
                    }
                    for role in sorted(resident.roles)
                ],
            )
        self._track(resident)

    def memberships(self, community_id: str) -> list[tuple[str | None, str, set[Role]]]:
        """(home unit id, household, roles) of every resident of a community."""
        rows = self.session.execute(
            sa.select(residents.c.id, residents.c.home_unit_id, residents.c.household).where(
                residents.c.community_id == community_id
            )
        ).all()
        roles: dict[str, set[Role]] = {}
        for row in self.session.execute(
            sa.select(resident_roles.c.resident_id, resident_roles.c.role).where(
                resident_roles.c.community_id == community_id
            )
        ):
            roles.setdefault(row.resident_id, set()).add(Role(row.role))
        return [(row.home_unit_id, row.household, roles.get(row.id, set())) for row in rows]

    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""
        return self._one(residents.c.community_id == community_id, residents.c.id == resident_id)

    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""
        return self._one(residents.c.community_id == community_id, residents.c.phone == phone)

    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""
        rows = self.session.execute(
            sa.select(residents)
            .where(residents.c.community_id == community_id)
            .order_by(residents.c.created_at, residents.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return self._with_roles(rows)


class SqlOrgUnits(OrgUnits):
    """Org units table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, unit: OrgUnit) -> None:
        """Store a new unit."""
        self.session.execute(
            sa.insert(org_units).values(
                community_id=unit.community_id,
                id=unit.id,
                level=unit.level.value,
                display_name=unit.display_name,
                parent_id=unit.parent_id,
                created_at=unit.created_at,
            )
        )
        self._track(unit)

    def get(self, community_id: str, unit_id: str) -> OrgUnit | None:
        """A unit by id, or None."""
        found = self._many(org_units.c.community_id == community_id, org_units.c.id == unit_id)
        return found[0] if found else None

    def _many(self, *where: Any) -> list[OrgUnit]:
        rows = self.session.execute(sa.select(org_units).where(*where)).all()
        return [OrgUnit(**{**row._asdict(), "level": OrgLevel(row.level)}) for row in rows]

    def list(self, community_id: str) -> list[OrgUnit]:
        """Every unit of a community, top level first."""
        units = self._many(org_units.c.community_id == community_id)
        order = list(OrgLevel)
        return sorted(units, key=lambda u: (order.index(u.level), u.created_at, u.id))


class SqlMentoringPairs(MentoringPairs):
    """Mentoring pairs table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, pair: MentoringPair) -> None:
        """Store a new pair."""
        self.session.execute(
            sa.insert(mentoring_pairs).values(
                community_id=pair.community_id,
                id=pair.id,
                mentor_id=pair.mentor_id,
                newcomer_id=pair.newcomer_id,
                started_at=pair.started_at,
                status=pair.status.value,
                succeeded_at=pair.succeeded_at,
            )
        )
        self._track(pair)

    def save(self, pair: MentoringPair) -> None:
        """Store a pair's status."""
        self.session.execute(
            sa.update(mentoring_pairs)
            .where(
                mentoring_pairs.c.community_id == pair.community_id, mentoring_pairs.c.id == pair.id
            )
            .values(status=pair.status.value, succeeded_at=pair.succeeded_at)
        )
        self._track(pair)

    def of_resident(self, community_id: str, resident_id: str) -> list[MentoringPair]:
        """Every pair in which the resident is the mentor or the newcomer, oldest first."""
        rows = self.session.execute(
            sa.select(mentoring_pairs)
            .where(
                mentoring_pairs.c.community_id == community_id,
                sa.or_(
                    mentoring_pairs.c.mentor_id == resident_id,
                    mentoring_pairs.c.newcomer_id == resident_id,
                ),
            )
            .order_by(mentoring_pairs.c.started_at, mentoring_pairs.c.id)
        ).all()
        return [
            self._track(MentoringPair(**{**row._asdict(), "status": PairStatus(row.status)}))
            for row in rows
        ]


class SqlSpecialTeams(SpecialTeams):
    """Special teams, their services and their membership history."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def _many(self, community_id: str, team_id: str | None = None) -> list[SpecialTeam]:
        def select(table: sa.Table, id_column: str, *order: Any) -> list[sa.Row[Any]]:
            where = [table.c.community_id == community_id]
            if team_id is not None:
                where.append(table.c[id_column] == team_id)
            return list(self.session.execute(sa.select(table).where(*where).order_by(*order)))

        services: dict[str, list[TeamService]] = {}
        for row in select(special_team_services, "team_id"):
            services.setdefault(row.team_id, []).append(TeamService(row.service))
        members: dict[str, list[TeamMembership]] = {}
        order = (special_team_members.c.joined_at, special_team_members.c.id)
        for row in select(special_team_members, "team_id", *order):
            members.setdefault(row.team_id, []).append(
                TeamMembership(
                    id=row.id,
                    resident_id=row.resident_id,
                    joined_at=row.joined_at,
                    left_at=row.left_at,
                )
            )
        rows = select(special_teams, "id", special_teams.c.created_at, special_teams.c.id)
        return [
            self._track(
                SpecialTeam(
                    **{
                        **row._asdict(),
                        "served_group": ServedGroup(row.served_group),
                        "services": tuple(
                            sorted(services.get(row.id, []), key=list(TeamService).index)
                        ),
                        "memberships": members.get(row.id, []),
                    }
                )
            )
            for row in rows
        ]

    def add(self, team: SpecialTeam) -> None:
        """Store a new team with its first memberships."""
        self.session.execute(
            sa.insert(special_teams).values(
                community_id=team.community_id,
                id=team.id,
                display_name=team.display_name,
                served_group=team.served_group.value,
                lead_id=team.lead_id,
                org_unit_id=team.org_unit_id,
                created_at=team.created_at,
            )
        )
        self.session.execute(
            sa.insert(special_team_services),
            [
                {"community_id": team.community_id, "team_id": team.id, "service": s.value}
                for s in team.services
            ],
        )
        for membership in team.memberships:
            self.add_membership(team, membership)
        self._track(team)

    def get(self, community_id: str, team_id: str) -> SpecialTeam | None:
        """A team with every membership, or None."""
        found = self._many(community_id, team_id)
        return found[0] if found else None

    def list(self, community_id: str) -> list[SpecialTeam]:
        """Every team of a community with every membership, oldest team first."""
        return self._many(community_id)

    def add_membership(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store a membership that just began."""
        self.session.execute(
            sa.insert(special_team_members).values(
                community_id=team.community_id,
                id=membership.id,
                team_id=team.id,
                resident_id=membership.resident_id,
                joined_at=membership.joined_at,
                left_at=membership.left_at,
            )
        )
        self._track(team)

    def save_departure(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store the end of a membership."""
        self.session.execute(
            sa.update(special_team_members)
            .where(
                special_team_members.c.community_id == team.community_id,
                special_team_members.c.id == membership.id,
            )
            .values(left_at=membership.left_at)
        )
        self._track(team)


class SqlFaceConsents(FaceConsents):
    """Consent records table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, consent: FaceConsent) -> None:
        """Store a new grant."""
        self.session.execute(
            sa.insert(face_consents).values(
                community_id=consent.community_id,
                id=consent.id,
                resident_id=consent.resident_id,
                purpose=consent.purpose,
                policy_version=consent.policy_version,
                retention_days=consent.retention_days,
                guardian_id=consent.guardian_id,
                granted_at=consent.granted_at,
                granted_by=consent.granted_by,
                expires_at=consent.expires_at,
            )
        )
        self._track(consent)

    def save_withdrawal(self, consent: FaceConsent) -> None:
        """Store the withdrawal of a consent."""
        self.session.execute(
            sa.update(face_consents)
            .where(
                face_consents.c.community_id == consent.community_id,
                face_consents.c.id == consent.id,
            )
            .values(withdrawn_at=consent.withdrawn_at, withdrawn_by=consent.withdrawn_by)
        )
        self._track(consent)

    def _many(self, *where: Any, order: Any = None, limit: int | None = None) -> list[FaceConsent]:
        query = sa.select(face_consents).where(*where)
        if order is not None:
            query = query.order_by(*order)
        rows = self.session.execute(query.limit(limit)).all()
        return [self._track(_consent(row)) for row in rows]

    def current(self, community_id: str, resident_id: str, purpose: str) -> FaceConsent | None:
        """The resident's not-withdrawn consent to a purpose (possibly lapsed), or None."""
        found = self._many(
            face_consents.c.community_id == community_id,
            face_consents.c.resident_id == resident_id,
            face_consents.c.purpose == purpose,
            face_consents.c.withdrawn_at.is_(None),
        )
        return found[0] if found else None

    def get(self, community_id: str, consent_id: str) -> FaceConsent | None:
        """A consent by id, or None."""
        found = self._many(
            face_consents.c.community_id == community_id, face_consents.c.id == consent_id
        )
        return found[0] if found else None

    def history(self, community_id: str, resident_id: str) -> list[FaceConsent]:
        """Every consent of a resident, newest first."""
        return self._many(
            face_consents.c.community_id == community_id,
            face_consents.c.resident_id == resident_id,
            order=(face_consents.c.granted_at.desc(), face_consents.c.id),
        )

    def lapsed(self, at: datetime, limit: int) -> list[FaceConsent]:
        """Consents not withdrawn whose retention ended by this time, oldest first."""
        return self._many(
            face_consents.c.withdrawn_at.is_(None),
            face_consents.c.expires_at <= at,
            order=(face_consents.c.expires_at,),
            limit=limit,
        )


def _consent(row: sa.Row[Any]) -> FaceConsent:
    fields = row._asdict()
    del fields["expires_at"]  # derived: the domain computes it from the grant
    return FaceConsent(**fields)


class SqlFaceTemplates(FaceTemplates):
    """Face templates table; templates are sealed with the community's key before storing."""

    def __init__(self, session: Session, cipher: TemplateCipher) -> None:
        super().__init__()
        self.session = session
        self.cipher = cipher

    def put(self, enrolment: FaceEnrolment) -> None:
        """Store a resident's template, replacing any earlier one."""
        sealed = self.cipher.encrypt(
            enrolment.community_id, enrolment.resident_id, enrolment.template
        ).to_bytes()
        self.delete(enrolment.community_id, enrolment.resident_id)
        self.session.execute(
            sa.insert(face_templates).values(
                community_id=enrolment.community_id,
                resident_id=enrolment.resident_id,
                consent_id=enrolment.consent_id,
                engine=enrolment.template.engine,
                model_version=enrolment.template.model_version,
                sealed=sealed,
                enrolled_at=enrolment.enrolled_at,
            )
        )
        self._track(enrolment)

    def get(self, community_id: str, resident_id: str) -> FaceEnrolment | None:
        """A resident's enrolment with its decrypted template, or None."""
        row = self.session.execute(
            sa.select(face_templates).where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id == resident_id,
            )
        ).first()
        return None if row is None else _enrolment(row, self.cipher)

    def exists(self, community_id: str, resident_id: str) -> bool:
        """True if the resident has a template stored."""
        return (
            self.session.execute(
                sa.select(sa.literal(1)).where(
                    face_templates.c.community_id == community_id,
                    face_templates.c.resident_id == resident_id,
                )
            ).first()
            is not None
        )

    def delete(self, community_id: str, resident_id: str) -> int:
        """Delete a resident's templates; how many there were."""
        result = self.session.execute(
            sa.delete(face_templates).where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id == resident_id,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def current_key_id(self, community_id: str) -> str:
        """The id of the key new templates of the community are encrypted with."""
        return self.cipher.current_key_id(community_id)

    def rotate_keys(self, community_id: str, after: str, limit: int) -> tuple[int, str | None]:
        """Re-encrypt under the current key the next `limit` templates after resident `after`."""
        rows = self.session.execute(
            sa.select(face_templates.c.resident_id, face_templates.c.sealed)
            .where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id > after,
            )
            .order_by(face_templates.c.resident_id)
            .limit(limit)
        ).all()
        rotated = 0
        for row in rows:
            sealed = EncryptedTemplate.from_bytes(row.sealed)
            fresh = self.cipher.rotate(community_id, row.resident_id, sealed)
            if fresh is sealed:
                continue
            # Only if the row is unchanged: a template re-enrolled or deleted since it was read
            # (a concurrent enrolment or withdrawal) is never overwritten or brought back.
            result = self.session.execute(
                sa.update(face_templates)
                .where(
                    face_templates.c.community_id == community_id,
                    face_templates.c.resident_id == row.resident_id,
                    face_templates.c.sealed == row.sealed,
                )
                .values(sealed=fresh.to_bytes())
            )
            rotated += int(result.rowcount)  # type: ignore[attr-defined]
        return rotated, rows[-1].resident_id if len(rows) == limit else None


def _enrolment(row: sa.Row[Any], cipher: TemplateCipher) -> FaceEnrolment:
    template = cipher.decrypt(
        row.community_id, row.resident_id, EncryptedTemplate.from_bytes(row.sealed)
    )
    return FaceEnrolment(
        community_id=row.community_id,
        resident_id=row.resident_id,
        consent_id=row.consent_id,
        template=template,
        enrolled_at=row.enrolled_at,
    )


def load_galleries(
    session_factory: Callable[[], Session],
    cipher: TemplateCipher,
    galleries: Galleries,
    engine: str,
    model_version: str,
    batch: int = 1000,
) -> int:
    """Fill the in-memory galleries from the stored templates of this engine; how many."""
    loaded = skipped = 0
    with session_factory() as session:
        rows = session.execute(sa.select(face_templates).execution_options(yield_per=batch))
        for row in rows:
            if (row.engine, row.model_version) != (engine, model_version):
                # Made by another engine or model: unusable until the resident re-enrols.
                skipped += 1
                continue
            enrolment = _enrolment(row, cipher)
            galleries.for_community(row.community_id).put(row.resident_id, enrolment.template)
            loaded += 1
    if skipped:
        log.warning("%d face templates from another engine or model need re-enrolment", skipped)
    return loaded


class SqlIdentityUnitOfWork(SqlUnitOfWork, IdentityUnitOfWork):
    """Identity unit of work on SQLAlchemy."""

    def __init__(self, *args: Any, cipher: TemplateCipher, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cipher = cipher

    def open_repositories(self, session: Session) -> None:
        """Create the repositories on the session."""
        self.communities = SqlCommunities(session)
        self.residents = SqlResidents(session)
        self.org_units = SqlOrgUnits(session)
        self.mentoring = SqlMentoringPairs(session)
        self.teams = SqlSpecialTeams(session)
        self.consents = SqlFaceConsents(session)
        self.templates = SqlFaceTemplates(session, self.cipher)
