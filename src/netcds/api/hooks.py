"""CDS Hooks 2.0 endpoints: discovery, patient-view, order-sign / order-select, feedback.

Every call carries the client's JWT (verified in auth.py, ``aud`` = the endpoint's
URL) unless the service runs in explicit open mode. Patient data come from the
prefetch (or the client's FHIR server when fetching is enabled); without them the
answer is 412. No patient content is logged: the audit log gets the input hash and
card uuids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from netcds import __version__
from netcds.api import optional
from netcds.api.auth import OPEN, MissingTokenError, Principal
from netcds.api.context import INLINE_BYTES, Later, ServiceContext, app_context, run_later, run_work, service
from netcds.api.context import NeedsWork as NeedsWork
from netcds.api.eval_cache import OBJECT_FACTOR, MappedPatient, knowledge_key
from netcds.api.examples import FEEDBACK_EXAMPLE, ORDER_SIGN_EXAMPLE, PATIENT_VIEW_EXAMPLE
from netcds.api.hook_checks import (
    check_context_patient,
    check_draft,
    check_draft_subjects,
    check_finite,
    check_patient_id,
    invalid_hook,
    order_targets,
    unread_orders,
)
from netcds.api.hook_models import (
    SERVICES,
    CardsResponse,
    Discovery,
    FeedbackRequest,
    FeedbackStored,
    HookRequest,
)
from netcds.api.issued_cards import check_feedback, record_issued
from netcds.api.order_guideline import (
    guideline_card,
    guideline_facts,
    logged_fault,
    unchecked_card,
)
from netcds.api.order_interactions import (
    agent_screen,
    concomitant_cards,
    concomitant_orders,
    record_or_reason,
    with_drafts,
)
from netcds.api.orders import DraftMedication, draft_medications
from netcds.api.prefetch import resolve
from netcds.api.problems import (
    ApiProblem,
    Problem,
    input_problem,
    parse_json_body,
    read_body,
    validation_problem,
)
from netcds.api.view_cards import cached_cards, explanation_url, keep_cards
from netcds.errors import InputError
from netcds.fhir.cards import (
    EXPLANATION,
    order_cards,
    unread_order_card,
    unscreened_card,
    with_explanation,
)
from netcds.fhir.guideline_cards import with_guideline_card
from netcds.ids import new_id
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, sha256_hex

log = logging.getLogger("netcds.api.hooks")
T = TypeVar("T")
router = APIRouter(tags=["cds-hooks"])
Ctx = Annotated[ServiceContext, Depends(service)]
P = {"model": Problem, "content": {"application/problem+json": {}}}
HOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**P, "description": "missing, invalid, expired or replayed JWT"},
    404: {**P, "description": "no such CDS service"},
    412: {**P, "description": "prefetch missing and no FHIR server access (lists `missing_prefetch`)"},
    413: {**P, "description": "request body over the configured limit"},
    415: {**P, "description": "the body is not JSON"},
    422: {**P, "description": "malformed hook request; `errors` lists the fields"},
}
ServiceId = Annotated[
    str,
    Path(
        description="a service id from the discovery document",
        examples=["netcds-patient-view", "netcds-order-sign"],
    ),
]


def _principal(request: Request, ctx: ServiceContext, audiences: list[str]) -> Principal:
    if ctx.settings.hooks_open:
        return OPEN
    return ctx.verifier.verify_header(
        request.headers.get("authorization"), audiences + list(ctx.settings.hooks_audiences)
    )


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _no_tumor(exc: InputError) -> bool:
    """The record holds no neuroendocrine tumor this service can read (not a malformed request)."""
    return exc.field in ("tumor", "tumor.primary_site", "<patient>.tumor")


@router.get(
    "/cds-services",
    response_model=Discovery,
    summary="CDS Hooks discovery",
    responses={401: HOOK_ERRORS[401]},
)
async def discovery(request: Request, ctx: Ctx) -> Discovery:
    await run_work(_principal, request, ctx, [f"{ctx.base_url}/cds-services"])
    return Discovery(services=list(SERVICES.values()))


@router.post(
    "/cds-services/{service_id}",
    response_model=CardsResponse,
    responses=HOOK_ERRORS,
    summary="Call a CDS service (patient-view, order-sign, order-select)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "a CDS Hooks 2.0 request"},
                    "examples": {
                        "patient-view": {"value": PATIENT_VIEW_EXAMPLE},
                        "order-sign": {"value": ORDER_SIGN_EXAMPLE},
                    },
                }
            },
        }
    },
)
async def call_service(service_id: ServiceId, request: Request) -> Response:
    ctx = app_context(request)  # not a dependency: resolving one costs FastAPI more than a cached call
    definition = SERVICES.get(service_id)
    if definition is None:
        raise ApiProblem(404, f"no CDS service '{service_id}'", kind="unknown-service")
    _require_header(request, ctx)
    raw_body = await read_body(request, ctx.settings.max_body_bytes)
    later: Later = []
    scratch: dict[str, Any] = {}  # what a call tried on the event loop found out, for its worker

    def parse() -> tuple[Any, HookRequest]:
        data = parse_json_body(raw_body)
        check_finite(raw_body, data)
        try:
            return data, HookRequest.model_validate(data)
        except ValidationError as exc:
            raise validation_problem(exc, "hook request") from None

    def work(inline: bool = False) -> Response:
        who = _principal(request, ctx, [f"{ctx.base_url}/cds-services/{service_id}"])
        data, req = _once(scratch, "request", parse)
        if req.hook != definition.hook:
            raise invalid_hook(
                "hook",
                f"must be '{definition.hook}'",
                f"service {service_id} answers the '{definition.hook}' hook, not '{req.hook}'",
            )
        check_patient_id(req.context.get("patientId"))
        raw = data if isinstance(data, dict) else {}
        call = _Call(request, ctx, who, service_id, req, raw, later, inline, scratch)
        return _patient_view(call) if definition.hook == "patient-view" else _order_check(call)

    response = None
    if _may_answer_inline(ctx, raw_body):
        try:  # a chart opened before: answered from the caches right here, without a thread hop
            response = work(inline=True)
        except NeedsWork:
            later.clear()
    if response is None:
        response = await run_work(work)
    await run_later(later)
    return response


def _once(scratch: dict[str, Any], name: str, compute: Callable[[], T]) -> T:
    """``compute()``, once per call: the worker reuses what the try on the event loop already did."""
    if name not in scratch:
        scratch[name] = compute()
    found: T = scratch[name]
    return found


def _may_answer_inline(ctx: ServiceContext, body: bytes) -> bool:
    """Whether a hook call may be tried on the event loop: no token check (it records the ``jti``, a
    commit), no FHIR fetch, the guideline loaded, a usual body size."""
    s = ctx.settings
    return s.hooks_open and not s.fhir_fetch and len(body) <= INLINE_BYTES and ctx.has_knowledge()


@dataclass(frozen=True)
class _Call:
    """One hook call: who asked, what, and where its audit entries go (``inline``: tried on the event
    loop, so anything not cached raises NeedsWork)."""

    request: Request
    ctx: ServiceContext
    who: Principal
    service_id: str
    req: HookRequest
    raw: dict[str, Any]
    later: Later
    inline: bool
    scratch: dict[str, Any]

    def fresh(self, compute: Callable[[], T]) -> Callable[[], T]:
        """``compute`` (the mapping, the engine, a screen), or on the event loop one raising NeedsWork."""
        if not self.inline:
            return compute

        def not_here() -> T:
            raise NeedsWork

        return not_here

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        """Queue this call's audit entry (committed before the answer)."""
        self.later.append(
            partial(
                self.ctx.store.submit_audit,
                self.who.actor,
                action,
                self.req.hookInstance,
                _rid(self.request),
                detail,
            )
        )


