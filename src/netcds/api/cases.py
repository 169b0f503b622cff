"""REST ``/api/v1`` cases: store patient record versions with their evaluations, read them back, replay.

Writes are atomic (case version + evaluation + audit entry in one transaction) and can be made
idempotent with an ``Idempotency-Key`` request header: the ids are then derived from the caller
and the key, so a retried request (e.g. after a lost connection or a server crash) returns the
stored result (``Idempotency-Replayed: true``) instead of storing a second copy. The same key
with a different record or another case is refused (422).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from netcds.api.auth import Principal
from netcds.api.context import ServiceContext, rest_principal, run_io, run_work, service
from netcds.api.problems import ApiProblem, Problem, read_json
from netcds.api.request_checks import known_query, single_header
from netcds.api.rest import ERRORS, NOT_FOUND, PATIENT_BODY, knowledge, parse_patient
from netcds.api.schemas import CaseResult
from netcds.engine import evaluate
from netcds.errors import KnowledgeError
from netcds.evaluation import Evaluation
from netcds.patient import Patient
from netcds.store.canonical import content_hash
from netcds.store.case_rules import PatientMismatchError, check_patient
from netcds.store.errors import DuplicateError, NotFoundError
from netcds.store.records import CaseInfo, EvaluationInfo, StoredEvaluation
from netcds.store.replay import ReplayResult, StoredInputError, replay

router = APIRouter(prefix="/api/v1", dependencies=[Depends(known_query)])
Ctx = Annotated[ServiceContext, Depends(service)]
Who = Annotated[Principal, Depends(rest_principal)]
P = {"model": Problem, "content": {"application/problem+json": {}}}

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as in the IETF httpapi idempotency-key draft
_NAMESPACE = uuid.UUID("6b1f3f0e-5d0c-4c4a-9a53-6e65746364b1")
IDEMPOTENCY_PARAM = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "a unique key per logical request (e.g. a UUID); a retry with the same key returns the "
    "stored result instead of storing it twice",
    "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
}
CASE_WRITE: dict[str, Any] = {**PATIENT_BODY, "parameters": [IDEMPOTENCY_PARAM]}
REUSED = {
    **P,
    "description": "invalid input (`errors` lists every field), or an Idempotency-Key already used "
    "for another request (`urn:netcds:problem:idempotency-key-reused`)",
}
CONFLICT = {**P, "description": "a request with the same Idempotency-Key is still running"}
VERSION_CONFLICT = {
    **P,
    "description": "a request with the same Idempotency-Key is still running, or the record's `id` is not "
    "the case's patient id (`urn:netcds:problem:case-patient-mismatch`)",
}


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def idempotency_key(request: Request) -> str | None:
    raw = single_header(request, IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the draft's structured-field string form
        key = key[1:-1]
    if not _KEY.match(key):
        raise ApiProblem(
            422,
            f"{IDEMPOTENCY_HEADER}: must be 1 to 200 visible ASCII characters",
            kind="validation",
            title="Invalid request",
            errors=[(f"header.{IDEMPOTENCY_HEADER}", "must be 1 to 200 visible ASCII characters")],
        )
    return key


def _ids(actor: str, key: str) -> tuple[str, str]:
    """(case id for a new case, evaluation id) derived from the caller and its key."""
    return (
        str(uuid.uuid5(_NAMESPACE, f"case|{actor}|{key}")),
        str(uuid.uuid5(_NAMESPACE, f"evaluation|{actor}|{key}")),
    )


def _result(cid: str, version: int, digest: str, evaluation_id: str, output: str, replayed: bool) -> Response:
    head = json.dumps(
        {"case_id": cid, "version": version, "patient_hash": digest, "evaluation_id": evaluation_id},
        separators=(",", ":"),
    )
    body = f'{head[:-1]},"evaluation":{output}}}'
    headers = {"Location": f"/api/v1/cases/{cid}"}
    if replayed:
        headers["Idempotency-Replayed"] = "true"
    return Response(body, status_code=201, media_type="application/json", headers=headers)


def _replay(ctx: ServiceContext, evaluation_id: str, case_id: str, digest: str) -> Response | None:
    """The stored answer to an earlier run of the same idempotent request (same caller, key, case and
    record), None when there was none, 422 when the key was used for something else."""
    found = ctx.store.find_evaluation(evaluation_id)
    if found is None:
        return None
    info, output = found
    if info.case_id != case_id or info.input_hash != digest or info.case_version is None:
        raise ApiProblem(
            422,
            f"this {IDEMPOTENCY_HEADER} was already used for a different request",
            kind="idempotency-key-reused",
            title="Invalid request",
            errors=[(f"header.{IDEMPOTENCY_HEADER}", "already used for a different request")],
        )
    return _result(case_id, info.case_version, digest, evaluation_id, output, True)


def _same_patient(ctx: ServiceContext, case_id: str, patient: Patient) -> None:
    """A case holds one patient's record: a new version must carry the ``id`` its earlier versions carry
    (none when they have none), or it would mix two patients' records under one case (409)."""
    try:
        stored = ctx.store.get_case(case_id).patient.get("id")
    except NotFoundError:
        raise ApiProblem(404, f"no case {case_id}", kind="unknown-case") from None
    try:
        check_patient(case_id, stored, patient)
    except PatientMismatchError as exc:
        raise ApiProblem(
            409,
            f"id: {exc.message}; store another patient's record as a new case",
            kind="case-patient-mismatch",
            title="Record of another patient",
            errors=[("id", exc.message)],
        ) from None


