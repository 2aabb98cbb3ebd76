"""Every RPC of every service, fuzzed against real processes on PostgreSQL and Redis (issue 11).

The RPCs are found by walking the generated service descriptors, so a new RPC is fuzzed the day
it is added. Requests mix hostile values with realistic ones (a community, residents, an
activity, a session, a reservation, an appeal… made in setup) so that calls get past the first
check, each call made by a principal the RPC's policy admits (world.py). A run fails on any
INTERNAL or UNKNOWN answer, any call over its deadline and any traceback in a service's log.
Two passes per RPC: the kit's driver (hostile values in any field, realistic ones often), then
realistic requests with one or two fields hostile, which get past the first check and reach the
handlers. LINLI_FUZZ_EXAMPLES sets the examples per RPC and pass (25 in `make test`, so 50 per
RPC; 1,000 in `make fuzz`).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import (
    Descriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli_kit.fuzzing import fuzz_method, messages
from linli_kit.processes import ServiceProcess
from linli_kit.testing import Stack, generated_services, load_beside

setup = load_beside(__file__, "world.py", "linli_fuzz_world")
World = setup.World
EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "25"))
DEADLINE_SECONDS = setup.DEADLINE_SECONDS
TARGETS = [
    (process, method)
    for service in generated_services()
    for process in setup.SERVED_BY[service.name]
    for method in service.methods
]
EDGE_TIMES = setup.EDGE_TIMES


PARAMS = [
    pytest.param(process, method, id=f"{process}-{method.containing_service.name}.{method.name}")
    for process, method in TARGETS
]


@pytest.mark.parametrize(("process", "method"), PARAMS)
def test_rpc_survives_hostile_requests(
    stack: Stack,
    world: World,
    fuzz_tally: dict[str, dict[str, int]],
    process: str,
    method: MethodDescriptor,
) -> None:
    """No INTERNAL or UNKNOWN, no missed deadline, no traceback in the service's log."""
    caller = world.caller_for(method)
    with _log_stays_clean(stack[process]):
        seen = fuzz_method(
            world.channel(process, caller),
            method,
            examples=EXAMPLES,
            known=world.values_for(process, method),
            deadline_seconds=DEADLINE_SECONDS,
            metadata=lambda: caller.metadata,
        )
    _record(fuzz_tally, process, method, seen)


@pytest.mark.parametrize(("process", "method"), PARAMS)
def test_rpc_survives_one_hostile_field_in_a_realistic_request(
    stack: Stack,
    world: World,
    fuzz_tally: dict[str, dict[str, int]],
    process: str,
    method: MethodDescriptor,
) -> None:
    """Realistic requests with one or two fields hostile reach the handlers: the same checks."""
    values = world.values_for(process, method)
    request_class = message_factory.GetMessageClass(method.input_type)
    base = world.realistic(process, method)
    caller = world.caller_for(method)
    channel = world.channel(process, caller)
    fields = [field.name for field in method.input_type.fields]
    seen: Counter[grpc.StatusCode] = Counter()
    hostile_fields = (
        st.sets(st.sampled_from(fields), min_size=1, max_size=2) if fields else st.just(set())
    )
    times = _timestamp_paths(method.input_type)
    # One timestamp at the first or last instant the kit's validator lets through, at times.
    edges = st.none() | (
        st.tuples(st.sampled_from(times), st.sampled_from(EDGE_TIMES)) if times else st.none()
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        hostile=messages(method.input_type, values),
        chosen=hostile_fields,
        request_id=st.uuids(),
        edge=edges,
    )
    def probe(
        hostile: Message,
        chosen: set[str],
        request_id: uuid.UUID,
        edge: tuple[tuple[str, ...], datetime] | None,
    ) -> None:
        request = request_class()
        request.CopyFrom(base)
        if "request_id" in fields:
            request.request_id = str(request_id)
        overlay = request_class()
        overlay.CopyFrom(hostile)
        for name in fields:
            (request if name in chosen else overlay).ClearField(name)
        request.MergeFrom(overlay)
        if edge is not None:
            path, at = edge
            target = request
            for name in path:
                target = getattr(target, name)
            target.FromDatetime(at)
        code, _ = world.answer(channel, method, request, caller.metadata)
        seen[code] += 1

    with _log_stays_clean(stack[process]):
        probe()
    _record(fuzz_tally, process, method, seen)


def _timestamp_paths(descriptor: Descriptor, depth: int = 0) -> list[tuple[str, ...]]:
    """The field paths of every singular timestamp in a message, e.g. ('activity', 'end_time')."""
    paths: list[tuple[str, ...]] = []
    for field in descriptor.fields:
        if field.message_type is None or field.is_repeated:
            continue
        if field.message_type.full_name == "google.protobuf.Timestamp":
            paths.append((field.name,))
        elif depth < 2:
            paths.extend((field.name, *p) for p in _timestamp_paths(field.message_type, depth + 1))
    return paths


def _record(
    tally: dict[str, dict[str, int]],
    process: str,
    method: MethodDescriptor,
    seen: Counter[grpc.StatusCode],
) -> None:
    counts = tally.setdefault(f"{process} {method.full_name}", {})
    for code, n in seen.items():
        counts[code.name] = counts.get(code.name, 0) + n


@contextmanager
def _log_stays_clean(service: ServiceProcess) -> Iterator[None]:
    """Fail if the service logs a traceback or stops while the block runs."""
    logged_before = service.log_path.stat().st_size
    yield
    with service.log_path.open("rb") as handle:
        handle.seek(logged_before)
        logged = handle.read().decode(errors="replace")
    assert "Traceback" not in logged, logged[logged.index("Traceback") :][:3000]
    assert service.process is not None and service.process.poll() is None


def test_a_realistic_meeting_has_an_agenda_and_reaches_the_handler(
    stack: Stack, world: World
) -> None:
    """Repeated message fields are filled: a realistic ScheduleMeeting is scheduled."""
    method = next(
        m for _, m in TARGETS if m.full_name == "linli.points.v1.CouncilService.ScheduleMeeting"
    )
    request = world.realistic("points", method)
    request.request_id = str(uuid.uuid4())
    caller = world.caller_for(method)

    code, detail = world.answer(world.channel("points", caller), method, request, caller.metadata)

    assert [item.WhichOneof("item") for item in request.meeting.agenda] == ["appeal", "audit"]
    # The handler read the agenda: scheduled, or (after the fuzz passes decided the world's
    # appeal) refused for the appeal's state ("… was rejected already"), never for an empty one.
    decided_already = code is grpc.StatusCode.INVALID_ARGUMENT and "already" in detail
    assert code is grpc.StatusCode.OK or decided_already, detail
