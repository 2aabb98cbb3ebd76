"""The SQL ledger on real PostgreSQL: properties, concurrency, database guards and tampering."""

from __future__ import annotations

import importlib.util
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from linli_kit.db import migrate, sql_plumbing
from linli_kit.errors import FailedPrecondition
from linli_kit.principals import SYSTEM, Kind, Principal
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory as uow_factory
from linli_points.domain.appeals import AppealStatus
from linli_points.domain.council import Seat
from linli_points.domain.ledger import ISSUANCE, REDEMPTION, Account, Purpose
from linli_points.domain.reservations import ReservationState, Sink
from linli_points.domain.rules import ServiceType
from linli_points.entrypoints import cli
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import appeals, commands, council, earning, queries, reservations
from linli_points.service_layer.ports import PointsUnitOfWork

C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TERM = (date(2026, 1, 1), date(2027, 12, 31))


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


machine = _load(Path(__file__).resolve().parents[1] / "ledger_machine.py", "points_machine_sql")


@pytest.fixture
def database(make_database: Callable[[str], str]) -> str:
    """A migrated, empty points database."""
    url = make_database("points")
    migrate(url, MIGRATIONS)
    return url


@pytest.fixture
def make_uow(database: str) -> Iterator[Callable[[], PointsUnitOfWork]]:
    """A factory of SQL units of work on that database."""
    plumbing = sql_plumbing(database, orm.runtime, "test-points.events", events.encode)
    yield uow_factory(plumbing)
    plumbing.engine.dispose()


def earn(make_uow, event_id: str, hours: int = 1, resident: str = "r-alice", when: datetime = AT):
    """Award regular hours."""
    return earning.award_for_session(
        commands.AwardForSession(
            event_id=event_id,
            community_id=C,
            resident_id=resident,
            session=f"communities/{C}/activities/a/sessions/{event_id}",
            service_type=ServiceType.REGULAR,
            duration_seconds=hours * 3600,
            signed_in_at=when,
        ),
        make_uow(),
    )


def test_the_property_machine_holds_on_postgresql(make_uow) -> None:
    class SqlMachine(machine.LedgerMachine):
        def __init__(self) -> None:
            self.make_uow = make_uow
            super().__init__()

    run_state_machine_as_test(
        SqlMachine,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_eight_workers_lose_no_update_and_never_overdraw(make_uow) -> None:
    earn(make_uow, "seed", hours=5)
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for n in range(12):
            key = f"w{worker}-{n}"
            if n % 3 == 0:
                earn(make_uow, key)
                with lock:
                    outcomes.append(("award", 100))
                continue
            try:
                reservation = reservations.reserve(
                    commands.Reserve(SYSTEM, key, C, "r-alice", 70, Sink.REWARDS, "voucher", 600),
                    make_uow(),
                )
            except FailedPrecondition:
                with lock:
                    outcomes.append(("refused", 0))
                continue
            commit = n % 2 == 0
            reservations.settle_reservation(
                commands.SettleReservation(SYSTEM, f"s-{key}", C, reservation.id, commit),
                make_uow(),
            )
            with lock:
                outcomes.append(("spent" if commit else "released", 70))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    awarded = 500 + sum(a for kind, a in outcomes if kind == "award")
    spent = sum(a for kind, a in outcomes if kind == "spent")
    balance = queries.get_balance(SYSTEM, C, "r-alice", make_uow())
    assert balance == queries.Balance(yearly=awarded - spent, lifetime=awarded, reserved=0)
    assert len(outcomes) == 8 * 12
    assert sum(kind == "spent" for kind, _ in outcomes) > 0
    result = queries.verify_ledger(SYSTEM, C, make_uow())
    assert result.ok, result.breaks


def test_tampering_with_one_posting_is_found(make_uow, database) -> None:
    for n in range(3):
        earn(make_uow, f"e{n}", hours=n + 1)
    assert queries.verify_ledger(SYSTEM, C, make_uow()).ok
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        # The triggers refuse UPDATE; a superuser can switch them off, which the chain catches.
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            sa.text(
                "UPDATE postings SET amount = amount + 100 WHERE id = "
                "(SELECT p.id FROM postings p JOIN accounts a ON a.id = p.account_id "
                "JOIN transactions t ON t.id = p.transaction_id "
                "WHERE a.holder = 'r-alice' AND a.purpose = 'yearly' AND t.seq = 2)"
            )
        )
    engine.dispose()

    result = queries.verify_ledger(SYSTEM, C, make_uow())

    assert not result.ok
    assert any("entry 2" in b and "altered" in b for b in result.breaks)
    assert any("sum to 100" in b for b in result.breaks)
    assert any("r-alice:yearly" in b for b in result.breaks)


