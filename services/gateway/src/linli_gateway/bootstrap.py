"""The one place where the gateway is wired: settings → gRPC clients → the FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from linli_gateway.adapters.boards import watcher
from linli_gateway.adapters.counters import Counters
from linli_gateway.adapters.services import Services
from linli_gateway.adapters.vouchers import VoucherKeys
from linli_gateway.config import SERVICES, GatewaySettings
from linli_gateway.entrypoints import problems
from linli_gateway.entrypoints.api import APIS
from linli_gateway.entrypoints.bodies import BodyLimit
from linli_gateway.entrypoints.csrf import check_csrf
from linli_gateway.entrypoints.i18n import LocaleMiddleware
from linli_gateway.entrypoints.metrics import instrument
from linli_gateway.entrypoints.pages import PAGES
from linli_gateway.entrypoints.sessions import Refresher
from linli_gateway.service_layer.boards import BoardHub
from linli_kit import auth

STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "linli_session"


def build_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app: pages, the JSON API under /api/v1, static files, sessions, CSRF."""
    tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
    addresses = {name: settings.address(name) for name in SERVICES}
    counters = Counters.from_dir(settings.counters_dir, settings.address("rewards"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # grpc.aio channels belong to the loop they are made on: the server's.
        services = Services.connect(addresses, tls, settings.call_timeout_seconds)
        app.state.services, app.state.boards = services, BoardHub(watcher(services))
        app.state.vouchers = VoucherKeys(services, settings.community)
        yield
        await app.state.boards.close()
        await counters.close()
        await services.close()

    app = FastAPI(
        title="Linli gateway",
        version="1",
        description="The JSON API over Linli's services; errors are application/problem+json.",
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings, app.state.refresher = settings, Refresher()
    app.state.counters = counters
    for exc_class, handler in problems.HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
    # Added last = outermost: the body limit, then the language, then the session.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    for page in PAGES:
        app.include_router(page, include_in_schema=False)
    for api in APIS:
        app.include_router(api, prefix="/api/v1")
    instrument(app)
    return app
