"""Prefetch handling for CDS Hooks: take what the client sent, fetch the rest, or answer 412.

Per CDS Hooks 2.0, a key the client did not satisfy is absent; ``null`` means "no
data"; an OperationOutcome in place of a resource means the client's fetch
failed. The service fetches a missing key itself only when fetching is enabled in
the settings and the request carries ``fhirServer`` and ``fhirAuthorization``;
otherwise it answers 412 Precondition Failed naming the missing keys. A fetched
search result is read whole or not at all: a ``next`` link to another origin than
fhirServer's (the bearer token goes to fhirServer only), more than MAX_PAGES pages,
or a page that is no Bundle answers 412 naming the key, as does running out of the
time one call's fetches share (``hooks.fhir_fetch_budget_s``) for the keys not
fetched yet. An optional key (the record is read without it as it was before it was
asked for) the client did not satisfy is fetched the same way, after the required
ones, where fetching is allowed; otherwise, or when its fetch fails or finds
nothing, it is left out: never a 412. Where fetching is allowed, a Medication the
record names by a reference with no display, and does not hold, is read by id
(``with_referenced_medications``); one not read leaves the drug reported as not
identifiable, never a 412. A key the client sent as part of its search result (a Bundle with a ``next``
link, or a ``total`` above its matches: netcds.fhir.paging) is fetched whole the same way where fetching is
allowed; otherwise, or when that fails, the part sent is kept when it feeds the list facts only (medication
resources: the mapping leaves the history unknown and the medication list incomplete), and any other such
key answers 412 as a missing one. A missing key fetched, every page read, whose ``total`` still says more
match than fhirServer gave is read the same way as a key sent in part.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from netcds.api.problems import ApiProblem
from netcds.errors import InputError
from netcds.fhir.medication_refs import prefetch_resources, referenced_medications
from netcds.fhir.paging import incomplete, part_only
from netcds.fhir.read import validate_resource
from netcds.io import first_non_finite, parse_json

log = logging.getLogger("netcds.api.prefetch")
_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}")
MAX_PAGES = 10  # pages of one search result followed; a longer result is not cut silently: 412
DEFAULT_BUDGET_S = 10.0  # the fetches of one hook call together (settings: hooks.fhir_fetch_budget_s)
MAX_REFERENCED = 20  # Medications one hook call reads by id; a reference beyond them stays unread
REFERENCED_MEDICATIONS = "referencedMedications"  # the prefetch key the Medications read by id are kept under


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


class FetchStopped(Exception):  # noqa: N818 (the reason a fetch was given up, for its 412)
    """Why a prefetch key's fetch was given up (the search result is not read as complete)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class BudgetExceeded(Exception):  # noqa: N818
    """The time this service allows the FHIR requests of one hook call is used up."""


class Budget:
    """The time left for the FHIR requests of one hook call (``seconds`` in all, each request at most
    ``per_request``), on the monotonic clock."""

    def __init__(self, seconds: float, per_request: float) -> None:
        self.seconds = seconds
        self.per_request = per_request
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def timeout(self) -> float:
        """The timeout of the next request: the per-request timeout, or less when less time is left."""
        left = self.left()
        if left <= 0:
            raise BudgetExceeded
        return min(self.per_request, left)

    def check(self) -> None:
        if self.left() <= 0:
            raise BudgetExceeded


def url_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None when the URL has no readable
    http(s) origin (another scheme, no host, a broken IPv6 host, a port that is no number or too big)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), (443 if scheme == "https" else 80) if port is None else port


def _headers(token: str) -> dict[str, str]:
    """The headers of a FHIR read from fhirServer: FHIR JSON, the client's bearer token."""
    return {"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"}


def _get(client: httpx.Client, url: str, headers: dict[str, str], budget: Budget) -> Any:
    """GET ``url``, read within the budget (checked between the chunks of the body, so a server that
    trickles its answer cannot hold the call beyond it)."""
    try:
        with client.stream("GET", url, headers=headers, timeout=budget.timeout()) as r:
            if r.status_code == 404:
                return None
            r.raise_for_status()
            chunks = []
            for chunk in r.iter_bytes():
                budget.check()
                chunks.append(chunk)
    except httpx.TimeoutException:
        if budget.left() <= 0:  # the request's timeout was the time left: the budget ran out
            raise BudgetExceeded from None
        raise
    data = parse_json(b"".join(chunks))
    if data is None:  # JSON null: no FHIR resource (a prefetch key's null is the client's "no data")
        raise FetchStopped("the FHIR server answered null, which is no FHIR resource or Bundle")
    return data


