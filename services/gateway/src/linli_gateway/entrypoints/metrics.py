"""The gateway's Prometheus metrics (linli_kit.metrics) and OpenTelemetry spans of its requests.

Requests are counted by route template (`/me/vouchers/{voucher_id}`), never the raw path: a path
no route serves is `none`, an unusual method `other`, so a scanner cannot grow the labels.
The services count their own gRPC calls; the gateway does not count them again.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linli_kit import metrics

UNMATCHED = "none"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def record(info: Info) -> None:
    """Count one answered request and its time to the response's start."""
    # Only a route that served the request sets scope["route"]; the instrumentator's own name
    # for a slash-redirected path is the raw path, one label per path.
    route = info.modified_handler if "route" in info.request.scope else UNMATCHED
    method = info.method if info.method in METHODS else "other"
    metrics.GATEWAY_HTTP_REQUESTS.labels(route, method, info.modified_status).inc()
    # No response began (an exception became a 500 outside): the whole time instead.
    seconds = info.modified_duration_without_streaming or info.modified_duration
    metrics.GATEWAY_HTTP_DURATION.labels(route).observe(seconds)


class SseViewers:
    """ASGI middleware: counts the event-stream responses open now (live leaderboards)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streaming = False

        async def sending(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start" and _is_event_stream(message):
                streaming = True
                metrics.GATEWAY_SSE_VIEWERS.inc()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if streaming:
                metrics.GATEWAY_SSE_VIEWERS.dec()


def _is_event_stream(start: Message) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"text/event-stream")
        for name, value in start.get("headers", ())
    )


def instrument(app: FastAPI) -> None:
    """Count and time every request, follow the live boards, and trace requests."""
    Instrumentator(should_group_status_codes=False).add(record).instrument(app)
    app.add_middleware(SseViewers)

    def open_watches() -> float:
        hub = getattr(app.state, "boards", None)
        return float(hub.open_watches) if hub is not None else 0.0

    metrics.GATEWAY_BOARD_WATCHES.set_function(open_watches)
    # No span per ASGI message: a live board's stream would make one per update.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,static/", exclude_spans=["receive", "send"]
    )


def trace_grpc_calls() -> None:
    """Trace the grpc.aio channels opened from now on (the kit instruments blocking ones)."""
    instrumentor = GrpcAioInstrumentorClient()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
