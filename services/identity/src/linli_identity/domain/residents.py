"""Communities and the residents registered in them (I1)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from linli_identity.domain.org import OrgUnit, Role, check_role_placement
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import InvalidArgument
from linli_kit.names import check_community_id

# Mainland China mobile numbers: 11 digits, 1 then 3-9.
PHONE = re.compile(r"^1[3-9]\d{9}$")
MAX_NAME = 50
MAX_ORG_UNIT = 100
MIN_BIRTH_DATE = date(1900, 1, 1)
MAX_HOUSEHOLD = 40


def normalised_phone(phone: str) -> str:
    """A mainland mobile number without spaces or hyphens; InvalidArgument if it is none."""
    phone = re.sub(r"[\s-]", "", phone or "")
    if not PHONE.match(phone):
        raise InvalidArgument("phone must be an 11-digit mobile number starting with 1")
    return phone


@dataclass(frozen=True, kw_only=True)
class ResidentRegistered(DomainEvent):
    """A resident joined a community."""

    resident_id: str
    display_name: str
    org_unit: str


@dataclass(frozen=True, kw_only=True)
class RoleGranted(DomainEvent):
    """A resident was granted a role; `granted_by` is the granter's name or "system"."""

    resident_id: str
    role: Role
    granted_by: str


@dataclass(frozen=True, kw_only=True)
class RoleRevoked(DomainEvent):
    """A role was revoked from a resident; `revoked_by` as for RoleGranted."""

    resident_id: str
    role: Role
    revoked_by: str


@dataclass(kw_only=True, eq=False)
class Community(Aggregate):
    """A community running its own volunteer programme."""

    id: str
    display_name: str
    created_at: datetime

    @classmethod
    def create(cls, community_id: str, display_name: str, at: datetime) -> Community:
        """A new community, with its id and name validated."""
        return cls(
            id=check_community_id(community_id),
            display_name=_required_text(display_name, "display_name", MAX_NAME),
            created_at=at,
        )


@dataclass(kw_only=True, eq=False)
class Resident(Aggregate):
    """A person living in a community."""

    community_id: str
    id: str
    display_name: str
    phone: str
    org_unit: str
    created_at: datetime
    birth_date: date | None = None
    # The household (e.g. "3-201", building and flat) and the org unit the resident belongs to.
    household: str = ""
    home_unit_id: str | None = None
    roles: set[Role] = field(default_factory=set)

    def grant_role(self, role: Role, home: OrgUnit | None, by: str, at: datetime) -> bool:
        """Add a role (the home unit must suit it); False if the resident already held it."""
        check_role_placement(role, home)
        if role in self.roles:
            return False
        self.roles.add(role)
        self.events.append(
            RoleGranted(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.id,
                role=role,
                granted_by=by,
            )
        )
        return True

    def revoke_role(self, role: Role, by: str, at: datetime) -> bool:
        """Remove a role; False if the resident did not hold it."""
        if role not in self.roles:
            return False
        self.roles.discard(role)
        self.events.append(
            RoleRevoked(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.id,
                role=role,
                revoked_by=by,
            )
        )
        return True

    @classmethod
    def register(
        cls,
        community_id: str,
        display_name: str,
        phone: str,
        org_unit: str,
        at: datetime,
        birth_date: date | None = None,
        household: str = "",
        home: OrgUnit | None = None,
    ) -> Resident:
        """A newly registered resident; raises InvalidArgument on bad details."""
        phone = normalised_phone(phone)
        org_unit = (org_unit or "").strip()
        if len(org_unit) > MAX_ORG_UNIT:
            raise InvalidArgument(f"org_unit is longer than {MAX_ORG_UNIT} characters")
        if birth_date is not None and not MIN_BIRTH_DATE <= birth_date <= at.date():
            raise InvalidArgument("birth_date must be a real date in the past")
        household = (household or "").strip()
        if len(household) > MAX_HOUSEHOLD:
            raise InvalidArgument(f"household is longer than {MAX_HOUSEHOLD} characters")
        if home is not None and home.community_id != community_id:
            raise InvalidArgument("the home unit is in another community")
        resident = cls(
            community_id=community_id,
            id=f"r{uuid.uuid4().hex}",
            display_name=_required_text(display_name, "display_name", MAX_NAME),
            phone=phone,
            org_unit=org_unit,
            created_at=at,
            birth_date=birth_date,
            household=household,
            home_unit_id=None if home is None else home.id,
            roles={Role.RESIDENT},
        )
        resident.events.append(
            ResidentRegistered(
                community_id=community_id,
                occurred_at=at,
                resident_id=resident.id,
                display_name=resident.display_name,
                org_unit=resident.org_unit,
            )
        )
        return resident


def _required_text(value: str, field_name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidArgument(f"{field_name} is required")
    if len(text) > limit:
        raise InvalidArgument(f"{field_name} is longer than {limit} characters")
    return text


def parse_birth_date(text: str) -> date | None:
    """An ISO date (YYYY-MM-DD), None for an empty string, or InvalidArgument."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"birth_date must be YYYY-MM-DD, got {text!r}") from None


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on a day."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday
