"""Every RPC of every service, fuzzed against real processes on PostgreSQL and Redis (issue 11).

The RPCs are found by walking the generated service descriptors, so a new RPC is fuzzed the day
it is added. Requests mix hostile values with realistic ones (a community, residents, an
activity, a session, a reservation, an appeal… made in setup) so that calls get past the first
check. A run fails on any INTERNAL or UNKNOWN answer, any call over its deadline and any
traceback in a service's log. Two passes per RPC: the kit's driver (hostile values in any field,
realistic ones often), then realistic requests with one or two fields hostile, which get past
the first check and reach the handlers. LINLI_FUZZ_EXAMPLES sets the examples per RPC and pass
(50 in `make test`, 1,000 in `make fuzz`).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.fuzzing import FORBIDDEN, fuzz_method, messages
from linli_kit.processes import ServiceProcess, free_port, start_all, stop_all
from linli_kit.scratch import create_database, drop_database
from linli_kit.testing import Servers, eventually, generated_services

EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "50"))
DEADLINE_SECONDS = 10.0
# Which processes serve each service (the operations API is served beside each consumer).
SERVED_BY = {
    "IdentityService": ("identity",),
    "AttendanceService": ("attendance",),
    "PointsService": ("points",),
    "OperationsService": ("identity", "points"),
}


TARGETS = [
    (process, method)
    for service in generated_services()
    for process in SERVED_BY[service.name]
    for method in service.methods
]
COMMUNITY = "communities/fuzz"
KIOSK = "communities/fuzz/kiosks/k1"
# The longest id a name may hold (63 characters), longer than many id columns.
LONGEST_RESIDENT = f"{COMMUNITY}/residents/r{'x' * 62}"
# The resource a `name` field should hold for a call to get past the first check, per RPC.
NAME_OF = {
    "GetActivity": "activity",
    "CloseActivity": "activity",
    "GetSession": "session",
    "ConfirmSession": "open_session",
    "CorrectSession": "session",
    "RecordChecklist": "session",
    "ResolveFlag": "flag",
    "ApproveProjectLead": "lead",
    "GetProjectLead": "lead",
    "GetCommunity": "community",
    "GetResident": "alice",
    "GetBalance": "balance",
    "GetReservation": "reservation",
    "CommitReservation": "reservation",
    "VoidReservation": "reservation",
    "DecideAppeal": "appeal",
    "GetAppeal": "appeal",
}
EDGE_TIMES = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
REALISTIC_INTEGERS = {
    "amount_centipoints": 50,
    "compensation_centipoints": 50,
    "stars": 5,
    "quarter": 1,
    "duration_seconds": 1800,
    "retention_days": 365,
    "page_size": 10,
    "occurrence_count": 1,
}
# RPCs whose parent is a resident rather than the community.
RESIDENT_PARENT = {
    "ListTransactions",
    "CreateReservation",
    "CreateAppeal",
    "GrantFaceConsent",
    "WithdrawFaceConsent",
    "ListFaceConsents",
    "ListMentoringPairs",
    "SetPassword",
}
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


@pytest.fixture(scope="module")
def stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """identity, attendance and points as OS processes, on databases of their own."""
    logs = tmp_path_factory.mktemp("fuzz-logs")
    prefix = f"fuzz-{uuid.uuid4().hex[:10]}:"
    ports = {name: free_port() for name in ("identity", "attendance", "points")}
    databases = {name: create_database(servers.postgres, f"fuzz_{name}") for name in ports}
    processes = {}
    for name, port in ports.items():
        settings = {
            "database_url": databases[name],
            "redis_url": servers.redis,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(port),
            "metrics_port": "0",
            "stream_prefix": prefix,
            "log_format": "console",
        }
        if name == "attendance":
            settings["identity_address"] = f"127.0.0.1:{ports['identity']}"
        processes[name] = ServiceProcess(name, settings, logs / f"{name}.log")
    start_all(list(processes.values()))
    yield processes
    stop_all(list(processes.values()))
    for url in databases.values():
        drop_database(servers.postgres, url)


@dataclass(frozen=True)
class World:
    """What setup made: resource names by role, and realistic values per field, per process."""

    names: dict[str, str]
    known: dict[str, dict[str, list[str]]]

    def values_for(self, process: str, method: MethodDescriptor) -> dict[str, list[str]]:
        """The process's realistic values, with the one resource this RPC names or lists."""
        values = dict(self.known[process])
        if method.name in NAME_OF:
            values["name"] = [self.names[NAME_OF[method.name]]]
        if "parent" in method.input_type.fields_by_name:
            role = "alice" if method.name in RESIDENT_PARENT else "community"
            values["parent"] = [self.names[role]]
        return values


