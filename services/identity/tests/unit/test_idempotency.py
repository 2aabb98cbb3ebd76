"""Every mutating RPC of IdentityService replays a retry and refuses a reused request id.

The list of RPCs comes from the service descriptor (everything not NO_SIDE_EFFECTS), so a new
mutating RPC without a sample here fails the test until one is added.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.protobuf.message import Message
from linli.identity.v1 import identity_service_pb2 as pb

from linli_kit.testing import assert_retry_replays, mutating_methods

SERVICE = pb.DESCRIPTOR.services_by_name["IdentityService"]
C = "communities/c-east"
Sample = tuple[Message, Message | None]


PASSWORD = "correct horse battery"


async def seed(identity) -> dict[str, str]:
    """A community with an HQ, residents in every role the samples need, a team, and logins."""
    stub = identity.stub
    await stub.CreateCommunity(pb.CreateCommunityRequest(community_id="c-east", display_name="E"))
    hq = await stub.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent=C, level=pb.ORG_LEVEL_COMMUNITY_HQ, display_name="HQ")
    )
    names = {"hq": hq.org_unit.name}
    roles = {"mentor": "core_volunteer", "lead": "volunteer", "member": "volunteer"}
    roles |= {"leaver": "volunteer", "other": "volunteer"}
    roles |= {"staff": "social_worker", "staff2": "social_worker"}
    people = [*roles, "newcomer", "newcomer2", "plain", "enrolling", "withdrawing", "roles"]
    for number, person in enumerate(people):
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(parent=C, display_name=person, phone=f"1380000{number:04d}")
        )
        names[person] = reply.resident.name
        names[f"{person}:phone"] = reply.resident.phone
        if person in roles:
            await stub.GrantRole(pb.GrantRoleRequest(resident=names[person], role=roles[person]))
    for person in ("enrolling", "withdrawing"):
        await stub.GrantFaceConsent(consent(names[person], 365))
    team = await stub.CreateSpecialTeam(team_request("Visitors", names["lead"]))
    names["team"] = team.team.name
    await stub.AddTeamMember(pb.AddTeamMemberRequest(team=names["team"], resident=names["leaver"]))
    await stub.SetPassword(pb.SetPasswordRequest(resident=names["staff"], password=PASSWORD))
    await stub.RequestLoginCode(pb.RequestLoginCodeRequest(parent=C, phone=names["plain:phone"]))
    names["code"] = identity.login.sms.last_code(names["plain:phone"])
    for n, relative in enumerate(("relative", "relative2", "relative3", "relative4")):
        declared = await stub.DeclareRelative(
            pb.DeclareRelativeRequest(
                parent=names["plain"], phone=f"139000001{n:02d}", relation=pb.RELATION_SIBLING
            )
        )
        names[relative] = declared.relative.name
    for session in ("refresh", "refresh2", "refresh3"):
        login = await stub.LoginWithPassword(password_login(names["staff:phone"], PASSWORD))
        names[session] = login.tokens.refresh_token
    return names


def password_login(phone: str, password: str, request_id: str = "") -> pb.LoginWithPasswordRequest:
    return pb.LoginWithPasswordRequest(
        parent=C, phone=phone, password=password, request_id=request_id
    )


def consent(resident: str, days: int, request_id: str = "") -> pb.GrantFaceConsentRequest:
    return pb.GrantFaceConsentRequest(
        parent=resident,
        policy_version="2026-01",
        retention_days=days,
        recorded_by="staff:li",
        request_id=request_id,
    )


def team_request(name: str, lead: str, request_id: str = "") -> pb.CreateSpecialTeamRequest:
    return pb.CreateSpecialTeamRequest(
        parent=C,
        display_name=name,
        served_group=pb.SERVED_GROUP_ELDERLY,
        services=[pb.TEAM_SERVICE_HOME_VISIT],
        lead=lead,
        request_id=request_id,
    )


SAMPLES: dict[str, Callable[[dict[str, str]], Sample]] = {
    "CreateCommunity": lambda n: (
        pb.CreateCommunityRequest(community_id="c-west", display_name="West", request_id="r"),
        pb.CreateCommunityRequest(community_id="c-west", display_name="Far", request_id="r"),
    ),
    "RegisterResident": lambda n: (
        pb.RegisterResidentRequest(
            parent=C, display_name="Dan", phone="13800000201", request_id="r"
        ),
        pb.RegisterResidentRequest(
            parent=C, display_name="Danny", phone="13800000201", request_id="r"
        ),
    ),
    "GrantFaceConsent": lambda n: (consent(n["plain"], 365, "r"), consent(n["plain"], 30, "r")),
    "WithdrawFaceConsent": lambda n: (
        pb.WithdrawFaceConsentRequest(parent=n["withdrawing"], request_id="r"),
        pb.WithdrawFaceConsentRequest(parent=n["enrolling"], request_id="r"),
    ),
    "EnrolFace": lambda n: (
        pb.EnrolFaceRequest(resident=n["enrolling"], image=b"face:enrolling:", request_id="r"),
        pb.EnrolFaceRequest(resident=n["enrolling"], image=b"face:someone:", request_id="r"),
    ),
    "CreateOrgUnit": lambda n: tuple(
        pb.CreateOrgUnitRequest(
            parent=C,
            level=pb.ORG_LEVEL_GRID_STATION,
            display_name=name,
            parent_unit=n["hq"],
            request_id="r",
        )
        for name in ("Grid 1", "Grid 2")
    ),
    "GrantRole": lambda n: (
        pb.GrantRoleRequest(resident=n["roles"], role="volunteer", request_id="r"),
        pb.GrantRoleRequest(resident=n["roles"], role="social_worker", request_id="r"),
    ),
    "RevokeRole": lambda n: (
        pb.RevokeRoleRequest(resident=n["roles"], role="resident", request_id="r"),
        pb.RevokeRoleRequest(resident=n["roles"], role="volunteer", request_id="r"),
    ),
    "StartMentoring": lambda n: (
        pb.StartMentoringRequest(mentor=n["mentor"], newcomer=n["newcomer"], request_id="r"),
        pb.StartMentoringRequest(mentor=n["mentor"], newcomer=n["newcomer2"], request_id="r"),
    ),
    "ImportResidents": lambda n: (
        pb.ImportResidentsRequest(
            parent=C, csv=b"phone,display_name\n13800000301,Eve\n", request_id="r"
        ),
        pb.ImportResidentsRequest(
            parent=C, csv=b"phone,display_name\n13800000302,Eve\n", request_id="r"
        ),
    ),
    "CreateSpecialTeam": lambda n: (
        team_request("Visitors 2", n["lead"], "r"),
        team_request("Visitors 3", n["lead"], "r"),
    ),
    "AddTeamMember": lambda n: (
        pb.AddTeamMemberRequest(team=n["team"], resident=n["member"], request_id="r"),
        pb.AddTeamMemberRequest(team=n["team"], resident=n["other"], request_id="r"),
    ),
    "RemoveTeamMember": lambda n: (
        pb.RemoveTeamMemberRequest(team=n["team"], resident=n["leaver"], request_id="r"),
        pb.RemoveTeamMemberRequest(team=n["team"], resident=n["member"], request_id="r"),
    ),
    "RequestLoginCode": lambda n: (
        pb.RequestLoginCodeRequest(parent=C, phone=n["plain:phone"], request_id="r"),
        pb.RequestLoginCodeRequest(parent=C, phone=n["roles:phone"], request_id="r"),
    ),
    "LoginWithCode": lambda n: tuple(
        pb.LoginWithCodeRequest(parent=C, phone=n["plain:phone"], code=code, request_id="r")
        for code in (n["code"], "000000")
    ),
    "LoginWithPassword": lambda n: (
        password_login(n["staff:phone"], PASSWORD, "r"),
        password_login(n["staff:phone"], "another password", "r"),
    ),
    "SetPassword": lambda n: tuple(
        pb.SetPasswordRequest(resident=n["staff2"], password=password, request_id="r")
        for password in (PASSWORD, "another password")
    ),
    "RefreshToken": lambda n: tuple(
        pb.RefreshTokenRequest(refresh_token=n[token], request_id="r")
        for token in ("refresh", "refresh2")
    ),
    "Logout": lambda n: tuple(
        pb.LogoutRequest(refresh_token=n[token], request_id="r")
        for token in ("refresh3", "refresh2")
    ),
    "DeclareRelative": lambda n: tuple(
        pb.DeclareRelativeRequest(
            parent=n["plain"], phone=phone, relation=pb.RELATION_CHILD, request_id="r"
        )
        for phone in ("13900000201", "13900000202")
    ),
    "ConfirmRelative": lambda n: tuple(
        pb.ConfirmRelativeRequest(name=n[relative], request_id="r")
        for relative in ("relative", "relative2")
    ),
    "RemoveRelative": lambda n: tuple(
        pb.RemoveRelativeRequest(name=n[relative], request_id="r")
        for relative in ("relative3", "relative4")
    ),
    # Its only argument is the community, and request ids are kept per community.
    "RotateTemplateKeys": lambda n: (pb.RotateTemplateKeysRequest(parent=C, request_id="r"), None),
}


def test_every_mutating_rpc_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(m.name for m in mutating_methods(SERVICE))


@pytest.mark.parametrize("method", [m.name for m in mutating_methods(SERVICE)])
async def test_a_retry_returns_the_first_answer_and_other_arguments_are_refused(
    identity, method: str
) -> None:
    request, changed = SAMPLES[method](await seed(identity))

    await assert_retry_replays(getattr(identity.stub, method), request, changed)
