"""Response security headers, CORS for configured origins, and a per-client token-bucket rate limit.

All three are applied by the ASGI middleware (middleware.py) to every response, API
and problem documents included. The web pages (/ui) set their own stricter HTML
policy (netcds.web.templating.CSP); a header a response already carries is kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from netcds.settings import Settings

# an API answer is data, never a page: nothing may load, run or frame it
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
BASE_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("content-security-policy", API_CSP),
)
NO_STORE = ("cache-control", "no-store")  # answers carry patient data: no shared or disk caches

CORS_METHODS = "GET, POST"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id, Idempotency-Key"
CORS_EXPOSE_HEADERS = "X-Request-Id, X-Netcds-Input-Hash, Location, Retry-After, Idempotency-Replayed"
CORS_MAX_AGE = "600"


def add_security_headers(raw: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """``raw`` plus every base header it lacks (names compared case-insensitively)."""
    present = {k.lower() for k, _ in raw}
    out = list(raw)
    for name, value in BASE_HEADERS:
        if name.encode() not in present:
            out.append((name.encode(), value.encode()))
    if b"cache-control" not in present and not path.startswith("/ui/static"):
        out.append((NO_STORE[0].encode(), NO_STORE[1].encode()))
    return out


# --- the interactive API page (Swagger UI from its CDN) under a CSP that allows exactly that -------------
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
SWAGGER_CDN = "https://cdn.jsdelivr.net"


def docs_csp(html: str) -> str:
    """A policy for the Swagger UI page: its CDN bundle plus its one inline bootstrap script by hash
    (no 'unsafe-inline')."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; style-src {SWAGGER_CDN}; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


# --- CORS ---------------------------------------------------------------------------------------------------
def cors_preflight(method: str, headers: dict[str, str]) -> bool:
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def cors_allowed(origin: str, settings: Settings) -> bool:
    return origin.rstrip("/").lower() in settings.cors_origins


def preflight_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", CORS_METHODS.encode()),
        (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
        (b"access-control-max-age", CORS_MAX_AGE.encode()),
        (b"vary", b"Origin"),
    ]


def actual_cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", CORS_EXPOSE_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]


# --- rate limit ---------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host in ("localhost", "testclient", "testserver"):  # the last two: Starlette's in-process client
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_client(authorization: str) -> str | None:
    """``iss|sub`` of a bearer JWT, read WITHOUT verification (only to pick a bucket; the token itself is
    verified by the views). None when there is no readable token."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str):
        return None
    return f"{iss[:200]}|{sub[:200]}"


def client_key(client_host: str, headers: dict[str, str], settings: Settings) -> str | None:
    """The bucket a request draws from, or None when the request is not limited."""
    if settings.rate_limit_per_minute == 0:
        return None
    if is_loopback(client_host) and not settings.rate_limit_loopback:
        return None
    if settings.rate_limit_key == "client":
        who = _token_client(headers.get("authorization", ""))
        if who:
            return "client:" + who
    return "ip:" + client_host


@dataclass
class TokenBuckets:
    """In-memory token buckets: ``per_minute`` tokens a minute, at most ``burst`` saved up, per key.

    At most ``max_keys`` buckets are kept (least recently used dropped first: a dropped client simply
    starts again with a full bucket). One process, one event loop: no lock needed."""

    per_minute: int
    burst: int
    max_keys: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token; 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
