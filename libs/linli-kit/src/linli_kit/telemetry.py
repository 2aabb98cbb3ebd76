"""OpenTelemetry from OTEL_* variables, and trace context carried through event envelopes."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


def configure_telemetry(service: str, *processors: SpanProcessor) -> TracerProvider:
    """Install a tracer provider exporting as OTEL_* says, plus any extra span processors.

    With nothing to export to (OTEL_TRACES_EXPORTER=none, or otlp without an endpoint) no span
    is recorded (trace context still propagates) and SQL statements are not traced: per
    statement spans nobody reads were a fifth of a sign-out's CPU in attendance.
    """
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)})
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    exporting = bool(processors) or exporter == "console" or (exporter == "otlp" and endpoint)
    provider = TracerProvider(resource=resource, sampler=None if exporting else ALWAYS_OFF)
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp" and endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    for instrumentor in (RedisInstrumentor(), GrpcInstrumentorClient()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    return provider


def instrument_engine(engine: Any) -> None:
    """Trace the SQL statements of one SQLAlchemy engine, unless no span is recorded."""
    provider = trace.get_tracer_provider()
    if getattr(provider, "sampler", None) is not ALWAYS_OFF:
        SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider)


def current_traceparent() -> str:
    """The W3C traceparent of the active span, or '' outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


def context_from_traceparent(traceparent: str) -> otel_context.Context:
    """A context whose parent is the span named by a W3C traceparent."""
    return _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})


# A batch span is a child of its first caller's span (a batch of one stays in its caller's
# trace) and links every caller's span, so each trace finds the batch that carried its work.
@contextlib.contextmanager
def batch_span(
    name: str, callers: Sequence[contextvars.Context], tracer: trace.Tracer | None = None
) -> Iterator[None]:
    """A span for work done at once for several callers, linked to each caller's span."""
    spans = [caller.run(trace.get_current_span).get_span_context() for caller in callers]
    parent = callers[0].run(otel_context.get_current) if callers else None
    with (tracer or trace.get_tracer(__name__)).start_as_current_span(
        name,
        context=parent,
        links=[trace.Link(span) for span in spans if span.is_valid],
        attributes={"linli.batch_size": len(callers)},
    ):
        yield
