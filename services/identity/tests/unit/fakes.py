"""In-memory fakes of the identity ports; repositories store snapshots, as a database would."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Coroutine, Iterator
from datetime import datetime
from typing import Any

import numpy as np

from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.face import FaceBox, FaceTemplate, NoFaceFound
from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.domain.login import AuthEvent, AuthEventKind, LoginCode
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.openset import FarCurve, OpenSetBook, OpenSetRule
from linli_identity.domain.org import OrgLevel, OrgUnit, Role
from linli_identity.domain.relatives import Relative, RelativeState
from linli_identity.domain.resident_import import ResidentImport
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import SpecialTeam, TeamMembership
from linli_identity.domain.tokens import RefreshToken
from linli_identity.service_layer.face_port import DetectedFace
from linli_identity.service_layer.login_port import SmsSender
from linli_identity.service_layer.ports import (
    AuthEvents,
    Communities,
    FaceConsents,
    FaceTemplates,
    IdentityUnitOfWork,
    KeyRotations,
    LoginCodes,
    MentoringPairs,
    OrgUnits,
    RefreshTokens,
    Relatives,
    ResidentImports,
    Residents,
    SpecialTeams,
    StaffPasswords,
    SubtreeCounts,
)
from linli_kit.domain import DomainEvent
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog


class FakeCommunities(Communities):
    """Communities in a dict by id."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Community] = {}

    def add(self, community: Community) -> None:
        """Store a new community."""
        self.rows[community.id] = dataclasses.replace(community, events=[])

    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        row = self.rows.get(community_id)
        return None if row is None else dataclasses.replace(row)


class FakeResidents(Residents):
    """Residents in a dict by (community, id); their homes are in `units`."""

    def __init__(self, units: FakeOrgUnits) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Resident] = {}
        self.units = units

    def add(self, resident: Resident) -> None:
        """Store a new resident."""
        self.rows[(resident.community_id, resident.id)] = dataclasses.replace(
            resident, events=[], roles=set(resident.roles)
        )

    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""
        row = self.rows.get((community_id, resident_id))
        return None if row is None else dataclasses.replace(row, roles=set(row.roles))

    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""
        found = [
            r for r in self.rows.values() if r.community_id == community_id and r.phone == phone
        ]
        return dataclasses.replace(found[0]) if found else None

    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""
        rows = sorted(
            (r for r in self.rows.values() if r.community_id == community_id),
            key=lambda r: (r.created_at, r.id),
        )
        return [dataclasses.replace(r, roles=set(r.roles)) for r in rows[offset : offset + limit]]

    def save_roles(self, resident: Resident) -> None:
        """Store a resident's current set of roles."""
        row = self.rows[(resident.community_id, resident.id)]
        row.roles = set(resident.roles)

    def subtree_counts(
        self, community_id: str, unit_ids: Collection[str]
    ) -> dict[str, SubtreeCounts]:
        """Each unit's counts over its subtree, walking up from every resident's home."""
        parent = {u.id: u.parent_id for u in self.units.list(community_id)}
        households: dict[str, set[str]] = {}
        roles: dict[str, Counter[Role]] = {}
        for resident in self.rows.values():
            node = resident.home_unit_id if resident.community_id == community_id else None
            while node is not None and node in parent:
                if node in unit_ids:
                    if resident.household:
                        households.setdefault(node, set()).add(resident.household)
                    roles.setdefault(node, Counter()).update(resident.roles)
                node = parent[node]
        return {
            unit: SubtreeCounts(len(households.get(unit, ())), dict(roles[unit])) for unit in roles
        }


class FakeOrgUnits(OrgUnits):
    """Org units in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], OrgUnit] = {}

    def add(self, unit: OrgUnit) -> None:
        """Store a new unit."""
        self.rows[(unit.community_id, unit.id)] = dataclasses.replace(unit, events=[])

    def get(self, community_id: str, unit_id: str) -> OrgUnit | None:
        """A unit by id, or None."""
        row = self.rows.get((community_id, unit_id))
        return None if row is None else dataclasses.replace(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[OrgUnit]:
        """A page of a community's units, top level first (as `list`)."""
        return self.list(community_id)[offset : offset + limit]

    def list(self, community_id: str) -> list[OrgUnit]:
        """Every unit of a community, top level first."""
        order = list(OrgLevel)
        units = [
            dataclasses.replace(u) for u in self.rows.values() if u.community_id == community_id
        ]
        return sorted(units, key=lambda u: (order.index(u.level), u.created_at, u.id))


