"""Patient form, file import, evaluation, what-if, timeline and PDF of an unsaved record.

Patient data travel in POST bodies only (hidden ``patient_json`` fields), never in
URLs, so they do not end up in access logs or browser history. Every invalid
input is answered with the page it came from, the message at the field, and
HTTP 422; never an error page.

A save goes to the case the form's ``case_id`` names, read as the REST API reads a case id, or to a new
case when the form names none. A ``case_id`` the API would refuse (422), a case that does not exist
(404), a record whose patient id is not the case's (409), or a case id in the address that is not the
form's (422) is answered with the form, the user's input kept and the field named, and nothing saved.
Every page carries the case id and the version the form started from (``base_version``) on, so an
evaluation, a what-if, a timeline or an import while editing a case still saves to it. A case with a newer
version than that is a 409 on the form, unless the user confirms ("save-after:N"). The form's one-time
``form_token`` makes a repeated submission return the first one's result instead of saving twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from netcds.errors import InputError
from netcds.patient import iso_date
from netcds.sequencing.whatif import apply_assignments, compare
from netcds.store.case_rules import PatientMismatchError
from netcds.web.cases import CaseConflictError, CaseNotFoundError, NewerVersionError, canonical_id
from netcds.web.evaluation_view import current_knowledge, lines_for, parse_whatif_value, run
from netcds.web.form_data import (
    FormState,
    place_errors,
    read_form,
    refuse_case_files,
    state_from_record,
    validate,
)
from netcds.web.pages import (
    CaseRef,
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
_VERSION = re.compile(r"^[0-9]{1,9}$")
_SAVE_AFTER = re.compile(r"^save-after:([0-9]{1,9})$")


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


def _read_case(request: Request, form: Any, state: FormState) -> bool:
    """The form's own hidden controls into ``state``: ``case_id`` (:func:`_read_case_id`), ``base_version``
    (the case version the form started from) and ``form_token``. False, with the message on the form,
    when one cannot be read: what it stands for is then not kept (a new token is drawn)."""
    ok = True
    for key in ("case_id", "base_version", "form_token"):
        if len(form.getlist(key)) > 1:
            state.general_errors.append(f"{key}: sent more than once; which value is meant is unknown")
            ok = False
    ok = _read_case_id(request, form, state) and ok
    raw = _str(form, "base_version").strip()
    state.base_version = int(raw) if _VERSION.match(raw) and int(raw) > 0 and state.case_id else None
    if raw and state.base_version is None and state.case_id:
        state.general_errors.append(
            f"Version (base_version): {raw[:20]!r} is not a version number, so {NOT_SAVED}. "
            "Open the case again to save a new version of it."
        )
        ok = False
    elif raw and ok and not state.case_id:
        state.general_errors.append(f"Version (base_version): names no case (case_id), so {NOT_SAVED}.")
        ok = False
    token = _str(form, "form_token").strip()
    state.form_token = canonical_id(token) if token else None
    if token and state.form_token is None:
        state.general_errors.append(
            f"Form token (form_token): not one this page issues, so {NOT_SAVED}; the form has a new one."
        )
        ok = False
    return refuse_case_files(form, state) and ok


def _posted_case(request: Request, form: Any, patient: Any) -> CaseRef | Response | None:
    """The case a page's form carries on (None: no case), or the form with the message (422)."""
    state = state_from_record(record(patient))
    if not _read_case(request, form, state):
        state.form_token = None
        return form_page(state, status=422)
    return CaseRef(state.case_id, state.base_version) if state.case_id else None


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
        state.base_version = detail.latest_version
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
    case_ok = _read_case(request, form, state)
    after = _SAVE_AFTER.match(action)
    if action.startswith("save-after:") and after is None:
        state.general_errors.append(f"action: {action[:40]!r} is not a version to save after; {NOT_SAVED}")
        case_ok = False
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
    if action == "save" or after is not None:
        return await _save(request, patient, ev, state, int(after.group(1)) if after else None)
    case = CaseRef(state.case_id, state.base_version) if state.case_id else None
    return evaluation_page(request, ev_data, record(patient), case=case)