def test_the_database_itself_refuses_edits_unbalanced_postings_and_overdrafts(
    make_uow, database
) -> None:
    earn(make_uow, "e1")
    engine = sa.create_engine(database)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
        c.execute(sa.text("UPDATE postings SET amount = amount + 1"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
        c.execute(sa.text("DELETE FROM transactions"))
    with pytest.raises(sa.exc.DBAPIError, match="sum to 5"), engine.begin() as c:
        account = c.execute(sa.text("SELECT min(id) FROM accounts")).scalar_one()
        c.execute(
            sa.text(
                "INSERT INTO transactions (id, community_id, source_id, rule_id, reason, "
                "created_at, seq, hash) VALUES ('x', 'c-east', 's', 'r', 'r', now(), 99, 'h')"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO postings (transaction_id, account_id, amount, created_at) "
                "VALUES ('x', :a, 5, now())"
            ),
            {"a": account},
        )
    with pytest.raises(sa.exc.IntegrityError, match="resident_not_negative"), engine.begin() as c:
        c.execute(sa.text("UPDATE accounts SET balance = -1 WHERE holder = 'r-alice'"))
    engine.dispose()
    assert queries.verify_ledger(SYSTEM, C, make_uow()).ok


def refund(make_uow, reservation_id: str, request_id: str):
    """Refund a committed redemption as the rewards service would."""
    return reservations.refund_reservation(
        commands.RefundReservation(SYSTEM, request_id, C, reservation_id, "voucher cancelled"),
        make_uow(),
    )


def test_racing_refunds_give_a_redemption_back_once(make_uow) -> None:
    earn(make_uow, "e1", hours=3)
    reservation = reservations.reserve(
        commands.Reserve(SYSTEM, "o1", C, "r-alice", 100, Sink.REWARDS, "voucher", 600),
        make_uow(),
    )
    reservations.settle_reservation(
        commands.SettleReservation(SYSTEM, "c1", C, reservation.id, True), make_uow()
    )
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            refund(make_uow, reservation.id, f"f{worker}")
            outcome = "refunded"
        except FailedPrecondition as refused:
            outcome = str(refused)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("refunded") == 1
    assert all("already refunded" in o for o in outcomes if o != "refunded")
    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()) == queries.Balance(
        yearly=300, lifetime=300
    )
    with make_uow() as uow:
        assert uow.ledger.balance(Account(C, REDEMPTION, Purpose.YEARLY)) == 0
        stored = uow.reservations.get(C, reservation.id)
    assert stored is not None and stored.state is ReservationState.REFUNDED
    assert stored.refund_reason == "voucher cancelled" and stored.refunded_at is not None
    assert stored.settle_reason == "committed" and stored.settled_at is not None
    assert queries.verify_ledger(SYSTEM, C, make_uow()).ok


def test_the_database_refuses_a_second_refund_even_if_the_state_were_wrong(
    make_uow, database
) -> None:
    earn(make_uow, "e1", hours=3)
    reservation = reservations.reserve(
        commands.Reserve(SYSTEM, "o1", C, "r-alice", 100, Sink.REWARDS, "voucher", 600),
        make_uow(),
    )
    reservations.settle_reservation(
        commands.SettleReservation(SYSTEM, "c1", C, reservation.id, True), make_uow()
    )
    refund(make_uow, reservation.id, "f1")
    engine = sa.create_engine(database)
    with engine.begin() as c:  # a bug (or a hand edit) puts the reservation back to committed
        c.execute(sa.text("UPDATE reservations SET state = 'committed'"))
    engine.dispose()

    with pytest.raises(sa.exc.IntegrityError, match="uq_transactions_source"):
        refund(make_uow, reservation.id, "f2")

    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()).yearly == 300
    with make_uow() as uow:
        assert uow.ledger.balance(Account(C, REDEMPTION, Purpose.YEARLY)) == 0


def test_a_redelivered_event_and_a_retried_request_post_once(make_uow) -> None:
    earn(make_uow, "e1", hours=3)
    assert earn(make_uow, "e1", hours=3) is None
    command = commands.Reserve(SYSTEM, "req-1", C, "r-alice", 100, Sink.TIMEBANK, "to c-west", 600)
    first = reservations.reserve(command, make_uow())
    assert reservations.reserve(command, make_uow()).id == first.id

    with make_uow() as uow:
        assert uow.ledger.balance(Account(C, ISSUANCE, Purpose.YEARLY)) == -300
        assert len(uow.ledger.find(C)) == 2
    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()).reserved == 100


def test_the_embedded_sqlite_database_migrates_and_posts(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "points.events", events.encode)
    make_uow = uow_factory(plumbing)
    earn(make_uow, "e1", hours=2)
    reservation = reservations.reserve(
        commands.Reserve(SYSTEM, "r", C, "r-alice", 50, Sink.REWARDS, "x", 60),
        make_uow(),
        lambda: AT,
    )
    expired = reservations.void_expired(make_uow, AT + timedelta(minutes=5))
    plumbing.engine.dispose()

    assert reservation.amount == 50 and expired == 1


