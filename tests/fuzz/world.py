"""The world the fuzz suites call into: its resources, who calls each RPC, realistic requests.

identity, attendance, points and rewards run as OS processes on mutual TLS. Setup makes a community,
residents, an activity, sessions, a reservation, an appeal… for real, through the RPCs with
the right principals. Each RPC is then called by a principal its policy table admits (staff
for most, the resident for what only a resident does, a service's certificate for service
RPCs), so that fuzzed requests get past authorisation and reach the handlers.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import time
import types
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2 as ptn
from linli.partners.v1 import partners_service_pb2_grpc as ptn_grpc
from linli.partners.v1 import support_service_pb2 as sup
from linli.partners.v1 import support_service_pb2_grpc as sup_grpc
from linli.points.v1 import council_service_pb2 as cnl
from linli.points.v1 import council_service_pb2_grpc as cnl_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.points.v1 import timebank_service_pb2 as tbk
from linli.points.v1 import timebank_service_pb2_grpc as tbk_grpc
from linli.rewards.v1 import recognition_service_pb2 as rcg
from linli.rewards.v1 import recognition_service_pb2_grpc as rcg_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from linli.training.v1 import training_service_pb2 as trn
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_attendance.entrypoints import grpc_api as attendance_api
from linli_identity.entrypoints import grpc_api as identity_api
from linli_kit import auth, operations
from linli_kit.fuzzing import call_once
from linli_kit.paseto import PasetoKeyring
from linli_kit.principals import Kind, Role
from linli_kit.processes import free_port, start_all, stop_all
from linli_kit.scratch import create_database, drop_database
from linli_kit.testing import Credentials, Servers, Stack, eventually, secure_processes
from linli_partners.entrypoints import grpc_api as partners_api
from linli_partners.entrypoints import support_api
from linli_points.entrypoints import council_api, timebank_api
from linli_points.entrypoints import grpc_api as points_api
from linli_rewards.entrypoints import grpc_api as rewards_api
from linli_rewards.entrypoints import recognition_api
from linli_training.entrypoints import assessment_api
from linli_training.entrypoints import grpc_api as training_api

# Each service's module holding its POLICY (and LIMITS, for the RPCs it rate-limits per caller).
APIS = {
    "IdentityService": identity_api,
    "AttendanceService": attendance_api,
    "PointsService": points_api,
    "CouncilService": council_api,
    "TimeBankService": timebank_api,
    # Served on points' exchange port to peer communities only (its table beside TimeBank's).
    "ExchangeService": types.SimpleNamespace(POLICY=timebank_api.EXCHANGE_POLICY),
    "RewardsService": rewards_api,
    "RecognitionService": recognition_api,
    "PartnersService": partners_api,
    "SupportService": support_api,
    "TrainingService": training_api,
    "AssessmentService": assessment_api,
    "OperationsService": operations,
}
POLICIES: dict[str, auth.Policy] = {name: api.POLICY for name, api in APIS.items()}
# RPCs limited per caller: each fuzzed call comes from a caller of its own where it can.
LIMITED = {(name, rpc) for name, api in APIS.items() for rpc in getattr(api, "LIMITS", {})}
# Which processes serve each service (the operations API is served beside each consumer).
SERVED_BY = {
    "IdentityService": ("identity",),
    "AttendanceService": ("attendance",),
    "PointsService": ("points",),
    "CouncilService": ("points",),
    "TimeBankService": ("points",),
    "ExchangeService": ("points-exchange",),
    "RewardsService": ("rewards",),
    "RecognitionService": ("rewards",),
    "PartnersService": ("partners",),
    "SupportService": ("partners",),
    "TrainingService": ("training",),
    "AssessmentService": ("training",),
    "OperationsService": ("identity", "points", "training"),
}
C = "fuzz"
# The time-bank peer of the world's points: its CA is the stack's, its exchange unreachable.
PEER = "fuzz-peer"
DEADLINE_SECONDS = 10.0

COMMUNITY = f"communities/{C}"
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
    "GetTransfer": "transfer",
    "CommitReservation": "reservation",
    "VoidReservation": "reservation",
    "RefundReservation": "reservation",
    "DecideAppeal": "appeal",
    "GetAppeal": "appeal",
    "EndMembership": "council_member",
    "GetMeeting": "meeting",
    "RecordAttendance": "meeting",
    "CloseMeeting": "meeting",
    "GetItem": "item",
    "RestockItem": "item",
    "RetireItem": "item",
    "GetRedemption": "redemption",
    "CancelRedemption": "redemption",
    "RenderVoucher": "redemption",
    "GetSeatAllocation": "allocation",
    "AllocateSeats": "allocation",
    "EndorseNomination": "nomination",
    "SubmitNomination": "nomination",
    "RecordNominationOutcome": "nomination",
    "GetNomination": "nomination",
    "DecideBenefitApplication": "application",
    "GetPartner": "partner",
    "UpdatePartnerAccess": "rival",  # the world's partner keeps the scopes the matrix expects
    "RevokePartner": "rival",
    "GetPartnerScopes": "partner",
    "TerminateAgreement": "agreement",
    "GetFundCall": "fund_call",
    "GetProposal": "proposal",
    "ScoreProposal": "proposal",
    "AwardProposal": "proposal",
    "RecordGrantOutcome": "research_grant",
    "RecommendPublication": "research_grant",
    "AssignLegalCase": "legal_case",
    "FinishLegalCase": "legal_case",
    "GetLegalCase": "legal_case",
    "GetCourse": "course",
    "GetCourseSession": "course_session",
    "RecordSessionTaught": "course_session",
    "CancelCourseSession": "course_session",
    "GetProgress": "progress",
    "MarkAllowancePaid": "allowance",
}
EDGE_TIMES = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 15, 59, 59, tzinfo=UTC)]
REALISTIC_INTEGERS = {
    "amount_centipoints": 50,
    "compensation_centipoints": 50,
    "stars": 5,
    "quarter": 1,
    "duration_seconds": 1800,
    "retention_days": 365,
    "page_size": 10,
    "occurrence_count": 1,
    "price_centipoints": 50,
    "add_stock": 1,
    "stock": 5,
    "seats": 2,
    "value_fen": 100,
    "checks_per_minute": 60,
    "budget_fen": 1_000_000,
    "requested_fen": 300_000,
    "amount_fen": 300_000,
    "score": 80,
    "start_hour": 9,
    "end_hour": 12,
    "hours": 2,
    "capacity": 5,
    "completion_percent": 90,
    "credits_needed": 5,
    "credits": 2,
    "allowance_fen": 100,
    "minutes": 60,
    "year": 2026,
    "month": 1,
    "answers": 3,
}
# How deep a realistic request's messages are filled, and how many items a repeated one gets.
MESSAGE_DEPTH = 3
REPEATED_ITEMS = 2
# RPCs whose parent is a resident rather than the community.
RESIDENT_PARENT = {
    "ListTransactions",
    "CreateTransfer",
    "ListTransfers",
    "CreateReservation",
    "CreateAppeal",
    "GrantFaceConsent",
    "WithdrawFaceConsent",
    "ListFaceConsents",
    "ListMentoringPairs",
    "SetPassword",
    "Redeem",
    "ListRedemptions",
    "ApplyForBenefit",
    "CreateEligibilityCode",
    "ListEligibilityChecks",
    "SubmitAssessment",
    "DeclineAssessment",
    "ListAssessments",
}
# SupportService RPCs whose parent is one of the world's fund or support records.
SUPPORT_PARENT = {
    "SubmitProposal": "fund_call",
    "ListProposals": "fund_call",
    "ListProposalScores": "proposal",
    "RecordMilestone": "proposal",
    "ListMilestones": "proposal",
    "RecordSupervisionVisit": "agency",
    "ListSupervisionVisits": "agency",
}
# RPCs whose parent is a partner.
PARTNER_PARENT = {
    "CreateAgreement",
    "ListAgreements",
    "RecordContribution",
    "ListContributions",
    "CreatePartnerBenefit",
}
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


# RPCs only the resident themself calls about themself (realistic requests name alice).
AS_ALICE = {
    "CreateAppeal",
    "CreateTransfer",
    "ApplyProjectLead",
    "RateSession",
    "EnrolFace",
    "GrantFaceConsent",
    "CreateEligibilityCode",
    "DeclineAssessment",
    "SubmitProposal",
}
# The world's partner enterprise: its certificate, and the scopes partners grants it.
PARTNER_ID = "fuzz-bank"
PARTNER_SCOPES = frozenset({"benefit:fuzz-loan", "vouchers"})


@dataclass(frozen=True)
class Caller:
    """Who makes a call: a certificate (a service's, or the test's own "cli") and a token, or
    a way to mint a token of a caller of its own for each call."""

    service: str = "cli"
    token: str | None = None
    mint: Callable[[], str] | None = None

    @property
    def metadata(self) -> auth.Metadata:
        """The call's metadata: its bearer token, if any (a fresh one each time if minted)."""
        token = self.mint() if self.mint is not None else self.token
        return auth.bearer(token) if token else ()


