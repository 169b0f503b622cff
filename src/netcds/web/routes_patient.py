"""Patient form, file import, evaluation, what-if, timeline and PDF of an unsaved record.

Patient data travel in POST bodies only (hidden ``patient_json`` fields), never in
URLs, so they do not end up in access logs or browser history. Every invalid
input is answered with the page it came from, the message at the field, and
HTTP 422; never an error page.

A save goes to the case the form's ``case_id`` names, read as the REST API reads a case id, or to a new
case when the form names none. A ``case_id`` the API would refuse (422), a case that does not exist
(404), a record whose patient id is not the case's (409), or a case id in the address that is not the
form's (422) is answered with the form, the user's input kept and the field named, and nothing saved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from netcds.errors import InputError
from netcds.patient import iso_date
from netcds.sequencing.whatif import apply_assignments, compare
from netcds.web.cases import (
    CaseConflictError,
    CaseNotFoundError,
    PatientMismatchError,
    canonical_id,
)
from netcds.web.evaluation_view import current_knowledge, lines_for, parse_whatif_value, run
from netcds.web.form_data import FormState, place_errors, read_form, state_from_record, validate
from netcds.web.pages import (
    cases_enabled,
    error_page,
    evaluation_page,
    examples,
    form_page,
    parse_upload,
    patient_from_field,
    record,
    repository,
    request_id,
    same_origin,
)
from netcds.web.pdf_download import pdf_response
from netcds.web.templating import render
from netcds.web.timeline_svg import build_timeline

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 5 * 1024 * 1024


def _str(form: Any, key: str) -> str:
    v = form.get(key)
    return v if isinstance(v, str) else ""


NOT_SAVED = "nothing was saved"


def _read_case_id(request: Request, form: Any, state: FormState) -> bool:
    """The form's ``case_id`` into ``state`` in its stored form; False, with the message on the form and
    no case id kept, when the REST API would refuse that id, or when the address (query string) names a
    case the form does not: the case a record is saved to comes from the form alone."""
    raw = _str(form, "case_id")
    cid = canonical_id(raw) if raw else None
    state.case_id = cid
    if raw and cid is None:
        state.general_errors.append(
            f"Case id (case_id): {raw[:60]!r} is not a case id, so {NOT_SAVED}. The form no longer refers "
            "to a case: open the case again to save a new version of it, or save this record as a new case."
        )
        return False
    for key in ("case", "case_id"):
        for given in request.query_params.getlist(key):
            if canonical_id(given) != cid or cid is None:
                state.case_id = None
                state.general_errors.append(
                    f"Case id (case_id): the address names a case (?{key}=) that the form's case_id does "
                    f"not, so {NOT_SAVED}. A record is saved to the case the form names; open the case again "
                    "to save a new version of it."
                )
                return False
    return True


@router.get("/ui")
def home() -> Response:
    return RedirectResponse("/ui/patient", status_code=303)


@router.get("/ui/patient")
def patient_form(request: Request, example: str | None = None, case: str | None = None) -> Response:
    if example:
        found = examples().get(example)
        if found is None:
            state = FormState()
            state.general_errors.append(f"no bundled example named {example!r}")
            return form_page(state, status=404)
        from netcds.io import parse_json

        state = state_from_record(parse_json(found.read_bytes()))
        return form_page(state, loaded=f"Example loaded: {example}")
    if case:
        if not cases_enabled(request):
            return error_page(403, "Cases are not available", "Stored cases need a signed-in API client.")
        cid = canonical_id(case)
        if cid is None:
            return error_page(404, "No such case", "That is not a case id.")
        try:
            detail = repository(request).get_case(cid)
        except CaseNotFoundError:
            return error_page(404, "No such case", f"No case {cid}.")
        state = state_from_record(detail.patient)
        state.case_id = cid
        return form_page(
            state, loaded=f"Case {cid[:8]}, version {detail.latest_version}: edit to save a new version"
        )
    return form_page(FormState())


def _remove_target(action: str) -> tuple[str, int] | None:
    parts = action.split(":")
    if len(parts) == 3 and parts[0] == "remove" and parts[2].isdigit():
        return parts[1], int(parts[2])
    return None


@router.post("/ui/patient")
async def submit_patient(request: Request) -> Response:
    form = await request.form()
    action = _str(form, "action") or "evaluate"
    data, state = read_form(form, remove=_remove_target(action))  # type: ignore[arg-type]
    case_ok = _read_case_id(request, form, state)
    if action.startswith("add:"):
        group = action.split(":", 1)[1]
        state.row_counts[group] = state.row_counts.get(group, 0) + 1
        return form_page(state, status=200 if case_ok else 422)
    if action.startswith("remove:"):
        return form_page(state, status=200 if case_ok else 422)
    patient = validate(data, state)
    if patient is None or not case_ok:
        return form_page(state, status=422)
    kb = current_knowledge(request.app.state)
    ev, ev_data = await run_in_threadpool(run, patient, kb)
    if action == "save":
        return await _save(request, patient, ev, state)
    return evaluation_page(request, ev_data, record(patient))


async def _save(request: Request, patient: Any, ev: Any, state: FormState) -> Response:
    """Store the record as a new case, or as the next version of ``state.case_id``; a refusal is the form
    (``state``, the user's input) with the message at the field, and nothing stored."""
    if not cases_enabled(request):
        return error_page(403, "Cases are not available", "Stored cases need a signed-in API client.")
    if not same_origin(request):
        return error_page(403, "Not saved", "The save request came from another site.")
    repo = repository(request)
    case_id = state.case_id
    rid = request_id(request)

    def work() -> str:  # the store writes the version, its evaluation and the audit entry together
        if case_id:
            version, _eid = repo.add_version(case_id, patient, ev, rid)
            return f"/ui/cases/{case_id}?saved={version}"
        cid, version, _eid = repo.create_case(patient, ev, rid)
        return f"/ui/cases/{cid}?saved={version}"

    try:
        where = await run_in_threadpool(work)
    except CaseNotFoundError:
        state.case_id = None
        lost = "" if repo.persistent else " (cases kept in memory are lost when the service restarts)"
        state.general_errors.append(
            f"Case id (case_id): there is no case {case_id}{lost}, so {NOT_SAVED}. The form no longer "
            "refers to it: save this record as a new case, or open an existing case to add a version."
        )
        return form_page(state, status=404)
    except PatientMismatchError as exc:
        state.add_error(
            "id",
            f"{exc.message}; {NOT_SAVED}. Correct it to save a new version of case {exc.case_id[:8]}, "
            'or store another patient\'s record as a new case (Evaluate, then "Save as case").',
        )
        return form_page(state, status=409)
    except CaseConflictError:
        state.general_errors.append(
            f"Case id (case_id): another save changed case {case_id} at the same time, so {NOT_SAVED}; "
            "save again."
        )
        return form_page(state, status=409)
    return RedirectResponse(where, status_code=303)


@router.post("/ui/patient/import")
async def import_file(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        state = FormState()
        state.add_error("file", "choose a JSON file (contract Patient or FHIR Bundle)")
        return form_page(state, status=422, import_error="No file chosen.")
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        state = FormState()
        state.add_error("file", f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
        return form_page(state, status=422, import_error="File too large.")
    try:
        data = parse_upload(raw)
    except InputError as exc:
        state = FormState()
        state.add_error("file", exc.message)
        return form_page(state, status=422, import_error=f"{upload.filename}: {exc.message}")
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        as_of_text = _str(form, "as_of").strip()
        try:
            as_of = iso_date(as_of_text) if as_of_text else None
        except ValueError:
            state = FormState()
            state.add_error("import_as_of", f"not a calendar date (YYYY-MM-DD): {as_of_text[:40]}")
            error = f"{upload.filename}: the record date is not a date"
            return form_page(state, status=422, import_error=error)
        return await _import_bundle(data, upload.filename, as_of)
    if not isinstance(data, dict):
        state = FormState()
        state.add_error("file", "the file must hold one JSON object (a contract Patient or a FHIR Bundle)")
        return form_page(state, status=422, import_error=f"{upload.filename}: not a JSON object")
    state = state_from_record(data)
    patient = validate(data, state)
    if patient is None:
        return form_page(
            state, status=422, import_error=f"{upload.filename}: the record has problems, shown at each field"
        )
    return form_page(state_from_record(record(patient)), loaded=f"Imported {upload.filename}")


async def _import_bundle(bundle: dict[str, Any], filename: str, as_of: date | None) -> Response:
    try:
        from netcds.fhir.mcode import bundle_to_patient
    except ImportError:
        state = FormState()
        state.add_error("file", "the FHIR mapping layer is not installed")
        return form_page(state, status=422, import_error="FHIR import is not available.")
    try:
        patient, report = await run_in_threadpool(bundle_to_patient, bundle, as_of)
    except InputError as exc:
        state = FormState()
        place_errors([(exc.field, exc.message)], state)
        if not state.errors.get(exc.field):
            state.add_error("file", f"{exc.field}: {exc.message}")
        rep = getattr(exc, "report", None)
        mapping = rep.model_dump(mode="json", by_alias=True) if rep is not None else None
        return form_page(state, status=422, mapping=mapping, import_error=f"{filename}: {exc.message}")
    mapping = report.model_dump(mode="json", by_alias=True)
    return form_page(
        state_from_record(record(patient)), mapping=mapping, loaded=f"Imported FHIR Bundle {filename}"
    )


@router.post("/ui/patient/edit")
async def edit_record(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    state = state_from_record(record(patient))
    if not _read_case_id(request, form, state):
        return form_page(state, status=422)
    return form_page(state)


@router.post("/ui/evaluate")
async def evaluate_record(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    _ev, data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    return evaluation_page(request, data, record(patient))


@router.post("/ui/whatif")
async def whatif(request: Request) -> Response:
    """Re-evaluate the recorded facts with the named changes (cumulative) and show what changed."""
    form = await request.form()
    try:
        base = patient_from_field(_str(form, "base_json"), "base_json")
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    kb = current_knowledge(request.app.state)
    assignments: dict[str, object] = {}
    prior = _str(form, "assignments")
    if prior:
        try:
            from netcds.io import parse_json

            loaded = parse_json(prior)
            if isinstance(loaded, dict):
                assignments.update({str(k): v for k, v in loaded.items()})
        except InputError:
            assignments = {}
    path, value = _str(form, "path").strip(), _str(form, "value")
    choice = _str(form, "choice")
    if "=" in choice:  # one button per value: "tumor.sstr_status=\"negative\""
        path, value = (part.strip() for part in choice.split("=", 1))
    base_ev, base_data = await run_in_threadpool(run, base, kb)
    if path:
        try:
            assignments[path] = parse_whatif_value(value, path)
        except InputError as exc:
            return evaluation_page(
                request, base_data, record(base), status=422, whatif_error=(exc.field, exc.message)
            )
    if not assignments:
        return evaluation_page(request, base_data, record(base))
    try:
        changed, done = apply_assignments(base, assignments)
    except InputError as exc:
        return evaluation_page(
            request, base_data, record(base), status=422, whatif_error=(path or exc.field, exc.message)
        )
    after_ev, after_data = await run_in_threadpool(run, changed, kb)
    changes, unchanged = compare(base_ev, after_ev)
    result = {
        "assignments": [a.model_dump(mode="json") for a in done],
        "assignments_json": {a.path: a.after for a in done},
        "changes": [c.model_dump(mode="json") for c in changes],
        "unchanged": unchanged,
        "setting_before": base_data["setting"],
        "setting_after": after_data["setting"],
        "ssa_before": base_data["ssa_plan"]["action"],
        "ssa_after": after_data["ssa_plan"]["action"],
    }
    return evaluation_page(request, after_data, record(changed), whatif=result, base=record(base))


@router.post("/ui/timeline")
async def timeline(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    _ev, data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    rec = record(patient)
    lines = lines_for(data, rec)
    return render(
        "timeline.html",
        ev=data,
        patient=rec,
        patient_json=_str(form, "patient_json"),
        lines=lines,
        timeline=build_timeline(lines, rec.get("as_of")),
        stored=None,
        nav="patient",
    )


@router.post("/ui/pdf")
async def pdf_download(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    _ev, data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    rec = record(patient)
    return await run_in_threadpool(pdf_response, data, rec, lines_for(data, rec), None)


@router.post("/ui/save")
async def save_record(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    state = state_from_record(record(patient))
    if not _read_case_id(request, form, state):
        return form_page(state, status=422)
    ev, _data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    return await _save(request, patient, ev, state)
