"""One pure-ASGI middleware around the whole app (API, hooks and web pages alike).

In order: request id; request-header ceiling (431); Host allow-list (400, against DNS rebinding);
CORS preflight (only configured origins); rate limit (token bucket per address, or per verified
client, 429 with Retry-After); body-size ceiling (by Content-Length, and counted while the body
streams in); a body with a ``Content-Encoding`` (gzip, ...) refused, 415 (netcds reads identity
bodies only, so it never sees compressed bytes as JSON nor inflates a zip bomb); the app (a HEAD
request answered as the GET would be, without the body: every page and endpoint that answers GET
answers HEAD); security headers and CORS headers on every response; the catch-all; and one log
line per request.

The log line holds the method, the route template (never the raw path of an unknown URL, which
could carry anything), the status, the duration and the request id; never a body, a header value,
a query string or a patient field. An unexpected exception becomes a 500 problem document with an
error id that is logged with the exception type and where it was raised (not its message, which
could quote input).
"""

from __future__ import annotations

import logging
import re
import time
import traceback

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netcds.api import security
from netcds.api.problems import PROBLEM_JSON, PayloadTooLarge, problem_bytes
from netcds.ids import uuid4
from netcds.io import printable
from netcds.settings import Settings

log = logging.getLogger("netcds.api")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_body_bytes = settings.max_body_bytes
        self.buckets = security.TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.seen_tokens = security.SeenTokens()
        self.good_hosts: set[bytes] = set()  # Host values found allowed already (a few at most)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers", [])
        head_bytes = security.header_bytes(raw_headers)
        oversized = head_bytes > self.settings.max_header_bytes
        # an oversized header block is answered without being decoded
        headers = (
            {} if oversized else {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        )
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_ID.match(given) else uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        method = scope.get("method", "?")
        origin = headers.get("origin", "")
        cors_ok = bool(origin) and security.cors_allowed(origin, self.settings)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 0}
        response_started = False

        async def send_wrapped(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = int(message["status"])
                raw = security.add_security_headers(list(message.get("headers", [])), path)
                raw.append((b"x-request-id", request_id.encode()))
                if cors_ok and not any(k.lower() == b"access-control-allow-origin" for k, _ in raw):
                    raw += security.actual_cors_headers(origin)
                message = {**message, "headers": raw}
            await send(message)

        async def reply(status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
            # a 204 (the allowed CORS preflight) has no content: no content type, no Content-Length (RFC 9110
            # 8.6), no body
            entity = (
                []
                if status == 204
                else [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
            )
            await send_wrapped(
                {"type": "http.response.start", "status": status, "headers": [*entity, *(extra or [])]}
            )
            await send_wrapped({"type": "http.response.body", "body": body})

        def problem(status: int, detail: str, kind: str) -> bytes:
            return problem_bytes(status, detail, kind=kind, instance=path, request_id=request_id)

        limit = self.max_body_bytes
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        declared = headers.get("content-length", "")
        encoding = content_coding(scope.get("headers", []))
        # HEAD is served by the GET route; the server's own scope keeps HEAD (it sends no body for it)
        app_scope = {**scope, "method": "GET"} if method == "HEAD" else scope
        try:
            if oversized:
                await reply(
                    431,
                    problem(
                        431,
                        f"the request header fields total {head_bytes} bytes, more than "
                        f"{self.settings.max_header_bytes} (server.max_header_bytes)",
                        "header-fields-too-large",
                    ),
                )
                return
            if self.settings.allowed_hosts and (bad := self._bad_host(raw_headers)) is not None:
                await reply(400, problem(400, bad, "invalid-host"))
                return
            if security.cors_preflight(method, headers):
                if cors_ok:
                    await reply(204, b"", security.preflight_headers(origin))
                else:
                    await reply(
                        403, problem(403, "cross-origin requests are not allowed from this origin", "cors")
                    )
                return
            key = self._bucket(scope, headers)
            wait = self.buckets.take(key) if key else 0.0
            if wait > 0:
                after = security.retry_after(wait)
                await reply(
                    429,
                    problem(
                        429, f"too many requests from this client; retry after {after} s", "rate-limited"
                    ),
                    [(b"retry-after", after.encode())],
                )
            elif declared.isdigit() and int(declared) > limit:
                await reply(
                    413, problem(413, f"the request body is larger than {limit} bytes", "payload-too-large")
                )
            elif encoding:
                await reply(
                    415,
                    problem(
                        415,
                        f"Content-Encoding {encoding} is not supported: send the body unencoded",
                        "unsupported-content-encoding",
                    ),
                    [(b"accept-encoding", b"identity")],  # RFC 9110 15.5.16: the codings accepted
                )
            elif method == "HEAD":
                await self.app(app_scope, receive_limited, without_body(send_wrapped))
            else:
                await self.app(scope, receive_limited, send_wrapped)
        except PayloadTooLarge:  # raised while reading a body outside the views' own handling
            if not response_started:
                await reply(
                    413, problem(413, f"the request body is larger than {limit} bytes", "payload-too-large")
                )
        except Exception as exc:  # the catch-all: never a traceback to the client
            error_id = new_error_id()
            log.error(
                "unhandled error id=%s request=%s type=%s at %s",
                error_id,
                request_id,
                type(exc).__name__,
                where_raised(exc),
            )
            if not response_started:
                await reply(
                    500, problem(500, f"internal error {error_id}; it has been logged", "internal-error")
                )
        finally:
            log.info(
                "%s %s %d %.1fms request=%s",
                method if method.isalpha() and len(method) <= 10 else "?",
                _route_path(app_scope) or "(no route)",
                status_holder["status"],
                (time.perf_counter() - started) * 1000,
                request_id,
            )

    def _bad_host(self, raw: list[tuple[bytes, bytes]]) -> str | None:
        """Why the request's Host header is refused (missing, repeated, or not in server.allowed_hosts), or
        None. A page on an attacker's domain that resolves to this server (DNS rebinding) sends its own
        name as Host: refused here, it never reaches a view as if it were same-origin."""
        hosts = [v for k, v in raw if k.lower() == b"host"]
        if len(hosts) != 1:
            return f"the Host header is {'missing' if not hosts else 'repeated'}"
        if hosts[0] in self.good_hosts:
            return None
        value = hosts[0].decode("latin-1")
        if security.host_allowed(value, self.settings.allowed_hosts):
            if len(self.good_hosts) < 64:
                self.good_hosts.add(hosts[0])
            return None
        return (
            f"the Host header '{printable(value, 100)}' names no host this service answers to "
            "(server.allowed_hosts)"
        )

    def _bucket(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """The bucket a request draws from, or None when it is not limited. With rate_limit_key "client"
        a request draws from its client's bucket only when its bearer token VERIFIES (a trusted issuer's
        key, a good signature, not expired, addressed to this service) and is used for the first time;
        every other request (no token, a forged or replayed one) draws from its address's bucket."""
        host = (scope.get("client") or ("", 0))[0]
        if not security.limited(host, self.settings):
            return None
        if self.settings.rate_limit_key == "client" and headers.get("authorization"):
            verifier = getattr(
                getattr(getattr(scope.get("app"), "state", None), "netcds", None), "verifier", None
            )
            who = verifier.client_of(headers["authorization"]) if verifier is not None else None
            if who is not None and who.iss and who.jti and self.seen_tokens.first_use(who.iss, who.jti):
                return security.client_bucket(who.iss, who.sub, who.tenant)
        return "ip:" + host


def content_coding(raw: list[tuple[bytes, bytes]]) -> str:
    """The request's content codings other than ``identity`` (all its Content-Encoding lines), "" if none."""
    codings = [
        c.strip().lower()
        for k, v in raw
        if k.lower() == b"content-encoding"
        for c in v.decode("latin-1").split(",")
    ]
    return ", ".join(c for c in codings if c and c != "identity")


def without_body(send: Send) -> Send:
    """``send`` for a HEAD request answered by its GET route: the status and headers (Content-Length
    included) as they are, the body left out."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_head


def new_error_id() -> str:
    """The id an internal error is logged under and shown to the caller."""
    return uuid4().hex[:12]


def where_raised(exc: BaseException) -> str:
    """Where ``exc`` was raised ("order_hooks.py:141 in _agent_cards"): logged instead of its message, which
    could quote input."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}" if frame else "?"


def _route_path(scope: Scope) -> str | None:
    route = scope.get("route")
    return getattr(route, "path", None) if route is not None else None
