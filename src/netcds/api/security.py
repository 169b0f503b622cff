"""Response security headers, CORS for configured origins, the Host allow-list, the request-header ceiling,
and a per-client token-bucket rate limit.

All of them are applied by the ASGI middleware (middleware.py) to every response, API
and problem documents included. The web pages (/ui) set their own stricter HTML
policy (netcds.web.templating.CSP); a header a response already carries is kept.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
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
# one pinned release of the npm package swagger-ui-dist (jsDelivr serves the package's files as published);
# the digests are of that release's files (``npm pack swagger-ui-dist@5.35.0``, ``openssl dgst -sha384``),
# so a changed file on the CDN is refused by the browser (Subresource Integrity) instead of run
SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_JS = f"{SWAGGER_CDN}/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{SWAGGER_CDN}/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}/swagger-ui.css"
SWAGGER_SRI = {
    SWAGGER_JS: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
    SWAGGER_CSS: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
}


def with_integrity(html: str) -> str:
    """The Swagger UI page with an ``integrity`` (and ``crossorigin``) attribute on its CDN script and
    style; a page whose tags are not found as expected is an error, not a page without the check."""
    for url, digest in SWAGGER_SRI.items():
        for tag in (f'<script src="{url}"', f'<link type="text/css" rel="stylesheet" href="{url}"'):
            if html.count(tag) == 1:
                html = html.replace(tag, f'{tag} integrity="{digest}" crossorigin="anonymous"')
                break
        else:
            raise RuntimeError(f"the API page has no single tag loading {url}")
    return html


def docs_csp(html: str) -> str:
    """A policy for the Swagger UI page: its two pinned CDN files (nothing else from the CDN) plus its one
    inline bootstrap script by hash (no 'unsafe-inline'); the icon is the web app's own."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_JS} {hashes}; style-src {SWAGGER_CSS}; "
        "img-src 'self' data:; connect-src 'self'; "
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


# --- loopback -----------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Whether the host name or address ``host`` is this machine's loopback: ``localhost`` or a loopback IP
    literal (127.0.0.0/8, ::1). The one test for a real host: where ``serve`` binds (api/cli.py) and where a
    request comes from (:func:`is_loopback_client`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# the client and server names of Starlette's in-process client (no network: the same process)
IN_PROCESS_CLIENTS = frozenset({"testclient", "testserver"})


def is_loopback_client(client_host: str) -> bool:
    """Whether a request's client is this machine: a loopback host, or Starlette's in-process client.
    Never for a bind address (``serve`` cannot listen on "testserver")."""
    return client_host in IN_PROCESS_CLIENTS or is_loopback(client_host)


# --- rate limit ---------------------------------------------------------------------------------------------
def limited(client_host: str, settings: Settings) -> bool:
    """Whether requests from this address are rate limited at all."""
    if settings.rate_limit_per_minute == 0:
        return False
    return settings.rate_limit_loopback or not is_loopback_client(client_host)


@dataclass
class SeenTokens:
    """The verified tokens (issuer, jti) already charged to their client's bucket, in this process.

    A token is single use (its ``jti`` is refused the second time), so a second request with it is a
    replay: it is charged to the sender's address, never again to the client the token names. At most
    ``max_keys`` are remembered (oldest forgotten first: a replay that old is charged to its client once
    more, and still refused with 401)."""

    max_keys: int = 50_000
    _seen: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)

    def first_use(self, iss: str, jti: str) -> bool:
        key = (iss, jti)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True


def client_bucket(iss: str, sub: str | None, tenant: str | None) -> str:
    """The bucket of a VERIFIED caller (issuer, subject and tenant of a token whose signature checked out)."""
    return "client:" + "|".join(part[:200] for part in (iss, sub or "-", tenant or "-"))


# --- Host allow-list (DNS rebinding) ------------------------------------------------------------------------
def split_host(value: str) -> tuple[str, str]:
    """A Host header value as (host, port): lower case, no trailing dot; port "" when none is given."""
    v = value.strip().lower()
    if v.startswith("["):
        host, _, rest = v.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = v.partition(":")
    return host.rstrip("."), port


def host_allowed(value: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header value names one of ``allowed`` (entries: ``host`` for any port, ``host:port``
    for that port, ``*.domain`` for any name under the domain). No Host header is not allowed."""
    if not value:
        return False
    host, port = split_host(value)
    for entry in allowed:
        want, want_port = split_host(entry)
        if want_port and want_port != port:
            continue
        if want == host or (want.startswith("*.") and host.endswith(want[1:]) and len(host) > len(want) - 1):
            return True
    return False


def header_bytes(raw: list[tuple[bytes, bytes]]) -> int:
    """The size of a request's header fields as sent: each ``name: value`` line with its CRLF."""
    return sum(len(k) + len(v) + 4 for k, v in raw)


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