@dataclass(frozen=True)
class World:
    """What setup made: resource names by role, and realistic values per field, per process."""

    names: dict[str, str]
    known: dict[str, dict[str, list[str]]]
    stack: Stack

    def channel(self, process: str, caller: Caller) -> grpc.Channel:
        """The stack's mutual-TLS channel to a process, presenting the caller's certificate
        (the peer community's points certificate for the time-bank exchange)."""
        if caller.service != PEER:
            return self.stack.channel(process, caller.service)
        return peer_channel(self.stack)

    def person(self, resident: str, *roles: str, **claims: object) -> Caller:
        """A resident of the world (by resource name) holding the roles."""
        return Caller(
            token=self.stack.credentials.token(C, resident.rpartition("/")[2], *roles, **claims)
        )

    def answer(
        self,
        channel: grpc.Channel,
        method: MethodDescriptor,
        request: Message,
        metadata: auth.Metadata = (),
    ) -> tuple[grpc.StatusCode, str]:
        """The status one call answers and its message (the kit's call_once)."""
        return call_once(
            channel, method, request, deadline_seconds=DEADLINE_SECONDS, metadata=metadata
        )

    def realistic(self, process: str, method: MethodDescriptor) -> Message:
        """A request with every field realistic: it names the world's own resources."""
        request = message_factory.GetMessageClass(method.input_type)()
        fill(request, self.values_for(process, method), depth=0)
        return request

    def caller_for(self, method: MethodDescriptor) -> Caller:
        """A principal the RPC's policy admits, and one its object rules let through.

        Where the RPC is limited per caller and any staff member (or anyone) may call it,
        each call is made by a staff member of its own, so that fuzzing is not rate limited.
        """
        rules = POLICIES[method.containing_service.name].get(method.name, ())
        limited = (method.containing_service.name, method.name) in LIMITED
        if not rules or rules[0].kind is Kind.ANONYMOUS:
            return self._fresh_staff(()) if limited else Caller()
        rule = rules[0]
        if rule.kind is Kind.PARTNER:
            return Caller(service=f"partner/{PARTNER_ID}")
        if rule.kind is Kind.SERVICE:
            return Caller(service=sorted(rule.subjects)[0] if rule.subjects else "attendance")
        if rule.kind is Kind.PEER:
            return Caller(service=PEER)
        if method.name in AS_ALICE:
            return self.person(self.names["alice"], Role.VOLUNTEER)
        if Role.COMMITTEE_MEMBER in rule.roles:
            return self.person(self.names["bob"], Role.COMMITTEE_MEMBER)
        if limited:
            return self._fresh_staff(rule.roles)
        return self.person(self.names["staff"], Role.SOCIAL_WORKER, *rule.roles)

    def _fresh_staff(self, roles: Iterable[str]) -> Caller:
        """A social worker of the community minted anew for each call."""
        credentials = self.stack.credentials

        def mint() -> str:
            resident = f"fz{uuid.uuid4().hex[:12]}"
            return credentials.token(C, resident, Role.SOCIAL_WORKER, *roles)

        return Caller(mint=mint)

    def values_for(self, process: str, method: MethodDescriptor) -> dict[str, list[str]]:
        """The process's realistic values, with the one resource this RPC names or lists."""
        values = dict(self.known[process])
        if method.name in NAME_OF:
            values["name"] = [self.names[NAME_OF[method.name]]]
        if "parent" in method.input_type.fields_by_name:
            role = "alice" if method.name in RESIDENT_PARENT else "community"
            role = "partner" if method.name in PARTNER_PARENT else role
            role = SUPPORT_PARENT.get(method.name, role)
            values["parent"] = [self.names[role]]
        return values