def test_a_history_pages_newest_first_from_the_index(make_uow) -> None:
    """Pages of a resident's history, from their yearly, lifetime and reserved accounts' newest
    postings, match every transaction touching them sorted by time and id."""
    for n in range(9):  # some at the same time, out of posting order
        earn(make_uow, f"e{n}", when=AT + timedelta(hours=(n * 5) % 4))
    reservations.reserve(
        commands.Reserve(SYSTEM, "o1", C, "r-alice", 70, Sink.REWARDS, "voucher", 600),
        make_uow(),
        lambda: AT + timedelta(hours=1),
    )
    earn(make_uow, "bob", resident="r-bob")
    with make_uow() as uow:
        mine = [t for t in uow.ledger.find(C) if t.resident_id == "r-alice"]
    expected = [t.id for t in sorted(mine, key=lambda t: (t.created_at, t.id), reverse=True)]

    pages = [
        queries.list_transactions(SYSTEM, C, "r-alice", o, 3, make_uow()) for o in (0, 3, 6, 9)
    ]

    assert [t.id for page in pages for t in page.transactions] == expected
    assert [bool(page.next_page_token) for page in pages] == [True, True, True, False]


def test_a_posting_dated_otherwise_than_its_transaction_is_found(make_uow, database) -> None:
    for n in range(3):
        earn(make_uow, f"e{n}")
    engine = sa.create_engine(database)
    with engine.begin() as connection:  # the copy a history is ordered by, moved by hand
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            sa.text(
                "UPDATE postings SET created_at = created_at + interval '1 day' WHERE "
                "transaction_id = (SELECT id FROM transactions WHERE seq = 2)"
            )
        )
    engine.dispose()

    result = queries.verify_ledger(SYSTEM, C, make_uow())

    with make_uow() as uow:
        second = next(e.transaction.id for e in uow.ledger.chain(C) if e.seq == 2)
    assert result.breaks == [
        f"entry 2 (transaction {second}) has 4 postings dated otherwise than the transaction"
    ]


def test_chains_are_per_community(make_uow) -> None:
    earn(make_uow, "e1")
    earning.award_for_session(
        commands.AwardForSession(
            f"w-{uuid.uuid4()}", "c-west", "r-bob", "s", ServiceType.REGULAR, 3600, AT
        ),
        make_uow(),
    )
    with make_uow() as uow:
        assert [e.seq for e in uow.ledger.chain("c-west")] == [1]
        assert sorted(uow.ledger.communities()) == ["c-east", "c-west"]


def test_operator_commands_close_verify_and_report(
    make_uow, database, servers, monkeypatch, capsys
) -> None:
    earn(make_uow, "e1", hours=2, when=AT - timedelta(days=365))
    monkeypatch.setenv("LINLI_POINTS_DATABASE_URL", database)
    monkeypatch.setenv("LINLI_POINTS_REDIS_URL", servers.redis)

    cli.main(["close-year", "--community", C, "--year", "2025"])
    cli.main(["close-year", "--community", C, "--year", "2025"])
    cli.main(["verify", "--community", C])
    cli.main(
        ["audit-report", "--community", C, "--year", "2025", "--quarter", "1", "--format", "csv"]
    )

    out = capsys.readouterr().out
    assert out.count('"expired_accounts": 1') == 1 and '"expired_accounts": 0' in out
    assert '"ok": true' in out
    assert "totals_by_rule,p1.hourly.regular,200" in out
    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()) == queries.Balance(0, 200)


def test_appeals_and_council_seats_are_read_a_page_at_a_time(make_uow) -> None:
    alice = Principal(Kind.PERSON, f"communities/{C}/residents/r-alice", C)
    staff = Principal(
        Kind.PERSON, f"communities/{C}/residents/r-staff", C, frozenset({"social_worker"})
    )
    awards = []
    for n in range(5):
        award = earn(make_uow, f"e-{n}", hours=n + 1, when=AT + timedelta(minutes=n))
        assert award is not None
        awards.append(award.id)
        appeals.file_an_appeal(
            commands.FileAppeal(alice, f"appeal-{n}", C, "r-alice", award.id, "more"),
            make_uow(),
            lambda n=n: AT + timedelta(days=1, minutes=n),
        )
        earning.record_org_unit(
            commands.RecordOrgUnit(f"reg-{n}", C, f"r-{n}", "grid-1/building-1"), make_uow()
        )
        council.seat(
            council.SeatMember(
                staff, f"seat-{n}", C, f"r-{n}", Seat.RESIDENT_REPRESENTATIVE, "", *TERM
            ),
            make_uow(),
            lambda n=n: AT + timedelta(minutes=n),
        )

    def pages(read: Callable[[int], tuple[list[Any], bool]]) -> list[Any]:
        found, offset, more = [], 0, True
        while more:
            page, more = read(offset)
            found.append(page)
            offset += 2
        return found

    filed = pages(lambda at: appeals.list_appeals(SYSTEM, C, None, (), at, 2, make_uow()))
    assert [len(p) for p in filed] == [2, 2, 1]
    assert [a.transaction_id for p in filed for a in p] == awards
    assert appeals.list_appeals(SYSTEM, C, None, {AppealStatus.ACCEPTED}, 0, 2, make_uow()) == (
        [],
        False,
    )
    seats = pages(lambda at: council.list_members(SYSTEM, C, at, 2, make_uow()))
    assert [m.resident_id for p in seats for m in p] == [f"r-{n}" for n in range(5)]
