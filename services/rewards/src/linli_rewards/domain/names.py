"""The rewards service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = [
    "BENEFIT",
    "BENEFIT_APPLICATION",
    "COMMUNITY",
    "ITEM",
    "NOMINATION",
    "REDEMPTION",
    "RESERVATION",
    "RESIDENT",
    "SEAT_ALLOCATION",
]

ITEM = COMMUNITY.child("items/{item}")
REDEMPTION = COMMUNITY.child("redemptions/{redemption}")
# A points reservation, as points names it.
RESERVATION = COMMUNITY.child("reservations/{reservation}")
SEAT_ALLOCATION = COMMUNITY.child("seatAllocations/{allocation}")
NOMINATION = COMMUNITY.child("nominations/{nomination}")
BENEFIT = COMMUNITY.child("benefits/{benefit}")
BENEFIT_APPLICATION = COMMUNITY.child("benefitApplications/{application}")
