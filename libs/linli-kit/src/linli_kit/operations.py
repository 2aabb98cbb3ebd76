"""The operations API every consuming service serves: its dead letters, by RPC."""

from __future__ import annotations

import asyncio
import base64
import binascii

import grpc
from linli.ops.v1 import operations_service_pb2 as pb
from linli.ops.v1 import operations_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.deadletters import DeadLetter, DeadLetters
from linli_kit.errors import InvalidArgument
from linli_kit.names import page_size
from linli_kit.principals import Role, current_principal

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OperationsService"].full_name
MAX_DEAD_LETTERS_PAGE = 200
# Dead letters carry residents' events: site reliability engineers only.
POLICY: auth.Policy = {
    "ListDeadLetters": auth.persons(Role.SRE),
    "ReplayDeadLetter": auth.persons(Role.SRE),
    "DiscardDeadLetter": auth.persons(Role.SRE),
}


def _message(letter: DeadLetter) -> pb.DeadLetter:
    message = pb.DeadLetter(
        id=letter.id,
        stream=letter.stream,
        source_id=letter.source_id,
        group=letter.group,
        reason=letter.reason,
        event_type=letter.event_type,
        event_id=letter.event_id,
        community_id=letter.community_id,
    )
    if letter.occurred_at is not None:
        message.occurred_at.FromDatetime(letter.occurred_at)
    return message


def _after(token: str) -> str:
    """The letter id a page token continues after ('' for none)."""
    if not token:
        return ""
    try:
        kind, _, letter_id = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument("page_token is not one this server issued") from exc
    if kind != "d" or not letter_id:
        raise InvalidArgument("page_token is not one this server issued")
    return letter_id


class OperationsServicer(pb_grpc.OperationsServiceServicer):
    """Lists, replays and discards dead letters; each change is recorded with its actor."""

    def __init__(self, letters: DeadLetters) -> None:
        self.letters = letters

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        size = min(page_size(request.page_size), MAX_DEAD_LETTERS_PAGE)
        found = await asyncio.to_thread(
            self.letters.list, request.stream, size + 1, _after(request.page_token)
        )
        page, more = found[:size], len(found) > size
        token = base64.urlsafe_b64encode(f"d:{page[-1].id}".encode()).decode() if more else ""
        return pb.ListDeadLettersResponse(
            dead_letters=[_message(letter) for letter in page], next_page_token=token
        )

    async def ReplayDeadLetter(
        self, request: pb.ReplayDeadLetterRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReplayDeadLetterResponse:
        letter = await asyncio.to_thread(
            self.letters.replay,
            request.stream,
            request.dead_letter_id,
            current_principal().subject,
            request.request_id,
        )
        return pb.ReplayDeadLetterResponse(dead_letter=_message(letter))

    async def DiscardDeadLetter(
        self, request: pb.DiscardDeadLetterRequest, context: grpc.aio.ServicerContext
    ) -> pb.DiscardDeadLetterResponse:
        letter = await asyncio.to_thread(
            self.letters.discard,
            request.stream,
            request.dead_letter_id,
            current_principal().subject,
            request.reason,
            request.request_id,
        )
        return pb.DiscardDeadLetterResponse(dead_letter=_message(letter))