def _require_header(request: Request, ctx: ServiceContext) -> None:
    """Refuse a call without any token before reading its body (the token itself is checked in a worker)."""
    if not ctx.settings.hooks_open and not request.headers.get("authorization"):
        raise MissingTokenError("missing Authorization: Bearer <JWT> header")


def _patient(call: _Call, fetch: bool = True) -> MappedPatient:
    """The record of the hook's prefetch (fetched from ``fhirServer`` for missing keys where allowed and
    ``fetch``), mapped once per prefetch and as-of date."""
    ctx = call.ctx

    def prefetched() -> tuple[dict[str, Any], str, date | None]:
        prefetch = resolve(
            SERVICES[call.service_id].prefetch,
            call.raw,
            fetch_enabled=ctx.settings.fhir_fetch and fetch,
            timeout_s=ctx.settings.fhir_fetch_timeout_s,
            budget_s=ctx.settings.fhir_fetch_budget_s,
            transport=ctx.fhir_transport,
        )
        # a live hook reads the record as of today (UTC), so ages and "within 3 weeks" checks can be
        # assessed; the date is part of the stored input (Patient.as_of), so a replay stays exact
        as_of = datetime.now(UTC).date() if ctx.settings.hooks_as_of_today else None
        if ctx.settings.fhir_fetch:  # what the FHIR server sent was not in the checked request body
            check_finite(None, prefetch, "prefetch")
        check_context_patient(call.req.context.get("patientId"), prefetch)
        return prefetch, canonical_json(prefetch), as_of

    prefetch, text, as_of = _once(call.scratch, "prefetch", prefetched)
    key = (sha256_hex(text), str(as_of))
    if isinstance(failed := ctx.eval_cache.get(("unmapped", *key)), InputError):
        raise InputError(failed.field, failed.message)  # not mapped again on every call (e.g. no NET)
    try:
        # the same prefetch maps to the same record (deterministic); weighed as its canonical JSON and
        # the Patient (not the prefetch)
        patient = ctx.eval_cache.memo(
            ("mapping", *key),
            MappedPatient,
            call.fresh(lambda: MappedPatient.of(optional.prefetch_to_patient(prefetch, as_of)[0])),
            lambda m: len(m.text) * (1 + OBJECT_FACTOR),
        )
    except InputError as exc:
        ctx.eval_cache.put(("unmapped", *key), InputError(exc.field, exc.message), 512 + len(exc.message))
        raise
    assert patient is not None
    return patient


