"""The attendance service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

ACTIVITY = COMMUNITY.child("activities/{activity}")
SESSION = ACTIVITY.child("sessions/{session}")
RATING = SESSION.child("ratings/{resident}")
KIOSK = COMMUNITY.child("kiosks/{kiosk}")
LEAD = COMMUNITY.child("projectLeads/{lead}")
FLAG = COMMUNITY.child("flags/{flag}")

__all__ = [
    "ACTIVITY",
    "COMMUNITY",
    "FLAG",
    "KIOSK",
    "LEAD",
    "RATING",
    "RESIDENT",
    "SESSION",
    "resident_name",
]


def resident_name(community_id: str, resident_id: str) -> str:
    """A resident's name, or '' for no resident (an unset confirming staff member)."""
    return RESIDENT.format(community=community_id, resident=resident_id) if resident_id else ""
