"""The attendance service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.errors import InvalidArgument
from linli_kit.names import COMMUNITY, ResourceName

# The id columns of attendance's tables hold 40 characters (a community id may have 63, a
# kiosk id 63): a longer id is refused with the name, never stored half-way.
MAX_ID = 40


class AttendanceName(ResourceName):
    """A resource name whose ids (the community's and a kiosk's aside) fit in 40 characters."""

    def parse(self, name: str, field: str = "name") -> dict[str, str]:
        """The ids in a name, or InvalidArgument naming the field and the id that is too long."""
        ids = super().parse(name, field)
        for segment, value in ids.items():
            if segment not in ("community", "kiosk") and len(value) > MAX_ID:
                raise InvalidArgument(f"{field} has a {segment} id longer than {MAX_ID} characters")
        return ids


RESIDENT = AttendanceName("communities/{community}/residents/{resident}")
ACTIVITY = AttendanceName("communities/{community}/activities/{activity}")
SESSION = AttendanceName("communities/{community}/activities/{activity}/sessions/{session}")
RATING = AttendanceName(
    "communities/{community}/activities/{activity}/sessions/{session}/ratings/{resident}"
)
KIOSK = COMMUNITY.child("kiosks/{kiosk}")
LEAD = AttendanceName("communities/{community}/projectLeads/{lead}")
FLAG = AttendanceName("communities/{community}/flags/{flag}")

__all__ = [
    "ACTIVITY",
    "COMMUNITY",
    "FLAG",
    "KIOSK",
    "LEAD",
    "MAX_ID",
    "RATING",
    "RESIDENT",
    "SESSION",
    "resident_name",
]


def resident_name(community_id: str, resident_id: str) -> str:
    """A resident's name, or '' for no resident (an unset confirming staff member)."""
    return RESIDENT.format(community=community_id, resident=resident_id) if resident_id else ""
