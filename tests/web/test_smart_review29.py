"""Review of the SMART launch (session 29): a malformed search answer is refused, never read as no results;
what httpx cannot send (an endpoint, a next link, a token) is a 502 page, never a 500, with the launch
ended; an authorization error is shown only for this browser's launch; a parameter that is not UTF-8 is
refused naming it; an authorization endpoint with a fragment is refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web import test_smart as smart_tests
from tests.web.test_smart_fake import (
    ACCESS_TOKEN,
    LAUNCH,
    NET_PATIENT,
    FakeEhr,
    authorize,
    callback,
    cleared,
    ehr_state,
    launch,
    text,
)

# the SMART tests' fixtures: the fake EHR on loopback, and a netcds client with SMART on for it
ehr, netcds, client = smart_tests.ehr, smart_tests.netcds, smart_tests.client


# D1: a search answer that is no searchset of entries is refused (it was read as no results: 200, data lost)
@pytest.mark.parametrize(
    ("rtype", "body"),
    [
        ("MedicationRequest", b'{"resourceType":"Bundle","type":"searchset","entry":{"resource":{}}}'),
        ("Observation", b'{"resourceType":"Bundle","type":"searchset","entry":"oops"}'),
        ("MedicationStatement", b'{"resourceType":"Bundle","type":"searchset","entry":["oops",3]}'),
        ("Observation", b'{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"x"}]}'),
        ("Condition", b"null"),
    ],
)
def test_a_malformed_search_answer_is_a_502_not_a_record_read_in_part(
    client: TestClient, ehr: FakeEhr, rtype: str, body: bytes
) -> None:
    ehr.raw_search[rtype] = body
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502, text(page)[:300]
    assert (rtype in text(page) and "nothing is shown" not in text(page)) or "null" in text(page)
    assert "mapping report" not in text(page).lower()
    assert cleared(page)


def test_an_empty_search_is_still_no_results(client: TestClient, ehr: FakeEhr) -> None:
    ehr.raw_search["MedicationStatement"] = b'{"resourceType":"Bundle","type":"searchset","total":0}'
    assert callback(client, authorize(launch(client, ehr))).status_code == 200


# D2: what httpx cannot send
@pytest.mark.parametrize("endpoint", ["/auth/tok\u0000en", "/auth/token#frag", "/auth/to ken"])
def test_an_endpoint_httpx_cannot_use_is_refused_at_the_launch(
    client: TestClient, ehr: FakeEhr, endpoint: str
) -> None:
    url = endpoint if endpoint.startswith("https://") else f"{ehr.base}{endpoint}"
    ehr.config_override = {
        "authorization_endpoint": f"{ehr.base}/auth/authorize",
        "token_endpoint": url,
        "code_challenge_methods_supported": ["S256"],
    }
    page = launch(client, ehr)
    assert page.status_code == 502 and "token_endpoint" in text(page), text(page)[:300]
    assert "set-cookie" not in page.headers and ehr.authorize_params == []


def test_a_token_endpoint_whose_host_httpx_cannot_encode_is_a_502_at_the_callback(
    client: TestClient, ehr: FakeEhr
) -> None:
    ehr.config_override = {
        "authorization_endpoint": f"{ehr.base}/auth/authorize",
        "token_endpoint": "https://a..b/token",  # an empty IDNA label: httpx raises UnicodeError on sending
        "code_challenge_methods_supported": ["S256"],
    }
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502 and "token endpoint" in text(page), text(page)[:300]
    assert cleared(page)


def test_an_authorization_endpoint_with_a_fragment_is_refused(client: TestClient, ehr: FakeEhr) -> None:
    ehr.config_override = {
        "authorization_endpoint": f"{ehr.base}/auth/authorize#frag",
        "token_endpoint": f"{ehr.base}/auth/token",
        "code_challenge_methods_supported": ["S256"],
    }
    page = launch(client, ehr)
    assert page.status_code == 502 and "authorization_endpoint" in text(page)


def test_a_next_link_httpx_cannot_send_is_a_502_and_ends_the_launch(client: TestClient, ehr: FakeEhr) -> None:
    ehr.next_link = f"{ehr.iss}/Observation?page=2\x7f"
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502 and "Observation" in text(page)
    assert cleared(page)


@pytest.mark.parametrize("token", ["at-é", "at with space", "at\x00"])
def test_an_access_token_a_bearer_header_cannot_carry_is_a_502(
    client: TestClient, ehr: FakeEhr, token: str
) -> None:
    ehr.token_body = {"access_token": token, "token_type": "Bearer", "patient": NET_PATIENT}
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502 and "access_token" in text(page)
    assert cleared(page)
    assert not [w for _, w, _ in ehr.requests if w.startswith("/fhir/Patient")]


# D3: an authorization error is this browser's launch's only when its state matches
def test_an_authorization_error_without_the_launch_state_shows_nothing_it_says(
    client: TestClient, ehr: FakeEhr
) -> None:
    launched = launch(client, ehr)
    spoof = "Your EHR session expired. Re-enter your password at https://ehr-login.example.net"
    for params in (
        {"error": "access_denied", "error_description": spoof},
        {"error": "access_denied", "error_description": spoof, "state": "not-the-launch-state"},
    ):
        page = callback(client, params)
        assert page.status_code == 400
        assert "ehr-login.example.net" not in page.text and "Re-enter" not in page.text
        assert "set-cookie" not in page.headers  # the launch in flight is left alone
    real = callback(client, {"error": "access_denied", "state": ehr_state(launched)})
    assert real.status_code == 400 and "access_denied" in text(real) and cleared(real)


# D4: text that is not UTF-8 is refused naming the parameter, not replaced
def test_a_launch_parameter_that_is_not_utf8_is_refused_naming_it(client: TestClient, ehr: FakeEhr) -> None:
    page = client.get(f"/ui/smart/launch?iss={ehr.iss}&launch=%ff")
    assert page.status_code == 400 and "launch parameter is not UTF-8" in text(page)
    assert ehr.requests == []
    ok = client.get("/ui/smart/launch", params={"iss": ehr.iss, "launch": LAUNCH})
    assert ok.status_code == 302


def test_a_code_that_is_not_utf8_is_refused_naming_it(client: TestClient, ehr: FakeEhr) -> None:
    params: dict[str, Any] = authorize(launch(client, ehr))
    page = client.get(f"/ui/smart/callback?state={params['state']}&code=%ff")
    assert page.status_code == 400 and "code parameter is not UTF-8" in text(page)
    assert ehr.token_forms == [] and ACCESS_TOKEN not in page.text
