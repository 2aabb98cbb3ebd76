"""GrpcResidentDirectory against a real gRPC server standing in for identity's GetResident."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_attendance.adapters.identity_client import GrpcResidentDirectory


class Registry(pb_grpc.IdentityServiceServicer):
    """Knows the residents registered so far; counts the questions."""

    def __init__(self) -> None:
        self.registered: set[str] = set()
        self.asked: list[str] = []

    def GetResident(self, request: pb.GetResidentRequest, context: grpc.ServicerContext) -> object:
        """The resident, or NOT_FOUND."""
        self.asked.append(request.name)
        if request.name not in self.registered:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such resident")
        return pb.GetResidentResponse(resident=pb.Resident(name=request.name))


@pytest.fixture
def identity() -> Iterator[tuple[Registry, grpc.Channel]]:
    registry = Registry()
    server = grpc.server(ThreadPoolExecutor(2))
    pb_grpc.add_IdentityServiceServicer_to_server(registry, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield registry, channel
    channel.close()
    server.stop(0)


def test_a_known_resident_is_asked_once_an_unknown_one_every_time(identity):
    """Identity never removes a resident: a yes is remembered; a no is asked again, and a
    resident registered since is then known."""
    registry, channel = identity
    residents = GrpcResidentDirectory(channel, remembered=2)
    registry.registered.add("communities/c1/residents/r1")
    assert residents.exists("c1", "r1") and residents.exists("c1", "r1")
    assert not residents.exists("c1", "r2") and not residents.exists("c1", "r2")
    registry.registered.add("communities/c1/residents/r2")
    assert residents.exists("c1", "r2") and residents.exists("c1", "r2")
    assert registry.asked == [
        "communities/c1/residents/r1",
        *["communities/c1/residents/r2"] * 3,
    ]


def test_only_the_most_recently_asked_are_remembered(identity):
    """Beyond `remembered` residents, the least recently asked is asked again."""
    registry, channel = identity
    residents = GrpcResidentDirectory(channel, remembered=2)
    registry.registered |= {f"communities/c1/residents/r{n}" for n in range(3)}
    for n in (0, 1, 0, 2, 0, 1):
        assert residents.exists("c1", f"r{n}")
    assert [name.rpartition("/")[2] for name in registry.asked] == ["r0", "r1", "r2", "r1"]
