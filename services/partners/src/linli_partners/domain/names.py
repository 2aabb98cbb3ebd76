"""The partners service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = [
    "AGREEMENT",
    "BENEFIT",
    "COMMUNITY",
    "CONTRIBUTION",
    "PARTNER",
    "RESIDENT",
]

PARTNER = COMMUNITY.child("partners/{partner}")
AGREEMENT = PARTNER.child("agreements/{agreement}")
CONTRIBUTION = PARTNER.child("contributions/{contribution}")
BENEFIT = PARTNER.child("benefits/{benefit}")
