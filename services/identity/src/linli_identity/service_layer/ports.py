"""What the identity use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import NamedTuple

from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.domain.login import AuthEvent, LoginCode
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.org import OrgUnit, Role
from linli_identity.domain.relatives import Relative, RelativeState
from linli_identity.domain.resident_import import ResidentImport
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import SpecialTeam, TeamMembership
from linli_identity.domain.tokens import RefreshToken
from linli_kit.domain import AbstractUnitOfWork, Repository


class Communities(Repository, abc.ABC):
    """Stored communities."""

    @abc.abstractmethod
    def add(self, community: Community) -> None:
        """Store a new community."""

    @abc.abstractmethod
    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""


class SubtreeCounts(NamedTuple):
    """The distinct households and the holders of each role living in a unit or below it."""

    households: int
    roles: dict[Role, int]


class Residents(Repository, abc.ABC):
    """Stored residents."""

    @abc.abstractmethod
    def add(self, resident: Resident) -> None:
        """Store a new resident."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""

    @abc.abstractmethod
    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""

    @abc.abstractmethod
    def save_roles(self, resident: Resident) -> None:
        """Store a resident's current set of roles."""

    @abc.abstractmethod
    def subtree_counts(
        self, community_id: str, unit_ids: Collection[str]
    ) -> dict[str, SubtreeCounts]:
        """Each unit's counts over its subtree: a resident counts in their home unit and in
        every unit above it; a unit with nobody below it is left out."""

    @abc.abstractmethod
    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""


class OrgUnits(Repository, abc.ABC):
    """The units of every community's network."""

    @abc.abstractmethod
    def add(self, unit: OrgUnit) -> None:
        """Store a new unit."""

    @abc.abstractmethod
    def get(self, community_id: str, unit_id: str) -> OrgUnit | None:
        """A unit by id, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[OrgUnit]:
        """A page of a community's units, top level first (as `list`)."""

    @abc.abstractmethod
    def list(self, community_id: str) -> list[OrgUnit]:
        """Every unit of a community, top level first."""


