"""The web pages, one module per audience; a new audience adds its router here."""

from __future__ import annotations

from fastapi import APIRouter

from linli_gateway.entrypoints.pages import login, public, resident

PAGES: tuple[APIRouter, ...] = (public.router, login.router, resident.router)
