"""Who is calling, as the domain sees it: the principal and the checks every service shares.

Framework-free on purpose (ARCHITECTURE §5): the interceptor in `linli_kit.auth` makes the
principal; domain rules take it as an argument and raise domain errors.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import StrEnum

from linli_kit.errors import NotFound, PermissionDenied


class Kind(StrEnum):
    """What sort of caller a principal is."""

    ANONYMOUS = "anonymous"
    PERSON = "person"
    SERVICE = "service"
    PARTNER = "partner"
    PEER = "peer"


class Role(StrEnum):
    """The roles identity grants (ARCHITECTURE §5)."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    CORE_VOLUNTEER = "core_volunteer"
    GRID_HEAD = "grid_head"
    BUILDING_LIAISON = "building_liaison"
    SOCIAL_WORKER = "social_worker"
    COMMITTEE_MEMBER = "committee_member"
    PARTNER = "partner"
    SRE = "sre"


# Roles that act for the community on other residents' records.
STAFF_ROLES = frozenset({Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person by resident name, or a machine by its SAN."""

    kind: Kind
    subject: str = ""
    community: str = ""
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()

    def has_role(self, *roles: str) -> bool:
        """Whether the principal holds any of the roles."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_staff(self) -> bool:
        """A person who acts for the community (social worker, grid head, building liaison)."""
        return self.kind is Kind.PERSON and self.has_role(*STAFF_ROLES)

    @property
    def is_machine(self) -> bool:
        """Another Linli service of a community (vouched for by its certificate)."""
        return self.kind is Kind.SERVICE

    def is_resident(self, community_id: str, resident_id: str) -> bool:
        """Whether the principal is that very resident, signed in."""
        return (
            self.kind is Kind.PERSON
            and self.community == community_id
            and self.subject == f"communities/{community_id}/residents/{resident_id}"
        )

    @property
    def resident_id(self) -> str:
        """The resident id of a signed-in person ('' for machines)."""
        if self.kind is not Kind.PERSON:
            return ""
        return self.subject.rpartition("/")[2]


ANONYMOUS = Principal(Kind.ANONYMOUS)
# The trusted in-process caller: background workers, consumers and operator commands.
SYSTEM = Principal(Kind.SERVICE, "system")

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "linli_principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    """The principal of the call being served (ANONYMOUS outside one)."""
    return _current.get()


def acting_as(principal: Principal) -> contextvars.Token[Principal]:
    """Make the principal the current one (the auth interceptor does this per call)."""
    return _current.set(principal)


def done_acting(token: contextvars.Token[Principal]) -> None:
    """Restore the principal that was current before acting_as."""
    _current.reset(token)


def require_community(principal: Principal, community_id: str) -> None:
    """NotFound unless the principal belongs to the community (existence is not told)."""
    if principal is SYSTEM:
        return
    if principal.community != community_id:
        raise NotFound(f"communities/{community_id} not found")


def require_self_or_staff(principal: Principal, community_id: str, resident_id: str) -> None:
    """The resident themselves, the community's staff, or one of its services; others refused.

    Another community's caller learns nothing (NotFound); a neighbour is PermissionDenied.
    """
    require_community(principal, community_id)
    if principal is SYSTEM or principal.is_machine or principal.is_staff:
        return
    if not principal.is_resident(community_id, resident_id):
        raise PermissionDenied("only the resident or the community's staff may see or do this")


def require_staff(principal: Principal, community_id: str) -> None:
    """The community's staff (or one of its services); others refused."""
    require_community(principal, community_id)
    if principal is SYSTEM or principal.is_machine or principal.is_staff:
        return
    raise PermissionDenied("only the community's staff may do this")
