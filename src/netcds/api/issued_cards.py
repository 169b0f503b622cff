"""The cards a hook answer issued, recorded with it, and feedback checked against them.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#feedback): a Feedback entry's ``card`` is "the
``card.uuid`` from the CDS Hooks response" and an AcceptedSuggestion's ``id`` is "the
``card.suggestion.uuid``". The specification names no status for feedback about something the service
never returned; netcds answers 422 naming each such field and stores nothing from that request, as it
does for a malformed entry. The same card may be reported more than once (the specification allows it),
so a card is not "used up" by its feedback.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from netcds.api.context import Later
from netcds.api.hook_models import FeedbackItem
from netcds.api.problems import invalid
from netcds.store.issued import IssuedCard
from netcds.store.repo import Store


def _canonical(value: str) -> str:
    """A uuid in the form netcds issues it (lower case, hyphenated); the models checked it parses."""
    return str(uuid.UUID(value))


def card_refs(cards: Sequence[Mapping[str, Any]]) -> list[IssuedCard]:
    """(card uuid, suggestion uuids) of each returned card."""
    return [
        (str(c["uuid"]), [str(s["uuid"]) for s in c.get("suggestions") or [] if s.get("uuid")])
        for c in cards
        if c.get("uuid")
    ]


def record_issued(later: Later, store: Store, service_id: str, cards: Sequence[Mapping[str, Any]]) -> None:
    """Queue the record of the cards a hook answer returns (committed before the answer is sent)."""
    if cards:
        later.append(partial(store.submit_issued_cards, service_id, card_refs(cards)))


def check_feedback(store: Store, service_id: str, items: Sequence[FeedbackItem]) -> None:
    """Raise a 422 problem listing every entry naming a card ``service_id`` did not issue, or a suggestion
    that card did not carry (checked when its suggestions were recorded)."""
    issued = store.issued_cards(service_id, (_canonical(i.card) for i in items))
    errors: list[tuple[str, str]] = []
    for n, item in enumerate(items):
        card = _canonical(item.card)
        if card not in issued:
            errors.append((f"feedback[{n}].card", f"is not the uuid of a card service {service_id} returned"))
            continue
        suggestions = issued[card]
        if suggestions is None:  # recorded before suggestion uuids were (migration 0004)
            continue
        for k, accepted in enumerate(item.acceptedSuggestions or []):
            if _canonical(accepted.id) not in suggestions:
                errors.append(
                    (f"feedback[{n}].acceptedSuggestions[{k}].id", f"is not a suggestion of card {card}")
                )
    if errors:
        raise invalid(errors, "feedback")
