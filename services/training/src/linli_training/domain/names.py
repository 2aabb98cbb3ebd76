"""The training service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT, ResourceName

__all__ = [
    "ACTIVITY",
    "ALLOWANCE",
    "ASSESSMENT",
    "COMMUNITY",
    "COURSE",
    "COURSE_SESSION",
    "INSTRUMENT",
    "KIOSK",
    "LEVEL",
    "PROGRESS",
    "RESIDENT",
    "SESSION",
    "TEACHER",
]

COURSE = COMMUNITY.child("courses/{course}")
TEACHER = COMMUNITY.child("teachers/{teacher}")
COURSE_SESSION = COMMUNITY.child("courseSessions/{session}")
LEVEL = COMMUNITY.child("levels/{level}")
ALLOWANCE = COMMUNITY.child("allowances/{allowance}")
PROGRESS = RESIDENT.child("trainingProgress")
ASSESSMENT = RESIDENT.child("assessments/{assessment}")
INSTRUMENT = ResourceName("instruments/{instrument}")
# Attendance's names, for the activities and sessions volunteers sign in to.
ACTIVITY = COMMUNITY.child("activities/{activity}")
SESSION = ACTIVITY.child("sessions/{session}")
KIOSK = COMMUNITY.child("kiosks/{kiosk}")
