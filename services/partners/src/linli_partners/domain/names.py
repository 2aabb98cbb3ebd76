"""The partners service's resource names (AIP style), declared once for the API and events."""

from __future__ import annotations

from linli_kit.names import COMMUNITY, RESIDENT

__all__ = [
    "AGENCY",
    "AGREEMENT",
    "BENEFIT",
    "COMMUNITY",
    "CONTRIBUTION",
    "FUND_CALL",
    "LEGAL_CASE",
    "MILESTONE",
    "PARTNER",
    "PROPOSAL",
    "RESEARCH_GRANT",
    "RESIDENT",
    "ROTA_SLOT",
    "VISIT",
]

PARTNER = COMMUNITY.child("partners/{partner}")
AGREEMENT = PARTNER.child("agreements/{agreement}")
CONTRIBUTION = PARTNER.child("contributions/{contribution}")
BENEFIT = PARTNER.child("benefits/{benefit}")
FUND_CALL = COMMUNITY.child("fundCalls/{call}")
PROPOSAL = FUND_CALL.child("proposals/{proposal}")
MILESTONE = PROPOSAL.child("milestones/{milestone}")
AGENCY = COMMUNITY.child("agencies/{agency}")
VISIT = AGENCY.child("visits/{visit}")
RESEARCH_GRANT = COMMUNITY.child("researchGrants/{grant}")
ROTA_SLOT = COMMUNITY.child("legalRota/{slot}")
LEGAL_CASE = COMMUNITY.child("legalCases/{case}")