def fill(
    message: Message, values: dict[str, list[str]], depth: int, item: int | None = None
) -> None:
    """Every field of a message set to a realistic value (the first known one for text).

    A repeated message field gets REPEATED_ITEMS items, the k-th setting the k-th member of
    each of its oneofs (an agenda of an appeal and an audit); maps stay empty.
    """
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if (
            item is not None
            and oneof is not None
            and oneof.fields[item % len(oneof.fields)] is not field
        ):
            continue
        name, target = field.name, getattr(message, field.name)
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                if not field.is_repeated:
                    later = "end" in name or "out" in name
                    target.FromDatetime(START + timedelta(hours=1) if later else START)
            elif field.message_type.GetOptions().map_entry:
                pass
            elif field.is_repeated and depth < MESSAGE_DEPTH:
                for k in range(REPEATED_ITEMS):
                    fill(target.add(), values, depth + 1, item=k)
            elif depth < MESSAGE_DEPTH:
                fill(target, values, depth + 1)
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


def running_stack(
    servers: Servers, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The services as OS processes on mutual TLS, databases of their own."""
    folder = tmp_path_factory.mktemp("fuzz")
    prefix = f"fuzz-{uuid.uuid4().hex[:10]}:"
    databases: list[str] = []

    def settings_for(name: str) -> dict[str, str]:
        databases.append(create_database(servers.postgres, f"fuzz_{name}"))
        return {"database_url": databases[-1], "redis_url": servers.redis, "stream_prefix": prefix}

    processes = secure_processes(settings_for, credentials, folder, C)
    exchange_port = _time_bank(processes["points"].settings, credentials, folder)
    services = list(processes.values())
    start_all(services)
    # The exchange port, as a process of its own for the suites (the same points process).
    points = processes["points"]
    processes["points-exchange"] = dataclasses.replace(
        points, settings={**points.settings, "grpc_port": str(exchange_port)}
    )
    running = Stack(processes, credentials, C)
    yield running
    running.close()
    stop_all(services)
    for url in databases:
        drop_database(servers.postgres, url)


def _time_bank(settings: dict[str, str], credentials: Credentials, folder: Path) -> int:
    """Points takes part in the time bank with PEER (whose CA is the stack's); its port."""
    (folder / "peer-ca.pem").write_bytes(credentials.ca.cert_pem)
    seed = os.urandom(32)
    public = PasetoKeyring({"p1": seed}, "p1").public_keys()[0][1]
    port = free_port()
    peer = {
        "id": PEER,
        "address": "127.0.0.1:9",  # nothing answers: transfers to it stay pending
        "ca_file": str(folder / "peer-ca.pem"),
        "credit_limit": 100_000,
        "statement_key": public,
    }
    keys = {"current": "p1", "keys": {"p1": base64.b64encode(seed).decode()}}
    bank = {"community": C, "peers": [peer], "exchange_port": port, "statement_keys": keys}
    settings["timebank"] = json.dumps(bank)
    return port


def peer_channel(stack: Stack) -> grpc.Channel:
    """A channel to points' exchange port with PEER's points certificate."""
    key = ("points-exchange", PEER)
    if key not in stack._channels:
        tls = stack.credentials.ca.tls_files(f"spiffe://linli/{PEER}/points")
        stack._channels[key] = auth.channel(stack.processes["points-exchange"].address, tls)
    return stack._channels[key]


def make_world(stack: Stack) -> World:
    """A community, residents, an activity, sessions, a reservation, an appeal… made for real."""
    staff = stack.bootstrap_staff()
    as_staff = stack.person(staff, Role.SOCIAL_WORKER)
    identity = idn_grpc.IdentityServiceStub(stack.channel("identity"))
    attendance = att_grpc.AttendanceServiceStub(stack.channel("attendance"))
    points = pts_grpc.PointsServiceStub(stack.channel("points"))
    rewards = pts_grpc.PointsServiceStub(stack.channel("points", "rewards"))

    unit = identity.CreateOrgUnit(
        idn.CreateOrgUnitRequest(
            parent=COMMUNITY,
            level=idn.ORG_LEVEL_COMMUNITY_HQ,
            display_name="总部",
            request_id="unit",
        ),
        metadata=as_staff,
    ).org_unit.name
    alice, bob = (
        identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=COMMUNITY,
                display_name=name,
                phone=phone,
                birth_date="1960-05-01",
                request_id=phone,
            ),
            metadata=as_staff,
        ).resident.name
        for name, phone in (("李娜", "13800000002"), ("张伟", "13800000003"))
    )
    residents = [staff, alice, bob]
    # Bob sits on the supervision committee: identity grants it, points follows the grant.
    identity.GrantRole(
        idn.GrantRoleRequest(resident=bob, role=Role.COMMITTEE_MEMBER, request_id="committee"),
        metadata=as_staff,
    )
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
        att.CreateActivityRequest(parent=COMMUNITY, activity=planned, request_id="activity"),
        metadata=as_staff,
    ).activity.name
    sessions = []
    for resident, hours in ((alice, 1), (bob, None)):
        sign_in = att.SignInRequest(
            activity=activity,
            resident=resident,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id=f"in-{resident}",
        )
        sign_in.time.FromDatetime(START)
        sessions.append(attendance.SignIn(sign_in, metadata=as_staff).session.name)
        if hours is not None:
            sign_out = att.SignOutRequest(
                activity=activity,
                resident=resident,
                method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
                request_id=f"out-{resident}",
            )
            sign_out.time.FromDatetime(START + timedelta(hours=hours))
            attendance.SignOut(sign_out, metadata=as_staff)
    as_bob = stack.person(bob, Role.VOLUNTEER)
    lead = attendance.ApplyProjectLead(
        att.ApplyProjectLeadRequest(activity=activity, motivation="想帮忙", request_id="lead"),
        metadata=as_bob,
    ).project_lead.name
    self_confirmed = att.SignInRequest(
        activity=activity, resident=staff, method=att.SIGN_IN_METHOD_STAFF_CONFIRMED
    )
    with pytest.raises(grpc.RpcError):  # refused, and flagged for review
        attendance.SignIn(self_confirmed, metadata=as_staff)
    flag = (
        attendance.ListFlags(att.ListFlagsRequest(parent=COMMUNITY), metadata=as_staff)
        .flags[0]
        .name
    )

    as_alice = stack.person(alice, Role.VOLUNTEER)

    def earned() -> int:
        listed = points.ListTransactions(
            pts.ListTransactionsRequest(parent=alice), metadata=as_alice
        )
        return len(listed.transactions)

    assert eventually(earned, 1) == 1
    transaction = points.ListTransactions(
        pts.ListTransactionsRequest(parent=alice), metadata=as_alice
    ).transactions[0]
    reservation = rewards.CreateReservation(
        pts.CreateReservationRequest(
            parent=alice,
            amount_centipoints=50,
            sink=pts.SINK_REWARDS,
            memo="一袋米",
            request_id="reservation",
        )
    ).reservation.name
    # The peer community sends alice points: a transfer received here (E4), from alice herself
    # (her person key, as identity gives it to points), which the recipient rule admits.
    as_points = idn_grpc.IdentityServiceStub(stack.channel("identity", as_service="points"))
    alice_key = as_points.GetPersonKey(idn.GetPersonKeyRequest(name=alice)).person_key
    offer = tbk.AcceptTransferRequest(
        transfer_id="x-fuzz-setup",
        sender=f"communities/{PEER}/residents/r-peer",
        recipient=alice,
        amount_centipoints=50,
        memo="时间银行",
        request_id="accept-x-fuzz-setup",
        sender_person_key=alice_key,
    )
    offer.create_time.FromDatetime(datetime.now(UTC))
    offer.deadline_time.FromDatetime(datetime.now(UTC) + timedelta(minutes=5))
    exchange = tbk_grpc.ExchangeServiceStub(peer_channel(stack))
    assert exchange.AcceptTransfer(offer).status == tbk.EXCHANGE_STATUS_ACCEPTED
    transfer = f"{COMMUNITY}/transfers/x-fuzz-setup"
    catalogue = rwd_grpc.RewardsServiceStub(stack.channel("rewards"))
    item = catalogue.CreateItem(
        rwd.CreateItemRequest(
            parent=COMMUNITY,
            item_id="fuzz-rice",
            item=rwd.Item(
                title="一袋米", kind=rwd.ITEM_KIND_VOUCHER, price_centipoints=50, stock=100
            ),
            request_id="item",
        ),
        metadata=as_staff,
    ).item.name
    redemption = catalogue.Redeem(
        rwd.RedeemRequest(parent=alice, item=item, request_id="redemption"), metadata=as_alice
    ).redemption
    recognition = rcg_grpc.RecognitionServiceStub(stack.channel("rewards"))
    seats = rcg.SeatAllocation(title="文艺演出前排", seats=2)
    seats.event_time.FromDatetime(datetime.now(UTC) + timedelta(days=7))
    seats.apply_until_time.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    allocation = recognition.CreateSeatAllocation(
        rcg.CreateSeatAllocationRequest(parent=COMMUNITY, allocation=seats, request_id="seats"),
        metadata=as_staff,
    ).allocation.name
    nomination = recognition.CreateNomination(
        rcg.CreateNominationRequest(
            parent=COMMUNITY,
            nomination=rcg.Nomination(resident=alice, honour="最美志愿者", reason="义诊"),
            request_id="nomination",
        ),
        metadata=as_staff,
    ).nomination.name
    benefit = recognition.CreateBenefit(
        rcg.CreateBenefitRequest(
            parent=COMMUNITY,
            benefit_id="fuzz-check",
            benefit=rcg.Benefit(title="体检"),
            request_id="benefit",
        ),
        metadata=as_staff,
    ).benefit.name
    application = recognition.ApplyForBenefit(
        rcg.ApplyForBenefitRequest(parent=alice, benefit=benefit, request_id="application"),
        metadata=as_alice,
    ).application.name
    partners = ptn_grpc.PartnersServiceStub(stack.channel("partners"))
    for partner_id, benefits in ((PARTNER_ID, ["fuzz-loan"]), ("fuzz-rival", [])):
        partners.CreatePartner(
            ptn.CreatePartnerRequest(
                parent=COMMUNITY,
                partner_id=partner_id,
                partner=ptn.Partner(
                    display_name="社区银行",
                    kind=ptn.PARTNER_KIND_BANK,
                    access=ptn.PartnerAccess(benefits=benefits, consume_vouchers=True),
                ),
                request_id=f"partner-{partner_id}",
            ),
            metadata=as_staff,
        )
    partner = f"{COMMUNITY}/partners/{PARTNER_ID}"
    loan = partners.CreatePartnerBenefit(
        ptn.CreatePartnerBenefitRequest(
            parent=partner,
            benefit_id="fuzz-loan",
            benefit=ptn.PartnerBenefit(title="信用贷"),
            request_id="loan",
        ),
        metadata=as_staff,
    ).benefit.name
    agreement = ptn.Agreement(
        title="志愿服务合作协议",
        sign_date="2026-01-01",
        start_date="2026-01-01",
        end_date="2027-12-31",
    )
    agreement_name = partners.CreateAgreement(
        ptn.CreateAgreementRequest(parent=partner, agreement=agreement, request_id="agreement"),
        metadata=as_staff,
    ).agreement.name
    eligibility_code = partners.CreateEligibilityCode(
        ptn.CreateEligibilityCodeRequest(parent=alice, request_id="code"), metadata=as_alice
    ).code
    appeal = points.CreateAppeal(
        pts.CreateAppealRequest(
            parent=alice, transaction=transaction.name, reason="少算了", request_id="appeal"
        ),
        metadata=as_alice,
    ).appeal.name
    council = _council(stack, as_staff, bob, appeal)
    course, session, allowance = _training(stack, as_staff, alice)
    support = _support(stack, as_staff, stack.person(alice, Role.VOLUNTEER), alice)

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
        "staff": staff,
        "alice": alice,
        "bob": bob,
        "unit": unit,
        "activity": activity,
        "session": sessions[0],
        "open_session": sessions[1],
        "lead": lead,
        "flag": flag,
        "balance": f"{alice}/balance",
        "reservation": reservation,
        "transfer": transfer,
        "appeal": appeal,
        "item": item,
        "redemption": redemption.name,
        "allocation": allocation,
        "nomination": nomination,
        "application": application,
        "partner": partner,
        "rival": f"{COMMUNITY}/partners/fuzz-rival",
        "agreement": agreement_name,
        "course": course,
        "course_session": session.name,
        "progress": f"{alice}/trainingProgress",
        "allowance": allowance,
        **council,
        **support,
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
            "other": [*residents, LONGEST_RESIDENT],
            "home_unit": [unit],
            "org_unit": [unit],
            "parent_unit": [unit],
            "guardian": [*residents, LONGEST_RESIDENT],
            # IdentifyFace compares only the residents a kiosk expects.
            "candidates": [*residents, LONGEST_RESIDENT],
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
        },
        "attendance": {
            **shared,
            "name": [activity, *sessions, lead],
            "activity": [activity],
            "session": sessions,
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
            "name": [f"{alice}/balance", reservation, appeal, transaction.name, *council.values()],
            "transaction": [transaction.name],
            "appeal": [appeal],
            "meeting": [council["meeting"]],
            "attendees": [bob, alice],
            # No organisation: the realistic seat (residents' committee) names none.
            "title": ["季度监督会"],
            "term_start_date": [f"{START.year}-01-01"],
            "term_end_date": [f"{START.year + 1}-12-31"],
            "minutes": ["审议申诉两件, 通过季度审计"],
            "memo": ["兑换"],
            "scope": ["community", "grid:g1", "building:g1/b1"],
            "stream": ["attendance.events", "identity.events"],
            "dead_letter_id": ["0-1"],
            "recipient": [f"communities/{PEER}/residents/r-peer"],
        },
        "points-exchange": {
            **shared,
            "transfer_id": ["x-fuzz-setup", "x-fuzz-other"],
            "sender": [f"communities/{PEER}/residents/r-peer"],
            "recipient": [alice, *residents],
            "memo": ["时间银行"],
        },
        "rewards": {
            **shared,
            "name": [item, redemption.name],
            "item": [item],
            "item_id": ["fuzz-oil"],
            "title": ["一桶油"],
            "description": ["5 升"],
            "partner": ["", "p-market"],
            "voucher": [redemption.voucher],
            "allocation": [allocation],
            "benefit": [benefit],
            "benefit_id": ["fuzz-care"],
            "honour": ["最美志愿者"],
            "note": ["同意"],
            "tiers": ["gold"],
        },
        "partners": {
            **shared,
            "parent": [COMMUNITY, partner, *residents, support["fund_call"], support["agency"]],
            "name": [partner, agreement_name, *support.values()],
            "partner_id": ["fuzz-shop"],
            "benefit_id": ["fuzz-zone"],
            "benefit": [loan],
            "benefits": ["fuzz-loan"],
            "code": [eligibility_code],
            "display_name": ["社区超市"],
            "title": ["志愿服务合作协议"],
            "terms": ["提供折扣"],
            "sign_date": ["2026-01-01"],
            "start_date": ["2026-01-01"],
            "end_date": ["2027-12-31"],
            "description": ["爱心物资"],
            "tiers": ["gold"],
            "open_date": [f"{START.year}-01-01"],
            "close_date": [f"{START.year}-12-31"],
            "summary": ["把楼道变成花园"],
            "comment": ["可行"],
            "milestone_date": [f"{START.year}-09-01"],
            "note": ["首次活动"],
            "grade": ["5A"],
            "contract_start_date": [f"{START.year}-01-01"],
            "contract_end_date": [f"{START.year}-12-31"],
            "visit_date": [f"{START.year}-03-17"],
            "supervisor": ["王督导"],
            "topics": ["个案管理"],
            "notes": ["良好"],
            "foundation": ["爱心基金会"],
            "topic": ["志愿服务与社区信任"],
            "volunteers": [alice, bob],
            "grant_date": [f"{START.year}-03-01"],
            "outcomes": ["调查报告一份"],
            "firm": ["正义律师事务所"],
            "rota_slot": [support["rota_slot"]],
        },
        "training": {
            **shared,
            "name": [course, session.name, allowance, f"{alice}/trainingProgress"],
            "course": [course],
            "teacher": [session.teacher],
            "session": [session.name],
            "course_id": ["fuzz-course"],
            "level_id": ["fuzz-level-two"],
            "title": ["急救技能"],
            "description": ["心肺复苏与止血包扎"],
            "display_name": ["陈老师"],
            "organisation": ["区红十字会"],
            "qualified_courses": [course],
            "certificates": ["红十字会救护培训师证"],
            "place": ["社区活动中心"],
            "kiosks": [KIOSK],
            "instrument": ["instruments/brs", "instruments/teq"],
            "stream": ["attendance.events", "identity.events"],
            "dead_letter_id": ["0-1"],
        },
    }
    return World(names, known, stack)


