"""What callers ask the identity service to change; each carries the caller's request id.

A mutation names its actor (the caller's principal; SYSTEM for operator commands and
workers): the domain rules decide on it, and a retry by another caller is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from linli_identity.domain.org import OrgLevel, Role
from linli_identity.domain.resident_import import ResidentRow, RowError
from linli_identity.domain.teams import ServedGroup, TeamService
from linli_identity.service_layer.login_port import Secret
from linli_kit.principals import Principal


@dataclass(frozen=True)
class CreateCommunity:
    """Create a community (its id is new: no caller belongs to it yet, so not `community_id`)."""

    new_community_id: str
    display_name: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RegisterResident:
    """Register a resident in a community."""

    community_id: str
    display_name: str
    phone: str
    org_unit: str = ""
    request_id: str = ""
    birth_date: date | None = None
    household: str = ""
    home_unit_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ImportResidents:
    """Register many residents at once, or none of them; `unreadable` rows fail the import."""

    community_id: str
    rows: tuple[ResidentRow, ...]
    request_id: str = ""
    unreadable: tuple[RowError, ...] = ()
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CreateOrgUnit:
    """Add a unit to a community's network."""

    community_id: str
    level: OrgLevel
    display_name: str
    parent_id: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ChangeRole:
    """Grant (or revoke) one role of a resident."""

    community_id: str
    resident_id: str
    role: Role
    grant: bool
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class StartMentoring:
    """Pair a core volunteer with a newcomer."""

    community_id: str
    mentor_id: str
    newcomer_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CreateSpecialTeam:
    """Form a team led by a volunteer."""

    community_id: str
    display_name: str
    served_group: ServedGroup
    services: tuple[TeamService, ...]
    lead_id: str
    org_unit_id: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ChangeTeamMember:
    """Add a volunteer to a team (join) or record that a member left."""

    community_id: str
    team_id: str
    resident_id: str
    join: bool
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class GrantFaceConsent:
    """Record a resident's (or their guardian's) consent to face sign-in."""

    community_id: str
    resident_id: str
    policy_version: str
    retention_days: int
    recorded_by: str
    guardian_id: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class WithdrawFaceConsent:
    """Withdraw a resident's face consent and delete their templates."""

    community_id: str
    resident_id: str
    recorded_by: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class EnrolFace:
    """Enrol a resident's face from one to MAX_ENROLMENT_PHOTOS photos."""

    community_id: str
    resident_id: str
    images: tuple[bytes, ...] = field(repr=False)
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RotateTemplateKeys:
    """Re-encrypt a community's face templates under its current key."""

    community_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RequestLoginCode:
    """Send a one-time login code to a phone (`client` is the caller's address)."""

    community_id: str
    phone: str
    client: str
    request_id: str = ""


@dataclass(frozen=True)
class LoginWithCode:
    """Log a resident in with the code sent to their phone."""

    community_id: str
    phone: str
    code: Secret
    client: str
    request_id: str = ""


@dataclass(frozen=True)
class LoginWithPassword:
    """Log a staff member in with their password."""

    community_id: str
    phone: str
    password: Secret
    client: str
    request_id: str = ""


@dataclass(frozen=True)
class SetPassword:
    """Set a staff member's password."""

    community_id: str
    resident_id: str
    password: Secret
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RefreshTokens:
    """Trade a refresh token for the next pair of its family."""

    refresh_token: Secret
    client: str
    request_id: str = ""


@dataclass(frozen=True)
class Logout:
    """End the session (the family) a refresh token belongs to."""

    refresh_token: Secret
    client: str
    request_id: str = ""