def _newer(state: FormState, exc: NewerVersionError) -> int:
    """The form again with a "save anyway" button: 409 for a newer version, 422 for a version not stored."""
    n, cid = exc.newest, exc.case_id
    state.confirm_after = n.version
    if n.version < exc.base:
        state.general_errors.append(
            f"Version (base_version): case {cid[:8]} has no version {exc.base} (its newest is {n.version}), "
            f"so {NOT_SAVED}."
        )
        return 422
    when = f"{n.created_at:%Y-%m-%d %H:%M} UTC by {n.created_by}"
    state.general_errors.append(
        f"Case {cid[:8]} has version {n.version} (saved {when}), newer than version {exc.base} this form "
        f"started from, so {NOT_SAVED}: saving would make this record the newest without you seeing "
        f"version {n.version}. Compare, then save anyway or start again."
    )
    return 409


async def _save(
    request: Request, patient: Any, ev: Any, state: FormState, after: int | None = None
) -> Response:
    """Store the record as a new case, or as the next version of ``state.case_id`` while the version its
    form started from (or ``after``, confirmed by the user) is the newest; a refusal is the form
    (``state``, the user's input) with the message at the field, and nothing stored. The same form
    token and record again return the first save's result."""
    if not cases_enabled(request):
        return error_page(403, "Cases are not available", "Stored cases need a signed-in API client.")
    if not same_origin(request):
        return error_page(403, "Not saved", "The save request came from another site.")
    repo = repository(request)
    case_id, token = state.case_id, state.form_token
    base = after if after is not None else state.base_version
    rid = request_id(request)

    def work() -> str:  # the store writes the version, its evaluation and the audit entry together
        if case_id:
            version, _eid = repo.add_version(case_id, patient, ev, rid, token=token, base_version=base)
            return f"/ui/cases/{case_id}?saved={version}"
        cid, version, _eid = repo.create_case(patient, ev, rid, token=token)
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
    except NewerVersionError as exc:
        return form_page(state, status=_newer(state, exc))
    except PatientMismatchError as exc:
        state.add_error(
            "id",
            f"{exc.message}; {NOT_SAVED}. Correct it to save a new version of case {exc.case_id[:8]}, "
            'or store another patient\'s record as a new case (Evaluate, then "Save as case").',
        )
        return form_page(state, status=409)
    except CaseConflictError:
        state.general_errors.append(
            f"Case id (case_id): another save changed case {case_id or '(new)'} at the same time, so "
            f"{NOT_SAVED}; save again."
        )
        return form_page(state, status=409)
    return RedirectResponse(where, status_code=303)


@router.post("/ui/patient/import")
async def import_file(request: Request) -> Response:
    """The imported record on the form; the case being edited (hidden fields) stays the form's case."""
    form = await request.form()
    case = FormState()
    case_ok = _read_case(request, form, case)

    def show(state: FormState, status: int = 200, **kw: Any) -> Response:
        state.case_id, state.base_version = case.case_id, case.base_version
        state.general_errors.extend(case.general_errors)
        return form_page(state, status=status if case_ok else 422, **kw)

    return await _import(form, show)


