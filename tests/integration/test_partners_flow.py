"""Partners across real processes: a bank checks a resident's code over mutual TLS, the CSR board.

identity, attendance, points, rewards and partners run as OS processes on PostgreSQL and one
Redis, on mutual TLS (the session's `shared_stack`). Banks and shops call with certificates
of their own (spiffe://linli/<c>/partner/<id>); what they may do is the partners service's.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pyseto
import pytest
import sqlalchemy as sa
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2 as ptn
from linli.partners.v1 import partners_service_pb2_grpc as ptn_grpc
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.pki import DevelopmentCA
from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import load_beside

earning = load_beside(__file__, "earning.py", "linli_integration_earning")
C = "xinhua"
PARENT = f"communities/{C}"


@dataclass
class Partners:
    """The partners service as staff, and as residents and partners' counters."""

    staff: ptn_grpc.PartnersServiceStub
    residents: list[str]
    running: RunningStack
    database: str
    channels: list[grpc.Channel]

    def _stub(self, service: str = "cli", token: str | None = None) -> ptn_grpc.PartnersServiceStub:
        address = self.running["partners"].address
        channel = self.running.credentials.channel(address, C, service, token=token)
        self.channels.append(channel)
        return ptn_grpc.PartnersServiceStub(channel)

    def as_resident(self, resident: str) -> ptn_grpc.PartnersServiceStub:
        """Partners called by the resident (their own token)."""
        return self._stub(token=self.running.credentials.token(C, resident.rpartition("/")[2]))

    def as_partner(self, partner: str) -> ptn_grpc.PartnersServiceStub:
        """Partners called from a partner's counter (its certificate)."""
        return self._stub(f"partner/{partner}")

    def anyone(self) -> ptn_grpc.PartnersServiceStub:
        """Partners called with no token (the public board)."""
        return self._stub()


@pytest.fixture(scope="module")
def stack(shared_stack: RunningStack) -> Iterator[Partners]:
    """Staff stubs on the session's stack, and two residents who earned 8 points each."""
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels = {
        name: credentials.channel(p.address, C, token=token)
        for name, p in shared_stack.processes.items()
    }
    residents = earning.residents_with_points(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        PARENT,
        2,
    )
    opened: list[grpc.Channel] = []
    yield Partners(
        ptn_grpc.PartnersServiceStub(channels["partners"]),
        residents,
        shared_stack,
        shared_stack["partners"].settings["database_url"],
        opened,
    )
    for channel in [*channels.values(), *opened]:
        channel.close()


def _partner(stack: Partners, kind: int, *benefits: str, checks_per_minute: int = 0) -> str:
    partner_id = f"p{uuid.uuid4().hex[:10]}"
    stack.staff.CreatePartner(
        ptn.CreatePartnerRequest(
            parent=PARENT,
            partner_id=partner_id,
            partner=ptn.Partner(
                display_name="社区银行",
                kind=kind,
                access=ptn.PartnerAccess(
                    benefits=list(benefits), checks_per_minute=checks_per_minute
                ),
            ),
            request_id=str(uuid.uuid4()),
        )
    )
    return partner_id


def _benefit(stack: Partners, partner_id: str, **rule: int) -> str:
    benefit_id = f"b-{uuid.uuid4().hex[:10]}"
    return stack.staff.CreatePartnerBenefit(
        ptn.CreatePartnerBenefitRequest(
            parent=f"{PARENT}/partners/{partner_id}",
            benefit_id=benefit_id,
            benefit=ptn.PartnerBenefit(title="志愿者信用贷", rule=ptn.EligibilityRule(**rule)),
        )
    ).benefit.name


def _code(stack: Partners, resident: str) -> str:
    return (
        stack.as_resident(resident)
        .CreateEligibilityCode(ptn.CreateEligibilityCodeRequest(parent=resident))
        .code
    )


def _check(counter: ptn_grpc.PartnersServiceStub, code: str, benefit: str):
    return counter.CheckEligibility(
        ptn.CheckEligibilityRequest(parent=PARENT, code=code, benefit=benefit)
    )


def _refused(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code()


def _proof_payload(stack: Partners, proof: str) -> dict[str, object]:
    """The proof checked offline against the keys the service publishes."""
    keys = stack.anyone().GetProofKeys(ptn.GetProofKeysRequest(parent=PARENT)).keys
    public = pyseto.Key.from_paserk(keys[0].paserk)
    return json.loads(pyseto.decode(public, proof).payload)


def test_a_bank_checks_a_code_and_learns_only_the_signed_answer(stack: Partners) -> None:
    """Qualifies, tier and valid-until, signed; the same code twice or late is refused."""
    alice, bob = stack.residents
    bank = _partner(stack, ptn.PARTNER_KIND_BANK)
    loan = _benefit(stack, bank, min_lifetime_centipoints=earning.EARNED)
    stack.staff.UpdatePartnerAccess(
        ptn.UpdatePartnerAccessRequest(
            name=f"{PARENT}/partners/{bank}",
            access=ptn.PartnerAccess(benefits=[loan.rsplit("/", 1)[1]]),
        )
    )
    counter = stack.as_partner(bank)
    code = _code(stack, alice)

    answer = _check(counter, code, loan)

    assert {f.name for f, _ in answer.ListFields()} <= {
        "qualifies",
        "honour_tier",
        "valid_until",
        "proof",
    }
    assert answer.qualifies is True
    assert answer.valid_until.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=23)
    payload = _proof_payload(stack, answer.proof)
    assert (payload["qualifies"], payload["benefit"]) == (True, loan)
    assert alice.rsplit("/", 1)[1] not in json.dumps(payload)
    assert _refused(lambda: _check(counter, code, loan)) == grpc.StatusCode.FAILED_PRECONDITION
    late = _code(stack, bob)
    engine = sa.create_engine(stack.database)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE eligibility_codes SET expires_at = :past WHERE used_at IS NULL"),
            {"past": datetime.now(UTC) - timedelta(seconds=1)},
        )
    engine.dispose()
    assert _refused(lambda: _check(counter, late, loan)) == grpc.StatusCode.FAILED_PRECONDITION
    checks = (
        stack.as_resident(alice)
        .ListEligibilityChecks(ptn.ListEligibilityChecksRequest(parent=alice))
        .checks
    )
    assert [(c.partner, c.benefit, c.qualifies) for c in checks] == [
        (f"{PARENT}/partners/{bank}", loan, True)
    ]


