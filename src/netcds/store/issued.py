"""The cards the CDS Hooks services issued, so that feedback can be checked against them.

CDS Hooks 2.0 has a Feedback entry's ``card`` be "the ``card.uuid`` from the CDS Hooks response" and an
accepted suggestion's ``id`` "the ``card.suggestion.uuid``" (https://cds-hooks.hl7.org/2.0/#feedback):
feedback names what the service returned. Every hook answer records its cards here (``issued_cards``:
one row per service and card uuid, written with the answer's other appends and committed before the
answer is sent); the feedback endpoint looks the named cards up by that primary key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from netcds.store.batch import GroupCommit
from netcds.store.models import IssuedCardRow
from netcds.store.trail import now_utc

if TYPE_CHECKING:
    from netcds.store.repo import KnownSet

IssuedCard = tuple[str, Sequence[str]]  # a card's uuid and its suggestions' uuids


@functools.cache
def _insert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for ``issued_cards``, built once per dialect: executed with a
    list of rows it is compiled once (SQLAlchemy's cache), where a multi-row ``values(rows)`` statement
    was compiled again for every answer (about a tenth of the mixed load's server CPU)."""
    ins = sqlite_insert if dialect == "sqlite" else pg_insert
    return ins(IssuedCardRow).on_conflict_do_nothing(index_elements=["service_id", "card_uuid"])


def _done() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


class IssuedCards:
    """Mixed into :class:`netcds.store.repo.Store`, which provides the transactions, the batcher and
    ``_issued`` (the (service, card) keys this process knows are committed)."""

    _batch: GroupCommit
    _issued: KnownSet

    def _tx(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def record_issued_cards(self, service_id: str, cards: Iterable[IssuedCard]) -> None:
        """Record the cards a service returned, and wait for the commit (see :meth:`submit_issued_cards`)."""
        self.submit_issued_cards(service_id, cards).result()

    def submit_issued_cards(self, service_id: str, cards: Iterable[IssuedCard]) -> Future[None]:
        """Queue the record of the cards ``service_id`` returned: (card uuid, suggestion uuids) each. A card
        already recorded keeps its row (the same uuid is the same card); cards this process knows are
        committed are not written again, so a chart opened again costs no write. The future resolves once
        the rows are committed."""
        fresh: dict[str, str] = {}
        for card_uuid, suggestions in cards:
            if f"{service_id}|{card_uuid}" not in self._issued:
                fresh[card_uuid] = json.dumps(list(suggestions))
        if not fresh:
            return _done()
        at = now_utc()

        def append(s: Session) -> None:
            in_batch: set[str] = s.info.setdefault("netcds.issued", set())
            rows = [
                {"service_id": service_id, "card_uuid": c, "suggestion_uuids": sug, "issued_at": at}
                for c, sug in fresh.items()
                if f"{service_id}|{c}" not in in_batch
            ]
            if not rows:
                return
            in_batch.update(f"{service_id}|{r['card_uuid']}" for r in rows)
            s.execute(_insert(s.get_bind().dialect.name), rows)  # executemany of one cached statement

        future = self._batch.submit(append)

        def remember(f: Future[None]) -> None:
            if f.exception() is None:
                for c in fresh:
                    self._issued.add(f"{service_id}|{c}")

        future.add_done_callback(remember)
        return future

    def issued_cards(self, service_id: str, card_uuids: Iterable[str]) -> dict[str, list[str] | None]:
        """Which of ``card_uuids`` ``service_id`` issued: card uuid -> its suggestions' uuids (None when
        they were not recorded). One primary-key lookup; cards of other services are not returned."""
        wanted = sorted(set(card_uuids))
        if not wanted:
            return {}
        with self._tx() as s:
            found = s.execute(
                select(IssuedCardRow.card_uuid, IssuedCardRow.suggestion_uuids).where(
                    IssuedCardRow.service_id == service_id, IssuedCardRow.card_uuid.in_(wanted)
                )
            ).all()
        return {c: (json.loads(sug) if sug is not None else None) for c, sug in found}
