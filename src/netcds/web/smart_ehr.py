"""The requests a SMART launch makes to the EHR: its SMART configuration, the token exchange, and the
patient's record read from the FHIR server with the access token.

Every failure is an :class:`EhrError` whose message says, in the clinician's words, what the EHR answered
or lacked (the web page shows it with 502); no httpx error leaves this module. The access token is sent to
the issuer's origin only (``netcds.api.prefetch.fetch_one``: its ``next`` links are followed on that
origin, at most ``MAX_PAGES`` pages), never stored, logged or shown. A search not read whole (a ``next`` link
to another origin or beyond ``MAX_PAGES`` pages, a ``total`` above the matches read) is refused, except a
medication or Procedure search: the part read is kept in the record as a nested searchset Bundle saying so
(its ``next`` link, its ``total``), and the mapping leaves the treatment history unknown and the medication
list incomplete (netcds.fhir.paging), as for a CDS Hooks prefetch sent in part.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from netcds.api.hook_models import PREFETCH
from netcds.api.prefetch import Budget, BudgetExceeded, FetchStopped, fetch_one, render_template
from netcds.errors import InputError
from netcds.fhir.ids import is_fhir_id
from netcds.fhir.medication_refs import referenced_medications
from netcds.fhir.paging import FEEDS, part_only
from netcds.io import parse_json, printable
from netcds.settings_smart import SmartSettings, https_or_loopback

MAX_ANSWER_BYTES = 1024 * 1024  # a SMART configuration or token response is a few KB
# the patient-view hook's prefetch queries (the record a CDS Hooks call reads, with its optional Procedures,
# which the mapping reads PRRT and radiotherapy from)
RECORD_QUERIES: Mapping[str, str] = PREFETCH
MAX_MEDICATIONS = 100  # Medications read by id after the searches; any more are named by their display
# RFC 6750 section 2.1, b64token: what a Bearer token may hold (it is sent in an Authorization header)
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
# what httpx cannot send: a URL it cannot encode, a header value that is not ASCII
UNSENDABLE = (httpx.InvalidURL, UnicodeError, ValueError)


class OutOfTimeError(Exception):
    """The launch's time budget ran out during a read the record can do without."""


class EhrError(Exception):
    """What the EHR answered or lacked, for the 502 page (no token, no patient data but the id)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class SmartEndpoints:
    authorize: str
    token: str


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    patient: str


def new_state() -> str:
    """An OAuth ``state``: 256 random bits."""
    return secrets.token_urlsafe(32)


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43 to 128 unreserved characters): 256 random bits, 43 characters."""
    return secrets.token_urlsafe(32)


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _why(exc: Exception, what: str, timeout_s: float) -> EhrError:
    if isinstance(exc, httpx.TimeoutException):
        return EhrError(f"{what} did not answer within {timeout_s:g} s (smart.timeout_s)")
    if isinstance(exc, UNSENDABLE):
        return EhrError(f"netcds could not send the request to {what}: its address is not a usable URL")
    return EhrError(f"{what} could not be reached ({type(exc).__name__})")


def _body(response: httpx.Response, what: str) -> bytes:
    """The answer's body, read up to MAX_ANSWER_BYTES."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise EhrError(f"{what} answered more than {MAX_ANSWER_BYTES // 1024} KB; not read")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object, read up to MAX_ANSWER_BYTES."""
    try:
        data = parse_json(_body(response, what))
    except InputError:
        raise EhrError(f"{what} did not answer JSON") from None
    if not isinstance(data, dict):
        raise EhrError(f"{what} did not answer a JSON object")
    return data


def _endpoint(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EhrError(f"the EHR's SMART configuration has no {key}")
    url = value.strip()
    if not https_or_loopback(url):
        raise EhrError(f"the EHR's SMART configuration gives a {key} that is not https")
    if "#" in url or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):  # RFC 6749 3.1: no fragment
        raise EhrError(f"the EHR's SMART configuration gives a {key} that is not a usable URL")
    try:
        httpx.URL(url)
    except UNSENDABLE:
        raise EhrError(f"the EHR's SMART configuration gives a {key} that is not a usable URL") from None
    return url