def test_a_stranger_a_revoked_partner_and_one_out_of_scope_or_rate_are_refused(
    stack: Partners,
) -> None:
    """Another CA's certificate, a revoked partner, a benefit outside its scopes, its rate."""
    alice = stack.residents[0]
    clinic = _partner(stack, ptn.PARTNER_KIND_CLINIC, checks_per_minute=2)
    channel_ok = _benefit(stack, clinic, top_n=500)
    other = _benefit(stack, clinic)
    stack.staff.UpdatePartnerAccess(
        ptn.UpdatePartnerAccessRequest(
            name=f"{PARENT}/partners/{clinic}",
            access=ptn.PartnerAccess(benefits=[channel_ok.rsplit("/", 1)[1]], checks_per_minute=2),
        )
    )
    counter = stack.as_partner(clinic)
    unused = "23456789ABCD"  # refused before any code is looked at
    assert _refused(lambda: _check(counter, unused, other)) == grpc.StatusCode.PERMISSION_DENIED
    for _ in range(2):
        _check(counter, _code(stack, alice), channel_ok)
    assert _refused(lambda: _check(counter, unused, channel_ok)) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    foreign = DevelopmentCA.create().tls_files(f"spiffe://linli/{C}/partner/{clinic}")
    with grpc.secure_channel(
        stack.running["partners"].address,
        grpc.ssl_channel_credentials(
            root_certificates=stack.running.credentials.ca.cert_pem,
            private_key=foreign.key_pem,
            certificate_chain=foreign.cert_pem,
        ),
    ) as channel:
        stranger = ptn_grpc.PartnersServiceStub(channel)
        assert _refused(lambda: _check(stranger, "X" * 12, channel_ok)) == (
            grpc.StatusCode.UNAVAILABLE
        )
    stack.staff.RevokePartner(
        ptn.RevokePartnerRequest(name=f"{PARENT}/partners/{clinic}", reason="协议终止")
    )
    assert _refused(lambda: _check(counter, unused, channel_ok)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_the_csr_board_moves_within_a_second_and_the_title_is_granted_once(
    stack: Partners,
) -> None:
    """A watcher sees a contribution at once; crossing 50,000 yuan grants the title once."""
    giver = _partner(stack, ptn.PARTNER_KIND_SUPERMARKET)
    watch = stack.anyone().WatchCsrBoard(ptn.WatchCsrBoardRequest(parent=PARENT, top=50))
    boards: list[tuple[float, dict[str, int]]] = []

    def follow() -> None:
        try:
            for reply in watch:
                boards.append((time.monotonic(), {e.partner: e.value_fen for e in reply.entries}))
        except grpc.RpcError as ended:  # the test hangs up when it has seen enough
            assert ended.code() is grpc.StatusCode.CANCELLED, ended

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    name = f"{PARENT}/partners/{giver}"
    while not boards:
        time.sleep(0.01)

    def give(fen: int) -> ptn.RecordContributionResponse:
        return stack.staff.RecordContribution(
            ptn.RecordContributionRequest(
                parent=name,
                contribution=ptn.Contribution(description="爱心物资", value_fen=fen),
                request_id=str(uuid.uuid4()),
            )
        )

    first = give(30_000_00)
    given_at = time.monotonic()
    deadline = given_at + 5
    while time.monotonic() < deadline and not any(b.get(name) == 30_000_00 for _, b in boards):
        time.sleep(0.01)
    seen_at = next(at for at, b in boards if b.get(name) == 30_000_00)
    assert seen_at - given_at < 1.0
    crossing = give(20_000_00)
    after = give(10_00)
    watch.cancel()
    follower.join(5)
    assert not first.HasField("title") and not after.HasField("title")
    assert crossing.title.certificate_number.startswith(f"CSR-{C}-")
    assert crossing.title.value_fen == 50_000_00
    titles = stack.anyone().ListPartnerTitles(ptn.ListPartnerTitlesRequest(parent=PARENT)).titles
    assert [t.certificate_number for t in titles if t.partner == name] == [
        crossing.title.certificate_number
    ]
    top = stack.anyone().GetCsrBoard(ptn.GetCsrBoardRequest(parent=PARENT)).entries
    assert [(e.value_fen, e.titled) for e in top if e.partner == name] == [(50_010_00, True)]
