"""Who may receive a resident's time-bank points in another community (E4, issue 15).

- A person is known across the city's communities by a **person key**: HMAC-SHA256 of their
  normalised phone number (the login identity) under a city-wide federation secret. The same
  number gives the same key in every community; the number itself never leaves one.
- A resident declares a **relative** who lives elsewhere by the relative's phone number: only
  its person key, the relation and a label are kept (and the last four digits, for staff to
  check the household register). It counts once the resident's staff confirm it.
- A transfer from another community lands on a resident here only if the sender is that
  resident themself (the same person key) or a confirmed relative of theirs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_identity.domain.residents import Resident, normalised_phone
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

MAX_RELATIVES = 20
MAX_LABEL = 50
PERSON_KEY = re.compile(r"^[0-9a-f]{64}$")


class PersonKeys:
    """The city's person keys: HMAC-SHA256 of a phone number under the federation secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise InvalidArgument("the federation secret has at least 32 bytes")
        self._secret = secret

    def of(self, phone: str) -> str:
        """The person key of a phone number (normalised first), as 64 hex digits."""
        number = normalised_phone(phone).encode()
        return hmac.new(self._secret, number, hashlib.sha256).hexdigest()


def checked_person_key(value: str) -> str:
    """A person key as another community sends it; InvalidArgument otherwise."""
    if not PERSON_KEY.match(value or ""):
        raise InvalidArgument("a person key is 64 lower-case hex digits")
    return value


class Relation(StrEnum):
    """How the relative is related to the resident who declared them."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    OTHER = "other"


class RelativeState(StrEnum):
    """Declared (does not count yet), confirmed by staff, or removed (kept for the record)."""

    DECLARED = "declared"
    CONFIRMED = "confirmed"
    REMOVED = "removed"


class Recipient(StrEnum):
    """What a transfer's recipient here is to its sender elsewhere."""

    SELF = "self"
    RELATIVE = "relative"
    NOT_RELATED = "not_related"


@dataclass(kw_only=True, eq=False)
class Relative:
    """A relative of a resident, living in another community, known by their person key."""

    community_id: str
    resident_id: str
    id: str
    person_key: str
    relation: Relation
    display_label: str
    phone_hint: str  # the last four digits, for staff to check against the household register
    state: RelativeState
    created_at: datetime
    declared_by: str  # the principal's subject
    confirmed_at: datetime | None = None
    confirmed_by: str = ""  # the confirming staff member's resident id
    removed_at: datetime | None = None

    @classmethod
    def declare(
        cls,
        resident: Resident,
        phone: str,
        relation: Relation,
        label: str,
        keys: PersonKeys,
        existing: list[Relative],
        at: datetime,
        by: str,
    ) -> Relative:
        """A new declared relative of the resident; refused for their own number, a relative
        declared already or past MAX_RELATIVES."""
        number = normalised_phone(phone)
        if number == resident.phone:
            raise InvalidArgument("the resident's own number is not a relative's")
        label = (label or "").strip()
        if len(label) > MAX_LABEL or any(c in label for c in "\r\n\t"):
            raise InvalidArgument(f"display_label is one line of at most {MAX_LABEL} characters")
        key = keys.of(number)
        live = [r for r in existing if r.state is not RelativeState.REMOVED]
        if any(r.person_key == key for r in live):
            raise AlreadyExists("this relative is declared already")
        if len(live) >= MAX_RELATIVES:
            raise FailedPrecondition(f"a resident declares at most {MAX_RELATIVES} relatives")
        return cls(
            community_id=resident.community_id,
            resident_id=resident.id,
            id=f"k{uuid.uuid4().hex}",
            person_key=key,
            relation=relation,
            display_label=label,
            phone_hint=number[-4:],
            state=RelativeState.DECLARED,
            created_at=at,
            declared_by=by,
        )

    def _require_live(self) -> None:
        if self.state is RelativeState.REMOVED:
            raise NotFound(f"relative {self.id} was removed")

    def confirm(self, staff_id: str, at: datetime) -> bool:
        """Confirmed by the resident's staff; False if it was confirmed already."""
        self._require_live()
        if self.state is RelativeState.CONFIRMED:
            return False
        self.state, self.confirmed_at, self.confirmed_by = RelativeState.CONFIRMED, at, staff_id
        return True

    def remove(self, at: datetime) -> None:
        """No longer a relative: kept as removed, never counted again."""
        self._require_live()
        self.state, self.removed_at = RelativeState.REMOVED, at


def recipient(
    resident: Resident, sender_key: str, keys: PersonKeys, relatives: list[Relative]
) -> Recipient:
    """What the resident is to the sender with this person key: themself, a confirmed
    relative, or not related (a declared, unconfirmed relative does not count)."""
    if hmac.compare_digest(keys.of(resident.phone), sender_key):
        return Recipient.SELF
    if any(
        r.state is RelativeState.CONFIRMED and hmac.compare_digest(r.person_key, sender_key)
        for r in relatives
    ):
        return Recipient.RELATIVE
    return Recipient.NOT_RELATED
