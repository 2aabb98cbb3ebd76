"""Repositories of communities, residents, the org network and its teams on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import (
    communities,
    mentoring_pairs,
    org_units,
    resident_imports,
    resident_roles,
    residents,
    special_team_members,
    special_team_services,
    special_teams,
)
from linli_identity.domain.mentoring import MentoringPair, PairStatus
from linli_identity.domain.org import OrgLevel, OrgUnit, Role
from linli_identity.domain.resident_import import ResidentImport
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamMembership, TeamService
from linli_identity.service_layer.ports import (
    Communities,
    MentoringPairs,
    OrgUnits,
    ResidentImports,
    Residents,
    SpecialTeams,
    SubtreeCounts,
)


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

    def subtree_counts(
        self, community_id: str, unit_ids: Collection[str]
    ) -> dict[str, SubtreeCounts]:
        """Each unit's counts over its subtree, counted in the database (one row a unit and
        role): a resident counts in their home unit and in every unit above it."""
        tops = sa.select(org_units.c.id.label("top"), org_units.c.id.label("unit")).where(
            org_units.c.community_id == community_id, org_units.c.id.in_(list(unit_ids))
        )
        tree = tops.cte("subtree", recursive=True)
        child = org_units.alias("child")
        tree = tree.union_all(
            sa.select(tree.c.top, child.c.id).where(
                child.c.community_id == community_id, child.c.parent_id == tree.c.unit
            )
        )
        living = tree.join(
            residents,
            sa.and_(
                residents.c.community_id == community_id, residents.c.home_unit_id == tree.c.unit
            ),
        )
        households = self.session.execute(
            sa.select(tree.c.top, sa.func.count(sa.distinct(residents.c.household)))
            .select_from(living)
            .where(residents.c.household != "")
            .group_by(tree.c.top)
        ).all()
        found = {top: SubtreeCounts(count, {}) for top, count in households}
        holders = living.join(
            resident_roles,
            sa.and_(
                resident_roles.c.community_id == community_id,
                resident_roles.c.resident_id == residents.c.id,
            ),
        )
        for top, role, count in self.session.execute(
            sa.select(tree.c.top, resident_roles.c.role, sa.func.count())
            .select_from(holders)
            .group_by(tree.c.top, resident_roles.c.role)
        ):
            found.setdefault(top, SubtreeCounts(0, {})).roles[Role(role)] = count
        return found

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

    def get(self, community_id: str, unit_id: str) -> OrgUnit | None:
        """A unit by id, or None."""
        found = self._many(
            sa.select(org_units).where(
                org_units.c.community_id == community_id, org_units.c.id == unit_id
            )
        )
        return found[0] if found else None

    def _many(self, query: sa.Select[Any]) -> list[OrgUnit]:
        rows = self.session.execute(query).all()
        return [OrgUnit(**{**row._asdict(), "level": OrgLevel(row.level)}) for row in rows]

    @staticmethod
    def _top_first(community_id: str) -> sa.Select[Any]:
        """A community's units, top level first, then as they were created."""
        rank = sa.case(
            {level.value: rank for rank, level in enumerate(OrgLevel)}, value=org_units.c.level
        )
        return (
            sa.select(org_units)
            .where(org_units.c.community_id == community_id)
            .order_by(rank, org_units.c.created_at, org_units.c.id)
        )

    def page(self, community_id: str, offset: int, limit: int) -> list[OrgUnit]:
        """A page of a community's units, top level first (as `list`)."""
        return self._many(self._top_first(community_id).offset(offset).limit(limit))

    def list(self, community_id: str) -> list[OrgUnit]:
        """Every unit of a community, top level first."""
        return self._many(self._top_first(community_id))


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

    def save(self, pair: MentoringPair) -> None:
        """Store a pair's status."""
        self.session.execute(
            sa.update(mentoring_pairs)
            .where(
                mentoring_pairs.c.community_id == pair.community_id, mentoring_pairs.c.id == pair.id
            )
            .values(status=pair.status.value, succeeded_at=pair.succeeded_at)
        )

    def of_resident(
        self, community_id: str, resident_id: str, offset: int = 0, limit: int | None = None
    ) -> list[MentoringPair]:
        """The pairs in which the resident is the mentor or the newcomer, oldest first; `limit`
        of them from `offset` if given."""
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
            .offset(offset)
            .limit(limit)
        ).all()
        return [
            MentoringPair(**{**row._asdict(), "status": PairStatus(row.status)}) for row in rows
        ]


class SqlSpecialTeams(SpecialTeams):
    """Special teams, their services and their membership history."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def _many(self, community_id: str, teams: sa.Select[Any]) -> list[SpecialTeam]:
        rows = self.session.execute(teams).all()
        team_ids = [row.id for row in rows]

        def select(table: sa.Table, *order: Any) -> list[sa.Row[Any]]:
            where = (table.c.community_id == community_id, table.c.team_id.in_(team_ids))
            return list(self.session.execute(sa.select(table).where(*where).order_by(*order)))

        services: dict[str, list[TeamService]] = {}
        for row in select(special_team_services):
            services.setdefault(row.team_id, []).append(TeamService(row.service))
        members: dict[str, list[TeamMembership]] = {}
        order = (special_team_members.c.joined_at, special_team_members.c.id)
        for row in select(special_team_members, *order):
            members.setdefault(row.team_id, []).append(
                TeamMembership(
                    id=row.id,
                    resident_id=row.resident_id,
                    joined_at=row.joined_at,
                    left_at=row.left_at,
                )
            )
        return [
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

    def get(self, community_id: str, team_id: str) -> SpecialTeam | None:
        """A team with every membership, or None."""
        found = self._many(
            community_id,
            sa.select(special_teams).where(
                special_teams.c.community_id == community_id, special_teams.c.id == team_id
            ),
        )
        return found[0] if found else None

    def page(
        self, community_id: str, offset: int, limit: int, member_id: str = ""
    ) -> list[SpecialTeam]:
        """A page of a community's teams with every membership, oldest team first; only the
        teams `member_id` is now a member of, if given."""
        query = sa.select(special_teams).where(special_teams.c.community_id == community_id)
        if member_id:
            member = special_team_members.c
            query = query.where(
                sa.exists().where(
                    member.community_id == community_id,
                    member.team_id == special_teams.c.id,
                    member.resident_id == member_id,
                    member.left_at.is_(None),
                )
            )
        return self._many(
            community_id,
            query.order_by(special_teams.c.created_at, special_teams.c.id)
            .offset(offset)
            .limit(limit),
        )

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


class SqlResidentImports(ResidentImports):
    """Resident imports table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, batch: ResidentImport) -> None:
        """Store an accepted import."""
        self.session.execute(
            sa.insert(resident_imports).values(
                community_id=batch.community_id,
                id=batch.id,
                imported=batch.imported,
                created_at=batch.created_at,
            )
        )

    def get(self, community_id: str, import_id: str) -> ResidentImport | None:
        """An import by id, or None."""
        row = self.session.execute(
            sa.select(resident_imports).where(
                resident_imports.c.community_id == community_id,
                resident_imports.c.id == import_id,
            )
        ).first()
        return None if row is None else ResidentImport(**row._asdict())
