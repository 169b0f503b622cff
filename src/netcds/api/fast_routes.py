"""Direct dispatch of the calls an EHR makes on every chart opened or order signed.

``POST /api/v1/evaluate`` without a query string and ``POST /cds-services/{id}`` for the services of
the discovery document are answered here, inside :class:`netcds.api.middleware.ServiceMiddleware`
(request id, rate limit, body ceiling, security headers, the log line) and ahead of FastAPI's router.
Matching a path against every route of the app (API, hooks, web pages), solving the route's
parameters and passing the exception and exit-stack layers cost FastAPI about as much CPU as the rest
of a cached call (in process: evaluate 212 -> 135 us, patient-view 410 -> 255 us). The same view
functions answer, their errors go through the app's own exception handlers (problem+json),
``scope["route"]`` names the same path template for the log line, and the routes stay in the router
and the OpenAPI document: any other method, path or a query string (``guideline_version`` is
validated by FastAPI) passes through unchanged (tests/api/test_fast_routes.py compares the two).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

View = Callable[[Request], Awaitable[Response]]


class RouteName:
    """What the request log line reads from ``scope["route"]``: the path template, never the raw path."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class FastRoutes:
    def __init__(self, app: ASGIApp, routes: dict[str, tuple[View, str]], owner: Any) -> None:
        """``routes``: exact path -> (view, the route's path template); ``owner``: the FastAPI app (its
        exception handlers are read at the first call, once all are registered)."""
        self.app = app
        self.routes = {path: (view, RouteName(template)) for path, (view, template) in routes.items()}
        self.owner = owner
        self._handlers: dict[Any, Callable[..., Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        found = self.routes.get(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        view, scope["route"] = found
        request = Request(scope, receive)
        try:
            response = await view(request)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The response the app's exception handler gives for ``exc`` (as Starlette's exception layer
        would); an exception without a handler goes on to the service middleware's catch-all."""
        if self._handlers is None:  # as FastAPI's exception layer has them (500 is the catch-all's)
            self._handlers = {
                k: v for k, v in self.owner.exception_handlers.items() if k not in (500, Exception)
            }
        handlers = self._handlers
        handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
        if handler is None:
            raise exc
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        assert isinstance(response, Response)
        return response
