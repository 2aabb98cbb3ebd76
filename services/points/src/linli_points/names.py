"""The resource names of the points API and its events, each declared once."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = [
    "ACCOUNT",
    "APPEAL",
    "BALANCE",
    "COMMUNITY",
    "COUNCIL_MEETING",
    "COUNCIL_MEMBER",
    "RESERVATION",
    "RESIDENT",
    "TRANSACTION",
]

BALANCE = RESIDENT.child("balance")
RESERVATION = COMMUNITY.child("reservations/{reservation}")
APPEAL = COMMUNITY.child("appeals/{appeal}")
TRANSACTION = COMMUNITY.child("transactions/{transaction}")
# Account ids are "<holder>:<purpose>": formatted only, never parsed.
ACCOUNT = COMMUNITY.child("accounts/{account}")
COUNCIL_MEMBER = COMMUNITY.child("councilMembers/{member}")
COUNCIL_MEETING = COMMUNITY.child("councilMeetings/{meeting}")