async def _store_case(request: Request, ctx: ServiceContext, who: Principal, case_id: str | None) -> Response:
    key = idempotency_key(request)
    data = await read_json(request, ctx.settings.max_body_bytes)

    def compute() -> tuple[Patient, str, Evaluation]:
        patient = parse_patient(data)
        return patient, content_hash(patient), evaluate(patient, knowledge(ctx, None))

    def store(patient: Patient, digest: str, ev: Evaluation) -> Response:
        new_case_id = evaluation_id = None
        if key is not None:
            new_case_id, evaluation_id = _ids(who.actor, key)
            earlier = _replay(ctx, evaluation_id, case_id or new_case_id, digest)
            if earlier is not None:
                return earlier
        if case_id is not None:
            _same_patient(ctx, case_id, patient)
        try:
            cid, version, digest, info = ctx.store.save_case_evaluation(
                patient,
                ev,
                actor=who.actor,
                case_id=case_id,
                new_case_id=new_case_id,
                evaluation_id=evaluation_id,
                request_id=_rid(request),
            )
        except NotFoundError:
            raise ApiProblem(404, f"no case {case_id}", kind="unknown-case") from None
        except DuplicateError:  # a twin request with the same key committed first
            earlier = (
                _replay(ctx, evaluation_id, case_id or new_case_id, digest)
                if evaluation_id and new_case_id
                else None
            )
            if earlier is None:
                raise ApiProblem(
                    409, "a concurrent request changed the same case; retry this one", kind="conflict"
                ) from None
            return earlier
        return _result(cid, version, digest, info.evaluation_id, ev.model_dump_json(), False)

    patient, digest, ev = await run_work(compute)
    return await run_io(store, patient, digest, ev)


@router.post(
    "/cases",
    response_model=CaseResult,
    status_code=201,
    tags=["cases"],
    responses={**ERRORS, 409: CONFLICT, 422: REUSED},
    openapi_extra=CASE_WRITE,
    summary="Store a patient record as a new case and evaluate it",
)
async def create_case(request: Request, ctx: Ctx, who: Who) -> Response:
    return await _store_case(request, ctx, who, None)


