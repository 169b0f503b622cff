"""REST API ``/api/v1``: thin views over the engine, the knowledge, the safety layer and the store."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from netcds import __version__
from netcds.api import optional
from netcds.api.auth import Principal
from netcds.api.context import (
    INLINE_BYTES,
    Later,
    ServiceContext,
    app_context,
    rest_principal,
    run_later,
    run_work,
    service,
)
from netcds.api.examples import BUNDLE_EXAMPLE, PATIENT_EXAMPLE
from netcds.api.knowledge_view import knowledge_document
from netcds.api.problems import (
    ApiProblem,
    Problem,
    parse_json_body,
    read_body,
    read_json,
    validation_problem,
)
from netcds.api.request_checks import known_query
from netcds.api.schemas import (
    AgentList,
    EvalCacheInfo,
    EvalCacheKind,
    FhirEvaluation,
    GuidelineSummary,
    Health,
)
from netcds.errors import InputError, KnowledgeError
from netcds.evaluation import Evaluation
from netcds.io import first_non_finite, json_kind, printable
from netcds.knowledge.load import (
    available_versions,
    default_knowledge_dir,
    load_knowledge,
    release_installed,
)
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient, iso_date
from netcds.store.canonical import content_hash
from netcds.store.repo import schema_revision

router = APIRouter(prefix="/api/v1", dependencies=[Depends(known_query)])
Ctx = Annotated[ServiceContext, Depends(service)]
Who = Annotated[Principal, Depends(rest_principal)]
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
GuidelineVersion = Annotated[
    str | None,
    Query(
        description="knowledge version to evaluate against (default: the service's)",
        pattern=r"^[0-9A-Za-z._-]{1,32}$",
    ),
]

P = {"model": Problem, "content": {"application/problem+json": {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    413: {**P, "description": "request body over the configured limit"},
    415: {**P, "description": "the body is not JSON"},
    422: {**P, "description": "invalid input; `errors` lists every field with its message"},
}
EVALUATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {**P, "description": "the requested guideline version is not installed"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {**P, "description": "no such resource"}}
PATIENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Patient"},
                "example": PATIENT_EXAMPLE,
            }
        },
    }
}
BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {
                "schema": {
                    "type": "object",
                    "description": "a FHIR R4 Bundle (collection, searchset or transaction)",
                },
                "example": BUNDLE_EXAMPLE,
            },
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def _model_json(
    model: Evaluation | Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        model.model_dump_json(), status_code=status, media_type="application/json", headers=headers
    )


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def parse_patient(data: Any) -> Patient:
    if not isinstance(data, dict):
        raise ApiProblem(
            422,
            f"the body must be a JSON object (a Patient), got {json_kind(data)}",
            kind="validation",
            title="Invalid input",
            errors=[("<patient>", "must be a JSON object")],
        )
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, "patient") from None


def knowledge(ctx: ServiceContext, version: str | None, guideline: str = "nccn-net") -> Knowledge:
    return ctx.knowledge(version, guideline)


@router.get("/health", response_model=Health, tags=["service"], summary="Service health")
def health(ctx: Ctx) -> Health:
    ok = ctx.store.ping()
    return Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database="ok" if ok else "unreachable",
        schema_revision=schema_revision(ctx.store.engine) if ok else None,
        guidelines=[f"{g}/{v}" for g in _guideline_ids() for v in available_versions(g)],
        safety=optional.safety_available(),
        hooks_open=ctx.settings.hooks_open,
        eval_cache=EvalCacheInfo(
            max_mb=ctx.settings.eval_cache_mb,
            entries=len(ctx.eval_cache),
            hits=ctx.eval_cache.hits,
            misses=ctx.eval_cache.misses,
            kinds={k: EvalCacheKind(**v) for k, v in ctx.eval_cache.kinds().items()},
        ),
    )


@router.post(
    "/evaluate",
    response_model=Evaluation,
    tags=["evaluate"],
    responses=EVALUATE_ERRORS,
    openapi_extra=PATIENT_BODY,
    summary="Evaluate one patient (contract Patient -> Evaluation)",
)
async def evaluate_patient(request: Request, guideline_version: GuidelineVersion = None) -> Response:
    """Every option of the applicable guideline table with its status for this patient. Stateless: the
    patient is not stored; the audit log records the input hash."""
    # the context and the caller are read here, not as dependencies: resolving those costs FastAPI more
    # per request than a cached evaluation (neither adds anything to the OpenAPI document)
    ctx = app_context(request)
    who = await rest_principal(request)
    raw = await read_body(request, ctx.settings.max_body_bytes)

    def prepare() -> tuple[Patient, Knowledge, str]:
        patient = parse_patient(parse_json_body(raw))
        return patient, knowledge(ctx, guideline_version), content_hash(patient)

    # a usual record is validated and looked up in the cache right here; only a large body, a guideline
    # version not loaded yet, or a new input (the engine) goes to a worker thread
    inline = len(raw) <= INLINE_BYTES and ctx.has_knowledge(guideline_version)
    patient, kb, digest = prepare() if inline else await run_work(prepare)
    found = ctx.cached_evaluation(kb, digest)
    if found is None:
        found = await run_work(ctx.compute_evaluation, patient, kb, digest)
    detail = {"input_hash": digest, "guideline": f"{kb.id}/{kb.release}"}
    await run_later([partial(ctx.store.submit_audit, who.actor, "evaluate", None, _rid(request), detail)])
    return Response(found.body, media_type="application/json", headers={"X-Netcds-Input-Hash": digest})


@router.post(
    "/evaluate/fhir",
    response_model=FhirEvaluation,
    tags=["evaluate"],
    responses={**EVALUATE_ERRORS, 501: {**P, "description": "the FHIR mapping layer is not installed"}},
    openapi_extra=BUNDLE_BODY,
    summary="Evaluate a FHIR R4 Bundle (mapped to a Patient)",
)
async def evaluate_fhir(
    request: Request,
    ctx: Ctx,
    who: Who,
    as_of: Annotated[
        str | None,
        Query(
            description="date the record is read at (YYYY-MM-DD)",
            # documented, checked by _iso_date (one message for every refused text, not the framework's)
            json_schema_extra={"format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        ),
    ] = None,
    guideline_version: GuidelineVersion = None,
) -> Response:
    """The Bundle is mapped to a contract Patient (mCODE profiles), then evaluated; the mapping report says
    what was used, skipped, or left unknown."""
    data = await read_json(request, ctx.settings.max_body_bytes)
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ApiProblem(
            422,
            "the body must be a FHIR Bundle",
            kind="validation",
            title="Invalid input",
            errors=[("resourceType", "must be 'Bundle'")],
        )

    if (odd := first_non_finite(data)) is not None:  # a FHIR decimal is finite: say so, by its path
        message = f"must be a finite number (got {odd[1]})"
        raise ApiProblem(
            422, f"{odd[0]}: {message}", kind="validation", title="Invalid input", errors=[(odd[0], message)]
        )
    day = _iso_date(as_of)

    def work() -> Response:
        patient, report = optional.bundle_to_patient(data, day)
        kb = knowledge(ctx, guideline_version)
        digest = content_hash(patient)
        evaluation = ctx.evaluation(patient, kb, digest).body
        detail = {"input_hash": digest, "guideline": f"{kb.id}/{kb.release}"}
        later.append(partial(ctx.store.submit_audit, who.actor, "evaluate.fhir", None, _rid(request), detail))
        head = json.dumps(
            {"patient": patient.model_dump(mode="json", exclude_none=True), "mapping": report},
            separators=(",", ":"),
        )
        body = head[:-1].encode() + b',"evaluation":' + evaluation + b"}"
        return Response(body, media_type="application/json", headers={"X-Netcds-Input-Hash": digest})

    later: Later = []
    response = await run_work(work)
    await run_later(later)
    return response


def _iso_date(text: str | None) -> date | None:
    """A real calendar date written exactly YYYY-MM-DD (the contract's own reader, ``iso_date``: no basic
    form 20261101, no week date 2026-W45-1, no bare number read as epoch seconds)."""
    if text is None:
        return None
    try:
        day = iso_date(text)
    except ValueError:
        said = f"must be a calendar date written YYYY-MM-DD (got {printable(text, 40)!r})"
        where = "query.as_of"
        raise ApiProblem(
            422, f"{where}: {said}", kind="validation", title="Invalid request", errors=[(where, said)]
        ) from None
    assert isinstance(day, date)
    return day


def _guideline_ids() -> list[str]:
    root = default_knowledge_dir()
    return (
        sorted(p.name for p in root.iterdir() if p.is_dir() and available_versions(p.name))
        if root.is_dir()
        else []
    )


@router.get(
    "/guidelines",
    response_model=list[GuidelineSummary],
    tags=["knowledge"],
    summary="Guideline versions this service can evaluate against",
)
def guidelines(ctx: Ctx) -> list[GuidelineSummary]:
    out = []
    for g in _guideline_ids():
        for v in available_versions(g):
            try:
                kb = load_knowledge(v, g)
            except KnowledgeError:
                continue
            out.append(
                GuidelineSummary(
                    id=kb.id,
                    version=kb.version,
                    release=kb.release,
                    replaces=kb.manifest.replaces,
                    default=kb.release == ctx.settings.guideline_version,
                    title=kb.manifest.title,
                    version_date=kb.manifest.version_date.isoformat(),
                    digest=kb.digest,
                    url=f"{ctx.base_url}/api/v1/guidelines/{kb.id}/{kb.release}",
                )
            )
    return out


@router.get(
    "/guidelines/{guideline_id}/{version}",
    tags=["knowledge"],
    responses=NOT_FOUND,
    summary="One guideline version's tables, footnotes and principles as data",
    response_model=dict[str, Any],
)
def guideline(
    guideline_id: Annotated[str, Path(examples=["nccn-net"])],
    version: Annotated[str, Path(examples=["5.2024"])],
    ctx: Ctx,
) -> Response:
    """The knowledge files of this version as JSON: each table's columns and entries with their conditions
    (in the file form), category rules, footnotes and sources."""
    if not release_installed(guideline_id, version):
        raise ApiProblem(404, f"no guideline {guideline_id} {version}", kind="unknown-guideline")
    # installed but unreadable: 503 knowledge-unavailable, as for an evaluation against it
    return _json(knowledge_document(ctx.knowledge(version, guideline_id)))


@router.get(
    "/agents",
    response_model=AgentList,
    tags=["knowledge"],
    responses={501: {**P, "description": "the safety layer is not installed"}},
    summary="Agents with safety and dosing data",
)
def agents() -> AgentList:
    return AgentList(agents=optional.agent_ids())


@router.get(
    "/agents/{agent_id}",
    tags=["knowledge"],
    response_model=dict[str, Any],
    responses={**NOT_FOUND, 501: {**P, "description": "the safety layer is not installed"}},
    summary="One agent's monograph: dose, adjustments, warnings, interactions, sources",
)
def agent(agent_id: Annotated[str, Path(examples=["cabozantinib"])]) -> Response:
    found = optional.monograph(agent_id) if _ID.match(agent_id) else None
    if found is None:
        raise ApiProblem(404, f"no agent '{agent_id}' in the safety data", kind="unknown-agent")
    return _json(found)


__all__ = ["InputError", "router"]
