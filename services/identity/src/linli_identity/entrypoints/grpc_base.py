"""What every part of the IdentityService servicer holds: the unit of work, engines, login."""

from __future__ import annotations

from collections.abc import Callable

from linli_identity.domain.openset import OpenSetBook
from linli_identity.domain.relatives import PersonKeys
from linli_identity.entrypoints.face_work import FaceWork
from linli_identity.service_layer.face_port import FaceEngine, Galleries
from linli_identity.service_layer.login_port import LoginPorts
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now


class ServicerBase:
    """The dependencies the RPC methods of each area share."""

    def __init__(
        self,
        uow_factory: Callable[[], IdentityUnitOfWork],
        engine: FaceEngine,
        galleries: Galleries,
        clock: Clock = utc_now,
        *,
        login: LoginPorts,
        face_work: FaceWork,
        open_set: OpenSetBook,
        person_keys: PersonKeys | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.engine = engine
        self.galleries = galleries
        self.clock = clock
        self.login = login
        self.face_work = face_work
        self.open_set = open_set
        self.person_keys = person_keys  # None without a federation secret (time bank, E4)