class FakeFaceConsents(FaceConsents):
    """Consents in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], FaceConsent] = {}

    def add(self, consent: FaceConsent) -> None:
        """Store a new grant."""
        self.rows[(consent.community_id, consent.id)] = dataclasses.replace(consent, events=[])

    def save_withdrawal(self, consent: FaceConsent) -> None:
        """Store the withdrawal of a consent."""
        self.rows[(consent.community_id, consent.id)] = dataclasses.replace(consent, events=[])

    def _copies(self, keep: Callable[[FaceConsent], bool]) -> list[FaceConsent]:
        return [dataclasses.replace(c) for c in self.rows.values() if keep(c)]

    def current(self, community_id: str, resident_id: str, purpose: str) -> FaceConsent | None:
        """The resident's not-withdrawn consent to a purpose, or None."""
        found = self._copies(
            lambda c: (
                (c.community_id, c.resident_id, c.purpose, c.withdrawn_at)
                == (community_id, resident_id, purpose, None)
            )
        )
        return found[0] if found else None

    def get(self, community_id: str, consent_id: str) -> FaceConsent | None:
        """A consent by id, or None."""
        row = self.rows.get((community_id, consent_id))
        return None if row is None else dataclasses.replace(row)

    def history(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[FaceConsent]:
        """A page of a resident's consents, newest first (then by id, as the database)."""
        found = self._copies(
            lambda c: (c.community_id, c.resident_id) == (community_id, resident_id)
        )
        found.sort(key=lambda c: c.id)
        found.sort(key=lambda c: c.granted_at, reverse=True)
        return found[offset : offset + limit]

    def lapsed(self, at: datetime, limit: int) -> list[FaceConsent]:
        """Consents not withdrawn whose retention ended by this time, oldest first."""
        found = self._copies(lambda c: c.withdrawn_at is None and c.expires_at <= at)
        return sorted(found, key=lambda c: c.expires_at)[:limit]


class FakeFaceTemplates(FaceTemplates):
    """Templates in a dict by (community, resident), unencrypted: encryption is the adapter's.

    Each row remembers the id of the key it would be under; `current_key` is what new rows and
    rotated ones get, so tests can change it as an operator changes the keyring.
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], FaceEnrolment] = {}
        self.key_ids: dict[tuple[str, str], str] = {}
        self.current_key = "k1"

    def put(self, enrolment: FaceEnrolment) -> None:
        """Store a resident's template, replacing any earlier one."""
        key = (enrolment.community_id, enrolment.resident_id)
        self.rows[key] = dataclasses.replace(enrolment, events=[])
        self.key_ids[key] = self.current_key

    def current_key_id(self, community_id: str) -> str:
        """The key new templates get."""
        return self.current_key

    def rotate_keys(self, community_id: str, after: str, limit: int) -> tuple[int, str | None]:
        """Move the next `limit` rows after `after` to the current key."""
        batch = sorted(k for k in self.rows if k[0] == community_id and k[1] > after)[:limit]
        stale = [k for k in batch if self.key_ids[k] != self.current_key]
        for key in stale:
            self.key_ids[key] = self.current_key
        return len(stale), batch[-1][1] if len(batch) == limit else None

    def for_model(self, engine: str, model_version: str) -> Iterator[FaceEnrolment]:
        """Copies of the enrolments made by this engine and model."""
        for row in list(self.rows.values()):
            if (row.template.engine, row.template.model_version) == (engine, model_version):
                yield dataclasses.replace(row)

    def count_other_models(self, engine: str, model_version: str) -> int:
        """How many rows another engine or model made."""
        return sum(
            (row.template.engine, row.template.model_version) != (engine, model_version)
            for row in self.rows.values()
        )

    def get(self, community_id: str, resident_id: str) -> FaceEnrolment | None:
        """A resident's enrolment, or None."""
        row = self.rows.get((community_id, resident_id))
        return None if row is None else dataclasses.replace(row)

    def exists(self, community_id: str, resident_id: str) -> bool:
        """True if the resident has a template stored."""
        return (community_id, resident_id) in self.rows

    def delete(self, community_id: str, resident_id: str) -> int:
        """Delete a resident's templates; how many there were."""
        self.key_ids.pop((community_id, resident_id), None)
        return 1 if self.rows.pop((community_id, resident_id), None) is not None else 0


# The fake engine's templates are random per person: impostors score about 0 ± 0.1.
FAKE_THRESHOLDS = {"fake": {"verification_threshold": 0.9, "far_curve": [[0.3, 1e-3], [0.5, 1e-6]]}}
BOOK = OpenSetBook({"fake": OpenSetRule(0.9, FarCurve(((0.3, 1e-3), (0.5, 1e-6))))})


class FakeFaceEngine:
    """A face engine whose "images" are b"face:<person>:<pose>": one template per person.

    Landmarks are a fixed 68-point face whose nose tip moves with the pose ("left", "front",
    "right"), so a burst that turns the head passes the head-turn challenge and a repeated
    pose does not. Anything else is NoFaceFound.
    """

    name = "fake"
    model_version = "fake-1"
    dimension = 128
    default_threshold = 0.9

    def __init__(self) -> None:
        self.analysed = 0

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode a fake image into its person's template and the pose's landmarks."""
        self.analysed += 1
        kind, _, rest = image_bytes.partition(b":")
        person, _, pose = rest.partition(b":")
        if kind != b"face" or not person:
            raise NoFaceFound()
        seed = int.from_bytes(person.ljust(8, b"\0")[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(self.dimension)
        template = FaceTemplate(vector=vector, engine=self.name, model_version=self.model_version)
        landmarks = np.zeros((68, 2), dtype=np.float32)
        landmarks[:17, 0] = np.linspace(0, 100, 17)  # the jaw, from x=0 to x=100
        landmarks[30, 0] = {b"left": 20.0, b"right": 80.0}.get(pose, 50.0)  # the nose tip
        return DetectedFace(
            template=template, box=FaceBox(0, 0, 100, 100), landmarks=landmarks, sharpness=100.0
        )


class FakeMentoringPairs(MentoringPairs):
    """Mentoring pairs in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], MentoringPair] = {}

    def add(self, pair: MentoringPair) -> None:
        """Store a new pair."""
        self.rows[(pair.community_id, pair.id)] = dataclasses.replace(pair, events=[])

    def save(self, pair: MentoringPair) -> None:
        """Store a pair's status."""
        self.add(pair)

    def of_resident(
        self, community_id: str, resident_id: str, offset: int = 0, limit: int | None = None
    ) -> list[MentoringPair]:
        """The pairs in which the resident is the mentor or the newcomer, oldest first; `limit`
        of them from `offset` if given."""
        pairs = sorted(
            (
                dataclasses.replace(p)
                for p in self.rows.values()
                if p.community_id == community_id and resident_id in (p.mentor_id, p.newcomer_id)
            ),
            key=lambda p: (p.started_at, p.id),
        )[offset:]
        return pairs if limit is None else pairs[:limit]


