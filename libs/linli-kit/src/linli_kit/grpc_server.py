"""A grpc.aio server with health, reflection, error mapping, metrics, tracing and clean shutdown."""

from __future__ import annotations

import abc
import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from linli.ops.v1 import operations_service_pb2_grpc as ops_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from linli_kit import errors, metrics
from linli_kit.auth import AuthInterceptor, PartnerDirectory, Policy, TlsFiles, Verifier
from linli_kit.deadletters import DeadLetters
from linli_kit.interception import replies, rewrapped
from linli_kit.operations import POLICY as OPERATIONS_POLICY
from linli_kit.operations import SERVICE_NAME as OPERATIONS_SERVICE
from linli_kit.operations import OperationsServicer
from linli_kit.ratelimits import Limits
from linli_kit.settings import ServiceSettings
from linli_kit.validation import validate

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    """The gRPC status code for a domain error (by its nearest mapped base class)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return grpc.StatusCode.FAILED_PRECONDITION


MAX_MESSAGE = 500  # characters; status details travel in a header of bounded size


def message_for(error: errors.DomainError) -> str:
    """The status message for a domain error, cut short so it never echoes a whole input."""
    text = str(error)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


_UNWATCHED = ("/grpc.health", "/grpc.reflection")


class _ServiceCallInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the unary and server-streaming calls of our services (not health, reflection)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_UNWATCHED):
            return handler
        return rewrapped(handler, self._unary, self._stream)

    @abc.abstractmethod
    def _unary(self, inner: Any) -> Any:
        """The unary behaviour `inner` is wrapped in."""

    @abc.abstractmethod
    def _stream(self, inner: Any) -> Any:
        """The server-streaming behaviour `inner` is wrapped in."""


class ValidationInterceptor(_ServiceCallInterceptor):
    """Checks a request's declared field limits before the handler sees it."""

    def _unary(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            validate(request)
            return await inner(request, context)

        return call

    def _stream(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            validate(request)
            async for response in replies(inner, request, context):
                yield response

        return call


@dataclass(frozen=True)
class Capacity:
    """How many unary calls and how many server streams one process serves at once.

    An overloaded server used to queue every call: gRPC cancelled those it had held
    unrequested for 30 s, and no log or metric of ours saw them. Beyond these bounds a call
    is refused at once with RESOURCE_EXHAUSTED, so a client knows to retry and those
    admitted are served in time. Streams (leaderboard watchers) last long and cost little
    while idle, so they have a budget of their own.
    """

    calls: int = 64
    streams: int = 4096

    @staticmethod
    def from_settings(settings: ServiceSettings) -> Capacity:
        """The capacity a service's settings set."""
        return Capacity(settings.max_calls_in_flight, settings.max_open_streams)


class _Budget:
    """Calls of one kind in flight, at most `bound`; the event loop is the only caller."""

    def __init__(self, service: str, kind: str, bound: int) -> None:
        self.service, self.kind, self.bound = service, kind, bound
        self.used = 0
        self.gauge = metrics.RPC_IN_FLIGHT.labels(service, kind)

    def take(self) -> None:
        """Count one more call in, or refuse it when the budget is spent."""
        if self.used >= self.bound:
            metrics.RPC_SHED.labels(self.service, self.kind).inc()
            raise errors.ResourceExhausted(
                f"{self.service} is at capacity ({self.kind} budget {self.bound})", 1
            )
        self.used += 1
        self.gauge.inc()

    def give_back(self) -> None:
        """Count a finished call out."""
        self.used -= 1
        self.gauge.dec()


class AdmissionInterceptor(_ServiceCallInterceptor):
    """Refuses a call at once when the server already serves its capacity (Capacity)."""

    def __init__(self, service: str, capacity: Capacity) -> None:
        self.calls = _Budget(service, "call", capacity.calls)
        self.streams = _Budget(service, "stream", capacity.streams)

    def _unary(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            self.calls.take()
            try:
                return await inner(request, context)
            finally:
                self.calls.give_back()

        return call

    def _stream(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            self.streams.take()
            try:
                async for response in replies(inner, request, context):
                    yield response
            finally:
                self.streams.give_back()

        return call


class ErrorsAndMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain errors to status codes, hides crashes, times and counts calls."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_UNWATCHED):
            return handler
        return rewrapped(
            handler,
            lambda inner: self._unary(inner, method),
            lambda inner: self._stream(inner, method),
        )

    def _unary(self, inner: Any, method: str) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started, code = time.perf_counter(), grpc.StatusCode.OK
            try:
                return await inner(request, context)
            except Exception as exc:
                code, message = self._status(exc, context, method)
                if message is not None:
                    await context.abort(code, message)
                raise
            finally:
                self._observe(method, code, started)

        return call

    def _stream(self, inner: Any, method: str) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started, code = time.perf_counter(), grpc.StatusCode.OK
            try:
                async for response in replies(inner, request, context):
                    yield response
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as exc:
                code, message = self._status(exc, context, method)
                if message is not None:
                    await context.abort(code, message)
                raise
            finally:
                self._observe(method, code, started)

        return call

    @staticmethod
    def _status(
        exc: Exception, context: grpc.aio.ServicerContext, method: str
    ) -> tuple[grpc.StatusCode, str | None]:
        """The status an exception stands for; no message when the handler already aborted."""
        if isinstance(exc, errors.DomainError):
            return status_for(exc), message_for(exc)
        if isinstance(exc, sa.exc.IntegrityError):
            return grpc.StatusCode.ABORTED, "a concurrent request changed the same data; retry"
        already = context.code()
        if isinstance(already, grpc.StatusCode) and already is not grpc.StatusCode.OK:
            return already, None
        log.exception("unhandled error in %s", method)
        return grpc.StatusCode.INTERNAL, "internal error"

    def _observe(self, method: str, code: grpc.StatusCode, started: float) -> None:
        name = method.rsplit("/", 1)[-1]
        metrics.RPC_DURATION.labels(self.service, name, code.name).observe(
            time.perf_counter() - started
        )
        metrics.RPC_REQUESTS.labels(self.service, name, code.name).inc()


@dataclass
class GrpcApp:
    """A service's servicers, who may call them, and its background workers, ready to serve."""

    name: str
    register: Callable[[grpc.aio.Server], None]
    # Full service name → its policy table (deny by default: an RPC missing refuses everyone).
    policies: Mapping[str, Policy]
    # Turns bearer tokens into persons: identity's published signing keys.
    verifier: Verifier
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    # The dead letters of the streams the service consumes, served by OperationsService.
    dead_letters: DeadLetters | None = None
    # Face bursts are several images in one request; gRPC's default limit is 4 MiB.
    max_message_bytes: int = 16 * 1024 * 1024
    # Full service name → calls per caller allowed for some of its RPCs.
    limits: Mapping[str, Limits] = field(default_factory=dict)
    # Where partners' scopes are kept (the partners service); None: partners hold no scopes.
    partners: PartnerDirectory | None = None
    # Threads running use cases and queries off the event loop (asyncio's default executor,
    # serve_until_signalled): each mostly waits on the database, and asyncio's own default
    # (cores + 4: 6 here) queued a city's sign-outs behind a few slow ones.
    worker_threads: int = 16

    @property
    def service_names(self) -> list[str]:
        """The full names of the services the app registers."""
        return list(self.policies)


@dataclass(frozen=True)
class Transport:
    """How the server listens: mutual TLS (or plaintext without it), reflection, health port."""

    tls: TlsFiles | None = None
    reflection: bool = False
    # With TLS, grpc.health.v1 is also served in plaintext here for the kubelet's probes.
    health_port: int = 0

    @staticmethod
    def from_settings(settings: ServiceSettings) -> Transport:
        """The transport a service's settings describe."""
        tls = TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
        return Transport(tls, settings.reflection, settings.health_port)


@dataclass
class RunningApp:
    """A started server with its background tasks; stop() shuts both down gracefully."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    app: GrpcApp
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    crashed: asyncio.Event = field(default_factory=asyncio.Event)
    # The plaintext health-only server for the kubelet's probes (with TLS).
    probes: grpc.aio.Server | None = None

    async def stop(self, grace: float = 5.0) -> None:
        """Refuse new calls, finish running ones within grace, then stop the workers."""
        for name in ("", *self.app.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)
        if self.probes is not None:
            await self.probes.stop(0)
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, stuck = await asyncio.wait(self.tasks, timeout=grace)
            for task in stuck:
                log.warning("background task %s did not stop within %.0fs", task.get_name(), grace)
        for hook in self.app.on_stop:
            await hook()
        if self.app.dead_letters is not None:
            self.app.dead_letters.close()


async def start(
    app: GrpcApp,
    host: str,
    port: int,
    transport: Transport = Transport(),
    capacity: Capacity = Capacity(),
) -> RunningApp:
    """Bind the server (port 0 picks a free one) and start the background workers."""
    policies = dict(app.policies)
    if app.dead_letters is not None:
        policies[OPERATIONS_SERVICE] = OPERATIONS_POLICY
    server = grpc.aio.server(
        # Outermost first: trace, then count and map every outcome (refusals included),
        # then admit within capacity (before a token costs a signature check),
        # then authenticate and authorise, and only then look at the request's fields.
        interceptors=[
            aio_server_interceptor(),
            ErrorsAndMetricsInterceptor(app.name),
            AdmissionInterceptor(app.name, capacity),
            AuthInterceptor(policies, app.verifier, app.limits, partners=app.partners),
            ValidationInterceptor(),
        ],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", app.max_message_bytes),
        ],
    )
    app.register(server)
    if app.dead_letters is not None:
        ops_grpc.add_OperationsServiceServicer_to_server(
            OperationsServicer(app.dead_letters), server
        )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if transport.reflection:
        reflection.enable_server_reflection(
            [*policies, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    if transport.tls is None:
        bound = server.add_insecure_port(f"{host}:{port}")
    else:
        bound = server.add_secure_port(f"{host}:{port}", transport.tls.server_credentials())
    await server.start()
    running = RunningApp(server, bound, health_servicer, app)
    if transport.tls is not None and transport.health_port:
        running.probes = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, running.probes)
        running.probes.add_insecure_port(f"{host}:{transport.health_port}")
        await running.probes.start()
    running.tasks = [asyncio.create_task(job(), name=f"{app.name}-bg") for job in app.background]
    for task in running.tasks:
        task.add_done_callback(lambda t: _report_crash(t, running.crashed))
    for name in ("", *policies):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return running


def _report_crash(task: asyncio.Task[None], crashed: asyncio.Event) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s died", task.get_name(), exc_info=task.exception())
        crashed.set()


async def serve_until_signalled(
    app: GrpcApp,
    host: str,
    port: int,
    transport: Transport = Transport(),
    capacity: Capacity = Capacity(),
) -> None:
    """Serve until SIGTERM or SIGINT (or a dead worker), then shut down gracefully."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(app.worker_threads, f"{app.name}-worker"))
    running = await start(app, host, port, transport, capacity)
    if transport.tls is None:
        log.warning(
            "%s serves plaintext: only bearer tokens authenticate, no service may", app.name
        )
    log.info("%s serving gRPC on %s:%d", app.name, host, running.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(running.crashed.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    log.info("%s shutting down", app.name)
    await running.stop()
    if running.crashed.is_set():
        raise SystemExit(f"{app.name}: a background worker died; exiting so that it restarts")
