"""Communities and the residents registered in them (I1)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import InvalidArgument
from linli_kit.names import check_community_id

# Mainland China mobile numbers: 11 digits, 1 then 3-9.
PHONE = re.compile(r"^1[3-9]\d{9}$")
MAX_NAME = 50
MAX_ORG_UNIT = 100


@dataclass(frozen=True, kw_only=True)
class ResidentRegistered(DomainEvent):
    """A resident joined a community."""

    resident_id: str
    display_name: str
    org_unit: str


@dataclass(kw_only=True, eq=False)
class Community(Aggregate):
    """A community running its own volunteer programme."""

    id: str
    display_name: str
    created_at: datetime

    @classmethod
    def create(cls, community_id: str, display_name: str, at: datetime) -> Community:
        """A new community, with its id and name validated."""
        return cls(id=check_community_id(community_id),
                   display_name=_required_text(display_name, "display_name", MAX_NAME),
                   created_at=at)


@dataclass(kw_only=True, eq=False)
class Resident(Aggregate):
    """A person living in a community."""

    community_id: str
    id: str
    display_name: str
    phone: str
    org_unit: str
    created_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(cls, community_id: str, display_name: str, phone: str, org_unit: str,
                 at: datetime) -> Resident:
        """A newly registered resident; raises InvalidArgument on bad details."""
        phone = re.sub(r"[\s-]", "", phone or "")
        if not PHONE.match(phone):
            raise InvalidArgument("phone must be an 11-digit mobile number starting with 1")
        if len(org_unit) > MAX_ORG_UNIT:
            raise InvalidArgument(f"org_unit is longer than {MAX_ORG_UNIT} characters")
        resident = cls(
            community_id=community_id, id=f"r{uuid.uuid4().hex}",
            display_name=_required_text(display_name, "display_name", MAX_NAME),
            phone=phone, org_unit=org_unit.strip(), created_at=at,
        )
        resident.events.append(ResidentRegistered(
            community_id=community_id, occurred_at=at, resident_id=resident.id,
            display_name=resident.display_name, org_unit=resident.org_unit,
        ))
        return resident


def _required_text(value: str, field_name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidArgument(f"{field_name} is required")
    if len(text) > limit:
        raise InvalidArgument(f"{field_name} is longer than {limit} characters")
    return text
