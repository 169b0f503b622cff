"""Prefetch handling for CDS Hooks: take what the client sent, fetch the rest, or answer 412.

Per CDS Hooks 2.0, a key the client did not satisfy is absent; ``null`` means "no
data"; an OperationOutcome in place of a resource means the client's fetch
failed. The service fetches a missing key itself only when fetching is enabled in
the settings and the request carries ``fhirServer`` and ``fhirAuthorization``;
otherwise it answers 412 Precondition Failed naming the missing keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from netcds.api.problems import ApiProblem
from netcds.errors import InputError
from netcds.io import parse_json

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
MAX_PAGES = 10


class PrefetchMissing(ApiProblem):
    def __init__(self, missing: list[str], why: str) -> None:
        super().__init__(
            412,
            f"prefetch not satisfied for {', '.join(missing)} and {why}",
            kind="prefetch-missing",
            missing_prefetch=missing,
        )


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill ``{{context.x}}`` tokens (URL-escaped); None when a token has no primitive value."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        v = context.get(m.group(1))
        if not isinstance(v, str | int) or isinstance(v, bool) or v == "":
            missing = True
            return ""
        return quote(str(v), safe="")

    out = _TOKEN.sub(sub, template)
    return None if missing else out


def _usable(value: Any) -> bool:
    return not (isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome")


def _fetch_allowed(server: str) -> bool:
    parts = urlsplit(server)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    )


def _get(client: httpx.Client, url: str, headers: dict[str, str]) -> Any:
    r = client.get(url, headers=headers)
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return parse_json(r.content)


def fetch_one(client: httpx.Client, server: str, query: str, token: str) -> Any:
    """GET one prefetch query from the FHIR server, following searchset ``next`` links (bounded)."""
    headers = {"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"}
    first = _get(client, f"{server.rstrip('/')}/{query.lstrip('/')}", headers)
    if not isinstance(first, dict) or first.get("resourceType") != "Bundle":
        return first
    entries = list(first.get("entry") or [])
    page = first
    for _ in range(MAX_PAGES - 1):
        nxt = next(
            (link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"), None
        )
        if not nxt:
            break
        page = _get(client, nxt, headers)
        if not isinstance(page, dict):
            break
        entries += page.get("entry") or []
    out = {k: v for k, v in first.items() if k != "link"}
    out["entry"] = entries
    if not entries:
        return None
    return out


def resolve(
    templates: Mapping[str, str],
    request: Mapping[str, Any],
    *,
    fetch_enabled: bool,
    timeout_s: float,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Every template key with its data: sent by the client, or fetched, else PrefetchMissing (412)."""
    given = request.get("prefetch") or {}
    context = request.get("context") or {}
    out: dict[str, Any] = {}
    missing: list[str] = []
    for key in templates:
        if key in given and _usable(given[key]):
            out[key] = given[key]
        else:
            missing.append(key)
    if not missing:
        return out
    server = request.get("fhirServer")
    auth = request.get("fhirAuthorization") or {}
    token = auth.get("access_token") if isinstance(auth, Mapping) else None
    if not fetch_enabled:
        raise PrefetchMissing(missing, "fetching from the FHIR server is disabled in this service")
    if not isinstance(server, str) or not isinstance(token, str) or not token:
        raise PrefetchMissing(missing, "the request gives no fhirServer with fhirAuthorization")
    if not _fetch_allowed(server):
        raise PrefetchMissing(missing, "the fhirServer is not https")
    with httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False) as client:
        for key in missing:
            query = render_template(templates[key], context)
            if query is None:
                raise PrefetchMissing([key], "the hook context lacks a value its template needs")
            try:
                out[key] = fetch_one(client, server, query, token)
            except (httpx.HTTPError, ValueError) as exc:
                raise PrefetchMissing([key], f"fetching it failed ({type(exc).__name__})") from None
            except InputError as exc:  # the server's JSON: broken, not UTF-8, a key twice
                raise PrefetchMissing([key], f"fetching it failed ({exc.field}: {exc.message})") from None
    return out
