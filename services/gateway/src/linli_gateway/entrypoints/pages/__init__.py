"""The web pages, one module per audience; a new audience adds its router here."""

from __future__ import annotations

from fastapi import APIRouter

from linli_gateway.entrypoints.pages import (
    committee,
    counter,
    kiosk,
    login,
    public,
    resident,
    staff,
    timebank,
)

PAGES: tuple[APIRouter, ...] = (
    public.router,
    login.router,
    resident.router,
    staff.router,
    committee.router,
    kiosk.router,
    counter.router,
    timebank.router,
    timebank.staff_router,
)
