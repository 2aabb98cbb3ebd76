"""Partners domain events as protobuf payloads for partners.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import partners_events_pb2 as pb

from linli_kit.domain import DomainEvent
from linli_partners.domain.names import CONTRIBUTION, PARTNER
from linli_partners.domain.partners import ContributionRecorded, PartnerRevoked, PartnerTitleGranted


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for a partners event."""
    match event:
        case ContributionRecorded():
            partner = PARTNER.format(community=event.community_id, partner=event.partner_id)
            return pb.ContributionRecorded(
                contribution=CONTRIBUTION.format(
                    community=event.community_id,
                    partner=event.partner_id,
                    contribution=event.contribution_id,
                ),
                partner=partner,
                value_fen=event.value_fen,
                year=event.year,
            )
        case PartnerTitleGranted():
            return pb.PartnerTitleGranted(
                partner=PARTNER.format(community=event.community_id, partner=event.partner_id),
                year=event.year,
                certificate_number=event.certificate_number,
                value_fen=event.value_fen,
            )
        case PartnerRevoked():
            return pb.PartnerRevoked(
                partner=PARTNER.format(community=event.community_id, partner=event.partner_id),
                reason=event.reason,
            )
    raise TypeError(f"no payload for {type(event).__name__}")
