"""netcds as a SMART on FHIR app: the EHR launch and, with ``smart.standalone``, the standalone launch
(SMART App Launch 2.x, public client, PKCE S256).

``GET /ui/smart/launch?iss=...&launch=...`` (the EHR opens it from the chart): the issuer must be one of
``smart.issuers``, else 400 and nothing is fetched; its ``.well-known/smart-configuration`` gives the
authorization and token endpoints; the launch waiting for its callback is sealed into a cookie
(netcds.web.smart_seal) and the browser is sent to the authorization endpoint. With ``smart.standalone``
a launch without ``launch`` is a standalone launch (scope ``launch/patient`` for ``launch``: the EHR's
authorization server asks the user for the patient), and ``GET /ui/smart/launch`` without parameters is
a page listing the configured issuers to open one from.

``GET /ui/smart/callback?code=...&state=...``: the state must be the sealed launch's; the code and the PKCE
verifier buy an access token with a patient in context; the patient's record is read from the issuer and
shown on the patient form with its mapping report (``import_bundle_page``, as an uploaded Bundle is), for
the clinician to review and evaluate. The cookie is cleared whatever the outcome.

Registered by ``create_app`` only when ``smart.enabled`` is on: otherwise both paths are unknown (404).
Every outcome is one log line with no patient data and no token. See docs/smart.md.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from netcds.api.hook_call import hook_day
from netcds.api.prefetch import Budget
from netcds.io import printable
from netcds.settings_smart import CALLBACK_PATH, LAUNCH_PATH, SmartSettings, normalise_issuer
from netcds.web.form_data import FormState
from netcds.web.pages import error_page, form_page, request_id
from netcds.web.routes_patient import import_bundle_page
from netcds.web.smart_ehr import (
    EhrError,
    discover,
    exchange_code,
    new_state,
    new_verifier,
    read_record,
    s256,
)
from netcds.web.smart_seal import (
    COOKIE_PATH,
    LIFETIME_S,
    PendingLaunch,
    Unsealed,
    cookie_key,
    cookie_name,
    seal,
    stale_cookies,
    unseal,
)
from netcds.web.templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("netcds.web.smart")
MAX_PARAM_CHARS = 2048
REFUSED = "SMART launch refused"
EHR_FAILED = "The patient's record could not be opened from the EHR"
AGAIN = "Open netcds from the patient's chart again."
STANDALONE_TITLE = "Open a patient's record from an EHR"
_UNSEALED = {
    Unsealed.MISSING: "this browser holds no launch with this state (its launch cookie is missing: it was "
    "used already, it expired, the browser did not keep it, or the answer is not for this browser's launch)",
    Unsealed.INVALID: "the launch cookie could not be opened (changed, or sealed by another service)",
    Unsealed.EXPIRED: f"the launch began more than {LIFETIME_S // 60} minutes ago",
}


def _smart(request: Request) -> SmartSettings:
    smart: SmartSettings = request.app.state.netcds.settings.smart
    return smart


def _key(request: Request) -> Fernet:
    return cookie_key(request.app.state.netcds.link_signer.key)


def _client(request: Request, smart: SmartSettings) -> httpx.Client:
    transport = getattr(request.app.state.netcds, "fhir_transport", None)
    return httpx.Client(timeout=smart.timeout_s, transport=transport, follow_redirects=False)


def _outcome(request: Request, what: str, outcome: str, iss: str | None = None) -> None:
    """One log line per launch outcome: no patient id, no token, only a configured issuer."""
    log.info("SMART %s outcome=%s issuer=%s request=%s", what, outcome, iss or "-", request_id(request))


def _param(request: Request, name: str) -> str | None:
    """A query parameter given once (None when absent); ValueError naming it when repeated or unusable."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValueError(f"the {name} parameter is given more than once")
    if not values or not values[0]:
        return None
    if len(values[0]) > MAX_PARAM_CHARS or not values[0].isprintable():
        raise ValueError(f"the {name} parameter is not one netcds can use (too long or not printable)")
    if "\ufffd" in values[0]:  # bytes that are not UTF-8, which the query decoding replaced
        raise ValueError(f"the {name} parameter is not UTF-8 text")
    return values[0]


def _secure(request: Request, smart: SmartSettings) -> bool:
    return request.url.scheme == "https" or (smart.redirect_uri or "").startswith("https://")


