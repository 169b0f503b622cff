"""The application factory: one FastAPI app, thin views over the engine, knowledge, safety and store."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from netcds import __version__
from netcds.api import optional
from netcds.api.auth import TokenVerifier
from netcds.api.context import ServiceContext, run_work
from netcds.api.eval_cache import EvaluationCache
from netcds.api.examples import ORDER_SIGN_EXAMPLE, PATIENT_EXAMPLE, PATIENT_VIEW_EXAMPLE
from netcds.api.fast_routes import FastRoutes, View
from netcds.api.memory import fix_mmap_threshold
from netcds.api.middleware import ServiceMiddleware
from netcds.api.problems import install_handlers
from netcds.api.request_checks import known_query
from netcds.api.security import SWAGGER_CSS, SWAGGER_JS, docs_csp, with_integrity
from netcds.api.shared_cache import SharedCache
from netcds.api.signed_links import LinkSigner
from netcds.engine import evaluate
from netcds.patient import Patient
from netcds.settings import Settings, load_settings
from netcds.store.repo import Store

log = logging.getLogger("netcds.api")

DESCRIPTION = """Decision support for systemic therapy in neuroendocrine tumors (NCCN NET V.5.2024).

* **REST** (`/api/v1`): evaluate a contract Patient or a FHIR Bundle, read the guideline tables as data,
  agent monographs, and store cases with their evaluations (replayable with the pinned guideline version).
* **CDS Hooks 2.0** (`/cds-services`): `patient-view`, `order-sign` and `order-select` services, with
  feedback. Calls carry the EHR's JWT (asymmetric algorithms, allow-listed issuers, `aud` = the endpoint URL,
  `jti` replay refused).

Errors are RFC 9457 `application/problem+json`; validation problems list every field in `errors`.
Decision support only: every eligible option is listed by tier; nothing is ranked as "best".
"""

OPEN_MODE_BANNER = (
    "CDS Hooks OPEN MODE: hook calls are accepted WITHOUT a signed token. Use only on a trusted local "
    "machine for development; never expose this service to a network in this mode."
)

RANDOM_LINK_KEY = (
    "card links to stored evaluations are signed with a random key made at start, so they stop working "
    "when the service restarts: configure a key with NETCDS_LINK_SECRET or NETCDS_LINK_SECRET_FILE"
)

PROBLEM_422_EXAMPLE: dict[str, Any] = {
    "type": "urn:netcds:problem:validation",
    "title": "Invalid patient",
    "status": 422,
    "detail": "tumor.ki67_percent: must be less than or equal to 100 (got 150)",
    "instance": "/api/v1/evaluate",
    "request_id": "5f0c1d7e9a2b4c6d8e0f1a2b3c4d5e6f",
    "errors": [{"field": "tumor.ki67_percent", "message": "must be less than or equal to 100 (got 150)"}],
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=TAGS
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    patient = Patient.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in sorted(patient.pop("$defs", {}).items()):
        schemas.setdefault(name, sub)
    schemas["Patient"] = patient
    # FastAPI's own 422 shapes are never produced (our handler answers problem+json): drop them
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path in doc.get("paths", {}).values():
        for op in path.values():
            responses = op.get("responses", {})
            for status, resp in responses.items():
                content = resp.get("content", {})
                if status.startswith(("4", "5")) and "application/problem+json" in content:
                    schema = content.pop("application/json", {}).get("schema") or {
                        "$ref": "#/components/schemas/Problem"
                    }
                    content["application/problem+json"] = {"schema": schema}
                    if status == "422":
                        content["application/problem+json"]["example"] = PROBLEM_422_EXAMPLE
            r422 = responses.get("422", {})
            ref = (r422.get("content", {}).get("application/json", {}).get("schema", {}) or {}).get(
                "$ref", ""
            )
            if ref.endswith("/HTTPValidationError"):
                responses["422"] = {
                    "description": "invalid request parameters",
                    "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
    _response_example(doc, "/api/v1/evaluate")
    _hook_examples(doc)
    _security(doc)
    app.openapi_schema = doc
    return doc


BEARER = "bearerJWT"
# the REST routes that take or return a patient record: a JWT is required there when server.require_token
# is on (api/context.rest_principal); /health, /guidelines and /agents stay open (docs/configuration.md)
TOKEN_ROUTES = ("/api/v1/evaluate", "/api/v1/cases", "/api/v1/evaluations")
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _security(doc: dict[str, Any]) -> None:
    """The bearer JWT scheme (CDS Hooks 2.0 service authorization; the REST API's with server.require_token)
    on the operations that check it, with their 401, and the rate limit's 429 on every operation."""
    doc["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT signed by a configured issuer, `aud` = the URL called (CDS Hooks) or "
            "`{base_url}/api/v1` (REST); see docs/api.md, Authentication.",
        }
    }
    for path, ops in doc["paths"].items():
        hooks = path.startswith("/cds-services")
        for op in ops.values():
            responses = op["responses"]
            if hooks or path.startswith(TOKEN_ROUTES):
                # a REST route takes no token unless server.require_token is on: {} = no security needed
                op["security"] = [{BEARER: []}] if hooks else [{BEARER: []}, {}]
                responses.setdefault(
                    "401",
                    {
                        "description": "no bearer token, or one refused (only with server.require_token)",
                        "content": _PROBLEM,
                    },
                )
            responses.setdefault(
                "429",
                {
                    "description": "rate limit reached for this client (server.rate_limit_per_minute); "
                    "retry after the Retry-After header's seconds",
                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                    "content": _PROBLEM,
                },
            )


