"""Order-sign / order-select: the guideline card of an ordered agent, from the record's cached Evaluation.

The Evaluation is the one patient-view computes for the same record (the prefetch as recorded, without the
draft orders as concomitant medicines) and the service caches (:meth:`ServiceContext.evaluation`), so an
order for a patient whose chart was opened costs a read of its cached JSON, not an engine run. The card
itself is built in :mod:`netcds.fhir.guideline_cards`.
"""

from __future__ import annotations

import logging
from typing import Any

from netcds.api.context import ServiceContext
from netcds.api.eval_cache import MappedPatient
from netcds.api.middleware import new_error_id, where_raised
from netcds.api.view_cards import keep_all_cards
from netcds.engine.core import guideline_ref
from netcds.fhir.guideline_cards import (
    GuidelineFacts,
    guideline_order_card,
    guideline_unchecked_card,
    tables_listing,
)

log = logging.getLogger("netcds.api")


def guideline_facts(ctx: ServiceContext, mapped: MappedPatient) -> GuidelineFacts:
    """The parts of the record's Evaluation the guideline card needs (cached, else computed and cached)."""
    kb = ctx.knowledge()
    found = ctx.evaluation(mapped.patient, kb, mapped.digest)
    if found.evaluation is not None:  # computed now: the chart's cards too, while the object is here
        keep_all_cards(ctx, found.evaluation, mapped.digest, kb)
    return GuidelineFacts.of(found.evaluation, found.body)


def guideline_card(ctx: ServiceContext, facts: GuidelineFacts, agent: str, seed: str) -> dict[str, Any]:
    """The info card saying whether the guideline lists ``agent`` for this patient."""
    listing = tables_listing(ctx.knowledge(), agent)
    return guideline_order_card(facts, agent, listing, base_url=ctx.base_url, seed=seed)


def logged_fault(part: str, request_id: str | None, exc: Exception) -> str:
    """Log a part of an order check that failed inside netcds, as the service's catch-all logs an error
    (an id, the exception type and where it was raised; never its message, which could quote the record),
    and return the id the card shows."""
    error_id = new_error_id()
    log.error(
        "order check part failed id=%s part=%s request=%s type=%s at %s",
        error_id,
        part,
        request_id,
        type(exc).__name__,
        where_raised(exc),
    )
    return error_id


def unchecked_card(ctx: ServiceContext, agent: str, error_id: str, seed: str) -> dict[str, Any]:
    """The info card standing in for the guideline card when the record's evaluation failed."""
    kb = ctx.knowledge()
    listing = tables_listing(kb, agent)
    return guideline_unchecked_card(
        agent, listing, error_id, guideline_ref(kb), base_url=ctx.base_url, seed=seed
    )