async def _import(form: Any, show: Callable[..., Response]) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        state = FormState()
        state.add_error("file", "choose a JSON file (contract Patient or FHIR Bundle)")
        return show(state, status=422, import_error="No file chosen.")
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        state = FormState()
        state.add_error("file", f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
        return show(state, status=422, import_error="File too large.")
    try:
        data = parse_upload(raw)
    except InputError as exc:
        state = FormState()
        state.add_error("file", exc.message)
        return show(state, status=422, import_error=f"{upload.filename}: {exc.message}")
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        as_of_text = _str(form, "as_of").strip()
        try:
            as_of = iso_date(as_of_text) if as_of_text else None
        except ValueError:
            state = FormState()
            state.add_error("import_as_of", f"not a calendar date (YYYY-MM-DD): {as_of_text[:40]}")
            error = f"{upload.filename}: the record date is not a date"
            return show(state, status=422, import_error=error)
        return await import_bundle_page(data, upload.filename, as_of, show)
    if not isinstance(data, dict):
        state = FormState()
        state.add_error("file", "the file must hold one JSON object (a contract Patient or a FHIR Bundle)")
        return show(state, status=422, import_error=f"{upload.filename}: not a JSON object")
    state = state_from_record(data)
    patient = validate(data, state)
    if patient is None:
        return show(
            state, status=422, import_error=f"{upload.filename}: the record has problems, shown at each field"
        )
    return show(state_from_record(record(patient)), loaded=f"Imported {upload.filename}")


async def import_bundle_page(
    bundle: dict[str, Any], filename: str, as_of: date | None, show: Callable[..., Response]
) -> Response:
    """The form filled from a FHIR Bundle (mapped as of ``as_of``) with the mapping report, for review before
    evaluating; a Bundle the mapping refuses shows the form with the error at its field (422)."""
    try:
        from netcds.fhir.mcode import bundle_to_patient
    except ImportError:
        state = FormState()
        state.add_error("file", "the FHIR mapping layer is not installed")
        return show(state, status=422, import_error="FHIR import is not available.")
    try:
        patient, report = await run_in_threadpool(bundle_to_patient, bundle, as_of)
    except InputError as exc:
        state = FormState()
        place_errors([(exc.field, exc.message)], state)
        if not state.errors.get(exc.field):
            state.add_error("file", f"{exc.field}: {exc.message}")
        rep = getattr(exc, "report", None)
        mapping = rep.model_dump(mode="json", by_alias=True) if rep is not None else None
        return show(state, status=422, mapping=mapping, import_error=f"{filename}: {exc.message}")
    mapping = report.model_dump(mode="json", by_alias=True)
    return show(
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
    if not _read_case(request, form, state):
        state.form_token = None
        return form_page(state, status=422)
    state.form_token = None  # a form drawn anew: a token of its own
    return form_page(state)


@router.post("/ui/evaluate")
async def evaluate_record(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    case = _posted_case(request, form, patient)
    if isinstance(case, Response):
        return case
    _ev, data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    return evaluation_page(request, data, record(patient), case=case)


@router.post("/ui/whatif")
async def whatif(request: Request) -> Response:
    """Re-evaluate the recorded facts with the named changes (cumulative) and show what changed."""
    form = await request.form()
    try:
        base = patient_from_field(_str(form, "base_json"), "base_json")
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    case = _posted_case(request, form, base)
    if isinstance(case, Response):
        return case
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
                request, base_data, record(base), status=422, whatif_error=(exc.field, exc.message), case=case
            )
    if not assignments:
        return evaluation_page(request, base_data, record(base), case=case)
    try:
        changed, done = apply_assignments(base, assignments)
    except InputError as exc:
        return evaluation_page(
            request,
            base_data,
            record(base),
            status=422,
            whatif_error=(exc.field, exc.message),  # the field at fault: not always the one just changed
            case=case,
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
    return evaluation_page(request, after_data, record(changed), whatif=result, base=record(base), case=case)


@router.post("/ui/timeline")
async def timeline(request: Request) -> Response:
    form = await request.form()
    try:
        patient = patient_from_field(_str(form, "patient_json"))
    except InputError as exc:
        return error_page(422, "Invalid record", f"{exc.field}: {exc.message}")
    case = _posted_case(request, form, patient)
    if isinstance(case, Response):
        return case
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
        case=case,
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
    if not _read_case(request, form, state):
        state.form_token = None
        return form_page(state, status=422)
    ev, _data = await run_in_threadpool(run, patient, current_knowledge(request.app.state))
    return await _save(request, patient, ev, state)