def _cards(cards: list[dict[str, Any]]) -> Response:
    return JSONResponse({"cards": cards})


def _patient_view(call: _Call) -> Response:
    ctx, service_id = call.ctx, call.service_id
    try:
        mapped = _patient(call)
    except InputError as exc:
        if _no_tumor(exc):
            call.audit(
                "hooks.patient-view",
                {"service": service_id, "result": "no neuroendocrine tumor in the record"},
            )
            return _cards([])
        raise input_problem(exc) from None
    kb = ctx.knowledge()
    digest = mapped.digest
    found = ctx.cached_evaluation(kb, digest)
    template = cached_cards(ctx, service_id, digest, kb) if found is not None else None
    if template is None:  # the cards are built from the Evaluation object
        found = call.fresh(partial(ctx.compute_evaluation, mapped.patient, kb, digest))()
        assert found.evaluation is not None
        template = keep_cards(ctx, service_id, found.evaluation, digest, kb)
    assert found is not None
    evaluation_id = new_id() if ctx.settings.hooks_persist_evaluations else None
    cards = with_explanation(template, EXPLANATION, explanation_url(ctx, evaluation_id))
    uuids = [c["uuid"] for c in cards]
    if evaluation_id:
        call.later.append(
            partial(
                ctx.store.submit_evaluation,
                mapped.patient,
                found,
                origin="cds-hooks",
                actor=call.who.actor,
                request_id=_rid(call.request),
                service_id=service_id,
                hook_instance=call.req.hookInstance,
                card_uuids=uuids,
                evaluation_id=evaluation_id,
                output_zstd=found.packed,
                output_hash=found.output_hash,
                input_json=mapped.text,
            )
        )
    record_issued(call.later, ctx.store, service_id, cards)
    call.audit(
        "hooks.patient-view",
        {"service": service_id, "input_hash": digest, "evaluation_id": evaluation_id, "cards": uuids},
    )
    return _cards(cards)