@router.post(
    "/cases/{case_id}/versions",
    response_model=CaseResult,
    status_code=201,
    tags=["cases"],
    responses={**ERRORS, **NOT_FOUND, 409: VERSION_CONFLICT, 422: REUSED},
    openapi_extra=CASE_WRITE,
    summary="Store a new version of a case's patient record and evaluate it",
)
async def add_case_version(case_id: uuid.UUID, request: Request, ctx: Ctx, who: Who) -> Response:
    return await _store_case(request, ctx, who, str(case_id))


@router.get(
    "/cases/{case_id}",
    response_model=CaseInfo,
    tags=["cases"],
    responses=NOT_FOUND,
    summary="A case: its versions and its latest patient record",
)
def get_case(case_id: uuid.UUID, request: Request, ctx: Ctx, who: Who) -> CaseInfo:
    try:
        info = ctx.store.get_case(str(case_id))
    except NotFoundError:
        raise ApiProblem(404, f"no case {case_id}", kind="unknown-case") from None
    ctx.store.audit(who.actor, "case.read", str(case_id), _rid(request))
    return info


@router.get(
    "/cases/{case_id}/evaluations",
    response_model=list[EvaluationInfo],
    tags=["cases"],
    responses=NOT_FOUND,
    summary="The evaluations stored for a case, oldest first",
)
def case_evaluations(case_id: uuid.UUID, request: Request, ctx: Ctx, who: Who) -> list[EvaluationInfo]:
    try:
        found = ctx.store.case_evaluations(str(case_id))
    except NotFoundError:
        raise ApiProblem(404, f"no case {case_id}", kind="unknown-case") from None
    ctx.store.audit(who.actor, "case.evaluations.read", str(case_id), _rid(request))
    return found


@router.get(
    "/evaluations/{evaluation_id}",
    response_model=StoredEvaluation,
    tags=["cases"],
    responses=NOT_FOUND,
    summary="A stored evaluation with its input and versions",
)
def get_evaluation(evaluation_id: uuid.UUID, request: Request, ctx: Ctx, who: Who) -> StoredEvaluation:
    try:
        found = ctx.store.get_evaluation(str(evaluation_id))
    except NotFoundError:
        raise ApiProblem(404, f"no evaluation {evaluation_id}", kind="unknown-evaluation") from None
    ctx.store.audit(who.actor, "evaluation.read", str(evaluation_id), _rid(request))
    return found


@router.post(
    "/evaluations/{evaluation_id}/replay",
    response_model=ReplayResult,
    tags=["cases"],
    responses={
        **NOT_FOUND,
        409: {
            **P,
            "description": "the pinned guideline version is not installed (`guideline-unavailable`), or "
            "the stored input no longer passes today's Patient contract (`stored-input-invalid`, "
            "`errors` names the fields)",
        },
    },
    summary="Re-run a stored evaluation with its pinned guideline version",
)
def replay_evaluation(evaluation_id: uuid.UUID, request: Request, ctx: Ctx, who: Who) -> ReplayResult:
    try:
        result = replay(ctx.store, str(evaluation_id))
    except NotFoundError:
        raise ApiProblem(404, f"no evaluation {evaluation_id}", kind="unknown-evaluation") from None
    except StoredInputError as exc:  # the stored row, not this request, is what today's contract refuses
        raise stored_input_problem(exc) from None
    except KnowledgeError:
        raise ApiProblem(
            409, "the pinned guideline version is no longer available", kind="guideline-unavailable"
        ) from None
    ctx.store.audit(
        who.actor,
        "evaluation.replay",
        str(evaluation_id),
        _rid(request),
        {"identical": result.identical, "differences": len(result.differences)},
    )
    return result


def stored_input_problem(exc: StoredInputError) -> ApiProblem:
    """409: the evaluation is stored but cannot be re-run, its input being refused by today's contract."""
    return ApiProblem(
        409,
        f"the stored input of evaluation {exc.evaluation_id} no longer passes today's Patient contract "
        f"(tightened since it was stored): {exc.summary}; the stored evaluation is still readable with GET",
        kind="stored-input-invalid",
        title="Stored input no longer valid",
        errors=exc.problems,
    )