@pytest.fixture(scope="module")
def world(stack: dict[str, ServiceProcess]) -> World:
    """A community, residents, an activity, sessions, a reservation, an appeal… made for real."""
    channels = {name: grpc.insecure_channel(p.address) for name, p in stack.items()}
    identity = idn_grpc.IdentityServiceStub(channels["identity"])
    attendance = att_grpc.AttendanceServiceStub(channels["attendance"])
    points = pts_grpc.PointsServiceStub(channels["points"])

    identity.CreateCommunity(idn.CreateCommunityRequest(community_id="fuzz", display_name="模糊"))
    unit = identity.CreateOrgUnit(
        idn.CreateOrgUnitRequest(
            parent=COMMUNITY, level=idn.ORG_LEVEL_COMMUNITY_HQ, display_name="总部"
        )
    ).org_unit.name
    residents = [
        identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=COMMUNITY, display_name=name, phone=phone, birth_date="1960-05-01"
            )
        ).resident.name
        for name, phone in (
            ("王社工", "13800000001"),
            ("李娜", "13800000002"),
            ("张伟", "13800000003"),
        )
    ]
    staff, alice, bob = residents
    planned = att.Activity(
        title="社区义诊",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
        place="活动室",
        kiosks=[KIOSK],
    )
    planned.start_time.FromDatetime(START)
    planned.end_time.FromDatetime(START + timedelta(hours=4))
    activity = attendance.CreateActivity(
        att.CreateActivityRequest(parent=COMMUNITY, activity=planned)
    ).activity.name
    sessions = []
    for resident, hours in ((alice, 1), (bob, None)):
        sign_in = att.SignInRequest(
            activity=activity,
            resident=resident,
            confirmed_by=staff,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id=f"in-{resident}",
        )
        sign_in.time.FromDatetime(START)
        sessions.append(attendance.SignIn(sign_in).session.name)
        if hours is not None:
            sign_out = att.SignOutRequest(
                activity=activity,
                resident=resident,
                confirmed_by=staff,
                method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
                request_id=f"out-{resident}",
            )
            sign_out.time.FromDatetime(START + timedelta(hours=hours))
            attendance.SignOut(sign_out)
    lead = attendance.ApplyProjectLead(
        att.ApplyProjectLeadRequest(activity=activity, resident=bob, motivation="想帮忙")
    ).project_lead.name
    self_confirmed = att.SignInRequest(
        activity=activity,
        resident=bob,
        confirmed_by=bob,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
    )
    with pytest.raises(grpc.RpcError):  # refused, and flagged for review
        attendance.SignIn(self_confirmed)
    flag = attendance.ListFlags(att.ListFlagsRequest(parent=COMMUNITY)).flags[0].name

    def earned() -> int:
        return len(points.ListTransactions(pts.ListTransactionsRequest(parent=alice)).transactions)

    assert eventually(earned, 1) == 1
    transaction = points.ListTransactions(pts.ListTransactionsRequest(parent=alice)).transactions[0]
    reservation = points.CreateReservation(
        pts.CreateReservationRequest(
            parent=alice, amount_centipoints=50, sink=pts.SINK_REWARDS, memo="一袋米"
        )
    ).reservation.name
    points.AddCommitteeMember(pts.AddCommitteeMemberRequest(parent=COMMUNITY, resident=bob))
    appeal = points.CreateAppeal(
        pts.CreateAppealRequest(parent=alice, transaction=transaction.name, reason="少算了")
    ).appeal.name
    for channel in channels.values():
        channel.close()

    everyone = [alice, bob, staff, "communities/fuzz/residents/nobody", LONGEST_RESIDENT]
    shared = {
        "parent": [COMMUNITY, *residents],
        "resident": everyone,
        "request_id": [str(uuid.UUID(int=n)) for n in range(4)],
        "page_token": [""],
        "reason": ["天气原因", "补录"],
    }
    names = {
        "community": COMMUNITY,
        "alice": alice,
        "unit": unit,
        "activity": activity,
        "session": sessions[0],
        "open_session": sessions[1],
        "lead": lead,
        "flag": flag,
        "balance": f"{alice}/balance",
        "reservation": reservation,
        "appeal": appeal,
    }
    known = {
        "identity": {
            **shared,
            "community_id": ["fuzz", "fuzz-two", "another"],
            "name": [COMMUNITY, *residents, unit],
            "display_name": ["赵六", "Zhao Liu"],
            "phone": ["13800000009", "+86 138 0000 0009"],
            "birth_date": ["2015-02-03", "1940-12-31"],
            "household": ["3-201"],
            "home_unit": [unit],
            "org_unit": [unit],
            "parent_unit": [unit],
            "guardian": [*residents, LONGEST_RESIDENT],
            "recorded_by": [*residents, LONGEST_RESIDENT],
            "mentor": [*residents, LONGEST_RESIDENT],
            "newcomer": [*residents, LONGEST_RESIDENT],
            "member": [*residents, LONGEST_RESIDENT],
            "lead": [*residents, LONGEST_RESIDENT],
            "role": ["volunteer", "core_volunteer", "staff"],
            "policy_version": ["2024-01"],
            "team": ["communities/fuzz/specialTeams/t1"],
            "stream": ["identity.events"],
            "dead_letter_id": ["0-1"],
            "actor": [staff],
        },
        "attendance": {
            **shared,
            "name": [activity, *sessions, lead],
            "activity": [activity],
            "session": sessions,
            "confirmed_by": [staff, LONGEST_RESIDENT],
            "corrected_by": [staff, LONGEST_RESIDENT],
            "resolved_by": [staff, LONGEST_RESIDENT],
            "recorded_by": [staff, LONGEST_RESIDENT],
            "approved_by": [staff, LONGEST_RESIDENT],
            "rated_by": [alice],
            "residents": everyone,
            "kiosk": [KIOSK],
            "kiosks": [KIOSK],
            "title": ["植树"],
            "place": ["小区花园"],
            "motivation": ["我熟悉这个项目"],
            "checklist": ["签到", "清点物资"],
            "completed_steps": ["签到"],
            "checklist_template": ["", "medical"],
            "code": ["123456"],
            "org_units": [unit],
        },
        "points": {
            **shared,
            "name": [f"{alice}/balance", reservation, appeal, transaction.name],
            "transaction": [transaction.name],
            "reviewer": [bob],
            "memo": ["兑换"],
            "scope": ["community", "grid:g1", "building:g1/b1"],
            "stream": ["attendance.events", "identity.events"],
            "dead_letter_id": ["0-1"],
            "actor": [staff],
        },
    }
    return World(names, known)