def _order_check(call: _Call) -> Response:
    ctx, service_id, req = call.ctx, call.service_id, call.req
    orders = req.context.get("draftOrders")
    if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
        raise invalid_hook("context.draftOrders", "must be a FHIR Bundle")
    check_draft_subjects(req.context.get("patientId"), orders)
    drafts = draft_medications(orders, optional.rxnorm_codes())
    targets = order_targets(req.hook, req.context, drafts)
    unread = unread_orders(req.hook, req.context, drafts)
    action = f"hooks.{req.hook}"
    not_checked = _unread_cards(call, unread)
    ordered = concomitant_orders(req.hook, req.context, drafts)  # other drugs: checked against current agents
    # the record as sent (never fetched for an order of other drugs only: every order of every chart comes)
    found, why = record_or_reason(partial(_patient, call, False)) if ordered and not targets else (None, "")
    if found is None and not targets:  # no tabled agent ordered, no record needed or readable for the others
        cards = not_checked
        record_issued(call.later, ctx.store, service_id, cards)
        extra = {"concomitant": why} if why else {}
        call.audit(action, {"service": service_id, "agents": [], **_unread_detail(unread, cards), **extra})
        return _cards(cards)
    try:
        mapped = found if found is not None else _patient(call)
    except InputError as exc:
        if not _no_tumor(exc):
            raise input_problem(exc) from None
        seed = f"{service_id}|{req.context.get('patientId')}"
        reason = "no neuroendocrine tumor diagnosis could be read from the record"
        unscreened = [unscreened_card(d.agent or "", reason, ctx.base_url, seed) for d in targets]
        cards = unscreened + not_checked
        record_issued(call.later, ctx.store, service_id, cards)
        call.audit(
            action,
            {
                "service": service_id,
                "agents": [d.agent for d in targets],
                "result": "unscreened",
                **_unread_detail(unread, cards),
            },
        )
        return _cards(cards)
    patient, digest = with_drafts(mapped, drafts)
    kb = ctx.knowledge()
    cards = []
    failed: list[str] = []  # error ids of the parts of this check that failed inside netcds
    for d in targets:
        # an ordered agent's cards follow from the record (as recorded, for the guideline card; with the
        # drafts as concomitant medicines, for the screen), the draft order (and a Medication of the
        # Bundle it references), the agent data and the guideline version (the key)
        order = d.resource if d.drug.medication is None else [d.resource, d.drug.medication.resource]
        key = (
            "ordercards",
            service_id,
            digest,
            mapped.digest,
            d.agent or "",
            sha256_hex(canonical_json(order)),
            __version__,
            *knowledge_key(kb),
            ctx.base_url,
        )
        built = ctx.eval_cache.get(key)
        if not isinstance(built, list):
            # only a valid draft's cards are built (and so cached): a cached answer's draft was checked
            check_draft(d)
            built, faults = _agent_cards(call, d, patient, digest, mapped)
            if faults:  # not kept: the next call tries again
                failed += faults
            else:
                ctx.eval_cache.put_json(key, built)
        cards += built
    more, faults, current = concomitant_cards(call, patient, digest, ordered, targets)
    cards += more + not_checked
    failed += faults
    record_issued(call.later, ctx.store, service_id, cards)
    call.audit(
        action,
        {
            "service": service_id,
            "input_hash": digest,
            "agents": [d.agent for d in targets],
            "cards": [c["uuid"] for c in cards],
            **({"failed": failed} if failed else {}),
            **({"unread_orders": len(unread)} if unread else {}),
            **({"current_agents": current} if current else {}),
        },
    )
    return _cards(cards)


