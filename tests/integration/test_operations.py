"""An operator acts on a real points process's dead letters over gRPC (issue 11, item 4)."""

from __future__ import annotations

import grpc
import pytest
import redis
from linli.ops.v1 import operations_service_pb2 as ops
from linli.ops.v1 import operations_service_pb2_grpc as ops_grpc

from linli_kit.testing import Credentials, Servers, Stack, eventually


def test_a_parked_entry_is_listed_and_discarded_with_a_reason_on_record(
    shared_stack: Stack, servers: Servers, credentials: Credentials
) -> None:
    """An sre's token (verified with the keys identity publishes) over mutual TLS."""
    points = shared_stack["points"]
    stream_prefix = points.settings["stream_prefix"]
    client = redis.Redis.from_url(servers.redis)
    client.xadd(f"{stream_prefix}attendance.events", {"envelope": b"not a protobuf"})
    dead = f"{stream_prefix}attendance.events.dead"
    # Points and training both consume attendance.events: each group parks the entry.
    assert eventually(lambda: client.xlen(dead), 2) == 2
    volunteer = credentials.token("xinhua", "r-li", "volunteer")
    with credentials.channel(points.address, "xinhua", token=volunteer) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            ops_grpc.OperationsServiceStub(channel).ListDeadLetters(
                ops.ListDeadLettersRequest(stream="attendance.events")
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    sre = credentials.token("xinhua", "sre-wang", "sre")
    with credentials.channel(points.address, "xinhua", token=sre) as channel:
        stub = ops_grpc.OperationsServiceStub(channel)
        listed = stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="attendance.events"))
        assert sorted(d.group for d in listed.dead_letters) == ["points", "training"]
        (letter,) = [d for d in listed.dead_letters if d.group == "points"]
        assert letter.reason == "not an event envelope"
        with pytest.raises(grpc.RpcError) as unknown:
            stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="rewards.events"))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        stub.DiscardDeadLetter(
            ops.DiscardDeadLetterRequest(
                stream="attendance.events",
                dead_letter_id=letter.id,
                reason="garbage from a load test",
                request_id="d-1",
            )
        )
        after = stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="attendance.events"))
        assert [d.group for d in after.dead_letters] == ["training"]
    ((_, record),) = client.xrange(f"{dead}.log")
    assert record[b"action"] == b"discarded" and record[b"reason"] == b"garbage from a load test"
    assert record[b"actor"] == b"communities/xinhua/residents/sre-wang"