def _hook_examples(doc: dict[str, Any]) -> None:
    """The hook request examples as written: FastAPI drops null members from examples, and a prefetch
    key sent as null ("not fetched", CDS Hooks 2.0) is what makes the example acceptable as sent."""
    try:
        post = doc["paths"]["/cds-services/{service_id}"]["post"]
        body = post["requestBody"]["content"]["application/json"]
    except KeyError:
        return
    for name, example in (("patient-view", PATIENT_VIEW_EXAMPLE), ("order-sign", ORDER_SIGN_EXAMPLE)):
        if name in body.get("examples", {}):
            body["examples"][name]["value"] = example


def _response_example(doc: dict[str, Any], path: str) -> None:
    """An excerpt of the real Evaluation of the request example (deterministic: regenerate the document
    when the engine or the knowledge changes; tests/api/test_openapi.py says when)."""
    import json

    from netcds.api.examples import PATIENT_EXAMPLE
    from netcds.engine import evaluate
    from netcds.knowledge.load import load_knowledge

    try:
        ok = doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    except KeyError:
        return
    ev = json.loads(evaluate(Patient.model_validate(PATIENT_EXAMPLE), load_knowledge()).model_dump_json())
    # an excerpt: the first two options, each with its first safety item and no dose detail (the full
    # output is much longer; GET /api/v1/agents/{id} has the dosing sources)
    ev["options"] = ev["options"][:2]
    for o in ev["options"]:
        o["safety"] = o.get("safety", [])[:1]
        o["dose"] = None
    ok["example"] = ev


TAGS = [
    {"name": "evaluate", "description": "Patient -> Evaluation (the public contract)"},
    {"name": "knowledge", "description": "Guideline versions and agent monographs as data"},
    {"name": "cases", "description": "Stored patient record versions and their evaluations"},
    {"name": "cds-hooks", "description": "CDS Hooks 2.0 discovery, services and feedback"},
    {"name": "service", "description": "Health"},
]


def _docs_page() -> HTMLResponse:
    """Swagger UI for the OpenAPI document (its script and style come from the jsDelivr CDN, pinned and
    checked by Subresource Integrity; the icon is the web pages' own)."""
    page = get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="netcds API",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url="/ui/static/favicon.svg",
    )
    html = with_integrity(bytes(page.body).decode())
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})


GC_THRESHOLDS = (50_000, 50, 1_000)  # young, middle, old (CPython default: 700, 10, 10)


