"""What an operator does directly on the database: bootstrap a community and its first staff.

Without it nobody could get the first staff token (every RPC that creates people needs one).
Each step is skipped when already done, so running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from linli_identity.domain.org import Role
from linli_identity.domain.residents import Resident
from linli_identity.service_layer.commands import (
    ChangeRole,
    CreateCommunity,
    RegisterResident,
    SetPassword,
)
from linli_identity.service_layer.login import set_password
from linli_identity.service_layer.login_port import LoginPorts, Secret
from linli_identity.service_layer.org import change_role
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_identity.service_layer.residents import create_community, register_resident
from linli_kit.principals import SYSTEM


@dataclass(frozen=True)
class CommunityBootstrap:
    """A community and its first staff member: who they are, their roles, maybe a password."""

    community_id: str
    display_name: str
    phone: str
    name: str
    org_unit: str = ""
    roles: Sequence[Role] = (Role.SOCIAL_WORKER,)
    password: str | None = None


def bootstrap_community(
    spec: CommunityBootstrap, uow_factory: Callable[[], IdentityUnitOfWork], ports: LoginPorts
) -> Resident:
    """Create what is missing of the community, its staff member and their roles (as SYSTEM)."""
    with (uow := uow_factory()):
        community = uow.communities.get(spec.community_id)
        resident = uow.residents.by_phone(spec.community_id, spec.phone)
        stored = uow.passwords.get(spec.community_id, resident.id) if resident else None
    if community is None:
        command = CreateCommunity(spec.community_id, spec.display_name, actor=SYSTEM)
        create_community(command, uow_factory(), ports.clock)
    if resident is None:
        registration = RegisterResident(
            spec.community_id, spec.name, spec.phone, spec.org_unit, actor=SYSTEM
        )
        resident = register_resident(registration, uow_factory(), ports.clock)
    for role in spec.roles:
        if role not in resident.roles:
            grant = ChangeRole(spec.community_id, resident.id, role, grant=True, actor=SYSTEM)
            resident = change_role(grant, uow_factory(), ports.clock)
    if spec.password is not None and not ports.passwords.verify(stored, spec.password):
        secret = Secret(spec.password, f"bootstrap:{resident.id}")
        set_password(
            SetPassword(spec.community_id, resident.id, secret, actor=SYSTEM), uow_factory(), ports
        )
    return resident
