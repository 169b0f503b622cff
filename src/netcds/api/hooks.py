"""CDS Hooks 2.0 endpoints: discovery, patient-view, order-sign / order-select, feedback.

Every call carries the client's JWT (verified in auth.py, ``aud`` = the endpoint's
URL) unless the service runs in explicit open mode. Patient data come from the
prefetch (or the client's FHIR server when fetching is enabled); without them the
answer is 412. No patient content is logged: the audit log gets the input hash and
card uuids.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from netcds.api.auth import OPEN, MissingTokenError, Principal
from netcds.api.context import INLINE_BYTES, Later, ServiceContext, app_context, run_later, run_work, service
from netcds.api.context import NeedsWork as NeedsWork
from netcds.api.examples import FEEDBACK_EXAMPLE, ORDER_SIGN_EXAMPLE, PATIENT_VIEW_EXAMPLE
from netcds.api.hook_call import HookCall, cards_response, mapped_patient, no_tumor, once, request_id
from netcds.api.hook_checks import check_finite, check_patient_id, check_user_id, invalid_hook
from netcds.api.hook_models import (
    SERVICES,
    CardsResponse,
    Discovery,
    FeedbackRequest,
    FeedbackStored,
    HookRequest,
)
from netcds.api.issued_cards import check_feedback, record_issued
from netcds.api.order_hooks import order_check
from netcds.api.problems import (
    ApiProblem,
    Problem,
    input_problem,
    parse_json_body,
    read_body,
    validation_problem,
)
from netcds.api.request_checks import known_query
from netcds.api.view_cards import cached_cards, explanation_url, keep_cards
from netcds.errors import InputError
from netcds.fhir.cards import EXPLANATION, with_explanation
from netcds.ids import new_id

log = logging.getLogger("netcds.api.hooks")
router = APIRouter(tags=["cds-hooks"], dependencies=[Depends(known_query)])
Ctx = Annotated[ServiceContext, Depends(service)]
P = {"model": Problem, "content": {"application/problem+json": {}}}
HOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**P, "description": "missing, invalid, expired or replayed JWT"},
    404: {**P, "description": "no such CDS service"},
    412: {
        **P,
        "description": "a required prefetch key missing and no FHIR server access (lists `missing_prefetch`; "
        "an optional key never causes it)",
    },
    413: {**P, "description": "request body over the configured limit"},
    415: {**P, "description": "the body is not JSON"},
    422: {
        **P,
        "description": "malformed hook request or feedback (e.g. a `fhirServer` that is no absolute http(s) "
        "URL, a `fhirAuthorization.token_type` other than Bearer); `errors` lists the fields",
    },
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
        data, req = once(scratch, "request", parse)
        if req.hook != definition.hook:
            raise invalid_hook(
                "hook",
                f"must be '{definition.hook}'",
                f"service {service_id} answers the '{definition.hook}' hook, not '{req.hook}'",
            )
        check_patient_id(req.context.get("patientId"))
        check_user_id(req.context.get("userId"), definition.hook)
        raw = data if isinstance(data, dict) else {}
        call = HookCall(request, ctx, who, service_id, req, raw, later, inline, scratch)
        return _patient_view(call) if definition.hook == "patient-view" else order_check(call)

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


def _may_answer_inline(ctx: ServiceContext, body: bytes) -> bool:
    """Whether a hook call may be tried on the event loop: no token check (it records the ``jti``, a
    commit), no FHIR fetch, the guideline loaded, a usual body size."""
    s = ctx.settings
    return s.hooks_open and not s.fhir_fetch and len(body) <= INLINE_BYTES and ctx.has_knowledge()


def _require_header(request: Request, ctx: ServiceContext) -> None:
    """Refuse a call without any token before reading its body (the token itself is checked in a worker)."""
    if not ctx.settings.hooks_open and not request.headers.get("authorization"):
        raise MissingTokenError("missing Authorization: Bearer <JWT> header")


def _patient_view(call: HookCall) -> Response:
    ctx, service_id = call.ctx, call.service_id
    try:
        mapped = mapped_patient(call)
    except InputError as exc:
        if no_tumor(exc):
            call.audit(
                "hooks.patient-view",
                {"service": service_id, "result": "no neuroendocrine tumor in the record"},
            )
            return cards_response([])
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
                request_id=request_id(call.request),
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
    return cards_response(cards)


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
        ids = ctx.store.record_feedback(service_id, items, who.actor, request_id(request))
        ctx.store.audit(
            who.actor,
            "hooks.feedback",
            service_id,
            request_id(request),
            {
                "cards": [i.card for i in body.feedback],
                "outcomes": [i.outcome for i in body.feedback],
                "feedback_ids": ids,
            },
        )
        return FeedbackStored(stored=len(ids))

    return await run_work(work)