def warm_up(ctx: ServiceContext) -> None:
    """Before the first request: load the knowledge, drug monographs and sequencing rules and run one
    evaluation and one FHIR mapping (the first call would otherwise take ~1 s), then move everything
    loaded so far out of the garbage collector's sight (``gc.freeze``): the knowledge is immutable and
    lives as long as the process, and scanning its million objects in every full collection stalled
    all requests of a worker for 100-200 ms. The young-generation threshold is raised too
    (``GC_THRESHOLDS``): one evaluation allocates tens of thousands of short-lived, acyclic objects, and
    CPython's default (a collection every 700 allocations) spent ~12 % of the service's CPU re-scanning the
    objects of the requests still in flight. Large blocks are kept out of the threads' heaps
    (:func:`netcds.api.memory.fix_mmap_threshold`)."""
    kb = ctx.knowledge()
    patient = Patient.model_validate(PATIENT_EXAMPLE)
    evaluate(patient, kb)
    if optional.mapping_available():
        optional.prefetch_to_patient(PATIENT_VIEW_EXAMPLE["prefetch"], None)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    fix_mmap_threshold()


def hot_routes() -> dict[str, tuple[View, str]]:
    """The hot calls answered ahead of the router (``api/fast_routes.py``): path -> (view, template)."""
    from functools import partial

    from netcds.api import hooks, rest
    from netcds.api.hook_models import SERVICES

    routes: dict[str, tuple[View, str]] = {
        "/api/v1/evaluate": (rest.evaluate_patient, "/api/v1/evaluate"),
    }
    for service_id in SERVICES:
        routes[f"/cds-services/{service_id}"] = (
            partial(hooks.call_service, service_id),
            "/cds-services/{service_id}",
        )
    return routes


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    fhir_transport: httpx.BaseTransport | None = None,
    shared_cache_dir: Path | None = None,
    link_key: bytes | None = None,
) -> FastAPI:
    """Build the service. Opens (and migrates) the store unless one is given; closes it on shutdown.
    ``shared_cache_dir``: where the workers of one ``serve --workers N`` share their second cache level;
    ``link_key``: the key that signs card links when no ``links.secret`` is set (one for all workers)."""
    settings = settings or load_settings()
    # the HTTP client logs each request URL at INFO; FHIR URLs carry patient ids: keep them out of the logs
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    own_store = store is None
    the_store = store or Store.open(settings.db_url)
    if settings.hooks_open:
        log.warning("!" * 20 + " " + OPEN_MODE_BANNER + " " + "!" * 20)
    elif not settings.hooks_issuers:
        log.warning("no CDS Hooks issuers configured: every hook call will be refused with 401")
    signer = LinkSigner.of(settings, link_key)
    if signer.random_key:
        log.warning(RANDOM_LINK_KEY)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_work(warm_up, app.state.netcds)
        yield
        if own_store:
            the_store.close()

    from netcds.api import cases, hooks, rest

    app = FastAPI(
        title="netcds",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below, under a content security policy that fits the page
        redoc_url=None,
    )
    app.state.netcds = ServiceContext(
        settings=settings,
        store=the_store,
        verifier=TokenVerifier(settings, the_store),
        fhir_transport=fhir_transport,
        link_signer=signer,
        eval_cache=EvaluationCache(
            settings.eval_cache_mb * 1024 * 1024,
            SharedCache(shared_cache_dir / "entries", settings.shared_cache_mb * 1024 * 1024)
            if shared_cache_dir is not None and settings.shared_cache_mb > 0
            else None,
        ),
    )
    install_handlers(app)
    app.add_middleware(FastRoutes, routes=hot_routes(), owner=app)
    app.add_middleware(ServiceMiddleware, settings=settings)  # added last: outermost
    app.include_router(rest.router)
    app.include_router(cases.router)
    app.include_router(hooks.router)
    app.add_api_route(
        "/api/v1/docs",
        _docs_page,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(known_query)],
    )
    from netcds.web import mount

    mount(app, settings)  # the tumor-board pages under /ui (not part of the OpenAPI document)
    # the SMART on FHIR EHR launch (docs/smart.md); off: its paths are unknown (404)
    if settings.smart.enabled:
        from netcds.web.smart import router as smart_router

        app.include_router(smart_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
