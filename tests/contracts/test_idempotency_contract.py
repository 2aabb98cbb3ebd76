"""Every RPC of every service says whether it changes state; every one that does takes request_id.

ARCHITECTURE §1: mutating RPCs are idempotent. The protos declare it with the standard method
option `idempotency_level` (NO_SIDE_EFFECTS for reads, IDEMPOTENT for mutations), and each
service's own test replays a retry of every mutating RPC through its whole app.
"""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions

from linli_kit.testing import generated_services, mutating_methods

SERVICES = generated_services()


def test_the_walk_finds_every_service() -> None:
    assert {s.name for s in SERVICES} >= {
        "IdentityService",
        "AttendanceService",
        "PointsService",
        "OperationsService",
    }


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_rpc_declares_whether_it_changes_state(service: ServiceDescriptor) -> None:
    undeclared = [
        m.name
        for m in service.methods
        if m.GetOptions().idempotency_level == MethodOptions.IDEMPOTENCY_UNKNOWN
    ]
    assert undeclared == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_mutating_rpc_takes_a_request_id(service: ServiceDescriptor) -> None:
    without = [
        m.name for m in mutating_methods(service) if "request_id" not in m.input_type.fields_by_name
    ]
    assert without == []
