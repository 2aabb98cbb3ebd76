"""A batch's span belongs to its first caller's trace and links every caller's span."""

from __future__ import annotations

import contextvars

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from linli_kit.telemetry import batch_span


def test_a_batch_span_is_in_the_first_trace_and_links_them_all() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    callers, contexts = [], []
    for name in ("first", "second"):
        with tracer.start_as_current_span(name) as span:
            callers.append(span.get_span_context())
            contexts.append(contextvars.copy_context())
    with batch_span("write", contexts, tracer):
        pass
    (written,) = [s for s in exporter.get_finished_spans() if s.name == "write"]
    assert written.context.trace_id == callers[0].trace_id
    assert [link.context for link in written.links] == callers
    assert written.attributes["linli.batch_size"] == 2
