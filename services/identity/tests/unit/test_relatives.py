"""Relatives in other communities and person keys (time bank recipient rule, issue 15)."""

from __future__ import annotations

import hashlib
import hmac

import grpc
import pytest
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.config import IdentitySettings
from linli_identity.domain.org import Role
from linli_identity.domain.relatives import PersonKeys, Recipient, Relation, RelativeState
from linli_identity.service_layer.commands import ChangeRole, CreateCommunity, RegisterResident
from linli_identity.service_layer.org import change_role
from linli_identity.service_layer.relatives import (
    ChangeRelative,
    DeclareRelative,
    change_relative,
    declare_relative,
    list_relatives,
    person_key,
    transfer_recipient,
)
from linli_identity.service_layer.residents import create_community, register_resident
from linli_kit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Unavailable
from linli_kit.principals import SYSTEM, Kind, Principal

C = "c-west"
SECRET = bytes(range(32))
KEYS = PersonKeys(SECRET)
DAUGHTER = "139 1234 5678"  # lives in c-east, logs in there with this number


def _person(resident: str, *roles: str) -> Principal:
    return Principal(Kind.PERSON, f"communities/{C}/residents/{resident}", C, frozenset(roles))


@pytest.fixture
def people(uow, clock) -> list[str]:
    """Resident 0 (phone 13800000000) and 1, and a social worker (2)."""
    create_community(CreateCommunity(C, "West Gate", actor=SYSTEM), uow, clock)
    ids = [
        register_resident(
            RegisterResident(C, f"p{n}", f"1380000000{n}", actor=SYSTEM), uow, clock
        ).id
        for n in range(3)
    ]
    change_role(ChangeRole(C, ids[2], Role.SOCIAL_WORKER, grant=True, actor=SYSTEM), uow, clock)
    return ids


def _declare(uow, clock, resident: str, phone: str = DAUGHTER, request_id: str = "d1"):
    command = DeclareRelative(
        C, resident, phone, Relation.CHILD, "女儿 (东城)", request_id, actor=_person(resident)
    )
    return declare_relative(command, uow, KEYS, clock)


def test_the_person_key_is_the_hmac_of_the_normalised_phone_number() -> None:
    expected = hmac.new(SECRET, b"13912345678", hashlib.sha256).hexdigest()
    assert KEYS.of(DAUGHTER) == KEYS.of("139-1234-5678") == expected
    assert PersonKeys(bytes(range(1, 33))).of(DAUGHTER) != expected  # another city's secret
    with pytest.raises(InvalidArgument):
        PersonKeys(b"short")


def test_a_declared_relative_counts_only_once_staff_confirm_it(uow, clock, people) -> None:
    ann = people[0]
    relative = _declare(uow, clock, ann)
    assert relative.state is RelativeState.DECLARED and relative.phone_hint == "5678"
    assert "1391234" not in repr(uow.relatives.rows)  # only the key and the last four digits
    daughter = KEYS.of(DAUGHTER)
    assert transfer_recipient(C, ann, daughter, uow, KEYS, actor=SYSTEM) is Recipient.NOT_RELATED
    # The resident may not confirm their own relative; another resident is no staff.
    for actor in (_person(ann, "social_worker"), _person(people[1])):
        with pytest.raises(PermissionDenied):
            change_relative(
                ChangeRelative(C, ann, relative.id, True, "c0", actor=actor), uow, clock
            )
    staff = _person(people[2], "social_worker")
    confirmed = change_relative(
        ChangeRelative(C, ann, relative.id, True, "c1", actor=staff), uow, clock
    )
    assert confirmed.state is RelativeState.CONFIRMED and confirmed.confirmed_by == people[2]
    assert transfer_recipient(C, ann, daughter, uow, KEYS, actor=SYSTEM) is Recipient.RELATIVE
    # Only for the resident who declared them, and a stranger's key is not related.
    assert (
        transfer_recipient(C, people[1], daughter, uow, KEYS, actor=SYSTEM) is Recipient.NOT_RELATED
    )
    stranger = KEYS.of("13700000000")
    assert transfer_recipient(C, ann, stranger, uow, KEYS, actor=SYSTEM) is Recipient.NOT_RELATED
    # Removed, it no longer counts.
    change_relative(
        ChangeRelative(C, ann, relative.id, False, "r1", actor=_person(ann)), uow, clock
    )
    assert transfer_recipient(C, ann, daughter, uow, KEYS, actor=SYSTEM) is Recipient.NOT_RELATED
    assert list_relatives(C, ann, None, 0, 10, uow, actor=_person(ann)) == ([], False)