def _council(stack: Stack, as_staff: auth.Metadata, bob: str, appeal: str) -> dict[str, str]:
    """Bob seated on the supervision council, and a meeting on alice's appeal and an audit."""
    council = cnl_grpc.CouncilServiceStub(stack.channel("points"))
    member = cnl.CouncilMember(
        resident=bob,
        seat=cnl.SEAT_RESIDENT_REPRESENTATIVE,
        term_start_date=f"{START.year}-01-01",
        term_end_date=f"{START.year + 1}-12-31",
    )
    request = cnl.SeatMemberRequest(parent=COMMUNITY, member=member, request_id="seat")
    deadline = time.monotonic() + 15
    while True:  # points learns of bob from identity.events
        try:
            seated = council.SeatMember(request, metadata=as_staff).member.name
            break
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.FAILED_PRECONDITION or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    quarter = (START.month - 1) // 3  # the quarter before this one has ended
    audit = cnl.AuditQuarter(year=START.year - (quarter == 0), quarter=quarter or 4)
    meeting = cnl.Meeting(
        title="季度监督会",
        agenda=[cnl.AgendaItem(appeal=appeal), cnl.AgendaItem(audit=audit)],
    )
    meeting.schedule_time.FromDatetime(START + timedelta(days=1))
    scheduled = council.ScheduleMeeting(
        cnl.ScheduleMeetingRequest(parent=COMMUNITY, meeting=meeting, request_id="meeting"),
        metadata=as_staff,
    ).meeting.name
    return {"council_member": seated, "meeting": scheduled}