def discover(client: httpx.Client, iss: str, timeout_s: float) -> SmartEndpoints:
    """The authorization and token endpoints from ``{iss}/.well-known/smart-configuration``; the EHR must
    support PKCE with S256 (SMART App Launch 2.x requires it)."""
    what = "the EHR's SMART configuration (.well-known/smart-configuration)"
    url = f"{iss}/.well-known/smart-configuration"
    try:
        with client.stream("GET", url, headers={"Accept": "application/json"}, timeout=timeout_s) as r:
            if r.status_code != 200:
                raise EhrError(f"{what} answered HTTP {r.status_code}")
            config = _json_object(r, what)
    except (httpx.HTTPError, *UNSENDABLE) as exc:
        raise _why(exc, what, timeout_s) from None
    authorize = _endpoint(config, "authorization_endpoint")
    token = _endpoint(config, "token_endpoint")
    methods = config.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise EhrError(
            "the EHR's SMART configuration does not list S256 in code_challenge_methods_supported "
            "(netcds is a public client and needs PKCE with S256)"
        )
    return SmartEndpoints(authorize=authorize, token=token)


def exchange_code(
    client: httpx.Client, token_endpoint: str, code: str, verifier: str, smart: SmartSettings
) -> TokenGrant:
    """POST the authorization code and the PKCE verifier to the token endpoint (a public client: no secret);
    the grant must be a Bearer token with a ``patient`` in context."""
    what = "the EHR's token endpoint"
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": smart.redirect_uri or "",
        "client_id": smart.client_id or "",
        "code_verifier": verifier,
    }
    try:
        with client.stream(
            "POST", token_endpoint, data=form, headers={"Accept": "application/json"}, timeout=smart.timeout_s
        ) as r:
            if r.status_code != 200:
                raise EhrError(
                    f"{what} refused the authorization code (HTTP {r.status_code}{_oauth_error(r, what)})"
                )
            answer = _json_object(r, what)
    except (httpx.HTTPError, *UNSENDABLE) as exc:
        raise _why(exc, what, smart.timeout_s) from None
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise EhrError(f"{what} answered no access_token")
    if not _B64TOKEN.match(token):
        raise EhrError(f"{what} answered an access_token with characters a Bearer token cannot hold")
    kind = answer.get("token_type")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise EhrError(f"{what} answered a token_type that is not Bearer")
    patient = answer.get("patient")
    if not isinstance(patient, str) or not patient:
        raise EhrError(
            f"{what} answered no patient: the launch gave no patient in context (open netcds from a "
            "patient's chart)"
        )
    if not is_fhir_id(patient):
        raise EhrError(f"{what} answered a patient that is not a FHIR id")
    return TokenGrant(access_token=token, patient=patient)


def _oauth_error(response: httpx.Response, what: str) -> str:
    """``: invalid_grant`` when a refused token request names its OAuth error code, else ''."""
    try:
        data: Any = _json_object(response, what)
    except EhrError:
        return ""
    code = data.get("error")
    return f": {printable(code, 60)}" if isinstance(code, str) and code else ""


def _type_of(query: str) -> str:
    return query.split("?", 1)[0].split("/", 1)[0]


def _fetch(
    client: httpx.Client,
    iss: str,
    query: str,
    token: str,
    budget: Budget,
    smart: SmartSettings,
    optional: bool = False,
) -> Any:
    """``query`` read whole from ``iss``; None when nothing matches. ``optional`` (a read the record can do
    without): also None when the token may not read it (401, 403) or it is gone (410), and OutOfTimeError when
    the budget runs out."""
    what = f"the EHR's FHIR server, reading {_type_of(query)}"
    try:  # a search the mapping can read in part (medications, Procedures) is kept in part
        return fetch_one(client, iss, query, token, budget, keep_part=_type_of(query) in FEEDS)
    except BudgetExceeded:
        if optional:
            raise OutOfTimeError from None
        raise EhrError(
            f"reading the record took longer than the {smart.budget_s:g} s netcds allows (smart.budget_s); "
            "it was not read whole, so nothing is shown"
        ) from None
    except FetchStopped as exc:
        raise EhrError(f"{what}: {exc.reason.replace('fhirServer', 'the EHR')}; nothing is shown") from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if optional and status in (401, 403, 410):
            return None
        refused = " (the access token was refused)" if status in (401, 403) else ""
        raise EhrError(f"{what}, answered HTTP {status}{refused}") from None
    except InputError as exc:
        raise EhrError(
            f"{what}, answered something that is not FHIR JSON ({exc.field}: {exc.message})"
        ) from None
    except (httpx.HTTPError, *UNSENDABLE) as exc:
        raise _why(exc, what, smart.timeout_s) from None


