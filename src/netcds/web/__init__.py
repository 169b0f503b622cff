"""The tumor-board web app, served by the same FastAPI process as the API.

Server-rendered pages (Jinja2, autoescaped) under ``/ui``, static assets under
``/ui/static`` (no CDN, no inline script or style, so a strict CSP holds)::

    from netcds.web import mount
    mount(app)            # inside create_app, after the API routers

Pages: patient form (``/ui/patient``), evaluation with what-if, line-of-therapy
timeline, PDF summary, cases (``/ui/cases``), guideline browser
(``/ui/guideline``) and agent monographs (``/ui/agents``). See docs/web.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from netcds.web.cases import MemoryCases
from netcds.web.pages import WebState
from netcds.web.templating import STATIC

__all__ = ["mount"]


def _root_taken(app: FastAPI) -> bool:
    return any(getattr(r, "path", None) == "/" for r in app.router.routes)


def mount(app: FastAPI, settings: object | None = None) -> None:
    """Add the web pages under ``/ui`` and the static files under ``/ui/static`` to ``app``.

    Cases are read from and written to the app's store (``app.state.netcds.store``, set by
    ``create_app``); an app without one gets an in-memory case list. ``/`` redirects to ``/ui``
    unless the app already serves ``/``.
    """
    from netcds.web.routes_browse import router as browse_router
    from netcds.web.routes_patient import router as patient_router

    if isinstance(getattr(app.state, "netcds_web", None), WebState):
        return  # already mounted: mounting twice would register every route twice
    app.state.netcds_web = WebState(settings=settings, memory=MemoryCases())
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="netcds-web-static")
    app.include_router(patient_router)
    app.include_router(browse_router)
    if not _root_taken(app):

        def root() -> Response:
            return RedirectResponse("/ui", status_code=307)

        app.add_api_route("/", root, methods=["GET"], include_in_schema=False)


def create_web_app(settings: Any = None) -> FastAPI:
    """A bare app with only the web pages (tests and demos without the service)."""
    app = FastAPI(title="netcds web", docs_url=None, redoc_url=None, openapi_url=None)
    mount(app, settings)
    return app
