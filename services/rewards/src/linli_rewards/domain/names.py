"""The rewards service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = ["COMMUNITY", "ITEM", "REDEMPTION", "RESERVATION", "RESIDENT"]

ITEM = COMMUNITY.child("items/{item}")
REDEMPTION = COMMUNITY.child("redemptions/{redemption}")
# A points reservation, as points names it.
RESERVATION = COMMUNITY.child("reservations/{reservation}")