class FakeSpecialTeams(SpecialTeams):
    """Teams in a dict by (community, id), each with copies of its memberships."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], SpecialTeam] = {}

    @staticmethod
    def _copy(team: SpecialTeam) -> SpecialTeam:
        memberships = [dataclasses.replace(m) for m in team.memberships]
        return dataclasses.replace(team, events=[], memberships=memberships)

    def add(self, team: SpecialTeam) -> None:
        """Store a new team with its first memberships."""
        self.rows[(team.community_id, team.id)] = self._copy(team)

    def get(self, community_id: str, team_id: str) -> SpecialTeam | None:
        """A team with every membership, or None."""
        row = self.rows.get((community_id, team_id))
        return None if row is None else self._copy(row)

    def page(
        self, community_id: str, offset: int, limit: int, member_id: str = ""
    ) -> list[SpecialTeam]:
        """A page of a community's teams, oldest first; only `member_id`'s, if given."""
        teams = [
            self._copy(t)
            for t in self.rows.values()
            if t.community_id == community_id
            and (not member_id or t.membership_of(member_id) is not None)
        ]
        return sorted(teams, key=lambda t: (t.created_at, t.id))[offset : offset + limit]

    def add_membership(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store a membership that just began."""
        self.rows[(team.community_id, team.id)].memberships.append(dataclasses.replace(membership))

    def save_departure(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store the end of a membership."""
        stored = self.rows[(team.community_id, team.id)].memberships
        (row,) = [m for m in stored if m.id == membership.id]
        row.left_at = membership.left_at


class FakeKeyRotations(KeyRotations):
    """Key rotation runs in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], KeyRotation] = {}

    def add(self, rotation: KeyRotation) -> None:
        """Store a run that just started."""
        self.rows[(rotation.community_id, rotation.id)] = dataclasses.replace(rotation)

    def get(self, community_id: str, rotation_id: str) -> KeyRotation | None:
        """A run by id, or None."""
        row = self.rows.get((community_id, rotation_id))
        return None if row is None else dataclasses.replace(row)

    def save(self, rotation: KeyRotation) -> None:
        """Store a run's progress."""
        self.add(rotation)


