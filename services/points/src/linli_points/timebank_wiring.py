"""The time bank's part of `bootstrap.build_app`: its servicers, exchange port and jobs (E4)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from linli.points.v1 import timebank_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics, schedules
from linli_kit.db import SqlPlumbing
from linli_kit.domain import Clock, utc_now
from linli_kit.paseto import PasetoKeyring
from linli_points.adapters.ledger import LedgerMemory
from linli_points.adapters.timebank import GrpcExchange, PasetoStatements, SqlTimeBankUnitOfWork
from linli_points.entrypoints import timebank_api
from linli_points.service_layer import timebank
from linli_points.service_layer.recipients import People
from linli_points.service_layer.timebank import (
    Exchange,
    Federation,
    Statements,
    TimeBankUnitOfWork,
    UowFactory,
)
from linli_points.service_layer.writer import Submit
from linli_points.timebank_settings import TimeBankSettings

log = logging.getLogger(__name__)


@dataclass
class TimeBank:
    """What the app adds for the time bank: a servicer, workers, and what to close."""

    servicer: timebank_api.TimeBankServicer
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def register(self, server: Any) -> None:
        """Add TimeBankService to the app's server."""
        pb_grpc.add_TimeBankServiceServicer_to_server(self.servicer, server)


def uow_factory(plumbing: SqlPlumbing) -> UowFactory:
    """Units of work over the points database with the transfers beside the ledger."""
    memory = LedgerMemory()
    return lambda: SqlTimeBankUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox, memory
    )


def recover_and_measure(
    uows: UowFactory,
    exchange: Exchange,
    federation: Federation,
    submit: Submit[TimeBankUnitOfWork],
    now: datetime,
) -> int:
    """The recovery job: every pending transfer one step on, then the gauges."""
    settled = timebank.recover(uows, exchange, federation, now, submit=submit)
    community_id = federation.community_id
    for gauge in timebank.gauges(uows(), federation, now):
        metrics.TIMEBANK_PENDING.labels(community_id, gauge.peer).set(gauge.pending)
        metrics.TIMEBANK_OLDEST_PENDING.labels(community_id, gauge.peer).set(gauge.oldest_seconds)
        metrics.TIMEBANK_CLEARING.labels(community_id, gauge.peer).set(gauge.clearing)
        metrics.TIMEBANK_CREDIT_LIMIT.labels(community_id, gauge.peer).set(gauge.credit_limit)
    return settled


def reconcile_and_measure(
    uows: UowFactory,
    exchange: Exchange,
    federation: Federation,
    statements: Statements,
    now: datetime,
) -> list[timebank.Reconciliation]:
    """The reconciliation job: exchange statements with every peer, count the mismatches."""
    results = timebank.reconcile(uows, exchange, federation, statements)
    for result in results:
        if result.compared:
            metrics.TIMEBANK_MISMATCHES.labels(federation.community_id, result.peer).set(
                len(result.mismatches)
            )
    return results


@dataclass(frozen=True)
class Parts:
    """The time bank's adapters, wired from its settings."""

    uows: UowFactory
    federation: Federation
    exchange: GrpcExchange
    statements: PasetoStatements
    peer_cas: dict[str, bytes]
    tls: auth.TlsFiles


def parts(settings: TimeBankSettings, plumbing: SqlPlumbing, tls_dir: str, people: People) -> Parts:
    """The time bank's adapters (connecting to nothing until first use); `people`: identity
    here (the senders' person keys)."""
    folder = settings.tls_dir or tls_dir
    if not folder:
        raise SystemExit("the time bank needs mutual TLS: LINLI_POINTS_TLS_DIR or its tls_dir")
    try:  # fail fast, naming what is missing
        tls = auth.TlsFiles.from_dir(folder)
        peer_cas = {p.id: p.ca_pem() for p in settings.peers}
        keys = settings.keys()
        keyring = PasetoKeyring(keys.seeds(), keys.current)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"the time bank cannot start: {exc}") from None
    federation = settings.federation()
    return Parts(
        uow_factory(plumbing),
        federation,
        GrpcExchange(federation.community_id, tls, peer_cas, people),
        PasetoStatements(keyring, {p.id: p.statement_key for p in settings.peers}),
        peer_cas,
        tls,
    )


def build(
    settings: TimeBankSettings,
    plumbing: SqlPlumbing,
    *,
    tls_dir: str,
    host: str,
    verifier: auth.Verifier,
    people: People,
    submit: Submit[TimeBankUnitOfWork],
    clock: Clock = utc_now,
) -> TimeBank:
    """The time bank for the app: TimeBankService, the exchange port, recovery, reconciliation;
    every step that posts goes through the community's writer (`submit`)."""
    wired = parts(settings, plumbing, tls_dir, people)
    uows, federation, exchange = wired.uows, wired.federation, wired.exchange
    exchange_servicer = timebank_api.ExchangeServicer(
        uows,
        federation,
        wired.statements,
        timebank_api.PeerGate(wired.peer_cas),
        submit,
        clock,
        people=people,
    )

    async def close() -> None:
        exchange.close()

    bank = TimeBank(timebank_api.TimeBankServicer(uows, exchange, federation, submit, clock))
    bank.background += [
        functools.partial(
            timebank_api.exchange_server,
            exchange_servicer,
            wired.tls,
            wired.peer_cas,
            verifier,
            host,
            settings.exchange_port,
        ),
        # Harmless on several replicas at once: each transfer is settled once, under a row lock,
        # and every question to a peer is idempotent by transfer id.
        schedules.every(
            "points.timebank-recovery",
            settings.recovery_seconds,
            functools.partial(recover_and_measure, uows, exchange, federation, submit),
            clock=clock,
        ).run,
        schedules.every(
            "points.timebank-reconciliation",
            settings.reconcile_seconds,
            functools.partial(reconcile_and_measure, uows, exchange, federation, wired.statements),
            fence=plumbing.engine,
            clock=clock,
        ).run,
    ]
    bank.on_stop.append(close)
    return bank
