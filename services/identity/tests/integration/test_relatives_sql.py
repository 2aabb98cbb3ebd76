"""Relatives and person keys on real PostgreSQL: migration 0009, the SQL repository, the rule."""

from __future__ import annotations

import sqlalchemy as sa

from linli_identity.bootstrap import build_cipher, build_plumbing, sql_units_of_work
from linli_identity.config import IdentitySettings
from linli_identity.domain.relatives import Recipient, Relation, RelativeState
from linli_identity.entrypoints.cli import MIGRATIONS
from linli_identity.service_layer.commands import CreateCommunity, RegisterResident
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
from linli_kit.db import migrate
from linli_kit.principals import SYSTEM

C = "c-west"
MOTHER = "13912345678"  # lives in another community


def test_a_confirmed_relative_is_found_by_person_key_and_no_phone_is_stored(
    make_database, servers, stream_prefix
) -> None:
    url = make_database("identity")
    migrate(url, MIGRATIONS)
    settings = IdentitySettings(
        database_url=url,
        redis_url=servers.redis,
        stream_prefix=stream_prefix,
        dev_federation_secret=True,
    )
    keys = settings.person_keys()
    plumbing = build_plumbing(settings)
    uows = sql_units_of_work(plumbing, build_cipher(settings))
    try:
        create_community(CreateCommunity(C, "West", actor=SYSTEM), uows())
        ann, bo = (
            register_resident(RegisterResident(C, name, phone, actor=SYSTEM), uows()).id
            for name, phone in (("Ann", "13800000001"), ("Bo", "13800000002"))
        )
        declared = declare_relative(
            DeclareRelative(C, ann, MOTHER, Relation.PARENT, "妈妈", "d1", actor=SYSTEM),
            uows(),
            keys,
        )
        declare_relative(
            DeclareRelative(C, bo, MOTHER, Relation.PARENT, "", "d2", actor=SYSTEM), uows(), keys
        )
        assert keys is not None
        mother = keys.of(MOTHER)
        assert transfer_recipient(C, ann, mother, uows(), keys, actor=SYSTEM) is (
            Recipient.NOT_RELATED
        )
        change_relative(ChangeRelative(C, ann, declared.id, True, "c1", actor=SYSTEM), uows())
        assert transfer_recipient(C, ann, mother, uows(), keys, actor=SYSTEM) is Recipient.RELATIVE
        assert transfer_recipient(C, bo, mother, uows(), keys, actor=SYSTEM) is (
            Recipient.NOT_RELATED  # Bo's declaration is not confirmed
        )
        own = person_key(C, ann, uows(), keys, actor=SYSTEM)
        assert transfer_recipient(C, ann, own, uows(), keys, actor=SYSTEM) is Recipient.SELF
        waiting, _ = list_relatives(C, "-", RelativeState.DECLARED, 0, 10, uows(), actor=SYSTEM)
        assert [r.resident_id for r in waiting] == [bo]
        with plumbing.engine.connect() as connection:
            rows = [
                tuple(map(str, r))
                for r in connection.execute(sa.text("SELECT * FROM resident_relatives"))
            ]
        assert len(rows) == 2 and not any("1391234" in value for row in rows for value in row)
        change_relative(ChangeRelative(C, ann, declared.id, False, "r1", actor=SYSTEM), uows())
        assert transfer_recipient(C, ann, mother, uows(), keys, actor=SYSTEM) is (
            Recipient.NOT_RELATED
        )
    finally:
        plumbing.engine.dispose()
