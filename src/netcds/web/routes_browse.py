"""Cases and stored evaluations, the guideline browser and the agent monographs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from netcds.api.signed_links import LinkCheck
from netcds.errors import KnowledgeError
from netcds.knowledge.load import load_knowledge, release_installed
from netcds.knowledge.schema import Knowledge
from netcds.web.bidi import restore
from netcds.web.cases import ACTOR, SIGNED_LINK_ACTOR, CaseNotFoundError, StoredEvaluationView, canonical_id
from netcds.web.evaluation_view import current_knowledge, knowledge_version, lines_for
from netcds.web.guideline_view import (
    ReleaseView,
    cite,
    raw_condition_words,
    release_view,
    table_index,
    table_view,
)
from netcds.web.link_access import LinkAccess, evaluation_access
from netcds.web.pages import (
    cases_enabled,
    error_page,
    evaluation_page,
    patient_summary,
    repository,
    request_id,
)
from netcds.web.pdf_download import pdf_response
from netcds.web.templating import compact_json, render
from netcds.web.timeline_svg import build_timeline

router = APIRouter(include_in_schema=False)
NO_CASES = (
    "Cases are not available",
    "This service requires a signed-in API client to read stored cases; the web pages have no sign-in, "
    "so they do not open stored patient records.",
)


@router.get("/ui/cases")
def cases(request: Request, q: str | None = None) -> Response:
    if not cases_enabled(request):
        return error_page(403, *NO_CASES)
    query = restore((q or "").strip()[:100])  # a direction control copied as shown (web.bidi)
    repo = repository(request)
    found = repo.list_cases(query or None)
    return render("cases.html", cases=found, q=query, persistent=repo.persistent, nav="cases", saved=None)


@router.get("/ui/cases/{case_id}")
def case(request: Request, case_id: str, saved: int | None = None) -> Response:
    if not cases_enabled(request):
        return error_page(403, *NO_CASES)
    cid = canonical_id(case_id)  # the spellings the REST API takes, in the stored form
    if cid is None:
        return error_page(404, "No such case", "That is not a case id.")
    repo = repository(request)
    try:
        detail = repo.get_case(cid)
    except CaseNotFoundError:
        return error_page(404, "No such case", f"No case {cid}.")
    repo.audit("case.read", cid, request_id(request))
    return render(
        "case.html",
        case=detail,
        summary=patient_summary(detail.patient),
        saved=saved,
        persistent=repo.persistent,
        current_version=knowledge_version(request.app.state) or current_knowledge(request.app.state).release,
        nav="cases",
    )


def _stored(
    request: Request, evaluation_id: str, subpage: str = ""
) -> tuple[StoredEvaluationView, LinkAccess] | Response:
    """The stored evaluation, when this request may open it: by a valid signed link (a card's), else by
    the web pages' rule (netcds.web.link_access); a refusal names no patient data. The id is read in the
    spellings the REST API takes and used in its stored form (which a card's link is signed for)."""
    evaluation_id = canonical_id(evaluation_id) or evaluation_id
    access = evaluation_access(request, evaluation_id, subpage)
    if access.refusal is not None:
        return error_page(403, *access.refusal)
    signed = access.check is LinkCheck.VALID
    if not signed and not cases_enabled(request):
        return error_page(403, *NO_CASES)
    if canonical_id(evaluation_id) is None:
        return error_page(404, "No such evaluation", "That is not an evaluation id.")
    repo = repository(request)
    try:
        found = repo.get_evaluation(evaluation_id)
    except CaseNotFoundError:
        return error_page(404, "No such evaluation", f"No evaluation {evaluation_id}.")
    repo.audit("evaluation.read", evaluation_id, request_id(request), SIGNED_LINK_ACTOR if signed else ACTOR)
    return found, access


@router.get("/ui/evaluations/{evaluation_id}")
def stored_evaluation(request: Request, evaluation_id: str) -> Response:
    got = _stored(request, evaluation_id)
    if isinstance(got, Response):
        return got
    found, access = got
    return evaluation_page(
        request,
        found.output,
        found.input,
        stored=found.summary,
        current_version=current_knowledge(request.app.state).release,
        signed=access.signed,
    )


@router.get("/ui/evaluations/{evaluation_id}/timeline")
def stored_timeline(request: Request, evaluation_id: str) -> Response:
    got = _stored(request, evaluation_id, "/timeline")
    if isinstance(got, Response):
        return got
    found, access = got
    lines = lines_for(found.output, found.input)
    return render(
        "timeline.html",
        ev=found.output,
        patient=found.input,
        patient_json=compact_json(found.input),
        lines=lines,
        timeline=build_timeline(lines, found.input.get("as_of")),
        stored=found.summary,
        signed=access.signed,
        nav="cases",
    )


@router.get("/ui/evaluations/{evaluation_id}/pdf")
async def stored_pdf(request: Request, evaluation_id: str) -> Response:
    got = _stored(request, evaluation_id, "/pdf")
    if isinstance(got, Response):
        return got
    found = got[0]
    lines = lines_for(found.output, found.input)
    return await run_in_threadpool(pdf_response, found.output, found.input, lines, found.summary)


# --- guideline browser ---------------------------------------------------------------------------------


def _guideline_index(kb: Knowledge, release: ReleaseView) -> Response:
    return render(
        "guideline_index.html",
        kb=kb,
        tables=table_index(kb),
        nav="guideline",
        manifest=kb.manifest,
        release=release,
    )


def _guideline_table(kb: Knowledge, table_id: str, release: ReleaseView) -> Response:
    if table_id not in {t.id for t in kb.tables}:
        return error_page(
            404, "No such table", f"Release {kb.release} of the guideline has no table {table_id[:40]!r}."
        )
    return render(
        "guideline_table.html",
        kb=kb,
        table=table_view(kb, table_id),
        tables=table_index(kb),
        nav="guideline",
        release=release,
    )


@router.get("/ui/guideline")
def guideline_index(request: Request) -> Response:
    kb = current_knowledge(request.app.state)
    return _guideline_index(kb, release_view(kb, kb, versioned=False))


@router.get("/ui/guideline/{table_id}")
def guideline_table(request: Request, table_id: str) -> Response:
    kb = current_knowledge(request.app.state)
    return _guideline_table(kb, table_id, release_view(kb, kb, versioned=False))


def _release(request: Request, guideline_id: str, release: str) -> tuple[Knowledge, ReleaseView] | Response:
    """An installed knowledge release, read as ``GET /api/v1/guidelines/{id}/{release}`` reads it (the same
    id check; each release loaded once per process by netcds.knowledge.load), with the release the service
    uses now; a 404 page for anything else, a 503 page for a release installed but not loadable."""
    if not release_installed(guideline_id, release):
        return error_page(
            404,
            "No such guideline release",
            f"No knowledge release {release[:40]!r} of the guideline {guideline_id[:40]!r} is installed.",
        )
    try:
        kb = load_knowledge(release, guideline_id)
    except KnowledgeError as exc:
        where, what = exc.problems[0] if exc.problems else ("", "invalid")
        return error_page(
            503,
            "Guideline release not available",
            f"Knowledge release {release} of {guideline_id} cannot be loaded ({where}: {what})"[:300],
        )
    return kb, release_view(kb, current_knowledge(request.app.state), versioned=True)


@router.get("/ui/guideline/{guideline_id}/{release}")
def guideline_release_index(request: Request, guideline_id: str, release: str) -> Response:
    """The tables of one knowledge release (a card computed with it links here)."""
    found = _release(request, guideline_id, release)
    return found if isinstance(found, Response) else _guideline_index(*found)


@router.get("/ui/guideline/{guideline_id}/{release}/{table_id}")
def guideline_release_table(request: Request, guideline_id: str, release: str, table_id: str) -> Response:
    """One table as a knowledge release encodes it (a card computed with that release links here)."""
    found = _release(request, guideline_id, release)
    return found if isinstance(found, Response) else _guideline_table(found[0], table_id, found[1])


def _agents() -> Any:
    from netcds.safety import load_agents

    return load_agents()


@router.get("/ui/agents")
def agents() -> Response:
    try:
        kb = _agents()
    except (ImportError, KnowledgeError) as exc:
        return error_page(503, "Agent monographs are not available", str(exc)[:300])
    rows = [
        (
            aid,
            m.get("name", aid),
            m.get("drug_class", ""),
            m.get("route", ""),
            (m.get("dose") or {}).get("net_label"),
        )
        for aid, m in sorted(kb.raw.items())
    ]
    return render("agents.html", agents=rows, nav="agents")


@router.get("/ui/agents/{agent_id}")
def agent(agent_id: str) -> Response:
    try:
        kb = _agents()
    except (ImportError, KnowledgeError) as exc:
        return error_page(503, "Agent monographs are not available", str(exc)[:300])
    mono = kb.raw.get(agent_id)
    if not isinstance(mono, dict):
        return error_page(404, "No such agent", f"No monograph for {agent_id[:40]!r}.")
    return render(
        "agent.html",
        mono=mono,
        agent_id=agent_id,
        cite=lambda c: cite(mono, c),
        words=raw_condition_words,
        agents=sorted(kb.raw),
        nav="agents",
    )
