"""One pure-ASGI middleware: request id, body-size ceiling, a log line per request, and the catch-all.

The log line holds the method, the route path (no query string), the status,
the duration and the request id; never a body, a header value or a patient field.
An unexpected exception becomes a 500 problem document with an error id that is
logged with the exception type and where it was raised (not its message, which
could quote input).
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netcds.api.problems import PROBLEM_JSON, problem_bytes

log = logging.getLogger("netcds.api")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 0}
        response_started = False

        async def send_wrapped(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = int(message["status"])
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": raw}
            await send(message)

        async def reply(status: int, body: bytes) -> None:
            await send_wrapped(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", PROBLEM_JSON.encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_wrapped({"type": "http.response.body", "body": body})

        declared = headers.get("content-length", "")
        try:
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await reply(
                    413,
                    problem_bytes(
                        413,
                        f"the request body is larger than {self.max_body_bytes} bytes",
                        kind="payload-too-large",
                        instance=path,
                        request_id=request_id,
                    ),
                )
            else:
                await self.app(scope, receive, send_wrapped)
        except Exception as exc:  # the catch-all: never a traceback to the client
            error_id = uuid.uuid4().hex[:12]
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}" if frame else "?"
            log.error(
                "unhandled error id=%s request=%s type=%s at %s",
                error_id,
                request_id,
                type(exc).__name__,
                where,
            )
            if not response_started:
                await reply(
                    500,
                    problem_bytes(
                        500,
                        f"internal error {error_id}; it has been logged",
                        kind="internal-error",
                        instance=path,
                        request_id=request_id,
                    ),
                )
        finally:
            route = _route_path(scope) or path
            log.info(
                "%s %s %d %.1fms request=%s",
                scope.get("method", "?"),
                route,
                status_holder["status"],
                (time.perf_counter() - started) * 1000,
                request_id,
            )


def _route_path(scope: Scope) -> str | None:
    route = scope.get("route")
    return getattr(route, "path", None) if route is not None else None