def _next_link(page: Mapping[str, Any]) -> str | None:
    links = page.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def page_next(url: str) -> dict[str, str]:
    """The ``next`` link a search result read in part keeps (netcds.fhir.paging reads it as part)."""
    return {"relation": "next", "url": url}


def fetch_one(
    client: httpx.Client, server: str, query: str, token: str, budget: Budget, keep_part: bool = False
) -> Any:
    """GET one prefetch query from the FHIR server, following searchset ``next`` links (at most MAX_PAGES
    pages, all on the fhirServer's origin). The FHIR token goes only to fhirServer's origin (scheme, host
    and port): a ``next`` link elsewhere is not followed. A result that is not read whole (a ``next`` link
    to another origin, more than MAX_PAGES pages, a page that is no Bundle) raises FetchStopped: cards read
    from part of a record could say something the whole record contradicts. ``keep_part`` (a search whose
    part the mapping can read as part, netcds.fhir.paging): a ``next`` link not followed (another origin,
    beyond MAX_PAGES) ends the reading instead, the pages read returned with that link, so the result says
    it is part of its search."""
    headers = _headers(token)
    url = f"{server.rstrip('/')}/{query.lstrip('/')}"
    first = _get(client, url, headers, budget)
    if not isinstance(first, dict) or first.get("resourceType") != "Bundle":
        return first
    home = url_origin(server)
    entries = first.get("entry") if first.get("entry") is not None else []
    if not isinstance(entries, list):
        return first  # not a list of entries: the mapping refuses it, naming the field
    entries = list(entries)
    page: Mapping[str, Any] = first
    for n in range(MAX_PAGES):
        nxt = _next_link(page)
        if not nxt:
            break
        if keep_part and (n == MAX_PAGES - 1 or url_origin(urljoin(url, nxt)) != home):
            return {
                **{k: v for k, v in first.items() if k != "link"},
                "entry": entries,
                "link": [page_next(nxt)],
            }
        if n == MAX_PAGES - 1:
            raise FetchStopped(
                f"its search result has more than {MAX_PAGES} pages, more than this service follows; "
                "send it in the prefetch"
            )
        url = urljoin(url, nxt)
        there = url_origin(url)
        if there is None or there != home:
            where = f"{there[0]}://{there[1]}:{there[2]}" if there else "an unreadable URL"
            raise FetchStopped(
                f"its search result continues at another origin than fhirServer's ({where}): netcds sends "
                "the FHIR token only to fhirServer and did not follow it"
            )
        got = _get(client, url, headers, budget)
        more = got.get("entry", []) if isinstance(got, dict) and got.get("resourceType") == "Bundle" else None
        if not isinstance(more, list):
            raise FetchStopped(
                f"page {n + 2} of its search result is not a FHIR Bundle with a list of entries"
            )
        entries += more
        page = got
    out = {k: v for k, v in first.items() if k != "link"}
    out["entry"] = entries
    if not entries and part_only(out) is None:  # nothing found (one whose total says more: read as part)
        return None
    return out


