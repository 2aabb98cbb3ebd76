"""An operator acts on a real points process's dead letters over gRPC (issue 11, item 4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import redis
from linli.ops.v1 import operations_service_pb2 as ops
from linli.ops.v1 import operations_service_pb2_grpc as ops_grpc

from linli_kit.processes import ServiceProcess, free_port
from linli_kit.testing import Servers, eventually


def test_a_parked_entry_is_listed_and_discarded_with_a_reason_on_record(
    servers: Servers, make_database: Callable[[str], str], stream_prefix: str, tmp_path: Path
) -> None:
    points = ServiceProcess(
        "points",
        {
            "database_url": make_database("points"),
            "redis_url": servers.redis,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(free_port()),
            "metrics_port": "0",
            "stream_prefix": stream_prefix,
            "log_format": "console",
        },
        tmp_path / "points.log",
    )
    points.migrate().communicate()
    points.start()
    client = redis.Redis.from_url(servers.redis)
    try:
        client.xadd(f"{stream_prefix}attendance.events", {"envelope": b"not a protobuf"})
        dead = f"{stream_prefix}attendance.events.dead"
        assert eventually(lambda: client.xlen(dead), 1) == 1
        with grpc.insecure_channel(points.address) as channel:
            stub = ops_grpc.OperationsServiceStub(channel)
            listed = stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="attendance.events"))
            (letter,) = listed.dead_letters
            assert letter.group == "points" and letter.reason == "not an event envelope"
            with pytest.raises(grpc.RpcError) as unknown:
                stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="rewards.events"))
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            stub.DiscardDeadLetter(
                ops.DiscardDeadLetterRequest(
                    stream="attendance.events",
                    dead_letter_id=letter.id,
                    actor="sre-wang",
                    reason="garbage from a load test",
                    request_id="d-1",
                )
            )
            after = stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="attendance.events"))
            assert list(after.dead_letters) == []
    finally:
        points.stop()
    ((_, record),) = client.xrange(f"{dead}.log")
    assert record[b"action"] == b"discarded" and record[b"reason"] == b"garbage from a load test"
