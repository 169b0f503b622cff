"""Pieces every page uses: the case repository, bundled examples, the patient summary, the evaluation page."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from netcds.errors import InputError
from netcds.io import parse_json, patient_from_obj
from netcds.patient import Patient
from netcds.web.cases import CaseRepository, EvaluationSummary, MemoryCases, StoreCases
from netcds.web.evaluation_view import build_view, lines_for
from netcds.web.form_data import FormState
from netcds.web.form_schema import form_schema
from netcds.web.labels import value_label
from netcds.web.templating import compact_json, render
from netcds.web.timeline_svg import build_timeline

MAX_FIELD_CHARS = 1_000_000


@dataclass(frozen=True)
class CaseRef:
    """The case a record being edited belongs to, and the version its form started from (hidden fields that
    every page carries on: the form, the evaluation, what-if, timeline, edit and save)."""

    case_id: str
    base_version: int | None = None


def new_token() -> str:
    """A form's one-time token: a repeat of one submission (double click, resubmit) is saved once."""
    return str(uuid.uuid4())


@dataclass
class WebState:
    settings: Any
    memory: MemoryCases
    store_cases: StoreCases | None = None


def web_state(request: Request) -> WebState:
    state = getattr(request.app.state, "netcds_web", None)
    if not isinstance(state, WebState):
        state = WebState(settings=None, memory=MemoryCases())
        request.app.state.netcds_web = state
    return state


def repository(request: Request) -> CaseRepository:
    """The service store when the app has one (``create_app``), else the in-memory fallback."""
    ws = web_state(request)
    store = getattr(getattr(request.app.state, "netcds", None), "store", None)
    if store is not None:
        if ws.store_cases is None or ws.store_cases.store is not store:
            ws.store_cases = StoreCases(store)
        return ws.store_cases
    return ws.memory


def cases_enabled(request: Request) -> bool:
    """Stored cases hold patient data: when the REST API demands a token, the web pages (which have no
    sign-in) do not open them."""
    ctx = getattr(request.app.state, "netcds", None)
    settings = getattr(ctx, "settings", None) or web_state(request).settings
    return not bool(getattr(settings, "api_require_token", False))


def same_origin(request: Request) -> bool:
    """A browser's POST from another site carries its Origin (or "null"): refuse it for writes. Pages are
    served with ``Referrer-Policy: same-origin``, under which a same-site form sends its real Origin."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    from urllib.parse import urlsplit

    return urlsplit(origin).netloc == request.headers.get("host", "")


def request_id(request: Request) -> str | None:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else None


def examples_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_examples" / "patients"
    return packaged if packaged.is_dir() else here.parent.parent / "examples" / "patients"


def examples() -> dict[str, Path]:
    d = examples_dir()
    return {p.stem: p for p in sorted(d.glob("*.json"))} if d.is_dir() else {}


def example_title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def patient_from_field(text: str, field: str = "patient_json") -> Patient:
    if not text or len(text) > MAX_FIELD_CHARS:
        raise InputError(field, "the patient record is missing from the request")
    return patient_from_obj(parse_json(text))


def record(patient: Patient) -> dict[str, Any]:
    data = patient.model_dump(mode="json", exclude_none=True)
    assert isinstance(data, dict)
    return data


SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("tumor.primary_site", "Primary"),
    ("tumor.differentiation", "Differentiation"),
    ("tumor.grade", "Grade"),
    ("tumor.lung_subtype", "Subtype"),
    ("tumor.ki67_percent", "Ki-67 %"),
    ("tumor.functional", "Functional"),
    ("tumor.sstr_status", "SSTR"),
    ("disease.extent", "Extent"),
    ("disease.status", "Status"),
    ("disease.progression_clinically_significant", "Significant progression"),
    ("disease.tumor_burden", "Burden"),
    ("disease.biology", "Biology"),
)


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def patient_summary(patient: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if patient.get("age_years") is not None:
        out.append(("Age", f"{patient['age_years']:g}"))
    if patient.get("sex"):
        out.append(("Sex", str(patient["sex"])))
    for path, label in SUMMARY_FIELDS:
        v = _get(patient, path)
        if v is not None:
            out.append((label, f"{v:g}" if isinstance(v, float) else value_label(v)))
    treatments = patient.get("treatments")  # unknown is not none: an unrecorded history is not 0
    out.append(("Treatments recorded", "not recorded" if treatments is None else str(len(treatments))))
    if patient.get("as_of"):
        out.append(("Record as of", str(patient["as_of"])))
    return out


def form_page(
    state: FormState,
    *,
    status: int = 200,
    mapping: dict[str, Any] | None = None,
    import_error: str | None = None,
    loaded: str | None = None,
) -> HTMLResponse:
    if state.form_token is None:
        state.form_token = new_token()
    return render(
        "patient.html",
        status=status,
        schema=form_schema(),
        state=state,
        examples=[(k, example_title(k)) for k in examples()],
        mapping=mapping,
        import_error=import_error,
        loaded=loaded,
        nav="patient",
    )


def evaluation_page(
    request: Request,
    ev: dict[str, Any],
    patient: dict[str, Any],
    *,
    status: int = 200,
    stored: EvaluationSummary | None = None,
    whatif: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
    whatif_error: tuple[str, str] | None = None,
    current_version: str | None = None,
    signed: Mapping[str, str] | None = None,
    case: CaseRef | None = None,
) -> HTMLResponse:
    """The evaluation page; ``signed``: the queries that sign the stored evaluation's page links when it
    was opened by a signed link (netcds.web.link_access); ``case``: the case being edited (a stored
    evaluation's own case and version by default), carried on by every form of the page."""
    if case is None and stored is not None and stored.case_id:
        case = CaseRef(stored.case_id, stored.case_version)
    view = build_view(ev, patient)
    lines = lines_for(ev, patient)
    return render(
        "evaluation.html",
        status=status,
        view=view,
        ev=ev,
        patient=patient,
        summary=patient_summary(patient),
        patient_json=compact_json(patient),
        base_json=compact_json(base if base is not None else patient),
        stored=stored,
        whatif=whatif,
        whatif_error=whatif_error,
        lines=lines,
        timeline=build_timeline(lines, patient.get("as_of")),
        cases_enabled=cases_enabled(request),
        current_version=current_version,
        signed=signed or {},
        case=case,
        form_token=new_token(),
        nav="patient",
    )


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    return render("error.html", status=status, title=title, message=message, nav=None)


def parse_upload(raw: bytes) -> Any:
    """JSON from an uploaded file (InputError naming the file when it is not JSON)."""
    try:
        return parse_json(raw)
    except InputError as exc:  # a key given twice: its path stays in the message
        raise InputError(
            "file", exc.message if exc.field == "<json>" else f"{exc.field}: {exc.message}"
        ) from None


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