class FakeResidentImports(ResidentImports):
    """Accepted imports in a dict by (community, id), without their residents."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], ResidentImport] = {}

    def add(self, batch: ResidentImport) -> None:
        """Store an accepted import."""
        self.rows[(batch.community_id, batch.id)] = dataclasses.replace(batch, residents=[])

    def get(self, community_id: str, import_id: str) -> ResidentImport | None:
        """An import by id, or None."""
        row = self.rows.get((community_id, import_id))
        return None if row is None else dataclasses.replace(row)


class FakeLoginCodes(LoginCodes):
    """Login codes in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], LoginCode] = {}

    def add(self, code: LoginCode) -> None:
        """Store a code just sent."""
        self.rows[(code.community_id, code.id)] = dataclasses.replace(code, events=[])

    def get(self, community_id: str, code_id: str) -> LoginCode | None:
        """A code by id, or None."""
        row = self.rows.get((community_id, code_id))
        return None if row is None else dataclasses.replace(row)

    def _of(self, community_id: str, phone: str) -> list[LoginCode]:
        return sorted(
            (c for c in self.rows.values() if (c.community_id, c.phone) == (community_id, phone)),
            key=lambda c: c.created_at,
        )

    def latest(self, community_id: str, phone: str) -> LoginCode | None:
        """The code sent to the phone most recently, or None."""
        codes = self._of(community_id, phone)
        return dataclasses.replace(codes[-1]) if codes else None

    def sent_since(self, community_id: str, phone: str, since: datetime) -> list[datetime]:
        """When codes were sent to the phone after a time."""
        return [c.created_at for c in self._of(community_id, phone) if c.created_at > since]

    def save_use(self, code: LoginCode) -> None:
        """Store that a code was used."""
        self.rows[(code.community_id, code.id)].used_at = code.used_at


class FakeRefreshTokens(RefreshTokens):
    """Refresh tokens in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], RefreshToken] = {}

    def add(self, token: RefreshToken) -> None:
        """Store a token just issued."""
        self.rows[(token.community_id, token.id)] = dataclasses.replace(token, events=[])

    def get(self, community_id: str, token_id: str) -> RefreshToken | None:
        """A token by id, or None."""
        row = self.rows.get((community_id, token_id))
        return None if row is None else dataclasses.replace(row)

    def save_use(self, token: RefreshToken) -> None:
        """Store that a token was used up."""
        self.rows[(token.community_id, token.id)].used_at = token.used_at

    def _revoke(self, at: datetime, match: Callable[[RefreshToken], bool]) -> int:
        live = [t for t in self.rows.values() if t.revoked_at is None and match(t)]
        for token in live:
            token.revoked_at = at
        return len(live)

    def revoke_family(self, community_id: str, family_id: str, at: datetime) -> int:
        """Revoke every live token of a family; how many there were."""
        return self._revoke(
            at, lambda t: (t.community_id, t.family_id) == (community_id, family_id)
        )

    def revoke_resident(self, community_id: str, resident_id: str, at: datetime) -> int:
        """Revoke every live token of a person; how many there were."""
        return self._revoke(
            at, lambda t: (t.community_id, t.resident_id) == (community_id, resident_id)
        )


class FakeStaffPasswords(StaffPasswords):
    """Password hashes in a dict by (community, resident)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], str] = {}

    def put(self, community_id: str, resident_id: str, password_hash: str, at: datetime) -> None:
        """Store a person's password hash, replacing any earlier one."""
        self.rows[(community_id, resident_id)] = password_hash

    def get(self, community_id: str, resident_id: str) -> str | None:
        """A person's password hash, or None."""
        return self.rows.get((community_id, resident_id))


class FakeAuthEvents(AuthEvents):
    """The login audit in a list."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[AuthEvent] = []

    def add(self, event: AuthEvent) -> None:
        """Store an audit record."""
        self.rows.append(event)

    def failures_since(
        self, community_id: str, since: datetime, *, phone: str = "", client: str = ""
    ) -> list[datetime]:
        """When logins failed after a time, for a phone or for a client address."""
        if not phone and not client:
            return []
        return [
            e.at
            for e in self.rows
            if e.community_id == community_id
            and e.kind is AuthEventKind.LOGIN_FAILED
            and e.at > since
            and ((e.phone == phone) if phone else (e.client == client))
        ]

    def list(self, community_id: str, offset: int, limit: int) -> list[AuthEvent]:
        """A community's audit records, newest first."""
        rows = sorted(
            (e for e in self.rows if e.community_id == community_id),
            key=lambda e: (-e.at.timestamp(), e.id),
        )
        return rows[offset : offset + limit]

    def kinds(self) -> list[str]:
        """The kinds recorded, oldest first (for assertions)."""
        return [e.kind.value for e in self.rows]


