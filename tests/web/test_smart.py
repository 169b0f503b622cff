"""SMART on FHIR EHR launch (netcds.web.smart): a fake EHR (tests/web/test_smart_fake.py: SMART
configuration, authorize, token, FHIR searches) served on a loopback port, and the launch driven through the
app with its redirects followed by hand and the launch cookie carried, as a browser would."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from netcds.api.hook_call import hook_day
from netcds.web import smart_seal
from tests.web.conftest import field_block, served_on
from tests.web.test_smart_fake import (
    ACCESS_TOKEN,
    CLIENT_ID,
    LAUNCH,
    MCODE_BUNDLE,
    MCODE_PATIENT,
    NET_BUNDLE,
    NET_PATIENT,
    REDIRECT_URI,
    FakeEhr,
    Netcds,
    authorize,
    callback,
    cleared,
    ehr_state,
    fake_ehr_socket,
    launch,
    load_bundle,
    smart_settings,
    text,
)


@pytest.fixture
def ehr() -> Iterator[FakeEhr]:
    fake = FakeEhr(load_bundle(NET_BUNDLE))
    sock = fake_ehr_socket()
    fake.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with served_on(fake.app(), sock):  # type: ignore[arg-type]
        yield fake


@pytest.fixture
def netcds() -> Iterator[Netcds]:
    made = Netcds()
    yield made
    made.close()


@pytest.fixture
def client(netcds: Netcds, ehr: FakeEhr, tmp_path: Path) -> TestClient:
    return netcds.client(smart_settings(tmp_path, ehr.iss))


# --- the happy path -------------------------------------------------------------------------------------
def test_a_launch_ends_on_the_form_filled_from_the_ehr_record(client: TestClient, ehr: FakeEhr) -> None:
    launched = launch(client, ehr)
    params = authorize(launched)
    sent = ehr.authorize_params[0]
    # the authorization request has every parameter SMART App Launch 2.x asks of an EHR launch
    assert sent["response_type"] == "code"
    assert sent["client_id"] == CLIENT_ID
    assert sent["redirect_uri"] == REDIRECT_URI
    assert sent["launch"] == LAUNCH
    assert sent["aud"] == ehr.iss
    assert sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 22  # >= 128 bits in base64url
    assert sent["scope"].split()[0] == "launch" and "patient/Condition.read" in sent["scope"]
    # the cookie: sealed, HttpOnly, SameSite=Lax, scoped to /ui/smart, Secure, ten minutes
    cookie = launched.headers["set-cookie"]
    assert cookie.startswith(f"{smart_seal.cookie_name(sent['state'])}=")  # named for this launch's state
    for part in ("HttpOnly", "Path=/ui/smart", "SameSite=lax", "Secure", "Max-Age=600"):
        assert part in cookie, part
    assert sent["state"] not in cookie and LAUNCH not in cookie  # encrypted, not only signed

    assert params["state"] == sent["state"]
    page = callback(client, params)
    assert page.status_code == 200, text(page)
    shown = text(page)
    assert f"Imported FHIR Bundle Patient/{NET_PATIENT} from the EHR at {ehr.iss}" in shown
    # the patient's facts on the form, each from the EHR's resources (the mapping report names them)
    assert '<option value="ileum" selected>' in field_block(page.text, "tumor.primary_site")
    assert 'value="8"' in field_block(page.text, "tumor.ki67_percent")
    assert '<option value="male" selected>' in field_block(page.text, "sex")
    # read as of today (hooks.as_of_today, as a live hook reads the chart): the age is computed
    today = hook_day(None)
    assert f'value="{today.isoformat()}"' in field_block(page.text, "as_of")
    born = date(1962, 5, 10)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assert f'value="{age}"' in field_block(page.text, "age_years")
    assert "FHIR mapping report" in shown
    assert "Observation/ileum-ki67" in shown and "MedicationRequest/ileum-octreotide-lar" in shown
    assert "MedicationStatement/ileum-lisinopril" in shown
    assert cleared(page)
    # the access token went to the FHIR server only, with the Patient read and each search of the record
    fhir = [(m, w, h) for m, w, h in ehr.requests if w.startswith("/fhir/") and ".well-known" not in w]
    assert {w.split("?")[0] for _, w, _ in fhir} >= {
        f"/fhir/Patient/{NET_PATIENT}", "/fhir/Condition", "/fhir/Observation", "/fhir/MedicationRequest",
        "/fhir/MedicationStatement", "/fhir/MedicationAdministration", "/fhir/Procedure",
    }  # fmt: skip
    assert all(h.get("authorization") == f"Bearer {ACCESS_TOKEN}" for _, _, h in fhir)
    others = [h for _, w, h in ehr.requests if not w.startswith("/fhir/") or ".well-known" in w]
    assert others and all("authorization" not in h for h in others)
    assert ACCESS_TOKEN not in page.text


def test_the_page_and_the_logs_never_hold_the_access_token_or_the_patient(
    client: TestClient, ehr: FakeEhr, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 200
    assert ACCESS_TOKEN not in page.text
    logged = [r for r in caplog.records if r.name.startswith("netcds")]
    smart_lines = [r.getMessage() for r in logged if r.name == "netcds.web.smart"]
    assert any("outcome=authorize" in m for m in smart_lines)
    assert any("outcome=record-shown" in m for m in smart_lines)
    for record in caplog.records:
        message = record.getMessage()
        assert ACCESS_TOKEN not in message and NET_PATIENT not in message, message
        assert "Ilias" not in message


def test_an_mcode_breast_cancer_record_shows_the_no_neuroendocrine_tumor_page(
    netcds: Netcds, tmp_path: Path
) -> None:
    if not (MCODE_BUNDLE.parent / ".complete").exists():
        pytest.skip("the mCODE examples are not fetched (scripts/fetch_mcode.py; make test fetches them)")
    fake = FakeEhr(load_bundle(MCODE_BUNDLE))
    sock = fake_ehr_socket()
    fake.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with served_on(fake.app(), sock):  # type: ignore[arg-type]
        client = netcds.client(smart_settings(tmp_path, fake.iss))
        page = callback(client, authorize(launch(client, fake)))
    assert page.status_code == 422
    shown = text(page)
    assert f"Patient/{MCODE_PATIENT} from the EHR at {fake.iss}" in shown
    assert "neuroendocrine" in shown.lower()
    assert cleared(page)


def test_two_separately_built_apps_sharing_the_settings_finish_each_others_launches(
    netcds: Netcds, ehr: FakeEhr, tmp_path: Path
) -> None:
    settings = smart_settings(tmp_path, ehr.iss)
    first, second = netcds.client(settings), netcds.client(settings)
    params = authorize(launch(first, ehr))
    second.cookies = first.cookies  # one browser, two worker processes
    page = callback(second, params)
    assert page.status_code == 200, text(page)
    assert f"Patient/{NET_PATIENT}" in text(page)
    # a service with another key cannot open the cookie
    other = netcds.client(settings.model_copy(update={"link_secret": "t" * 40}))
    params = authorize(launch(first, ehr))
    other.cookies = first.cookies
    refused = callback(other, params)
    assert refused.status_code == 400 and "could not be opened" in text(refused)


# --- the launch refused ---------------------------------------------------------------------------------
def test_an_unlisted_issuer_is_refused_without_any_request_to_it(client: TestClient, ehr: FakeEhr) -> None:
    page = launch(client, ehr, iss=f"{ehr.base}/other-fhir")
    assert page.status_code == 400
    assert "iss" in text(page) and "smart.issuers" in text(page)
    assert ehr.requests == []
    assert "set-cookie" not in page.headers


def test_a_listed_issuer_matches_with_a_trailing_slash(client: TestClient, ehr: FakeEhr) -> None:
    launched = launch(client, ehr, iss=ehr.iss + "/")
    assert launched.status_code == 302
    assert parse_qs(urlsplit(launched.headers["location"]).query)["aud"] == [ehr.iss + "/"]


def test_a_launch_without_the_launch_parameter_is_refused(client: TestClient, ehr: FakeEhr) -> None:
    page = client.get("/ui/smart/launch", params={"iss": ehr.iss})
    assert page.status_code == 400 and "launch parameter" in text(page)
    assert ehr.requests == []


@pytest.mark.parametrize(
    ("config", "lacks"),
    [
        ({"authorization_endpoint": "http://127.0.0.1/a", "token_endpoint": "http://127.0.0.1/t"}, "S256"),
        ({"token_endpoint": "http://127.0.0.1/t", "code_challenge_methods_supported": ["S256"]},
         "authorization_endpoint"),
        ({"authorization_endpoint": "http://127.0.0.1/a", "code_challenge_methods_supported": ["S256"]},
         "token_endpoint"),
        ({"authorization_endpoint": "http://127.0.0.1/a", "token_endpoint": "http://127.0.0.1/t",
          "code_challenge_methods_supported": ["plain"]}, "S256"),
        ({"authorization_endpoint": "http://ehr.example/a", "token_endpoint": "http://127.0.0.1/t",
          "code_challenge_methods_supported": ["S256"]}, "not https"),
    ],
)  # fmt: skip
def test_a_smart_configuration_lacking_what_netcds_needs_is_a_502_naming_it(
    client: TestClient, ehr: FakeEhr, config: dict[str, Any], lacks: str
) -> None:
    ehr.config_override = config
    page = launch(client, ehr)
    assert page.status_code == 502
    assert lacks in text(page)
    assert "set-cookie" not in page.headers and "location" not in page.headers
    assert ehr.authorize_params == []


def test_a_smart_configuration_that_is_no_json_object_is_a_502(client: TestClient, ehr: FakeEhr) -> None:
    ehr.config_override = ["not", "an", "object"]  # type: ignore[assignment]
    page = launch(client, ehr)
    assert page.status_code == 502 and "did not answer a JSON object" in text(page)


def test_an_unreachable_ehr_is_a_502_not_a_500(netcds: Netcds, tmp_path: Path) -> None:
    sock = fake_ehr_socket()  # bound, never listening: the connection is refused
    iss = f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"
    try:
        page = netcds.client(smart_settings(tmp_path, iss)).get(
            "/ui/smart/launch", params={"iss": iss, "launch": "l"}
        )
    finally:
        sock.close()
    assert page.status_code == 502 and "could not be reached (ConnectError)" in text(page)


# --- the callback refused -------------------------------------------------------------------------------
def test_an_oauth_error_shows_its_description_escaped_and_cut(client: TestClient, ehr: FakeEhr) -> None:
    state = ehr_state(launch(client, ehr))
    description = "<script>alert(1)</script> the user declined " + "x" * 600
    page = callback(client, {"error": "access_denied", "error_description": description, "state": state})
    assert page.status_code == 400
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "access_denied" in page.text and "the user declined" in page.text
    assert "x" * 400 not in page.text
    assert cleared(page)
    assert ehr.token_forms == []


def test_a_wrong_state_is_refused(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    page = callback(client, {**params, "state": params["state"][:-2] + "xy"})
    assert page.status_code == 400 and "no launch with this state" in text(page)
    assert "set-cookie" not in page.headers  # a stray callback leaves this browser's launch alone
    assert ehr.token_forms == []
    assert callback(client, params).status_code == 200  # which still finishes


def test_a_missing_state_or_code_is_refused_naming_it(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    for name in ("state", "code"):
        page = callback(client, {k: v for k, v in params.items() if k != name})
        assert page.status_code == 400 and f"The {name} parameter is missing" in text(page)
        # without the state the launch is not known to be this one's: kept; with it, the launch ends
        assert cleared(page) is (name == "code") and ("set-cookie" in page.headers) is (name == "code")
    assert ehr.token_forms == []


def test_a_missing_cookie_is_refused(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    client.cookies.clear()
    page = callback(client, params)
    assert page.status_code == 400 and "launch cookie is missing" in text(page)
    assert "set-cookie" not in page.headers  # no cookie of this state: nothing to clear
    assert ehr.token_forms == []


def test_a_tampered_cookie_is_refused(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    name = smart_seal.cookie_name(params["state"])
    value = client.cookies[name]
    flipped = value[:40] + ("A" if value[40] != "A" else "B") + value[41:]
    client.cookies.clear()
    client.cookies.set(name, flipped, domain="netcds.example", path="/ui/smart")
    page = callback(client, params)
    assert page.status_code == 400 and "could not be opened" in text(page)
    assert cleared(page)
    assert ehr.token_forms == []


def test_an_expired_cookie_is_refused(
    client: TestClient, ehr: FakeEhr, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = authorize(launch(client, ehr))
    now = smart_seal.clock()
    monkeypatch.setattr(smart_seal, "clock", lambda: now + smart_seal.LIFETIME_S + 5)
    page = callback(client, params)
    assert page.status_code == 400 and "more than 10 minutes ago" in text(page)
    assert cleared(page)
    assert ehr.token_forms == []


def test_a_cookie_is_used_once(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    assert callback(client, params).status_code == 200
    again = callback(client, params)
    assert again.status_code == 400 and "launch cookie is missing" in text(again)


# --- the EHR's answers refused --------------------------------------------------------------------------
def test_a_token_endpoint_400_is_a_502_with_its_error_code(client: TestClient, ehr: FakeEhr) -> None:
    ehr.token_status = 400
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502
    assert "refused the authorization code (HTTP 400: invalid_grant)" in text(page)
    assert cleared(page)
    assert not [w for _, w, _ in ehr.requests if w.startswith("/fhir/Patient")]


def test_the_token_request_is_the_pkce_authorization_code_grant(client: TestClient, ehr: FakeEhr) -> None:
    params = authorize(launch(client, ehr))
    assert callback(client, params).status_code == 200
    form = ehr.token_forms[0]
    assert set(form) == {"grant_type", "code", "redirect_uri", "client_id", "code_verifier"}  # no secret
    assert form["grant_type"] == "authorization_code" and form["code"] == params["code"]
    assert form["redirect_uri"] == REDIRECT_URI and form["client_id"] == CLIENT_ID
    assert 43 <= len(form["code_verifier"]) <= 128


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"access_token": ACCESS_TOKEN, "token_type": "Bearer"}, "no patient"),
        ({"token_type": "Bearer", "patient": NET_PATIENT}, "no access_token"),
        ({"access_token": ACCESS_TOKEN, "token_type": "MAC", "patient": NET_PATIENT}, "not Bearer"),
        ({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "patient": "../x"}, "not a FHIR id"),
    ],
)
def test_a_token_response_lacking_what_netcds_needs_is_a_502_naming_it(
    client: TestClient, ehr: FakeEhr, body: dict[str, Any], named: str
) -> None:
    ehr.token_body = body
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502 and named in text(page)
    assert ACCESS_TOKEN not in page.text
    assert cleared(page)
    assert not [w for _, w, _ in ehr.requests if w.startswith("/fhir/Patient")]


def test_a_token_type_in_another_letter_case_is_accepted(client: TestClient, ehr: FakeEhr) -> None:
    ehr.token_body = {"access_token": ACCESS_TOKEN, "token_type": "BeArEr", "patient": NET_PATIENT}
    assert callback(client, authorize(launch(client, ehr))).status_code == 200


def test_a_fhir_401_is_a_502_saying_the_token_was_refused(client: TestClient, ehr: FakeEhr) -> None:
    ehr.fhir_status = 401
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502
    assert "answered HTTP 401 (the access token was refused)" in text(page)
    assert ACCESS_TOKEN not in page.text
    assert cleared(page)


def test_a_record_read_over_the_time_budget_says_so(netcds: Netcds, ehr: FakeEhr, tmp_path: Path) -> None:
    client = netcds.client(smart_settings(tmp_path, ehr.iss, budget_s=0.5))
    ehr.slow_observations_s = 1.5
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502
    assert "took longer than the 0.5 s netcds allows (smart.budget_s)" in text(page)


def test_a_search_continuing_at_another_origin_is_not_followed(client: TestClient, ehr: FakeEhr) -> None:
    ehr.foreign_next_link = True
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502
    assert "continues at another origin" in text(page) and "nothing is shown" in text(page)
    assert not [h for _, _, h in ehr.requests if "localhost" in h.get("host", "")]


# --- off by default -------------------------------------------------------------------------------------
def test_disabled_both_paths_are_unknown(netcds: Netcds, ehr: FakeEhr, tmp_path: Path) -> None:
    client = netcds.client(smart_settings(tmp_path, ehr.iss, enabled=False))
    for path in ("/ui/smart/launch", "/ui/smart/callback"):
        answer = client.get(path, params={"iss": ehr.iss, "launch": LAUNCH, "code": "c", "state": "s"})
        assert answer.status_code == 404, path
        assert answer.status_code == client.get("/ui/no-such-page").status_code
    assert ehr.requests == []