def _fetch_key(
    client: httpx.Client, server: str, template: str, context: Mapping[str, Any], token: str, budget: Budget
) -> Any:
    """One prefetch key fetched whole from fhirServer; FetchStopped says why it was not (BudgetExceeded:
    the call's time is used up)."""
    query = render_template(template, context)
    if query is None:
        raise FetchStopped("the hook context lacks a value its template needs")
    try:
        return fetch_one(client, server, query, token, budget)
    except httpx.HTTPStatusError as exc:  # the server's answer: its status and the search it answered
        raise FetchStopped(
            f"fetching it failed (GET {template}: the FHIR server answered HTTP {exc.response.status_code})"
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # InvalidURL: an unsendable next link
        raise FetchStopped(f"fetching it failed (GET {template}: {type(exc).__name__})") from None
    except InputError as exc:  # the server's JSON: broken, not UTF-8, a key twice
        raise FetchStopped(f"fetching it failed ({exc.field}: {exc.message})") from None


def _fetch_access(fetch_enabled: bool, request: Mapping[str, Any]) -> tuple[str, str] | str:
    """The fhirServer and bearer token this call's missing keys may be fetched with, or why they cannot."""
    server = request.get("fhirServer")
    auth = request.get("fhirAuthorization") or {}
    token = auth.get("access_token") if isinstance(auth, Mapping) else None
    if not fetch_enabled:
        return "fetching from the FHIR server is disabled in this service"
    if not isinstance(server, str) or not isinstance(token, str) or not token:
        return "the request gives no fhirServer with fhirAuthorization"
    if not _fetch_allowed(server):
        return "the fhirServer is not https"
    return server, token


def resolve(
    templates: Mapping[str, str],
    request: Mapping[str, Any],
    *,
    fetch_enabled: bool,
    timeout_s: float,
    budget_s: float = DEFAULT_BUDGET_S,
    transport: httpx.BaseTransport | None = None,
    optional: Collection[str] = frozenset(),
    budget: Budget | None = None,
) -> dict[str, Any]:
    """Every template key with its data: sent by the client, or fetched, else PrefetchMissing (412). The
    fetches of one call share ``budget_s`` seconds (each request at most ``timeout_s``). A key in
    ``optional`` the client did not satisfy is fetched after the required ones when fetching is allowed, and
    is otherwise, or when its fetch fails or finds nothing, left out (absent from the answer, as if it were
    not in the template): a 412 names required keys only. ``budget``: the call's, when its other fetches
    share it (a new one of ``budget_s`` seconds otherwise)."""
    given = request.get("prefetch") or {}
    context = request.get("context") or {}
    out: dict[str, Any] = {}
    missing: list[str] = []
    absent: list[str] = []  # optional keys the client did not satisfy
    paged: list[str] = []  # keys sent as part of their search result (netcds.fhir.paging)
    for key in templates:
        if key in given and _usable(given[key]):
            out[key] = given[key]
            if part_only(given[key]) is not None:
                paged.append(key)
        else:
            (absent if key in optional else missing).append(key)
    if not missing and not absent and not paged:
        return out
    access = _fetch_access(fetch_enabled, request)
    if isinstance(access, str):
        if missing:
            raise PrefetchMissing(missing, access)
        _check_paged(out, templates, paged, access)
        return out
    server, token = access
    budget = budget or Budget(budget_s, timeout_s)
    too_long = (
        f"fetching from the FHIR server took longer than the {budget_s:g} s this service allows for one hook "
        "call (hooks.fhir_fetch_budget_s)"
    )
    with httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False) as client:
        for n, key in enumerate(missing):
            try:
                out[key] = _fetch_key(client, server, templates[key], context, token, budget)
            except BudgetExceeded:
                raise PrefetchMissing(missing[n:], too_long) from None
            except FetchStopped as exc:
                raise PrefetchMissing([key], exc.reason) from None
        # every page read, but its total says more match than fhirServer gave: read as a key sent in part
        short = [key for key in missing if part_only(out[key]) is not None]
        _check_paged(out, templates, short, "it cannot be fetched whole", by="fhirServer answered")
        unfetched = _fetch_paged(client, server, templates, context, token, budget, out, paged, too_long)
        _check_paged(out, templates, paged, unfetched)
        for key in absent:
            try:
                found = _fetch_key(client, server, templates[key], context, token, budget)
            except BudgetExceeded:
                log.warning("optional prefetch key %s left out: this call's time for fetches ran out", key)
                break
            except FetchStopped:
                log.warning("optional prefetch key %s left out: its fetch failed", key)
                continue
            if found is not None and _usable(found):  # nothing found, or an OperationOutcome: left out
                out[key] = found
    return out