PARAMS = [
    pytest.param(process, method, id=f"{process}-{method.containing_service.name}.{method.name}")
    for process, method in TARGETS
]


@pytest.mark.parametrize(("process", "method"), PARAMS)
def test_rpc_survives_hostile_requests(
    stack: dict[str, ServiceProcess],
    world: World,
    fuzz_tally: dict[str, dict[str, int]],
    process: str,
    method: MethodDescriptor,
) -> None:
    """No INTERNAL or UNKNOWN, no missed deadline, no traceback in the service's log."""
    with _log_stays_clean(stack[process]), grpc.insecure_channel(stack[process].address) as channel:
        seen = fuzz_method(
            channel,
            method,
            examples=EXAMPLES,
            known=world.values_for(process, method),
            deadline_seconds=DEADLINE_SECONDS,
        )
    _record(fuzz_tally, process, method, seen)


@pytest.mark.parametrize(("process", "method"), PARAMS)
def test_rpc_survives_one_hostile_field_in_a_realistic_request(
    stack: dict[str, ServiceProcess],
    world: World,
    fuzz_tally: dict[str, dict[str, int]],
    process: str,
    method: MethodDescriptor,
) -> None:
    """Realistic requests with one or two fields hostile reach the handlers: the same checks."""
    values = world.values_for(process, method)
    request_class = message_factory.GetMessageClass(method.input_type)
    base = request_class()
    _fill(base, values, depth=0)
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
        seen[_answer(channel, method, request)] += 1

    with _log_stays_clean(stack[process]), grpc.insecure_channel(stack[process].address) as channel:
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


def _fill(message: Message, values: dict[str, list[str]], depth: int) -> None:
    """Every field of a message set to a realistic value (the first known one for text)."""
    for field in message.DESCRIPTOR.fields:
        name, target = field.name, getattr(message, field.name)
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                if not field.is_repeated:
                    later = "end" in name or "out" in name
                    target.FromDatetime(START + timedelta(hours=1) if later else START)
            elif depth < 2 and not field.is_repeated:
                _fill(target, values, depth + 1)
            continue
        if field.type == FieldDescriptor.TYPE_STRING and values.get(name):
            value: object = values[name][0]
        elif field.type == FieldDescriptor.TYPE_ENUM:
            value = field.enum_type.values[min(1, len(field.enum_type.values) - 1)].number
        elif field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
            value = REALISTIC_INTEGERS.get(name, 0)
        else:
            continue
        if field.is_repeated:
            target.append(value)
        else:
            setattr(message, name, value)


def _answer(channel: grpc.Channel, method: MethodDescriptor, request: Message) -> grpc.StatusCode:
    """The status one call answers; fails on INTERNAL, UNKNOWN or a missed deadline."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    response = message_factory.GetMessageClass(method.output_type)
    serialize, deserialize = (lambda m: m.SerializeToString()), response.FromString
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, serialize, deserialize)(
                request, timeout=DEADLINE_SECONDS
            )
            try:
                next(iter(stream), None)
            finally:
                stream.cancel()
        else:
            channel.unary_unary(path, serialize, deserialize)(request, timeout=DEADLINE_SECONDS)
    except grpc.RpcError as error:
        code = error.code()
        if method.server_streaming and code == grpc.StatusCode.CANCELLED:
            return grpc.StatusCode.OK
        assert code not in FORBIDDEN, f"{path} answered {code.name}: {error.details()}"
        assert code != grpc.StatusCode.DEADLINE_EXCEEDED or method.server_streaming, (
            f"{path} did not answer within {DEADLINE_SECONDS}s"
        )
        return code
    return grpc.StatusCode.OK


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
