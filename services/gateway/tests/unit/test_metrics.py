"""The gateway's request metrics: route templates as labels, bounded whatever the path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from linli_gateway.entrypoints.metrics import SseViewers
from linli_gateway.service_layer.boards import BoardHub, BoardKey, Change, Place

REQUESTS = "linli_gateway_http_requests_total"


def requests(route: str, method: str, status: str) -> float:
    """The counter's value for one label set (0 when it has none yet)."""
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value(REQUESTS, labels) or 0.0


def routes_counted() -> set[str]:
    """Every route label the counter holds now."""
    (family,) = [m for m in REGISTRY.collect() if m.name == "linli_gateway_http_requests"]
    return {s.labels["route"] for s in family.samples if s.name == REQUESTS}


def test_a_templated_route_is_counted_by_its_template(client: TestClient) -> None:
    before = requests("/me/vouchers/{redemption_id}", "GET", "303")
    timed = "linli_gateway_http_request_duration_seconds_count"
    timed_before = REGISTRY.get_sample_value(timed, {"route": "/me/vouchers/{redemption_id}"})
    for voucher in ("r-1", "r-2", "r-3"):
        reply = client.get(f"/me/vouchers/{voucher}", follow_redirects=False)
        assert reply.status_code == 303  # not signed in: to the login page
    assert requests("/me/vouchers/{redemption_id}", "GET", "303") == before + 3
    counted = routes_counted()
    assert not {r for r in counted if "r-1" in r or "r-2" in r}, counted
    timed_after = REGISTRY.get_sample_value(timed, {"route": "/me/vouchers/{redemption_id}"})
    assert timed_after == (timed_before or 0) + 3


def test_the_start_page_and_api_routes_keep_their_full_template(client: TestClient) -> None:
    before_home = requests("/", "GET", "200")
    before_api = requests("/api/v1/session", "GET", "200")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/session").status_code == 200
    assert requests("/", "GET", "200") == before_home + 1
    assert requests("/api/v1/session", "GET", "200") == before_api + 1


def test_unknown_paths_share_one_label(client: TestClient) -> None:
    client.get("/no-such-page")  # the label exists from here on
    known = routes_counted()
    before = requests("none", "GET", "404")
    for n in range(5):
        assert client.get(f"/no-such-page/{n}").status_code == 404
        # a served route's path with a trailing slash is redirected, not served
        client.get(f"/me/vouchers/x{n}/", follow_redirects=False)
    assert requests("none", "GET", "404") == before + 5
    assert routes_counted() == known


def test_an_unusual_method_is_other(client: TestClient) -> None:
    before = requests("/", "other", "405")
    assert client.request("BREW", "/").status_code == 405
    assert client.request("PROPFIND", "/").status_code == 405
    assert requests("/", "other", "405") == before + 2


def test_open_event_streams_are_counted_while_open() -> None:
    """SseViewers counts an event-stream response from its start to its end."""
    seen: list[float] = []

    async def events(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[str]:
            seen.append(REGISTRY.get_sample_value("linli_gateway_sse_viewers") or 0.0)
            yield "data: 1\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    async def page(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[str]:
            seen.append(REGISTRY.get_sample_value("linli_gateway_sse_viewers") or 0.0)
            yield "<p>"

        return StreamingResponse(body(), media_type="text/html")

    app = SseViewers(Starlette(routes=[Route("/events", events), Route("/page", page)]))

    async def run() -> None:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as http:
            await http.get("/events")
            await http.get("/page")

    base = REGISTRY.get_sample_value("linli_gateway_sse_viewers") or 0.0
    asyncio.run(run())
    assert seen == [base + 1, base]
    assert REGISTRY.get_sample_value("linli_gateway_sse_viewers") == base


async def test_upstream_watches_follow_the_hub(client: TestClient) -> None:
    """The watches gauge reads the app's BoardHub: one open per board being watched."""

    async def watch(key: BoardKey) -> AsyncIterator[Change]:
        yield Change(True, (Place("r1", 1, 100, "李*"),))
        await asyncio.Event().wait()  # the stream stays open, as points' does

    hub = BoardHub(watch)
    client.app.state.boards = hub  # type: ignore[attr-defined]
    assert REGISTRY.get_sample_value("linli_gateway_board_watches") == 0
    await hub.ranking(BoardKey("demo", "community", 0))
    await hub.ranking(BoardKey("demo", "grid:g1", 0))
    assert REGISTRY.get_sample_value("linli_gateway_board_watches") == 2
    await hub.close()
    assert REGISTRY.get_sample_value("linli_gateway_board_watches") == 0