def test_the_resident_themself_is_self_by_their_own_phone(uow, clock, people) -> None:
    own = person_key(C, people[0], uow, KEYS, actor=SYSTEM)
    assert own == KEYS.of("13800000000")
    assert transfer_recipient(C, people[0], own, uow, KEYS, actor=SYSTEM) is Recipient.SELF
    with pytest.raises(InvalidArgument):
        transfer_recipient(C, people[0], "not-a-key", uow, KEYS, actor=SYSTEM)
    with pytest.raises(NotFound):
        transfer_recipient(C, "r-nobody", own, uow, KEYS, actor=SYSTEM)
    with pytest.raises(Unavailable):
        person_key(C, people[0], uow, None, actor=SYSTEM)


def test_declaring_is_idempotent_and_refuses_twice_the_same_or_their_own_number(
    uow, clock, people
) -> None:
    first = _declare(uow, clock, people[0])
    assert _declare(uow, clock, people[0]).id == first.id  # the retry
    with pytest.raises(AlreadyExists):
        _declare(uow, clock, people[0], request_id="d2")
    with pytest.raises(InvalidArgument):
        _declare(uow, clock, people[0], "13800000000", request_id="d3")
    with pytest.raises(PermissionDenied):  # another resident declares for nobody but themself
        command = DeclareRelative(
            C, people[0], "13700000001", Relation.SIBLING, actor=_person(people[1])
        )
        declare_relative(command, uow, KEYS, clock)


def test_staff_list_every_relative_to_confirm(uow, clock, people) -> None:
    _declare(uow, clock, people[0])
    _declare(uow, clock, people[1], request_id="d9")
    staff = _person(people[2], "social_worker")
    waiting, more = list_relatives(C, "-", RelativeState.DECLARED, 0, 1, uow, actor=staff)
    assert len(waiting) == 1 and more
    with pytest.raises(PermissionDenied):
        list_relatives(C, "-", None, 0, 10, uow, actor=_person(people[0]))


def test_the_federation_secret_setting() -> None:
    base = {"database_url": "sqlite://", "redis_url": "redis://nowhere"}
    assert IdentitySettings(**base).person_keys() is None
    dev = IdentitySettings(**base, dev_federation_secret=True).person_keys()
    assert dev is not None and len(dev.of(DAUGHTER)) == 64
    configured = IdentitySettings(
        **base, federation_secret="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    )
    assert configured.person_keys().of(DAUGHTER) == KEYS.of(DAUGHTER)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="federation_secret"):
        IdentitySettings(**base, federation_secret="c2hvcnQ=")


async def test_over_grpc_person_keys_are_for_points_alone(identity, uow, clock) -> None:
    """Residents declare, staff confirm and list; GetPersonKey and CheckTransferRecipient
    answer the points service only (the test app has the dev federation secret)."""
    create_community(CreateCommunity("c-east", "East", actor=SYSTEM), uow, clock)
    ann = register_resident(
        RegisterResident("c-east", "Ann", "13800000000", actor=SYSTEM), uow, clock
    )
    name = f"communities/c-east/residents/{ann.id}"
    declared = await identity.as_person("c-east", ann.id).DeclareRelative(
        pb.DeclareRelativeRequest(
            parent=name, phone=DAUGHTER, relation=pb.RELATION_CHILD, request_id="g1"
        )
    )
    assert declared.relative.state == pb.RELATIVE_STATE_DECLARED
    waiting = await identity.stub.ListRelatives(
        pb.ListRelativesRequest(
            parent="communities/c-east/residents/-", state=pb.RELATIVE_STATE_DECLARED
        )
    )
    assert [r.name for r in waiting.relatives] == [declared.relative.name]
    confirmed = await identity.stub.ConfirmRelative(
        pb.ConfirmRelativeRequest(name=declared.relative.name, request_id="g2")
    )
    assert confirmed.relative.state == pb.RELATIVE_STATE_CONFIRMED
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await identity.as_person("c-east", ann.id).GetPersonKey(pb.GetPersonKeyRequest(name=name))
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
