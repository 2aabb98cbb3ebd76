"""The JSON API under /api/v1, one module per audience; a new audience adds its router here."""

from __future__ import annotations

from fastapi import APIRouter

from linli_gateway.entrypoints.api import counter, public, resident, session, staff, timebank

APIS: tuple[APIRouter, ...] = (
    session.router,
    public.router,
    resident.router,
    staff.router,
    timebank.router,
    counter.router,
)
