"""The patient-view cards of a record's Evaluation, cached, and built wherever the Evaluation object is.

The cards are built from the Evaluation object, which the cache does not keep (it keeps the JSON bytes,
:mod:`netcds.api.eval_cache`). Order-sign needs the same record's Evaluation for its guideline card; when
it runs the engine for a record the chart has not shown yet, it builds the patient-view cards from the
object there and then (~50 µs), so the chart opened next reads them from the cache instead of running the
engine a second time for the same record.
"""

from __future__ import annotations

from typing import Any

from netcds.api.context import ServiceContext
from netcds.api.eval_cache import CacheKey, knowledge_key
from netcds.api.hook_models import SERVICES
from netcds.api.signed_links import evaluation_path
from netcds.evaluation import Evaluation
from netcds.fhir.cards import EXPLANATION, patient_view_cards
from netcds.knowledge.schema import Knowledge
from netcds.settings_smart import LAUNCH_PATH as SMART_LAUNCH_PATH

PATIENT_VIEW_SERVICES = tuple(s.id for s in SERVICES.values() if s.hook == "patient-view")


def cards_key(ctx: ServiceContext, service_id: str, digest: str, kb: Knowledge) -> CacheKey:
    smart = "smart" if ctx.settings.smart.enabled else ""  # the options card's SMART launch link
    return ("cards", service_id, digest, *knowledge_key(kb), ctx.base_url, smart)


def smart_launch_url(ctx: ServiceContext) -> str | None:
    """The SMART launch URL the options card links to when the service is a SMART app (docs/smart.md)."""
    return f"{ctx.base_url}{SMART_LAUNCH_PATH}" if ctx.settings.smart.enabled else None


def cached_cards(
    ctx: ServiceContext, service_id: str, digest: str, kb: Knowledge
) -> list[dict[str, Any]] | None:
    """The service's cards for the record with this content hash, if cached (explanation link unset)."""
    found = ctx.eval_cache.get(cards_key(ctx, service_id, digest, kb))
    return found if isinstance(found, list) else None


def keep_cards(
    ctx: ServiceContext, service_id: str, evaluation: Evaluation, digest: str, kb: Knowledge
) -> list[dict[str, Any]]:
    """Build the service's cards for this Evaluation of the record ``digest`` and cache them."""
    template = patient_view_cards(
        evaluation,
        base_url=ctx.base_url,
        seed=f"{service_id}|{digest}",
        explanation_url=EXPLANATION,
        smart_launch_url=smart_launch_url(ctx),
    )
    ctx.eval_cache.put_json(cards_key(ctx, service_id, digest, kb), template)
    return template


def keep_all_cards(ctx: ServiceContext, evaluation: Evaluation, digest: str, kb: Knowledge) -> None:
    """Every patient-view service's cards for a just-computed Evaluation (see the module docstring)."""
    for service_id in PATIENT_VIEW_SERVICES:
        keep_cards(ctx, service_id, evaluation, digest, kb)


def explanation_url(ctx: ServiceContext, evaluation_id: str | None) -> str | None:
    """The link a call's cards give to its stored evaluation: the evaluation's web page, signed for the
    configured lifetime (netcds.api.signed_links), so a clinician's browser opens it without a bearer
    token. None when the call stored no evaluation (``hooks.persist_evaluations`` off)."""
    if evaluation_id is None:
        return None
    return ctx.link_signer.url(ctx.base_url, evaluation_path(evaluation_id))
