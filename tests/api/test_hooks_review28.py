"""CDS Hooks 2.0 conformance (review 28): feedback stores the card's uuid in its canonical form, entries
whose members contradict their outcome are refused, ``fhirAuthorization`` is held to the spec's types and
a malformed ``fhirServer`` is a 422 naming it (412 stays for a prefetch the service could not obtain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.store import Store
from tests.api.conftest import OS, PV, Keys, auth, hook_request, make_settings

CARD = "5d9f4c3e-1b2a-5c6d-8e7f-0a1b2c3d4e5f"
SUGGESTION = "6e0a5d4f-2c3b-5d7e-9f80-1b2c3d4e5f60"
STAMP = "2025-03-02T10:15:00Z"
REASON = {"system": "urn:netcds:override-reason", "code": "patient-preference"}
AUTH = {
    "access_token": "t",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "s",
}


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.netcds.store  # type: ignore[attr-defined]
    return store


def _issued(client: TestClient) -> None:
    _store(client).record_issued_cards("netcds-order-sign", [(CARD, [SUGGESTION])])


def _send(client: TestClient, keys: Keys, *items: dict[str, Any]) -> httpx.Response:
    path = OS + "/feedback"
    return client.post(path, json={"feedback": list(items)}, headers=auth(keys, path))


def _post(client: TestClient, keys: Keys, body: dict[str, Any]) -> httpx.Response:
    return client.post(PV, json=body, headers=auth(keys, PV))


def _refused(r: httpx.Response, field: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = r.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    return problem


# 1. the card is stored (and looked up) in its canonical form ---------------------------------------------
@pytest.mark.parametrize(
    "written", [CARD.upper(), f"urn:uuid:{CARD}", "{" + CARD + "}", CARD.replace("-", "")]
)
def test_feedback_stores_the_canonical_card_uuid(client: TestClient, keys: Keys, written: str) -> None:
    _issued(client)
    item = {"card": written, "outcome": "accepted", "acceptedSuggestions": [{"id": SUGGESTION.upper()}]}
    r = _send(client, keys, {**item, "outcomeTimestamp": STAMP})
    assert r.status_code == 200 and r.json() == {"stored": 1}, r.text
    stored = _store(client).feedback(card_uuid=CARD)  # the same card is the same record
    assert [(f.card_uuid, f.accepted_suggestions) for f in stored] == [(CARD, [SUGGESTION])]
    audit = _store(client).audit_log(action="hooks.feedback")[0]
    assert audit.detail["cards"] == [CARD]


# 2. members that contradict the outcome ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"outcome": "overridden", "acceptedSuggestions": [{"id": SUGGESTION}]},
            "feedback[0].acceptedSuggestions",
        ),
        ({"outcome": "overridden", "acceptedSuggestions": []}, "feedback[0].acceptedSuggestions"),
        (
            {
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": SUGGESTION}],
                "overrideReason": {"reason": REASON},
            },
            "feedback[0].overrideReason",
        ),
        (
            {"outcome": "overridden", "overrideReason": {"reason": {}}},
            "feedback[0].overrideReason.reason.code",
        ),
        (
            {"outcome": "overridden", "overrideReason": {"reason": {"code": "patient-preference"}}},
            "feedback[0].overrideReason.reason.system",
        ),
        (
            {"outcome": "overridden", "overrideReason": {"reason": {**REASON, "code": ""}}},
            "feedback[0].overrideReason.reason.code",
        ),
        ({"outcome": "overridden", "overrideReason": {}}, "feedback[0].overrideReason"),
        (
            {"outcome": "overridden", "overrideReason": {"userComment": ""}},
            "feedback[0].overrideReason.userComment",
        ),
    ],
)
def test_feedback_contradicting_its_outcome_is_422(
    client: TestClient, keys: Keys, item: dict[str, Any], field: str
) -> None:
    _issued(client)
    _refused(_send(client, keys, {"card": CARD, **item, "outcomeTimestamp": STAMP}), field)
    assert _store(client).feedback() == []
    assert _store(client).audit_log(action="hooks.feedback") == []


def test_consistent_feedback_is_still_stored(client: TestClient, keys: Keys) -> None:
    _issued(client)
    items = [
        {"outcome": "accepted", "acceptedSuggestions": [{"id": SUGGESTION}]},
        {"outcome": "overridden"},
        {"outcome": "overridden", "overrideReason": {"reason": {**REASON, "display": "Patient preference"}}},
        {"outcome": "overridden", "overrideReason": {"userComment": "discussed at tumor board"}},
    ]
    r = _send(client, keys, *({"card": CARD, **i, "outcomeTimestamp": STAMP} for i in items))
    assert r.status_code == 200 and r.json() == {"stored": 4}, r.text
    got = [(f.outcome, f.override_code, f.user_comment) for f in _store(client).feedback()]
    assert got == [
        ("accepted", None, None),
        ("overridden", None, None),
        ("overridden", "patient-preference", None),
        ("overridden", None, "discussed at tumor board"),
    ]


# 3. fhirAuthorization ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("token_type", "MAC"),
        ("token_type", "DPoP"),
        ("token_type", ""),
        ("expires_in", "300"),
        ("expires_in", 300.5),
        ("expires_in", -1),
        ("expires_in", True),
    ],
)
def test_fhir_authorization_off_the_spec_is_422(
    client: TestClient, keys: Keys, member: str, value: Any
) -> None:
    body = hook_request(
        "patient-view", fhirServer="https://ehr.example.test/fhir", fhirAuthorization={**AUTH, member: value}
    )
    _refused(_post(client, keys, body), f"fhirAuthorization.{member}")


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_bearer_is_read_case_insensitively(client: TestClient, keys: Keys, token_type: str) -> None:
    body = hook_request(
        "patient-view",
        fhirServer="https://ehr.example.test/fhir",
        fhirAuthorization={**AUTH, "token_type": token_type},
    )
    r = _post(client, keys, body)  # no prefetch and fetching disabled: the service could not obtain it
    assert r.status_code == 412, r.text


# 4. fhirServer --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "server",
    ["ehr.example.test/fhir", "/fhir", "ftp://ehr.example.test/fhir", "https://", "not a url",
     "https://ehr.example.test:99999/fhir", "http://[::1", "https://ehr.example.test/fhir?x=1", ""],
)  # fmt: skip
@pytest.mark.parametrize("fetch", [False, True])
def test_a_malformed_fhir_server_is_422_not_412(tmp_path: Path, keys: Keys, server: str, fetch: bool) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("fetched")

    app = create_app(
        make_settings(tmp_path, keys, fhir_fetch=fetch), fhir_transport=httpx.MockTransport(never)
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        for body in (
            hook_request("patient-view", fhirServer=server, fhirAuthorization=AUTH),
            hook_request("patient-view", fhirServer=server),
        ):
            problem = _refused(_post(c, keys, body), "fhirServer")
            assert problem["type"] == "urn:netcds:problem:validation"


def test_a_well_formed_server_the_service_will_not_fetch_from_stays_412(tmp_path: Path, keys: Keys) -> None:
    """http to another host than localhost is a URL CDS Hooks allows (https is required for production data):
    this service does not send the token there, so the prefetch could not be obtained: 412."""
    app = create_app(make_settings(tmp_path, keys, fhir_fetch=True))
    with TestClient(app, raise_server_exceptions=False) as c:
        body = hook_request("patient-view", fhirServer="http://ehr.example.test/fhir", fhirAuthorization=AUTH)
        r = _post(c, keys, body)
    assert r.status_code == 412, r.text
    assert "missing_prefetch" in r.json()