class FakeRelatives(Relatives):
    """Relatives in a dict by (community, resident, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str, str], Relative] = {}

    def add(self, relative: Relative) -> None:
        """Store a newly declared relative."""
        key = (relative.community_id, relative.resident_id, relative.id)
        self.rows[key] = dataclasses.replace(relative)

    def get(self, community_id: str, resident_id: str, relative_id: str) -> Relative | None:
        """A relative of a resident, or None."""
        found = self.rows.get((community_id, resident_id, relative_id))
        return None if found is None else dataclasses.replace(found)

    def save(self, relative: Relative) -> None:
        """Store a relative's state."""
        self.add(relative)

    def list(
        self,
        community_id: str,
        resident_id: str | None,
        state: RelativeState | None,
        offset: int,
        limit: int,
    ) -> list[Relative]:
        """Relatives not removed, of one resident or (None) of all, oldest first."""
        found = sorted(
            (
                dataclasses.replace(r)
                for r in self.rows.values()
                if r.community_id == community_id
                and resident_id in (None, r.resident_id)
                and r.state is not RelativeState.REMOVED
                and state in (None, r.state)
            ),
            key=lambda r: (r.created_at, r.id),
        )
        return found[offset : offset + limit]


class FakeSms(SmsSender):
    """Keeps the codes it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_login_code(self, community_id: str, phone: str, code: str) -> None:
        """Remember the code."""
        self.sent.append((community_id, phone, code))

    def last_code(self, phone: str) -> str:
        """The last code sent to a phone."""
        return [code for _, to, code in self.sent if to == phone][-1]


class FakeIdentityUnitOfWork(IdentityUnitOfWork):
    """Unit of work whose commit publishes the collected events into a list."""

    def __init__(self) -> None:
        self.communities = FakeCommunities()
        self.org_units = FakeOrgUnits()
        self.residents = FakeResidents(self.org_units)
        self.mentoring = FakeMentoringPairs()
        self.teams = FakeSpecialTeams()
        self.consents = FakeFaceConsents()
        self.templates = FakeFaceTemplates()
        self.key_rotations = FakeKeyRotations()
        self.imports = FakeResidentImports()
        self.login_codes = FakeLoginCodes()
        self.refresh_tokens = FakeRefreshTokens()
        self.passwords = FakeStaffPasswords()
        self.auth_events = FakeAuthEvents()
        self.relatives = FakeRelatives()
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.committed = False
        self.commits = 0
        self.published: list[DomainEvent] = []

    def commit(self) -> None:
        """Mark the work committed and publish the events it raised."""
        self.committed = True
        self.commits += 1
        self.published.extend(self.collect_new_events())

    def rollback(self) -> None:
        """Nothing to undo in memory; tests look at `committed` instead."""


class FakeConsumer:
    """A consumer group in memory: records when it was created, then waits to be cancelled."""

    def __init__(self, group: str, on_create: Callable[[], None]) -> None:
        self.group = group
        self.on_create = on_create
        self.created = False

    async def ensure_group(self) -> None:
        """Record the group's creation."""
        self.on_create()
        self.created = True

    async def run(self) -> None:
        """Consume nothing until cancelled."""
        await asyncio.Event().wait()


class FakeStreams:
    """identity.events without Redis: a relay that idles and groups that record their creation.

    `on_group` runs when a group is created, so a test can look at the app at that moment.
    """

    def __init__(self, on_group: Callable[[], None] = lambda: None) -> None:
        self.on_group = on_group
        self.consumers: list[FakeConsumer] = []
        self.closed = False

    def relay(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """A relay with nothing to move."""

        async def idle() -> None:
            await asyncio.Event().wait()

        return idle

    def follow(self, group: str, consumer: str, handlers: dict[str, Any]) -> FakeConsumer:
        """A group of this replica's own."""
        self.consumers.append(FakeConsumer(group, self.on_group))
        return self.consumers[-1]

    async def close(self) -> None:
        """Nothing to release."""
        self.closed = True
