"""Migrations on PostgreSQL: a ledger chained before rule kinds were stored still verifies (0003);
a redemption committed before refunds existed can be refunded (0004)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from linli_kit.db import migrate, sql_plumbing
from linli_kit.principals import SYSTEM
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory
from linli_points.domain.audit import GENESIS, LEGACY_CHAIN_VERSION, entry_hash
from linli_points.domain.ledger import Account, Kind, LedgerTransaction, RuleKind
from linli_points.domain.reservations import ReservationState, Sink, open_reservation
from linli_points.domain.rules import award
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import commands, queries, reservations

C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def old_transactions() -> list[LedgerTransaction]:
    """What a 0002-era ledger holds: an hourly award, its rating, a compensation, a hold."""
    hourly = award(
        community_id=C,
        resident_id="r-alice",
        amount=300,
        rule_id="p1.hourly.regular",
        source_id="e1",
        reason="3h",
        at=AT,
        rule_kind=RuleKind.SERVICE,
        session="s1",
    )
    rating = award(
        community_id=C,
        resident_id="r-alice",
        amount=30,
        rule_id="p1.hourly.regular+p3.rating.5",
        source_id="e2",
        reason="5 stars",
        at=AT + timedelta(hours=1),
        rule_kind=RuleKind.RATING,
        session="s1",
    )
    compensation = award(
        community_id=C,
        resident_id="r-alice",
        amount=100,
        rule_id="committee-award",
        source_id="a1",
        reason="appeal upheld",
        at=AT + timedelta(hours=2),
        rule_kind=RuleKind.APPEAL,
        kind=Kind.COMPENSATION,
        actor="r-judge",
    )
    hold = open_reservation(
        community_id=C,
        resident_id="r-alice",
        amount=50,
        sink=Sink.REWARDS,
        memo="voucher",
        at=AT + timedelta(hours=3),
        expires_at=AT + timedelta(hours=4),
    ).hold()
    return [hourly, rating, compensation, hold]


def write_as_0002(connection: sa.Connection, posted: list[LedgerTransaction]) -> None:
    """Insert chained rows the way the ledger did before rule kinds (version 1 hashes)."""
    balances: dict[Account, int] = defaultdict(int)
    for t in posted:
        for p in t.postings:
            balances[p.account] += p.amount
    ids = {}
    for account, balance in balances.items():
        ids[account] = connection.execute(
            sa.text(
                "INSERT INTO accounts (community_id, holder, purpose, balance) "
                "VALUES (:c, :h, :p, :b) RETURNING id"
            ),
            {"c": C, "h": account.holder, "p": account.purpose.value, "b": balance},
        ).scalar_one()
    previous = GENESIS
    for seq, t in enumerate(posted, start=1):
        previous = entry_hash(previous, seq, t, LEGACY_CHAIN_VERSION)
        connection.execute(
            sa.text(
                "INSERT INTO transactions (id, community_id, source_id, rule_id, reason, "
                "created_at, kind, resident_id, session, reverses, coefficient_percent, actor, "
                "seq, hash) VALUES (:id, :c, :source, :rule, :reason, :at, :kind, :resident, "
                ":session, :reverses, :coefficient, :actor, :seq, :hash)"
            ),
            {
                "id": t.id,
                "c": C,
                "source": t.source_id,
                "rule": t.rule_id,
                "reason": t.reason,
                "at": t.created_at,
                "kind": t.kind.value,
                "resident": t.resident_id,
                "session": t.session,
                "reverses": t.reverses,
                "coefficient": t.coefficient_percent,
                "actor": t.actor,
                "seq": seq,
                "hash": previous,
            },
        )
        for p in t.postings:
            connection.execute(
                sa.text(
                    "INSERT INTO postings (transaction_id, account_id, amount) VALUES (:t, :a, :m)"
                ),
                {"t": t.id, "a": ids[p.account], "m": p.amount},
            )
    connection.execute(
        sa.text("INSERT INTO chain_heads (community_id, seq, hash) VALUES (:c, :s, :h)"),
        {"c": C, "s": len(posted), "h": previous},
    )


def test_a_ledger_chained_before_rule_kinds_verifies_after_the_migration(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("points")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "0002")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        write_as_0002(connection, old_transactions())
    engine.dispose()

    migrate(url, MIGRATIONS)

    plumbing = sql_plumbing(url, orm.runtime, "test-points.events", events.encode)
    make_uow = sql_uow_factory(plumbing)
    try:
        before = queries.verify_ledger(SYSTEM, C, make_uow())
        with make_uow() as uow:
            kinds = [(t.rule_id, t.rule_kind) for t in uow.ledger.find(C)]
            uow.ledger.post(
                award(
                    community_id=C,
                    resident_id="r-alice",
                    amount=100,
                    rule_id="p5.training",
                    source_id="e9",
                    reason="first aid",
                    at=AT + timedelta(days=1),
                    rule_kind=RuleKind.TRAINING,
                )
            )
            uow.commit()
        after = queries.verify_ledger(SYSTEM, C, make_uow())
        with make_uow() as uow:
            versions = [e.version for e in uow.ledger.chain(C)]
    finally:
        plumbing.engine.dispose()

    assert before.ok, before.breaks
    assert before.transactions == 4
    assert kinds == [
        ("p1.hourly.regular", RuleKind.SERVICE),
        ("p1.hourly.regular+p3.rating.5", RuleKind.RATING),
        ("committee-award", RuleKind.APPEAL),
        ("r4.reserve", None),
    ]
    assert after.ok, after.breaks
    assert versions == [1, 1, 1, 1, 2]


def test_a_rule_kind_changed_in_place_breaks_the_chain(make_database) -> None:
    url = make_database("points")
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "test-points.events", events.encode)
    make_uow = sql_uow_factory(plumbing)
    try:
        with make_uow() as uow:
            uow.ledger.post(old_transactions()[0])
            uow.commit()
        with plumbing.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE transactions DISABLE TRIGGER USER"))
            connection.execute(sa.text("UPDATE transactions SET rule_kind = 'rating'"))
            connection.execute(sa.text("ALTER TABLE transactions ENABLE TRIGGER USER"))
        verification = queries.verify_ledger(SYSTEM, C, make_uow())
    finally:
        plumbing.engine.dispose()

    assert not verification.ok
    assert "altered" in verification.breaks[0]


def test_a_redemption_committed_before_refunds_existed_is_refunded_after_0004(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("points")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "0003")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO reservations (id, community_id, resident_id, amount, sink, memo, "
                "state, created_at, expires_at, settled_at, settle_reason) VALUES ('r-old', :c, "
                "'r-alice', 50, 'rewards', 'voucher', 'committed', :at, :until, :at, 'committed')"
            ),
            {"c": C, "at": AT, "until": AT + timedelta(hours=1)},
        )
    engine.dispose()

    migrate(url, MIGRATIONS)

    plumbing = sql_plumbing(url, orm.runtime, "test-points.events", events.encode)
    make_uow = sql_uow_factory(plumbing)
    try:
        with make_uow() as uow:
            old = uow.reservations.get(C, "r-old")
        refunded = reservations.refund_reservation(
            commands.RefundReservation(SYSTEM, "f1", C, "r-old", "voucher expired unused"),
            make_uow(),
            lambda: AT + timedelta(days=1),
        )
        with make_uow() as uow:
            stored = uow.reservations.get(C, "r-old")
    finally:
        plumbing.engine.dispose()

    assert old is not None and (old.refunded_at, old.refund_reason) == (None, "")
    assert refunded.state is ReservationState.REFUNDED
    assert stored is not None and stored.state is ReservationState.REFUNDED
    assert (stored.refunded_at, stored.refund_reason) == (
        AT + timedelta(days=1),
        "voucher expired unused",
    )
