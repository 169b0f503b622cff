"""Hostile input to every body-taking endpoint: a clear 4xx problem document naming what is wrong,
never a 5xx, never a traceback, and no raw control or bidi-override character in any error text."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.settings import Settings
from tests.api.conftest import draft_cabozantinib, hook_request, patient_record, prefetch

EVALUATE, CASES, FHIR = "/api/v1/evaluate", "/api/v1/cases", "/api/v1/evaluate/fhir"
VIEW, ORDER = "/cds-services/netcds-patient-view", "/cds-services/netcds-order-sign"
FEEDBACK = "/cds-services/netcds-patient-view/feedback"
JSON = {"content-type": "application/json"}
BODY_ENDPOINTS = [EVALUATE, CASES, FHIR, VIEW, ORDER, FEEDBACK]

INSTANCE = "0f8fad5b-d9cb-469f-a165-70867728950e"  # hookInstance is a UUID (CDS Hooks 2.0)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("hostile")
    settings = Settings(
        db_url=f"sqlite:///{tmp / 'h.db'}",
        hooks_open=True,
        base_url="http://testserver",
        max_body_bytes=65536,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _clean(text: str) -> None:
    for ch in text:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs"), f"raw {ch!r} in {text!r}"


def problem(r: Any, status: int, *names: str) -> dict[str, Any]:
    """Assert a problem document with ``status`` whose detail or errors mention every one of ``names``."""
    assert r.status_code == status, r.text[:400]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in r.text and 'File "' not in r.text
    body = r.json()
    assert body["status"] == status and body["title"] and body["request_id"] == r.headers["x-request-id"]
    words = [body.get("detail", "")] + [f"{e['field']} {e['message']}" for e in body.get("errors") or []]
    for w in words:
        _clean(w)
    for name in names:
        assert any(name in w for w in words), (name, words)
    return body


def post_raw(c: TestClient, path: str, raw: bytes, ctype: str = "application/json") -> Any:
    return c.post(path, content=raw, headers={"content-type": ctype})


# --- transport-level hostility: every body endpoint -------------------------------------------------------
@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_oversized_body_is_413(client: TestClient, path: str) -> None:
    big = b'{"x": "' + b"a" * 70_000 + b'"}'
    problem(post_raw(client, path, big), 413, "65536 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams in
        yield b'{"x": "'
        for _ in range(20):
            yield b"a" * 4096
        yield b'"}'

    problem(client.post(path, content=chunks(), headers=JSON), 413, "65536 bytes")


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client: TestClient, path: str, ctype: str) -> None:
    problem(post_raw(client, path, b"{}", ctype), 415, "Content-Type")


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested deeper"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper"),
        (b"{bad json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"a": "\xff\xfe"}', "not UTF-8"),
        (b'{"age_years": ' + b"9" * 5000 + b"}", "too many digits"),
    ],
)
def test_broken_json_is_422(client: TestClient, path: str, raw: bytes, says: str) -> None:
    problem(post_raw(client, path, raw), 422, says)


# --- the contract Patient (REST evaluate and cases) --------------------------------------------------------
NUMBERS = [
    ({"age_years": 1e308}, "age_years"),
    ({"age_years": -1}, "age_years"),
    ({"age_years": 10**40}, "age_years"),
    ({"age_years": "62"}, "age_years"),
    ({"weight_kg": "70.5"}, "weight_kg"),
    ({"weight_kg": -0.0001}, "weight_kg"),
    ({"tumor": {"primary_site": "ileum", "ki67_percent": 10**40}}, "tumor.ki67_percent"),
    ({"tumor": {"primary_site": "ileum", "ki67_percent": "8"}}, "tumor.ki67_percent"),
    ({"tumor": {"primary_site": "ileum", "mitoses_per_2mm2": -1}}, "tumor.mitoses_per_2mm2"),
    ({"treatments": [{"agent": "octreotide_lar", "dose_mg": 1e308}]}, "treatments[0].dose_mg"),
    ({"treatments": [{"agent": "octreotide_lar", "interval_days": -1}]}, "treatments[0].interval_days"),
    ({"treatments": [{"agent": "octreotide_lar", "dose_mg": "30"}]}, "treatments[0].dose_mg"),
    ({"as_of": 0}, "as_of"),
    ({"treatments": [{"agent": "everolimus", "start": 1700000000}]}, "treatments[0].start"),
]


@pytest.mark.parametrize("path", [EVALUATE, CASES])
@pytest.mark.parametrize(("over", "field"), NUMBERS)
def test_numbers_out_of_range_or_as_strings_are_422(
    client: TestClient, path: str, over: dict[str, Any], field: str
) -> None:
    problem(client.post(path, json=patient_record(**over)), 422, field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"age_years": NaN, "tumor": {"primary_site": "ileum"}}', "age_years"),
        (b'{"age_years": Infinity, "tumor": {"primary_site": "ileum"}}', "age_years"),
        (b'{"age_years": 1e999, "tumor": {"primary_site": "ileum"}}', "age_years"),
        (b'{"id": "\\ud800", "tumor": {"primary_site": "ileum"}}', "id"),  # a lone surrogate, escaped
        (b'{"medications": ["\\udfff"], "tumor": {"primary_site": "ileum"}}', "medications[0]"),
        (b'{"\\ud83d": 1, "tumor": {"primary_site": "ileum"}}', "<patient>"),
        (b'{"tumor": {"primary_site": "ile\\u0007um\\u202e"}}', "tumor.primary_site"),
        (b'{"tum\\u0000or\\u001b[31m": {}, "tumor": {"primary_site": "ileum"}}', "tum\\x00or\\x1b[31m"),
        (b'{"tumor": {"primary_site": "ileum", "grade": "G\\u200f2"}}', "tumor.grade"),
    ],
)
def test_unicode_and_non_finite_edge_cases_are_422_and_escaped(
    client: TestClient, raw: bytes, field: str
) -> None:
    for path in (EVALUATE, CASES):
        problem(post_raw(client, path, raw), 422, field)


def _hook_text_with(hook: str, marker: float, literal: str) -> bytes:
    """A valid hook request whose one number ``marker`` (unique in the text) is written as ``literal``."""
    if hook == "patient-view":
        data = prefetch()
        for res in [e["resource"] for b in data.values() if isinstance(b, dict) for e in b.get("entry", [])]:
            if res.get("id") == "o-ki67":
                res["valueQuantity"]["value"] = marker
        body = hook_request(hook, prefetch_data=data, hookInstance=INSTANCE)
    else:
        body = hook_request(
            hook, prefetch_data=prefetch(), drafts=[draft_cabozantinib(marker)], hookInstance=INSTANCE
        )
    text = json.dumps(body)
    assert text.count(repr(marker)) >= 1
    return text.replace(repr(marker), literal).encode()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1E+999", "1" * 400 + ".5"])
@pytest.mark.parametrize(
    ("path", "hook", "field"),
    [
        (VIEW, "patient-view", "valueQuantity.value"),
        (ORDER, "order-sign", "doseQuantity.value"),
    ],
)
def test_a_non_finite_number_in_a_hook_request_is_422_naming_it(
    client: TestClient, path: str, hook: str, field: str, literal: str
) -> None:
    body = problem(post_raw(client, path, _hook_text_with(hook, 123.4567, literal)), 422, field, "finite")
    assert body["title"] == "Invalid hook request"
    # the same request with a finite number is answered
    assert post_raw(client, path, _hook_text_with(hook, 123.4567, "8")).status_code == 200


def test_rtl_and_other_printable_unicode_in_free_text_is_accepted(client: TestClient) -> None:
    rec = patient_record(id="\u202eEVIL\u200f \u05e9\u05dc\u05d5\u05dd \U0001f600")
    r = client.post(EVALUATE, json=rec)
    assert r.status_code == 200
    assert r.json()["guideline"]["id"] == "nccn-net"


@pytest.mark.parametrize("body", [[], "text", 5, None, [patient_record()]])
def test_body_must_be_an_object(client: TestClient, body: Any) -> None:
    for path in (EVALUATE, CASES):
        problem(client.post(path, content=json.dumps(body), headers=JSON), 422, "JSON object")


# --- FHIR bundles -------------------------------------------------------------------------------------------
BUNDLES = [
    ({"resourceType": "Patient"}, "resourceType"),
    ({"resourceType": "Bundle"}, "type"),
    ({"resourceType": "Bundle", "type": "collection", "entry": 5}, "entry"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [1, None, "x"]}, "entry[0]"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 5}]}, "entry[0].resource"),
    (
        {"resourceType": "Bundle", "type": "collection",
         "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "99999-01-01"}}]},
        "entry[0].resource.birthDate",
    ),
    (
        {"resourceType": "Bundle", "type": "collection",
         "entry": [{"resource": {"resourceType": "Observation", "id": "o", "status": "final",
                                 "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
                                 "valueQuantity": {"value": "abc"}}}]},
        "entry[0].resource.valueQuantity.value",
    ),
]  # fmt: skip
NET = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
       "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.012"}]}}  # fmt: skip


@pytest.mark.parametrize(("bundle", "field"), BUNDLES)
def test_malformed_fhir_bundles_are_422_naming_the_place(
    client: TestClient, bundle: dict[str, Any], field: str
) -> None:
    problem(client.post(FHIR, json=bundle), 422, field)


@pytest.mark.parametrize("value", [1e308, -5, 10**40])
def test_impossible_fhir_values_stay_unknown(client: TestClient, value: float) -> None:
    """An impossible Ki-67 in an Observation is skipped (reported), so the fact stays unknown: never 5xx."""
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": "Patient/p"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
           "valueQuantity": {"value": value, "unit": "%"}}  # fmt: skip
    r = client.post(FHIR, json={"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": NET}, {"resource": obs}]})  # fmt: skip
    assert r.status_code == 200, r.text[:300]
    assert "ki67_percent" not in r.json()["patient"]["tumor"]


@pytest.mark.parametrize(
    "as_of", ["0", "1700000000", "2025-02-30", "99999-01-01", "2025-1-1", "\u0660\u0661"]
)
def test_fhir_as_of_must_be_a_calendar_date(client: TestClient, as_of: str) -> None:
    r = client.post(FHIR, params={"as_of": as_of}, json={"resourceType": "Bundle", "type": "collection"})
    problem(r, 422, "as_of")


def test_fhir_surrogates_in_resources_are_422(client: TestClient) -> None:
    raw = (
        b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Condition",'
        b'"id":"c","subject":{"reference":"Patient/p"},"code":{"coding":[{"system":'
        b'"http://hl7.org/fhir/sid/icd-10-cm","code":"C7A.012","display":"\\ud800"}]}}}]}'
    )
    problem(post_raw(client, FHIR, raw), 422, "display")


# --- CDS Hooks ----------------------------------------------------------------------------------------------
USER = "Practitioner/pr1"


def _junk_prefetch() -> dict[str, Any]:
    pf = prefetch()
    pf["observations"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Observation", "id": "o", "status": "final",
                                "subject": {"reference": "Patient/p1"},
                                "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
                                "valueQuantity": {"value": 1e308, "unit": "%"}}}],
    }  # fmt: skip
    return pf


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (VIEW, {"hook": "patient-view", "hookInstance": INSTANCE, "context": 5}, "context"),
        (VIEW, {"hook": "patient-view", "hookInstance": INSTANCE, "context": {"patientId": 5}}, "context.patientId"),
        (VIEW, {"hook": "order-sign", "hookInstance": INSTANCE, "context": {"patientId": "p1"}}, "hook"),
        (VIEW, {"hookInstance": INSTANCE, "context": {"patientId": "p1"}}, "hook"),
        (
            VIEW,
            {"hook": "patient-view", "hookInstance": INSTANCE, "context": {"patientId": "p1", "userId": USER},
             "prefetch": {"patient": 5, "conditions": "x", "observations": [1], "medicationRequests": None,
                          "medicationStatements": None}},
            "prefetch",
        ),
        (ORDER, {"hook": "order-sign", "hookInstance": INSTANCE, "context": {"patientId": "p1", "userId": USER, "draftOrders": 5}},
         "context.draftOrders"),
        (FEEDBACK, {"feedback": [{"card": "x", "outcome": "accepted"}]}, "feedback[0]"),
        (FEEDBACK, {"feedback": "all good"}, "feedback"),
    ],
)  # fmt: skip
def test_malformed_hook_requests_are_422(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    problem(client.post(path, json=body), 422, field)


def test_hook_edge_values_never_500(client: TestClient) -> None:
    r = client.post(VIEW, json=hook_request("patient-view", prefetch_data=_junk_prefetch()))
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 422:
        problem(r, 422)
    for mg in (1e308, -1, 0, 10**40):
        r = client.post(
            ORDER, json=hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(mg)])
        )
        assert r.status_code in (200, 422), r.text[:300]
    raw = b'{"hook":"patient-view","hookInstance":"\\ud800","context":{"patientId":"p1"},"prefetch":{}}'
    problem(post_raw(client, VIEW, raw), 422, "hookInstance")


# --- paths, queries and headers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/agents/%00%1b%5B31m", 404),
        ("/api/v1/agents/%E2%80%AEevil", 404),
        ("/api/v1/cases/%ff", 422),
        ("/api/v1/cases/not-a-uuid%0a", 422),
        ("/api/v1/evaluations/12345678-1234-1234-1234-1234567890ab", 404),
        ("/api/v1/guidelines/nccn-net/%00", 404),
        ("/cds-services/%1b[2J", 404),
    ],
)
def test_hostile_paths_are_clean_4xx(client: TestClient, path: str, status: int) -> None:
    method = client.post if path.startswith("/cds-services/") else client.get
    r = method(path, json={}) if method is client.post else method(path)
    problem(r, status)


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    r = client.get("/api/v1/health", headers={"x-request-id": "abc\x1b[31mdef-long-enough"})
    assert r.status_code == 200
    assert r.headers["x-request-id"].isalnum()


def test_guideline_version_query_is_validated(client: TestClient) -> None:
    r = client.post(EVALUATE, params={"guideline_version": "../../etc"}, json=patient_record())
    problem(r, 422, "guideline_version")
    r = client.post(EVALUATE, params={"guideline_version": "9.9999"}, json=patient_record())
    problem(r, 404, "9.9999")


def test_no_server_error_was_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A last sweep through everything above with the log captured: not one unhandled error."""
    caplog.set_level("ERROR", logger="netcds")
    for path in BODY_ENDPOINTS:
        for raw in (b"{}", b"[]", b'{"tumor": null}', b'{"context": {}}', b"\x00"):
            assert post_raw(client, path, raw).status_code < 500
    assert not [r for r in caplog.records if "unhandled error" in r.getMessage()]


@pytest.mark.parametrize(
    ("value", "says"), [(5, "must be a string"), ([], "must be a string"), ("", "required")]
)
def test_context_patient_id_of_the_wrong_type_is_named_as_such(
    client: TestClient, value: Any, says: str
) -> None:
    body = hook_request("patient-view", prefetch_data=prefetch(), hookInstance=INSTANCE)
    body["context"]["patientId"] = value
    problem(client.post(VIEW, json=body), 422, "context.patientId", says)


@pytest.mark.parametrize("literal", ["NaN", "1e400", "-Infinity"])
def test_a_non_finite_number_in_a_fhir_bundle_is_422_naming_it(client: TestClient, literal: str) -> None:
    text = json.dumps(prefetch()["observations"]).replace('"value": 8,', f'"value": {literal},', 1)
    assert literal in text
    body = problem(post_raw(client, FHIR, text.encode()), 422, "valueQuantity.value", "finite")
    assert body["errors"][0]["field"].startswith("entry[")
