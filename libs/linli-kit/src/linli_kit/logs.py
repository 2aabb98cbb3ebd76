"""Structured logging: JSON lines carrying the service name and the current trace id."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from opentelemetry import trace


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


# The grpc instrumentation's aio interceptor resets its span context from another context when
# a server stream is cancelled (opentelemetry-python-contrib issue 2357, open). OpenTelemetry
# catches the error itself and the span still ends, so its traceback is noise that would hide
# real ones in the logs.
class CancelledStreamContextNoise(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" report; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Failed to detach context"


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route stdlib and structlog records through one structured renderer on stderr."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    context_logger = logging.getLogger("opentelemetry.context")
    if not any(isinstance(f, CancelledStreamContextNoise) for f in context_logger.filters):
        context_logger.addFilter(CancelledStreamContextNoise())
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)