def _training(
    stack: Stack, as_staff: auth.Metadata, alice: str
) -> tuple[str, trn.CourseSession, str]:
    """The policy's courses, a teacher, a session alice attended, and the allowance it earned."""
    training = trn_grpc.TrainingServiceStub(stack.channel("training"))
    courses = training.CreateDefaultCourses(
        trn.CreateDefaultCoursesRequest(parent=COMMUNITY, request_id="courses"), metadata=as_staff
    ).courses
    course = next(c.name for c in courses if c.name.endswith("/safety"))
    training.CreateLevel(
        trn.CreateLevelRequest(
            parent=COMMUNITY,
            level_id="fuzz-level",
            level=trn.Level(title="见习志愿者", credits_needed=0, allowance_fen=100),
            request_id="level",
        ),
        metadata=as_staff,
    )
    teacher = training.CreateTeacher(
        trn.CreateTeacherRequest(
            parent=COMMUNITY,
            teacher=trn.Teacher(
                display_name="陈老师",
                kind=trn.TEACHER_KIND_RED_CROSS_TRAINER,
                qualified_courses=[course],
            ),
            request_id="teacher",
        ),
        metadata=as_staff,
    ).teacher.name
    planned = trn.CourseSession(
        course=course, teacher=teacher, place="社区活动中心", capacity=5, kiosks=[KIOSK]
    )
    planned.start_time.FromDatetime(START)
    planned.end_time.FromDatetime(START + timedelta(hours=2))
    session = training.ScheduleCourseSession(
        trn.ScheduleCourseSessionRequest(parent=COMMUNITY, session=planned, request_id="session"),
        metadata=as_staff,
    ).session
    training.Enrol(
        trn.EnrolRequest(session=session.name, resident=alice, request_id="enrol"),
        metadata=as_staff,
    )
    sheet = att.EnterPaperSessionRequest(
        activity=session.activity, resident=alice, reason="培训签到表", request_id="course-sheet"
    )
    sheet.sign_in_time.FromDatetime(START + timedelta(hours=1, minutes=30))
    sheet.sign_out_time.FromDatetime(START + timedelta(hours=2))
    att_grpc.AttendanceServiceStub(stack.channel("attendance")).EnterPaperSession(
        sheet, metadata=as_staff
    )

    def allowances() -> list[str]:
        listed = training.ListAllowances(trn.ListAllowancesRequest(parent=alice), metadata=as_staff)
        return [a.name for a in listed.allowances]

    assert eventually(lambda: len(allowances()), 1) == 1
    return course, session, allowances()[0]