def _unread_cards(call: _Call, unread: list[DraftMedication]) -> list[dict[str, Any]]:
    """An info card for each draft MedicationRequest whose drug netcds could not read (each checked as FHIR
    R4 first: an invalid one is refused with a 422, not reported as unread)."""
    out = []
    for d in unread:
        check_draft(d)
        where = d.reference or d.loc.removesuffix(".resource")
        seed = f"{call.service_id}|{call.req.context.get('patientId')}|unread|{where}"
        out.append(unread_order_card(where, d.unread or "", seed))
    return out


def _unread_detail(unread: list[DraftMedication], cards: list[dict[str, Any]]) -> dict[str, Any]:
    """What an audit entry adds for drafts whose drug could not be read (nothing when there are none)."""
    return {"cards": [c["uuid"] for c in cards], "unread_orders": len(unread)} if unread else {}


def _agent_cards(
    call: _Call, d: DraftMedication, patient: Patient, digest: str, mapped: MappedPatient
) -> tuple[list[dict[str, Any]], list[str]]:
    """The order-select / order-sign cards of one ordered agent for this record: its safety and dose
    cards, and whether the guideline lists it for this patient (fhir/guideline_cards.py); and the error
    ids of the parts that failed inside netcds. One part failing does not hide the other: its card says
    the check was not done (never an all-clear) and the error is logged."""
    ctx, agent = call.ctx, d.agent or ""
    seed = f"{call.service_id}|{digest}|{agent}|{d.resource_id or ''}"
    faults: list[str] = []
    try:
        # the record's Evaluation as patient-view computes and caches it (once per call), without the drafts
        facts = _once(call.scratch, "guideline", call.fresh(partial(guideline_facts, ctx, mapped)))
        listed = guideline_card(ctx, facts, agent, seed)
    except NeedsWork:
        raise
    except Exception as exc:
        faults.append(logged_fault("guideline", _rid(call.request), exc))
        listed = unchecked_card(ctx, agent, faults[-1], seed)
    try:
        found = agent_screen(call, agent, patient, digest)
    except NeedsWork:
        raise
    except Exception as exc:
        faults.append(logged_fault("safety screen", _rid(call.request), exc))
        why = f"an internal error occurred (id {faults[-1]}; it has been logged)"
        return with_guideline_card([unscreened_card(agent, why, ctx.base_url, seed)], listed), faults
    if found is None:
        why = (
            "the safety layer is not installed"
            if not optional.safety_available()
            else "no safety data is encoded for it"
        )
        return with_guideline_card([unscreened_card(agent, why, ctx.base_url, seed)], listed), faults
    cards = order_cards(found, d.resource, base_url=ctx.base_url, seed=seed, drug=d.drug)
    return with_guideline_card(cards, listed), faults


@router.post(
    "/cds-services/{service_id}/feedback",
    response_model=FeedbackStored,
    responses=HOOK_ERRORS,
    summary="Feedback on cards: accepted suggestions or override reasons",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": FEEDBACK_EXAMPLE}},
        }
    },
)
async def feedback(service_id: ServiceId, request: Request, ctx: Ctx) -> FeedbackStored:
    if service_id not in SERVICES:
        raise ApiProblem(404, f"no CDS service '{service_id}'", kind="unknown-service")
    base = f"{ctx.base_url}/cds-services/{service_id}"
    _require_header(request, ctx)
    raw_body = await read_body(request, ctx.settings.max_body_bytes)

    def work() -> FeedbackStored:
        who = _principal(request, ctx, [f"{base}/feedback", base])
        try:
            body = FeedbackRequest.model_validate(parse_json_body(raw_body))
        except ValidationError as exc:
            raise validation_problem(exc, "feedback") from None
        check_feedback(ctx.store, service_id, body.feedback)  # only cards this service issued
        items = [i.model_dump(exclude_none=True) for i in body.feedback]
        ids = ctx.store.record_feedback(service_id, items, who.actor, _rid(request))
        ctx.store.audit(
            who.actor,
            "hooks.feedback",
            service_id,
            _rid(request),
            {
                "cards": [i.card for i in body.feedback],
                "outcomes": [i.outcome for i in body.feedback],
                "feedback_ids": ids,
            },
        )
        return FeedbackStored(stored=len(ids))

    return await run_work(work)
