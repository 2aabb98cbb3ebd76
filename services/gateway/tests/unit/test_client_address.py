"""The gateway names the browser's address to identity with the calls of nobody signed in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from fastapi.testclient import TestClient
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc

from linli_gateway.bootstrap import build_app
from linli_gateway.config import GatewaySettings
from linli_kit.auth import CLIENT_ADDRESS_HEADER

R = "communities/demo/residents/r1"


class Identity(idn_grpc.IdentityServiceServicer):
    """Identity's login RPCs, remembering the address each call named."""

    def __init__(self) -> None:
        self.addresses: list[tuple[str, str | None]] = []

    def _saw(self, rpc: str, context: grpc.ServicerContext) -> None:
        named = dict(context.invocation_metadata()).get(CLIENT_ADDRESS_HEADER)
        self.addresses.append((rpc, str(named) if named is not None else None))

    def _tokens(self) -> idn.TokenPair:
        pair = idn.TokenPair(access_token="a", refresh_token="r", resident=R, roles=["resident"])
        pair.access_expire_time.FromSeconds(int(time.time()) + 30)  # refreshed at the next page
        return pair

    def RequestLoginCode(self, request, context):  # type: ignore[no-untyped-def]
        self._saw("RequestLoginCode", context)
        return idn.RequestLoginCodeResponse()

    def LoginWithCode(self, request, context):  # type: ignore[no-untyped-def]
        self._saw("LoginWithCode", context)
        return idn.LoginWithCodeResponse(tokens=self._tokens())

    def RefreshToken(self, request, context):  # type: ignore[no-untyped-def]
        self._saw("RefreshToken", context)
        return idn.RefreshTokenResponse(tokens=self._tokens())

    def Logout(self, request, context):  # type: ignore[no-untyped-def]
        self._saw("Logout", context)
        return idn.LogoutResponse(resident=R)


@pytest.fixture
def identity() -> Iterator[tuple[Identity, int]]:
    """A real gRPC server answering the login RPCs, on a free port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    fake = Identity()
    idn_grpc.add_IdentityServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, port
    server.stop(0)


def _sign_in_and_out(app: object, peer: str, headers: dict[str, str]) -> None:
    with TestClient(app, base_url="http://127.0.0.1", client=(peer, 50123)) as browser:  # type: ignore[arg-type]
        token = browser.get("/api/v1/session").json()["csrf_token"]
        form = {"phone": "13800000001", "csrf_token": token}
        assert browser.post("/login/code", data=form, headers=headers).status_code == 200
        signed_in = browser.post(
            "/login", data={**form, "code": "123456"}, headers=headers, follow_redirects=False
        )
        assert signed_in.status_code == 303
        browser.get("/api/v1/me", headers=headers)  # the token is refreshed first
        token = browser.get("/api/v1/session").json()["csrf_token"]
        bye = browser.post("/logout", data={"csrf_token": token}, headers=headers)
        assert bye.status_code == 200


RPCS = ["RequestLoginCode", "LoginWithCode", "RefreshToken", "Logout"]


@pytest.mark.parametrize(
    ("trust", "peer", "named"),
    [
        (False, "198.51.100.7", "198.51.100.7"),  # the TCP peer; X-Forwarded-For is not believed
        (True, "10.0.0.2", "192.0.2.44"),  # the ingress's last X-Forwarded-For entry
        (False, "testclient", None),  # not an IP address: nothing is named
    ],
)
def test_login_calls_name_the_browsers_address(
    identity: tuple[Identity, int], trust: bool, peer: str, named: str | None
) -> None:
    fake, port = identity
    settings = GatewaySettings(
        community="demo",
        session_secret="s" * 32,
        cookie_secure=False,
        identity_address=f"127.0.0.1:{port}",
        points_address="127.0.0.1:9",
        trust_forwarded_for=trust,
    )
    forwarded = {"X-Forwarded-For": "203.0.113.9, 192.0.2.44"}

    _sign_in_and_out(build_app(settings), peer, forwarded)

    assert fake.addresses == [(rpc, named) for rpc in RPCS]
