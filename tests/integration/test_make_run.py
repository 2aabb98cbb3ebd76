"""`make run`'s launcher starts the embedded stack, seeds the demo and stops cleanly (issue 2)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.rewards.v1 import recognition_service_pb2 as rcg
from linli.rewards.v1 import recognition_service_pb2_grpc as rcg_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from linli.training.v1 import training_service_pb2 as trn
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_kit import auth


def _free_block(size: int) -> int:
    """A base port with `size` free ports after it, below the ephemeral range (32768 up), so no
    outgoing connection of this test session takes one (checked, not guaranteed to stay free)."""
    for base in range(20000, 32768 - size, size):
        if all(_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError(f"no {size} free ports in a row between 20000 and 32767")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_local_stack_runs_on_sqlite_and_embedded_redis(tmp_path: Path) -> None:
    """No PostgreSQL, no Redis server: the seeded volunteer's balance answers over gRPC."""
    # One block, so the services' gRPC, metrics and health ports and the gateway's (not 8080)
    # cannot overlap one another.
    grpc_base = _free_block(3 * 6 + 1)
    metrics_base, health_base, gateway_port = grpc_base + 6, grpc_base + 12, grpc_base + 18
    env = {
        **os.environ,
        "LINLI_RUN_GRPC_BASE_PORT": str(grpc_base),
        "LINLI_RUN_METRICS_BASE_PORT": str(metrics_base),
        "LINLI_RUN_HEALTH_BASE_PORT": str(health_base),
        "LINLI_RUN_GATEWAY_PORT": str(gateway_port),
    }
    launcher = subprocess.Popen(
        [sys.executable, "-m", "linli_kit.localstack"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    output = []
    try:
        for line in launcher.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "volunteer communities/demo/residents/" in line:
                break
        seeded = re.search(r"volunteer (\S+) has (\S+) points", "".join(output))
        assert seeded, "".join(output)
        assert seeded.group(2) == "4.00"
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}/", timeout=10) as page:
            assert page.status == 200
        # As the README says: the client certificate make run wrote, and `make token`'s token.
        token = subprocess.run(
            [sys.executable, "-m", "linli_kit.localstack", "token", "13800000002"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        me = auth.TlsFiles.from_dir(tmp_path / ".run" / "pki" / "cli")
        request = pts.GetBalanceRequest(name=f"{seeded.group(1)}/balance")
        with auth.channel(f"127.0.0.1:{grpc_base + 2}", me, token) as channel:
            reply = pts_grpc.PointsServiceStub(channel).GetBalance(request)
        assert reply.balance.yearly_centipoints == 400
        catalogue = rwd.ListItemsRequest(parent="communities/demo")
        with auth.channel(f"127.0.0.1:{grpc_base + 3}", me, token) as channel:
            items = rwd_grpc.RewardsServiceStub(channel).ListItems(catalogue).items
            benefits = rcg_grpc.RecognitionServiceStub(channel).ListBenefits(
                rcg.ListBenefitsRequest(parent="communities/demo")
            )
        assert {b.title for b in benefits.benefits} == {"家庭健康体检套餐", "子女暑期托管优先权"}
        assert {(i.name.rsplit("/")[-1], i.price_centipoints, i.stock) for i in items} == {
            ("supermarket-voucher", 100_00, 20),
            ("gym-hour", 50_00, 20),
            ("housekeeping-discount", 200_00, 20),
        }
        with auth.channel(f"127.0.0.1:{grpc_base + 4}", me, token) as channel:
            training = trn_grpc.TrainingServiceStub(channel)
            courses = training.ListCourses(trn.ListCoursesRequest(parent="communities/demo"))
            levels = training.ListLevels(trn.ListLevelsRequest(parent="communities/demo"))
        assert sum(c.hours for c in courses.courses) == 4 + 2 + 3 + 8 + 6 + 5 + 12 + 10
        assert [lv.title for lv in levels.levels] == ["一星志愿者", "二星志愿者", "三星志愿者"]
        with (
            auth.channel(f"127.0.0.1:{grpc_base + 2}", me) as channel,
            pytest.raises(grpc.RpcError) as certificate_only,
        ):
            pts_grpc.PointsServiceStub(channel).GetBalance(request)
        # The certificate alone is a caller named "cli": no RPC admits it without a token.
        assert certificate_only.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C: every process of the group gets it
        rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, "".join(output) + rest
    logs = {p.name: p.read_text() for p in (tmp_path / ".run").glob("*.log")}
    assert not {name for name, text in logs.items() if "Traceback" in text}, logs
    assert {p.name for p in (tmp_path / ".run").glob("*.db")} == {
        "identity.db",
        "attendance.db",
        "points.db",
        "rewards.db",
        "training.db",
        "partners.db",
    }
