"""The resource names of identity's resources (AIP style), each pattern declared once."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = [
    "COMMUNITY",
    "FACE_CONSENT",
    "MENTORING_PAIR",
    "ORG_UNIT",
    "RESIDENT",
    "SPECIAL_TEAM",
]

ORG_UNIT = COMMUNITY.child("orgUnits/{unit}")
SPECIAL_TEAM = COMMUNITY.child("specialTeams/{team}")
MENTORING_PAIR = COMMUNITY.child("mentoringPairs/{pair}")
FACE_CONSENT = RESIDENT.child("faceConsents/{consent}")
