"""Rebuilding a gRPC method handler around new behaviour (what every server interceptor does)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc


def rewrapped(
    handler: grpc.RpcMethodHandler,
    unary: Callable[[Any], Any],
    stream: Callable[[Any], Any],
) -> grpc.RpcMethodHandler:
    """The handler with its unary or server-streaming behaviour wrapped; others as they are."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            stream(handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


async def replies(inner: Any, request: Any, context: Any) -> AsyncIterator[Any]:
    """A server-streaming handler's replies, whether it yields them or writes them itself."""
    if inspect.isasyncgenfunction(inner):
        async for reply in inner(request, context):
            yield reply
    else:
        await inner(request, context)
