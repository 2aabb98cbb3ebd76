"""The time bank's recipient rule (E4): a resident here receives a peer's transfer only from
themself or a confirmed relative; identity here decides, by the sender's person key."""

from __future__ import annotations

import abc
import dataclasses

from linli_points.domain.timebank import Offer, Recipient
from linli_points.service_layer.timebank import Federation, TimeBankUnitOfWork, offer_status


class People(abc.ABC):
    """Identity of this community: person keys and what a recipient is to a sender."""

    @abc.abstractmethod
    def person_key(self, community_id: str, resident_id: str) -> str:
        """A resident's person key; Unavailable when identity does not answer."""

    @abc.abstractmethod
    def recipient(self, community_id: str, resident_id: str, sender_key: str) -> Recipient:
        """What the resident is to the sender with this key; Unavailable without an answer."""


def checked_offer(
    offer: Offer, people: People, uow: TimeBankUnitOfWork, federation: Federation
) -> Offer:
    """The offer with identity's answer about its recipient, unless it was decided already
    (a repeat gets the first decision, whatever identity would say now)."""
    if offer_status(offer.peer, offer.transfer_id, uow, federation) is not None:
        return offer
    found = people.recipient(federation.community_id, offer.recipient_id, offer.sender_key)
    return dataclasses.replace(offer, recipient=found)