def _support(
    stack: Stack, as_staff: auth.Metadata, as_alice: auth.Metadata, alice: str
) -> dict[str, str]:
    """Funds and grants: this year's open fund call and alice's proposal, the agency, a grant, a
    rota slot and a case of alice's (by role)."""
    support = sup_grpc.SupportServiceStub(stack.channel("partners"))
    year = START.year
    call = support.CreateFundCall(
        sup.CreateFundCallRequest(
            parent=COMMUNITY,
            call=sup.FundCall(
                title="社区创新基金",
                year=year,
                open_date=f"{year}-01-01",
                close_date=f"{year}-12-31",
                budget_fen=1_000_000,
            ),
            request_id="fund-call",
        ),
        metadata=as_staff,
    ).call.name
    proposal = support.SubmitProposal(
        sup.SubmitProposalRequest(
            parent=call,
            proposal=sup.Proposal(
                title="楼道花园", summary="把楼道变成花园", requested_fen=300_000
            ),
            request_id="proposal",
        ),
        metadata=as_alice,
    ).proposal.name
    agency = support.CreateAgency(
        sup.CreateAgencyRequest(
            parent=COMMUNITY,
            agency=sup.Agency(
                display_name="阳光社工事务所",
                grade="5A",
                contract_start_date=f"{year}-01-01",
                contract_end_date=f"{year}-12-31",
            ),
            request_id="agency",
        ),
        metadata=as_staff,
    ).agency.name
    grant = support.CreateResearchGrant(
        sup.CreateResearchGrantRequest(
            parent=COMMUNITY,
            grant=sup.ResearchGrant(
                foundation="爱心基金会",
                topic="志愿服务与社区信任",
                amount_fen=5_000_000,
                volunteers=[alice],
                grant_date=f"{year}-03-01",
            ),
            request_id="grant",
        ),
        metadata=as_staff,
    ).grant.name
    slot = support.CreateRotaSlot(
        sup.CreateRotaSlotRequest(
            parent=COMMUNITY,
            slot=sup.RotaSlot(
                firm="正义律师事务所", weekday=sup.WEEKDAY_WEDNESDAY, start_hour=9, end_hour=12
            ),
            request_id="rota",
        ),
        metadata=as_staff,
    ).slot.name
    case = support.OpenLegalCase(
        sup.OpenLegalCaseRequest(
            parent=COMMUNITY,
            case=sup.LegalCase(resident=alice, summary="服务中受伤的赔偿纠纷"),
            note="来访登记",
            request_id="legal-case",
        ),
        metadata=as_staff,
    ).case.name
    return {
        "fund_call": call,
        "proposal": proposal,
        "agency": agency,
        "research_grant": grant,
        "rota_slot": slot,
        "legal_case": case,
    }
