"""Who may call what, for every RPC of every service × every kind of caller (issue 10).

Generated from the service descriptors and the policy tables beside the servicers, against the
real processes on mutual TLS: a new RPC is checked the day it is added, and an RPC missing from
its policy table fails here. Each RPC gets a realistic request naming the world's resources
(community `fuzz`, the resident alice…), sent by:
- the test's own certificate and no token (every port requires a certificate: without one
  the connection is refused, which the kit's tests show), a token signed by a forger's key,
  an expired token;
- alice herself, another resident (carol), each role on a staff member, each service's
  certificate;
- staff of another community holding every role.
What the table refuses answers PERMISSION_DENIED; what it admits gets past the door (the
object rules may still refuse); bad credentials never pass; and another community's caller
never succeeds on this community's resources: NOT_FOUND (or INVALID_ARGUMENT for a request
malformed before any lookup).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import text_format
from google.protobuf.descriptor import MethodDescriptor

from linli_kit import auth
from linli_kit.principals import ANONYMOUS, Kind, Principal, Role
from linli_kit.testing import generated_services, load_beside

setup = load_beside(__file__, "world.py", "linli_fuzz_world")
World = setup.World
# The interceptor's own refusal (object rules in the domain word theirs differently).
DOOR_REFUSAL = "may not call"
OTHER = "elsewhere"


@dataclass(frozen=True)
class Who:
    """One kind of caller of the matrix: the principal it claims, and how it proves it."""

    name: str
    principal: Principal
    certificate: str = "cli"
    token: str = ""  # "", "valid", "forged" or "expired"


def _person(name: str, resident: str, *roles: str, community: str = setup.C) -> Who:
    subject = f"communities/{community}/residents/{resident}"
    return Who(name, Principal(Kind.PERSON, subject, community, frozenset(roles)), token="valid")


def _callers(world: World) -> list[Who]:
    staff = world.names["staff"].rpartition("/")[2]
    alice = world.names["alice"].rpartition("/")[2]
    return [
        Who("certificate only", Principal(Kind.SERVICE, "cli", setup.C)),
        Who("forged token", ANONYMOUS, token="forged"),
        Who("expired token", ANONYMOUS, token="expired"),
        _person("alice herself", alice, Role.VOLUNTEER),
        _person("another resident", "r-carol", Role.VOLUNTEER),
        *(_person(f"staff as {role.value}", staff, role) for role in Role),
        *(
            Who(f"service {name}", Principal(Kind.SERVICE, name, setup.C), certificate=name)
            for name in ("attendance", "points", "rewards", "partners", "training")
        ),
        Who(
            "the world's partner",
            Principal(Kind.PARTNER, setup.PARTNER_ID, setup.C, scopes=setup.PARTNER_SCOPES),
            certificate=f"partner/{setup.PARTNER_ID}",
        ),
        _person("another community", "r-other", *Role, community=OTHER),
    ]


def _metadata(world: World, who: Who) -> auth.Metadata:
    credentials = world.stack.credentials
    if not who.token:
        return ()
    p = who.principal
    if who.token == "forged":
        forger = auth.SigningKey.generate(credentials.key.kid)
        token = auth.issue_access_token(
            forger, subject=f"communities/{setup.C}/residents/x", community=setup.C, roles=["sre"]
        )
    elif who.token == "expired":
        token = credentials.token(setup.C, "x", "sre", ttl_seconds=60, now=time.time() - 3600)
    else:
        token = credentials.token(p.community, p.resident_id, *p.roles)
    return auth.bearer(token)


TARGETS = [
    pytest.param(process, method, id=f"{process}-{service.name}.{method.name}")
    for service in generated_services()
    for process in setup.SERVED_BY[service.name][:1]
    for method in service.methods
]


@pytest.mark.parametrize(("process", "method"), TARGETS)
def test_each_caller_gets_what_the_policy_table_says(
    world: World, process: str, method: MethodDescriptor
) -> None:
    policy = setup.POLICIES[method.containing_service.name]
    assert method.name in policy, f"{method.full_name} has no entry in its policy table"
    rules = policy[method.name]
    public = any(rule.kind is Kind.ANONYMOUS for rule in rules)
    request = world.realistic(process, method)
    names_this_community = f"communities/{setup.C}" in text_format.MessageToString(request)
    wrong: list[str] = []
    for who in _callers(world):
        channel = world.stack.channel(process, who.certificate)
        code, details = world.answer(channel, method, request, _metadata(world, who))
        admitted = any(rule.permits(who.principal) for rule in rules)
        if who.token in ("forged", "expired"):
            expected_ok = code is grpc.StatusCode.UNAUTHENTICATED
        elif not admitted:
            anonymous = who.principal.kind is Kind.ANONYMOUS
            refusal = (
                grpc.StatusCode.UNAUTHENTICATED if anonymous else grpc.StatusCode.PERMISSION_DENIED
            )
            expected_ok = code is refusal
        elif who.principal.community == OTHER and names_this_community and not public:
            # Told nothing: the request's shape may be refused first, the resource is not found.
            expected_ok = code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
        else:
            door = code is grpc.StatusCode.PERMISSION_DENIED and DOOR_REFUSAL in details
            # A login RPC answers UNAUTHENTICATED for a wrong code or password: its own verdict.
            unauthenticated = code is grpc.StatusCode.UNAUTHENTICATED and not public
            expected_ok = not (door or unauthenticated)
        if not expected_ok:
            verdict = "admitted" if admitted else "refused"
            wrong.append(f"{who.name} ({verdict} by the table): {code.name} {details[:120]}")
    assert not wrong, f"{method.full_name}:\n  " + "\n  ".join(wrong)