@router.get(LAUNCH_PATH)
def smart_launch(request: Request) -> Response:
    smart = _smart(request)
    try:
        given_iss, launch = _param(request, "iss"), _param(request, "launch")
    except ValueError as exc:
        _outcome(request, "launch", "bad-parameter")
        return error_page(400, REFUSED, f"{exc}.")
    if given_iss is None:
        if smart.standalone and launch is None:  # opened outside the EHR: which EHR to open a patient from
            _outcome(request, "launch", "choose-issuer")
            return render("smart_start.html", title=STANDALONE_TITLE, issuers=smart.issuers, nav=None)
        _outcome(request, "launch", "no-iss")
        return error_page(400, REFUSED, "The iss parameter (the EHR's FHIR base URL) is missing. " + AGAIN)
    iss = normalise_issuer(given_iss)
    if iss not in smart.issuers:  # nothing is fetched from an issuer that is not configured
        _outcome(request, "launch", "unlisted-iss")
        return error_page(
            400, REFUSED, "The iss parameter names a FHIR server this netcds does not accept (smart.issuers)."
        )
    if launch is None and not smart.standalone:
        _outcome(request, "launch", "no-launch", iss)
        return error_page(
            400,
            REFUSED,
            "The launch parameter (the EHR's launch context) is missing, and this netcds accepts no "
            "standalone launch (smart.standalone). " + AGAIN,
        )
    try:
        with _client(request, smart) as client:
            endpoints = discover(client, iss, smart.timeout_s)
    except EhrError as exc:
        _outcome(request, "launch", "bad-configuration", iss)
        return error_page(502, EHR_FAILED, f"{exc.message}.")
    state, verifier = new_state(), new_verifier()
    # an EHR launch passes the EHR's context on; a standalone one asks for a patient (launch/patient)
    context = {"launch": launch, "scope": smart.scope} if launch else {"scope": smart.standalone_scope}
    query = urlencode(
        {
            "response_type": "code",
            "client_id": smart.client_id,
            "redirect_uri": smart.redirect_uri,
            **context,
            "state": state,
            "aud": given_iss,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    sep = "&" if urlsplit(endpoints.authorize).query else "?"
    response = RedirectResponse(f"{endpoints.authorize}{sep}{query}", status_code=302)
    pending = PendingLaunch(state=state, verifier=verifier, iss=iss, token_endpoint=endpoints.token)
    secure = _secure(request, smart)
    for name in stale_cookies(_key(request), request.cookies):  # expired ones, and the oldest beyond a few
        response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure)
    response.set_cookie(
        cookie_name(state),
        seal(_key(request), pending),
        max_age=LIFETIME_S,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    _outcome(request, "launch", "authorize" if launch else "authorize-standalone", iss)
    return response


@router.get(CALLBACK_PATH)
async def smart_callback(request: Request) -> Response:
    """The launch's cookie (named for its state) is cleared once the callback is this browser's launch
    whatever the outcome, and when the cookie is unusable; a callback whose state names no launch of this
    browser (a forged or stray request) leaves every launch in flight alone."""
    smart = _smart(request)
    response, clear = await _callback(request, smart)
    if clear is not None:
        response.delete_cookie(
            clear, path=COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(request, smart)
        )
    return response


def _authorization_error(request: Request, iss: str) -> Response:
    """The authorization server's refusal, shown only for this browser's launch (the state matched)."""
    error = printable(request.query_params.get("error", ""), 60)
    description = request.query_params.get("error_description")
    said = f" It said: {printable(description, 300)}" if description else ""
    _outcome(request, "callback", "authorization-error", iss)
    return error_page(
        400, "The EHR did not authorize netcds", f"The authorization server answered {error}.{said} " + AGAIN
    )


async def _callback(request: Request, smart: SmartSettings) -> tuple[Response, str | None]:
    """The callback's page and the launch cookie to clear (None: leave every cookie alone)."""
    try:
        state, code, error = _param(request, "state"), _param(request, "code"), _param(request, "error")
    except ValueError as exc:
        _outcome(request, "callback", "bad-parameter")
        return error_page(400, REFUSED, f"{exc}. " + AGAIN), None
    if state is None:
        _outcome(request, "callback", "no-state")
        return error_page(400, REFUSED, "The state parameter is missing. " + AGAIN), None
    name = cookie_name(state)
    pending = unseal(_key(request), request.cookies.get(name))
    if isinstance(pending, Unsealed):
        _outcome(request, "callback", f"cookie-{pending.value}")
        clear = None if pending is Unsealed.MISSING else name  # no cookie of this state: nothing to clear
        return error_page(400, REFUSED, f"No launch to finish: {_UNSEALED[pending]}. " + AGAIN), clear
    if not hmac.compare_digest(pending.state.encode(), state.encode("utf-8")):  # a cookie under a wrong name
        _outcome(request, "callback", "state-mismatch", pending.iss)
        return error_page(
            400, REFUSED, "The state parameter is not the one this browser's launch sent. " + AGAIN
        ), name
    # this browser's launch from here on: it ends with this answer, whatever it is
    if error is not None:
        return _authorization_error(request, pending.iss), name
    if code is None:
        _outcome(request, "callback", "no-code", pending.iss)
        return error_page(400, REFUSED, "The code parameter is missing. " + AGAIN), name
    if pending.iss not in smart.issuers:
        _outcome(request, "callback", "unlisted-iss")
        return error_page(
            400, REFUSED, "The launch's FHIR server is no longer one netcds accepts (smart.issuers)."
        ), name
    try:
        bundle, patient = await run_in_threadpool(_record, request, smart, pending, code)
    except EhrError as exc:
        _outcome(request, "callback", "ehr-error", pending.iss)
        return error_page(502, EHR_FAILED, f"{exc.message}."), name

    def show(state: FormState, status: int = 200, **kw: Any) -> Response:
        return form_page(state, status=status, **kw)

    # the chart is read now: as of today, as a live hook reads it (hooks.as_of_today, hooks.time_zone), so
    # ages and "within 3 weeks" checks can be assessed; the form shows the date, which stays editable
    settings = request.app.state.netcds.settings
    as_of = hook_day(settings.hooks_time_zone) if settings.hooks_as_of_today else None
    where = f"Patient/{patient} from the EHR at {pending.iss}"
    shown = await import_bundle_page(bundle, where, as_of, show)
    _outcome(
        request, "callback", "record-shown" if shown.status_code == 200 else "record-refused", pending.iss
    )
    return shown, name


def _record(
    request: Request, smart: SmartSettings, pending: PendingLaunch, code: str
) -> tuple[dict[str, Any], str]:
    """The token for ``code``, then the patient's record read with it (the token goes no further)."""
    with _client(request, smart) as client:
        grant = exchange_code(client, pending.token_endpoint, code, pending.verifier, smart)
        budget = Budget(smart.budget_s, smart.timeout_s)
        return read_record(client, pending.iss, grant, smart, budget), grant.patient