def _fetch_paged(
    client: httpx.Client,
    server: str,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    token: str,
    budget: Budget,
    out: dict[str, Any],
    paged: list[str],
    too_long: str,
) -> str:
    """Each key the client sent as part of its search result (``paged``) fetched whole from fhirServer, as a
    key it did not send is (the template's search, every page, within the call's budget), and put in ``out``
    in its place. A key whose fetch fails keeps the part sent (:func:`_check_paged` decides what it may
    feed). Returns why a fetch failed ("" when none did)."""
    failed = ""
    for key in paged:
        try:
            found = _fetch_key(client, server, templates[key], context, token, budget)
        except BudgetExceeded:
            return too_long
        except FetchStopped as exc:
            log.warning("prefetch key %s sent in part: fetching it whole failed", key)
            failed = failed or f"fetching it whole from fhirServer failed: {exc.reason}"
            continue
        if found is not None and _usable(found) and part_only(found) is None:
            out[key] = found
        else:
            failed = failed or "fetching it whole from fhirServer gave no complete search result"
    return failed


def _check_paged(
    out: Mapping[str, Any],
    templates: Mapping[str, str],
    paged: list[str],
    why_not: str,
    by: str = "the client sent",
) -> None:
    """A key still holding part of its search result may feed the list facts only (treatments, medications:
    the mapping leaves them unknown, netcds.fhir.paging.unknown_lists); one that feeds other facts
    (Conditions, Observations) is not satisfied: 412 naming it, as a missing key (``why_not``: why it was not
    fetched whole)."""
    refused: list[str] = []
    reasons: list[str] = []
    for key in paged:
        part = incomplete(key, out.get(key), templates.get(key))
        if part is not None and (part.feeds_other_facts or not part.fields):
            refused.append(key)
            reasons.append(part.why)
    if refused:
        raise PrefetchMissing(
            refused,
            f"{by} only part of its search result ({reasons[0]}), and "
            f"{why_not or 'it was not fetched whole'}: facts read from part of a search could be "
            "contradicted by the rest",
        )


def with_referenced_medications(
    prefetch: dict[str, Any],
    request: Mapping[str, Any],
    *,
    fetch_enabled: bool,
    timeout_s: float,
    budget: Budget,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """``prefetch`` with, under REFERENCED_MEDICATIONS, the Medications its medication resources name by a
    reference that has no display and that the prefetch does not hold, each read by id from fhirServer where
    fetching is allowed (at most MAX_REFERENCED, within the call's ``budget``). A reference with a display is
    not read (the display names the drug, without a round trip on every call). A Medication not read (404,
    410, a token that may not read it, a failed read, the budget used up) is left out: the mapping then
    reports the drug as not identifiable. ``prefetch`` itself when nothing was read."""
    access = _fetch_access(fetch_enabled, request)
    if isinstance(access, str):
        return prefetch
    server, token = access
    wanted = referenced_medications(prefetch_resources(prefetch), server, without_display_only=True)
    entries: list[dict[str, Any]] = []
    if wanted:
        with httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False) as client:
            for mid in wanted[:MAX_REFERENCED]:
                url = f"{server.rstrip('/')}/Medication/{mid}"
                try:
                    med = _read_medication(client, url, mid, token, budget)
                except BudgetExceeded:
                    log.warning("referenced Medications left unread: this call's time for fetches ran out")
                    break
                if med is not None:
                    entries.append({"fullUrl": url, "resource": med})
    if not entries:
        return prefetch
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return {**prefetch, REFERENCED_MEDICATIONS: bundle}


def _read_medication(
    client: httpx.Client, url: str, mid: str, token: str, budget: Budget
) -> dict[str, Any] | None:
    """``Medication/mid`` read from its ``url`` on fhirServer, or None (logged without the id) when it was
    not read."""
    try:
        got = _get(client, url, _headers(token), budget)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        log.warning("a referenced Medication left unread: the FHIR server answered %d", status)
        return None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, FetchStopped, InputError) as exc:
        log.warning("a referenced Medication left unread: reading it failed (%s)", type(exc).__name__)
        return None
    if got is None:
        return None  # 404: the server has no such Medication
    if not isinstance(got, dict) or got.get("resourceType") != "Medication" or got.get("id") != mid:
        log.warning("a referenced Medication left unread: the FHIR server answered something else")
        return None
    try:  # one the mapping would refuse is left out here: the client never sent it, so no 422 names it
        validate_resource(got, "Medication")
    except InputError as exc:
        log.warning("a referenced Medication left unread: it is no valid FHIR R4 Medication (%s)", exc.field)
        return None
    if first_non_finite(got, "Medication") is not None:
        log.warning("a referenced Medication left unread: it holds a number that is not finite")
        return None
    return got
