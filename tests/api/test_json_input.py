"""JSON bodies on every endpoint that takes one: a key given twice and text that is not UTF-8 are 422
naming where (never last-value-wins, never UTF-16 read as if it were fine); a whole-body problem is
named ``<json>``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from tests.api.conftest import Keys, draft_cabozantinib, hook_request, make_settings, patient_record, prefetch

EVALUATE, CASES, FHIR = "/api/v1/evaluate", "/api/v1/cases", "/api/v1/evaluate/fhir"
VIEW, ORDER = "/cds-services/netcds-patient-view", "/cds-services/netcds-order-sign"
FEEDBACK = "/cds-services/netcds-patient-view/feedback"
JSON = {"content-type": "application/json"}


def _twice(body: dict[str, Any], member: str, first: str) -> bytes:
    """``body`` as JSON text with the one member ``member`` preceded by ``first`` (same key, other value)."""
    text = json.dumps(body)
    assert text.count(member) == 1, member
    return text.replace(member, f"{first}, {member}").encode()


def _patient() -> dict[str, Any]:
    rec = patient_record()
    rec["tumor"]["sstr_status"] = "positive"
    return rec


def _feedback() -> dict[str, Any]:
    return {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2025-03-01T10:00:00Z"}]}


DUPLICATES = [
    (
        EVALUATE,
        _twice(_patient(), '"sstr_status": "positive"', '"sstr_status": "negative"'),
        "tumor.sstr_status",
    ),
    (
        CASES,
        _twice(_patient(), '"sstr_status": "positive"', '"sstr_status": "negative"'),
        "tumor.sstr_status",
    ),
    (
        FHIR,
        _twice(
            {"resourceType": "Bundle", "type": "collection", "entry": []},
            '"type": "collection"',
            '"type": "x"',
        ),
        "type",
    ),
    (
        VIEW,
        _twice(
            hook_request("patient-view", prefetch_data=prefetch()), '"gender": "female"', '"gender": "male"'
        ),
        "prefetch.patient.gender",
    ),
    (
        ORDER,
        _twice(
            hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib()]),
            '"status": "draft"',
            '"status": "active"',
        ),
        "context.draftOrders.entry[0].resource.status",
    ),
    (
        FEEDBACK,
        _twice(_feedback(), '"outcome": "overridden"', '"outcome": "accepted"'),
        "feedback[0].outcome",
    ),
]


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text[:400]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(("path", "raw", "field"), DUPLICATES)
def test_a_key_given_twice_is_422_naming_its_path(
    open_client: TestClient, path: str, raw: bytes, field: str
) -> None:
    body = _problem(open_client.post(path, content=raw, headers=JSON), 422)
    assert body["type"] == "urn:netcds:problem:validation"
    assert body["errors"] == [
        {"field": field, "message": "appears twice in the same JSON object (each key may be given once)"}
    ]
    assert body["detail"].startswith(f"{field}: appears twice")


def test_a_key_three_times_and_a_repeated_top_level_key(open_client: TestClient) -> None:
    raw = b'{"id": "a", "id": "b", "id": "c", "tumor": {"primary_site": "ileum"}}'
    body = _problem(open_client.post(EVALUATE, content=raw, headers=JSON), 422)
    assert body["errors"][0]["field"] == "id" and "appears 3 times" in body["errors"][0]["message"]


def test_the_same_key_in_different_objects_is_fine(open_client: TestClient) -> None:
    """Only a key repeated within one object is refused: ``code`` and ``system`` recur across resources."""
    r = open_client.post(VIEW, json=hook_request("patient-view", prefetch_data=prefetch()))
    assert r.status_code == 200, r.text


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
VALID = {
    EVALUATE: patient_record(),
    VIEW: hook_request("patient-view", prefetch_data=prefetch()),
    ORDER: hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib()]),
    FEEDBACK: _feedback(),
    CASES: patient_record(),
    FHIR: {"resourceType": "Bundle", "type": "collection", "entry": []},
}


@pytest.mark.parametrize("path", list(VALID))
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_that_is_not_utf8_is_422(open_client: TestClient, path: str, encoding: str) -> None:
    """RFC 8259 §8.1: JSON between systems is UTF-8. ``utf-16``/``utf-32`` carry a byte-order mark."""
    raw = json.dumps(VALID[path]).encode(encoding)
    body = _problem(open_client.post(path, content=raw, headers=JSON), 422)
    (err,) = body["errors"]
    assert err["field"] == "<json>"
    assert f"the text is {encoding.upper()}, not UTF-8" in err["message"]


def test_utf8_with_a_byte_order_mark_is_still_accepted(open_client: TestClient) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(patient_record()).encode()
    assert open_client.post(EVALUATE, content=raw, headers=JSON).status_code == 200


@pytest.mark.parametrize("charset", ["utf-16", "UTF-32", "latin-1", '"iso-8859-1"'])
def test_a_declared_charset_other_than_utf8_is_415(open_client: TestClient, charset: str) -> None:
    for path in VALID:
        raw = json.dumps(VALID[path]).encode()
        r = open_client.post(
            path, content=raw, headers={"content-type": f"application/json; charset={charset}"}
        )
        body = _problem(r, 415)
        assert body["type"] == "urn:netcds:problem:unsupported-media-type" and "UTF-8" in body["detail"]


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
def test_charset_utf8_is_accepted(open_client: TestClient, charset: str) -> None:
    headers = {"content-type": f"application/json; charset={charset}"}
    assert open_client.post(EVALUATE, json=patient_record(), headers=headers).status_code == 200


@pytest.mark.parametrize("path", [VIEW, ORDER, FEEDBACK])
@pytest.mark.parametrize("raw", [b"[]", b"[" * 3000 + b"]" * 3000, b"{broken"])
def test_a_whole_body_problem_is_named_json(open_client: TestClient, path: str, raw: bytes) -> None:
    """One pseudo-field for the body as a whole, as the CLI names it (``<json>``), on every endpoint."""
    body = _problem(open_client.post(path, content=raw, headers=JSON), 422)
    assert body["errors"][0]["field"] == "<json>", body


def test_fetched_prefetch_with_a_key_twice_is_not_used(tmp_path: Path, keys: Keys) -> None:
    """What the service fetches from the FHIR server itself is read the same way: a resource with a key
    twice is a failed fetch (412 naming the prefetch key and the repeated key), not a silently chosen value."""
    data = prefetch()
    text = json.dumps(data["observations"])
    raw = text.replace('"status": "final"', '"status": "cancelled", "status": "final"', 1).encode()

    def fhir(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "application/fhir+json"})

    settings = make_settings(tmp_path, keys, hooks_open=True, fhir_fetch=True)
    pf = copy.deepcopy(data)
    del pf["observations"]
    body = hook_request(
        "patient-view",
        prefetch_data=pf,
        fhirServer="https://ehr.example.test/fhir",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "x",
            "subject": "s",
        },
    )
    with TestClient(create_app(settings, fhir_transport=httpx.MockTransport(fhir))) as c:
        got = _problem(c.post(VIEW, json=body), 412)
    assert got["missing_prefetch"] == ["observations"]
    assert "entry[0].resource.status: appears twice" in got["detail"]