def _entries(result: Any, query: str) -> list[dict[str, Any]]:
    """A search result's entries (fullUrl and resource), outcome entries left out. A result that is not a
    searchset Bundle of entries each holding a resource is refused: read in part, a record could suggest
    what the whole record contradicts."""
    if result is None:  # no match (an empty searchset; fetch_one reads a JSON null answer as no FHIR)
        return []
    what = f"the EHR's FHIR server did not answer the search for {_type_of(query)}"
    if not isinstance(result, dict) or result.get("resourceType") != "Bundle":
        raise EhrError(f"{what} with a Bundle")
    listed = result.get("entry")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise EhrError(f"{what} with a list of entries")
    out = []
    for entry in listed:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise EhrError(f"{what} with entries that each hold a resource")
        if resource.get("resourceType") == "OperationOutcome":  # a search's outcome entry, no record
            continue
        kept: dict[str, Any] = {"resource": resource}
        if isinstance(entry.get("fullUrl"), str):
            kept["fullUrl"] = entry["fullUrl"]
        if isinstance(entry.get("search"), dict):  # an included entry is no match (paging counts matches)
            kept["search"] = entry["search"]
        out.append(kept)
    return out


def _in_part(result: Any, iss: str, query: str) -> dict[str, Any] | None:
    """The shell of a nested searchset Bundle for a search read in part (its self link, its ``next`` link,
    its ``total``), or None when it was read whole. A search that is not of medications or Procedures read in
    part is refused: its Conditions or Observations could contradict what the part says."""
    why = part_only(result)
    if why is None:
        return None
    if _type_of(query) not in FEEDS:
        raise EhrError(
            f"the EHR's FHIR server, reading {_type_of(query)}: {why}; the rest could not be read, so "
            "nothing is shown"
        )
    shell: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    nxt = [x for x in result.get("link") or [] if isinstance(x, dict) and x.get("relation") == "next"]
    shell["link"] = [{"relation": "self", "url": f"{iss}/{query}"}, *nxt]
    if isinstance(result.get("total"), int) and not isinstance(result.get("total"), bool):
        shell["total"] = result["total"]
    return shell


def read_record(
    client: httpx.Client, iss: str, grant: TokenGrant, smart: SmartSettings, budget: Budget
) -> dict[str, Any]:
    """The patient's record as one collection Bundle: the Patient and every result of RECORD_QUERIES, each
    read whole from ``iss`` within the budget; a medication or Procedure search read in part as a nested
    searchset Bundle saying so (:func:`_in_part`)."""
    context = {"patientId": grant.patient}
    entries: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    parts: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []  # searches read in part: shell, entries
    for template in RECORD_QUERIES.values():
        query = render_template(template, context)
        assert query is not None  # the patient id is a non-empty string
        result = _fetch(client, iss, query, grant.access_token, budget, smart)
        shell = _in_part(result, iss, query) if _type_of(query) != "Patient" else None
        if shell is not None:
            parts.append((shell, []))
        if _type_of(query) == "Patient":
            if not isinstance(result, dict) or result.get("resourceType") != "Patient":
                raise EhrError(f"the EHR's FHIR server has no Patient/{grant.patient}")
            if result.get("id") != grant.patient:
                raise EhrError(f"the EHR's FHIR server answered another Patient for Patient/{grant.patient}")
            found: list[dict[str, Any]] = [{"fullUrl": f"{iss}/Patient/{grant.patient}", "resource": result}]
        else:
            found = _entries(result, query)
        for entry in found:
            res: dict[str, Any] = entry["resource"]
            key = (str(res.get("resourceType")), str(res.get("id")))
            if res.get("id") is not None and key in seen:
                continue
            seen.add(key)
            (parts[-1][1] if shell is not None else entries).append(entry)
    in_part = [e for _, found in parts for e in found]
    for mid in referenced_medications((e["resource"] for e in entries + in_part), iss)[:MAX_MEDICATIONS]:
        try:
            entries += _medication(client, iss, mid, grant.access_token, budget, smart)
        except OutOfTimeError:  # the record is read whole; the drugs not read yet are named by their displays
            break
    entries = [{k: v for k, v in e.items() if k != "search"} for e in entries]  # a collection: no search
    entries += [{"resource": {**shell, "entry": found}} for shell, found in parts]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _medication(
    client: httpx.Client, iss: str, mid: str, token: str, budget: Budget, smart: SmartSettings
) -> list[dict[str, Any]]:
    """``Medication/mid`` read from ``iss`` as one entry; none when the server has no such Medication (404,
    410) or the grant does not cover Medications (401, 403): the mapping then names the drug by the
    reference's display, and says so, or reports it unread."""
    result = _fetch(client, iss, f"Medication/{mid}", token, budget, smart, optional=True)
    if result is None:
        return []
    if not isinstance(result, dict) or result.get("resourceType") != "Medication" or result.get("id") != mid:
        raise EhrError(f"the EHR's FHIR server answered something else than Medication/{mid} for it")
    return [{"fullUrl": f"{iss}/Medication/{mid}", "resource": result}]