class FaceConsents(Repository, abc.ABC):
    """Consent records; never deleted, only withdrawn."""

    @abc.abstractmethod
    def add(self, consent: FaceConsent) -> None:
        """Store a new grant."""

    @abc.abstractmethod
    def save_withdrawal(self, consent: FaceConsent) -> None:
        """Store the withdrawal of a consent."""

    @abc.abstractmethod
    def current(self, community_id: str, resident_id: str, purpose: str) -> FaceConsent | None:
        """The resident's not-withdrawn consent to a purpose (possibly lapsed), or None."""

    @abc.abstractmethod
    def get(self, community_id: str, consent_id: str) -> FaceConsent | None:
        """A consent by id, or None."""

    @abc.abstractmethod
    def history(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[FaceConsent]:
        """A page of a resident's consents, newest first."""

    @abc.abstractmethod
    def lapsed(self, at: datetime, limit: int) -> list[FaceConsent]:
        """Consents not withdrawn whose retention ended by this time, oldest first."""


class FaceTemplates(Repository, abc.ABC):
    """Face templates, kept apart from personal data and encrypted by the adapter."""

    @abc.abstractmethod
    def put(self, enrolment: FaceEnrolment) -> None:
        """Store a resident's template, replacing any earlier one."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str) -> FaceEnrolment | None:
        """A resident's enrolment with its decrypted template, or None."""

    @abc.abstractmethod
    def exists(self, community_id: str, resident_id: str) -> bool:
        """True if the resident has a template stored."""

    @abc.abstractmethod
    def delete(self, community_id: str, resident_id: str) -> int:
        """Delete a resident's templates; how many there were."""

    @abc.abstractmethod
    def current_key_id(self, community_id: str) -> str:
        """The id of the key new templates of the community are encrypted with."""

    @abc.abstractmethod
    def rotate_keys(self, community_id: str, after: str, limit: int) -> tuple[int, str | None]:
        """Re-encrypt under the current key the next `limit` templates after resident `after`.

        Returns how many were re-encrypted (those already under the current key, or changed
        meanwhile by another transaction, are left alone) and the last resident id looked at,
        or None when no templates follow.
        """

    @abc.abstractmethod
    def for_model(self, engine: str, model_version: str) -> Iterator[FaceEnrolment]:
        """Every stored enrolment made by this engine and model, decrypted, as it is read."""

    @abc.abstractmethod
    def count_other_models(self, engine: str, model_version: str) -> int:
        """How many stored templates another engine or model made (unusable until re-enrolled)."""


class MentoringPairs(Repository, abc.ABC):
    """Mentoring pairs."""

    @abc.abstractmethod
    def add(self, pair: MentoringPair) -> None:
        """Store a new pair."""

    @abc.abstractmethod
    def save(self, pair: MentoringPair) -> None:
        """Store a pair's status."""

    @abc.abstractmethod
    def of_resident(
        self, community_id: str, resident_id: str, offset: int = 0, limit: int | None = None
    ) -> list[MentoringPair]:
        """The pairs in which the resident is the mentor or the newcomer, oldest first; `limit`
        of them from `offset` if given."""


class SpecialTeams(Repository, abc.ABC):
    """Special teams with their membership history; memberships are never deleted."""

    @abc.abstractmethod
    def add(self, team: SpecialTeam) -> None:
        """Store a new team with its first memberships."""

    @abc.abstractmethod
    def get(self, community_id: str, team_id: str) -> SpecialTeam | None:
        """A team with every membership, or None."""

    @abc.abstractmethod
    def page(
        self, community_id: str, offset: int, limit: int, member_id: str = ""
    ) -> list[SpecialTeam]:
        """A page of a community's teams with every membership, oldest team first; only the
        teams `member_id` is now a member of, if given."""

    @abc.abstractmethod
    def add_membership(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store a membership that just began."""

    @abc.abstractmethod
    def save_departure(self, team: SpecialTeam, membership: TeamMembership) -> None:
        """Store the end of a membership."""


class KeyRotations(Repository, abc.ABC):
    """Key rotation runs."""

    @abc.abstractmethod
    def add(self, rotation: KeyRotation) -> None:
        """Store a run that just started."""

    @abc.abstractmethod
    def get(self, community_id: str, rotation_id: str) -> KeyRotation | None:
        """A run by id, or None."""

    @abc.abstractmethod
    def save(self, rotation: KeyRotation) -> None:
        """Store a run's progress."""


class ResidentImports(Repository, abc.ABC):
    """Accepted resident imports (the residents themselves are stored as residents)."""

    @abc.abstractmethod
    def add(self, batch: ResidentImport) -> None:
        """Store an accepted import."""

    @abc.abstractmethod
    def get(self, community_id: str, import_id: str) -> ResidentImport | None:
        """An import by id, or None."""


class LoginCodes(Repository, abc.ABC):
    """One-time login codes, by hash; kept after use so the hourly quota can count them."""

    @abc.abstractmethod
    def add(self, code: LoginCode) -> None:
        """Store a code just sent."""

    @abc.abstractmethod
    def get(self, community_id: str, code_id: str) -> LoginCode | None:
        """A code by id, or None."""

    @abc.abstractmethod
    def latest(self, community_id: str, phone: str) -> LoginCode | None:
        """The code sent to the phone most recently, or None."""

    @abc.abstractmethod
    def sent_since(self, community_id: str, phone: str, since: datetime) -> list[datetime]:
        """When codes were sent to the phone after a time."""

    @abc.abstractmethod
    def save_use(self, code: LoginCode) -> None:
        """Store that a code was used."""


class RefreshTokens(Repository, abc.ABC):
    """Refresh tokens by id, grouped in families; only their ids are stored, never secrets."""

    @abc.abstractmethod
    def add(self, token: RefreshToken) -> None:
        """Store a token just issued."""

    @abc.abstractmethod
    def get(self, community_id: str, token_id: str) -> RefreshToken | None:
        """A token by id, or None."""

    @abc.abstractmethod
    def save_use(self, token: RefreshToken) -> None:
        """Store that a token was used up."""

    @abc.abstractmethod
    def revoke_family(self, community_id: str, family_id: str, at: datetime) -> int:
        """Revoke every live token of a family; how many there were."""

    @abc.abstractmethod
    def revoke_resident(self, community_id: str, resident_id: str, at: datetime) -> int:
        """Revoke every live token of a person; how many there were."""


class StaffPasswords(Repository, abc.ABC):
    """Staff password hashes (argon2id), one per person."""

    @abc.abstractmethod
    def put(self, community_id: str, resident_id: str, password_hash: str, at: datetime) -> None:
        """Store a person's password hash, replacing any earlier one."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str) -> str | None:
        """A person's password hash, or None."""


class AuthEvents(Repository, abc.ABC):
    """The login audit records; never changed or deleted by the service."""

    @abc.abstractmethod
    def add(self, event: AuthEvent) -> None:
        """Store an audit record."""

    @abc.abstractmethod
    def failures_since(
        self, community_id: str, since: datetime, *, phone: str = "", client: str = ""
    ) -> list[datetime]:
        """When logins failed after a time, for a phone or for a client address."""

    @abc.abstractmethod
    def list(self, community_id: str, offset: int, limit: int) -> list[AuthEvent]:
        """A community's audit records, newest first."""


class Relatives(Repository, abc.ABC):
    """Relatives residents declared in other communities (removed ones are kept)."""

    @abc.abstractmethod
    def add(self, relative: Relative) -> None:
        """Store a newly declared relative."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str, relative_id: str) -> Relative | None:
        """A relative of a resident, or None."""

    @abc.abstractmethod
    def save(self, relative: Relative) -> None:
        """Store a relative's state."""

    @abc.abstractmethod
    def list(
        self,
        community_id: str,
        resident_id: str | None,
        state: RelativeState | None,
        offset: int,
        limit: int,
    ) -> list[Relative]:
        """Relatives not removed, of one resident or (None) of all, oldest first."""


class IdentityUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over every identity repository; it finds them among its attributes."""

    communities: Communities
    residents: Residents
    org_units: OrgUnits
    mentoring: MentoringPairs
    teams: SpecialTeams
    consents: FaceConsents
    templates: FaceTemplates
    key_rotations: KeyRotations
    imports: ResidentImports
    login_codes: LoginCodes
    refresh_tokens: RefreshTokens
    passwords: StaffPasswords
    auth_events: AuthEvents
    relatives: Relatives
