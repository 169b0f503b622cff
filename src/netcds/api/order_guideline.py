"""Order-sign / order-select: the guideline card of an ordered agent, from the record's cached Evaluation.

The Evaluation is the one patient-view computes for the same record (the prefetch as recorded, without the
draft orders as concomitant medicines) and the service caches (:meth:`ServiceContext.evaluation`), so an
order for a patient whose chart was opened costs a read of its cached JSON, not an engine run. The card
itself is built in :mod:`netcds.fhir.guideline_cards`.
"""

from __future__ import annotations

from typing import Any

from netcds.api.context import ServiceContext
from netcds.api.eval_cache import MappedPatient
from netcds.api.view_cards import keep_all_cards
from netcds.fhir.guideline_cards import GuidelineFacts, guideline_order_card, tables_listing
from netcds.knowledge.schema import Knowledge


def knowledge_key(kb: Knowledge) -> tuple[str, str, str]:
    """The guideline version's part of a cache key (a card built from another version is not reused)."""
    return kb.id, kb.version, kb.digest or ""


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
