"""CDS Hooks 2.0 services in-process: discovery, patient-view, order-sign/select, 412, feedback."""

from __future__ import annotations

import copy
import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.fhir.cards import draft_dose_mg
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    OSEL,
    PV,
    RXNORM,
    Keys,
    auth,
    draft_cabozantinib,
    draft_daily,
    evaluation_id_of,
    hook_request,
    make_settings,
    prefetch,
)

needs_mapping = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping not present yet"
)
needs_safety = pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer not present yet")

INSTANCE = "0f8fad5b-d9cb-469f-a165-70867728950e"  # hookInstance is a UUID (CDS Hooks 2.0)


def post(client: TestClient, keys: Keys, path: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(path, json=body, headers=auth(keys, path))


def by_topic(cards: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    return [c for c in cards if c["source"].get("topic", {}).get("code") == topic]


def test_discovery(client: TestClient, keys: Keys) -> None:
    r = client.get("/cds-services", headers=auth(keys, "/cds-services"))
    services = {s["id"]: s for s in r.json()["services"]}
    assert services["netcds-patient-view"]["hook"] == "patient-view"
    assert services["netcds-order-sign"]["hook"] == "order-sign"
    assert services["netcds-order-select"]["hook"] == "order-select"
    pf = services["netcds-patient-view"]["prefetch"]
    assert pf["patient"] == "Patient/{{context.patientId}}"
    assert pf["conditions"] == "Condition?patient={{context.patientId}}"
    assert set(pf) == {
        "patient",
        "conditions",
        "observations",
        "medicationRequests",
        "medicationStatements",
        "medicationAdministrations",  # optional (tests/api/test_optional_prefetch.py)
        "procedures",  # optional (tests/api/test_procedures_prefetch41.py)
    }
    administrations = "MedicationAdministration?patient={{context.patientId}}"  # clinic-given doses
    assert all(s["prefetch"]["medicationAdministrations"] == administrations for s in services.values())
    assert all(s["description"] and s["title"] for s in services.values())


@needs_mapping
def test_patient_view_with_realistic_prefetch(client: TestClient, keys: Keys) -> None:
    body = hook_request("patient-view", prefetch_data=prefetch())
    r = post(client, keys, PV, body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    main = by_topic(cards, "therapy-options")[0]
    assert main["indicator"] == "info"
    assert "GI WD G1/2" in main["summary"] and "eligible" in main["summary"]
    assert "Cabozantinib" in main["detail"] and "Everolimus" in main["detail"]
    missing = by_topic(cards, "missing-data")[0]
    assert "SSTR status (SSTR-PET / scintigraphy)" in missing["detail"]  # tumor.sstr_status, as labelled
    assert all(len(c["summary"]) < 140 for c in cards)
    # the link goes to the stored evaluation's page (signed), whose record holds the card uuids
    link = main["links"][0]["url"]
    assert link.startswith("http://testserver/ui/evaluations/") and "&sig=" in link
    stored = client.get(f"/api/v1/evaluations/{evaluation_id_of(link)}").json()
    assert stored["origin"] == "cds-hooks"
    assert stored["card_uuids"] == [c["uuid"] for c in cards]
    assert stored["output"]["setting"]["table"] == "gi_wd_g12"
    assert stored["hook_instance"] == body["hookInstance"]
    # same data, new hook instance: same cards (deterministic uuids)
    again = post(client, keys, PV, hook_request("patient-view", prefetch_data=prefetch())).json()["cards"]
    assert [c["uuid"] for c in again] == [c["uuid"] for c in cards]


@needs_mapping
def test_repeated_patient_view_reuses_work_but_records_every_call(client: TestClient, keys: Keys) -> None:
    """The same chart opened again: mapping, evaluation and cards come from the cache, yet each call
    gets its own stored evaluation (own id, hook instance, explanation link) pointing at one output."""
    calls = [hook_request("patient-view", prefetch_data=prefetch()) for _ in range(3)]
    answers = [post(client, keys, PV, b).json()["cards"] for b in calls]
    ids = [evaluation_id_of(a[0]["links"][0]["url"]) for a in answers]
    assert len(set(ids)) == 3  # one explanation per call
    stored = [client.get(f"/api/v1/evaluations/{i}").json() for i in ids]
    assert [s["hook_instance"] for s in stored] == [b["hookInstance"] for b in calls]
    assert len({s["output_hash"] for s in stored}) == 1  # the same output, stored once
    assert all(s["card_uuids"] == [c["uuid"] for c in answers[0]] for s in stored)
    cache = client.app.state.netcds.eval_cache  # type: ignore[attr-defined]
    assert cache.hits >= 6  # calls 2 and 3: mapping, evaluation and cards each a hit

    # a changed record is never answered from the cache: Ki-67 87% makes it a G3 tumor
    pf = prefetch()
    for e in pf["observations"]["entry"]:
        if e["resource"]["code"]["coding"][0]["code"] == "29593-1":
            e["resource"]["valueQuantity"]["value"] = 87
    changed = post(client, keys, PV, hook_request("patient-view", prefetch_data=pf)).json()["cards"]
    assert "G3" in changed[0]["detail"] and "GI WD G1/2" not in changed[0]["summary"]


@needs_mapping
def test_patient_view_without_a_net_diagnosis_says_nothing(client: TestClient, keys: Keys) -> None:
    pf = prefetch()
    pf["conditions"] = None
    r = post(client, keys, PV, hook_request("patient-view", prefetch_data=pf))
    assert r.status_code == 200
    assert r.json() == {"cards": []}


def test_patient_view_missing_prefetch_is_412(client: TestClient, keys: Keys) -> None:
    pf = prefetch()
    del pf["observations"]
    del pf["medicationStatements"]
    r = post(client, keys, PV, hook_request("patient-view", prefetch_data=pf))
    assert r.status_code == 412
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["missing_prefetch"] == ["observations", "medicationStatements"]
    r = post(client, keys, PV, hook_request("patient-view"))
    assert r.status_code == 412


def test_operation_outcome_in_prefetch_counts_as_missing(client: TestClient, keys: Keys) -> None:
    pf = prefetch()
    pf["observations"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    r = post(client, keys, PV, hook_request("patient-view", prefetch_data=pf))
    assert r.status_code == 412
    assert r.json()["missing_prefetch"] == ["observations"]


def test_fhir_server_given_but_fetching_disabled_is_412(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "patient-view",
        fhirServer="https://ehr.example.test/fhir",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "netcds",
        },
    )
    r = post(client, keys, PV, body)
    assert r.status_code == 412
    assert "disabled" in r.json()["detail"]


@needs_mapping
def test_missing_prefetch_fetched_from_fhir_server_when_enabled(tmp_path: Path, keys: Keys) -> None:
    data = prefetch()
    seen: list[httpx.Request] = []

    def fhir(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path.removeprefix("/fhir/")
        key = {
            "Patient/p1": "patient",
            "Condition": "conditions",
            "Observation": "observations",
            "MedicationRequest": "medicationRequests",
            "MedicationStatement": "medicationStatements",
            "MedicationAdministration": "medicationAdministrations",
            "Procedure": "procedures",
        }[path]
        value = data.get(key)
        if value is None:
            return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})
        return httpx.Response(200, json=value)

    app = create_app(make_settings(tmp_path, keys, fhir_fetch=True), fhir_transport=httpx.MockTransport(fhir))
    pf = copy.deepcopy(data)
    del pf["conditions"], pf["observations"]
    body = hook_request(
        "patient-view",
        prefetch_data=pf,
        fhirServer="https://ehr.example.test/fhir",
        fhirAuthorization={
            "access_token": "fhir-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "netcds",
        },
    )
    with TestClient(app) as c:
        r = post(c, keys, PV, body)
    assert r.status_code == 200, r.text
    assert sorted(str(q.url) for q in seen) == [
        "https://ehr.example.test/fhir/Condition?patient=p1",
        "https://ehr.example.test/fhir/MedicationAdministration?patient=p1",  # the optional key, not sent
        "https://ehr.example.test/fhir/Observation?patient=p1",
        "https://ehr.example.test/fhir/Procedure?patient=p1",  # the other optional key
    ]
    assert all(q.headers["authorization"] == "Bearer fhir-token" for q in seen)
    assert "GI WD G1/2" in r.json()["cards"][0]["summary"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hook": "patient-view", "context": {"patientId": "p1"}}, "hookInstance"),
        ({"hook": "order-sign", "hookInstance": INSTANCE, "context": {"patientId": "p1"}}, "hook"),
        ({"hook": "patient-view", "hookInstance": INSTANCE, "context": {}}, "context.patientId"),
        (
            {
                "hook": "patient-view",
                "hookInstance": INSTANCE,
                "context": {"patientId": "p1"},
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "s",
                },
            },
            "fhirServer",
        ),
    ],
)
def test_malformed_hook_request_is_422(
    client: TestClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    r = post(client, keys, PV, body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


def test_unknown_service_is_404(client: TestClient, keys: Keys) -> None:
    r = post(client, keys, "/cds-services/nope", hook_request("patient-view"))
    assert r.status_code == 404


def test_order_sign_without_tabled_agent_needs_no_data(client: TestClient, keys: Keys) -> None:
    r = post(client, keys, OS, hook_request("order-sign", drafts=[CLARITHROMYCIN]))
    assert r.status_code == 200
    assert r.json() == {"cards": []}


def test_order_sign_for_tabled_agent_without_prefetch_is_412(client: TestClient, keys: Keys) -> None:
    r = post(client, keys, OS, hook_request("order-sign", drafts=[draft_cabozantinib()]))
    assert r.status_code == 412


def test_order_sign_needs_draft_orders_bundle(client: TestClient, keys: Keys) -> None:
    body = hook_request("order-sign", prefetch_data=prefetch())
    body["context"]["draftOrders"] = [draft_cabozantinib()]
    r = post(client, keys, OS, body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "context.draftOrders"


def _interaction_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    found = [c for c in cards if "CYP3A4" in c["summary"]]
    assert len(found) == 1, [c["summary"] for c in cards]
    return found[0]


@needs_mapping
@needs_safety
def test_order_sign_cabozantinib_with_clarithromycin_in_prefetch(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
    )
    r = post(client, keys, OS, body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    card = _interaction_card(cards)
    assert card["indicator"] in ("warning", "critical")
    assert "clarithromycin" in card["detail"]
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "draft-cabo"
    assert draft_dose_mg(action["resource"]) == 40
    assert card["selectionBehavior"] == "at-most-one"
    assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
    assert card["source"]["url"].startswith("https://")
    assert by_topic(cards, "drug-safety")


@needs_mapping
@needs_safety
def test_order_sign_inhibitor_ordered_together(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60), CLARITHROMYCIN]
    )
    cards = post(client, keys, OS, body).json()["cards"]
    assert _interaction_card(cards)["suggestions"][0]["label"] == "Change cabozantinib dose to 40 mg"


@needs_mapping
@needs_safety
@pytest.mark.parametrize("display", ["warfarin sodium 5 MG Oral Tablet", "warfarin 5 MG Oral Tablet"])
def test_order_sign_drafted_drug_named_with_its_salt_is_screened(
    client: TestClient, keys: Keys, display: str
) -> None:
    """A concomitant draft named by its salt form (as RxNorm names warfarin's products) is the drug the
    interaction data lists: capecitabine ordered beside it gets the vitamin K antagonist warning."""
    drafts = [
        draft_daily("draft-cape", "capecitabine 500 MG Oral Tablet", 1000),
        draft_daily("draft-warf", display, 5),
    ]
    cards = post(client, keys, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=drafts)).json()
    assert any(
        "warfarin" in c["summary"].lower() or "vitamin k" in c["summary"].lower() for c in cards["cards"]
    )


@needs_mapping
@needs_safety
def test_order_sign_without_interaction_has_no_dose_suggestion(client: TestClient, keys: Keys) -> None:
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    cards = post(client, keys, OS, body).json()["cards"]
    assert cards
    assert not any("CYP3A4" in c["summary"] for c in cards)
    assert not any("suggestions" in c for c in cards)


@needs_mapping
@needs_safety
def test_order_select_screens_only_the_selection(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-select", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
    )
    body["context"]["selections"] = []
    assert post(client, keys, OSEL, body).json() == {"cards": []}
    body["context"]["selections"] = ["MedicationRequest/other"]  # no such draft: refused, not "no cards"
    r = post(client, keys, OSEL, body)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["context.selections[0]"]
    body["context"]["selections"] = ["MedicationRequest/draft-cabo"]
    assert _interaction_card(post(client, keys, OSEL, body).json()["cards"])


@pytest.mark.parametrize("selections", [None, "MedicationRequest/draft-cabo", [1], [], "absent"])
def test_order_select_needs_its_selections(client: TestClient, keys: Keys, selections: Any) -> None:
    body = hook_request("order-select", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    if selections != "absent":
        body["context"]["selections"] = selections
    r = post(client, keys, OSEL, body)
    if selections == []:  # nothing selected: nothing to screen
        assert r.status_code == 200 and r.json() == {"cards": []}
        return
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["context.selections"]


def test_feedback_is_stored(client: TestClient, keys: Keys) -> None:
    path = OS + "/feedback"
    store = client.app.state.netcds.store  # type: ignore[attr-defined]
    store.record_issued_cards(  # feedback names cards the service returned (tests/api/test_feedback.py)
        "netcds-order-sign",
        [
            ("11111111-1111-5111-8111-111111111111", ["22222222-2222-5222-8222-222222222222"]),
            ("33333333-3333-5333-8333-333333333333", []),
        ],
    )
    body = {
        "feedback": [
            {
                "card": "11111111-1111-5111-8111-111111111111",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "22222222-2222-5222-8222-222222222222"}],
                "outcomeTimestamp": "2025-03-02T10:15:00Z",
            },
            {
                "card": "33333333-3333-5333-8333-333333333333",
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "system": "urn:netcds:override-reason",
                        "code": "benefit-outweighs-risk",
                        "display": "Benefit judged to outweigh the risk; will monitor",
                    },
                    "userComment": "discussed at tumor board",
                },
                "outcomeTimestamp": "2025-03-02T10:16:00Z",
            },
        ]
    }
    r = client.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 2}
    fb = store.feedback(service_id="netcds-order-sign")
    assert [(f.outcome, f.override_code) for f in fb] == [
        ("accepted", None),
        ("overridden", "benefit-outweighs-risk"),
    ]
    assert fb[0].accepted_suggestions == ["22222222-2222-5222-8222-222222222222"]
    assert fb[1].user_comment == "discussed at tumor board"
    assert fb[1].actor == "ehr-client@https://ehr.example.test"
    entry = store.audit_log(action="hooks.feedback")[0]
    assert "discussed" not in json.dumps(entry.detail)


CARD = "11111111-1111-5111-8111-111111111111"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"card": CARD, "outcome": "accepted", "outcomeTimestamp": "2025-03-02T10:15:00Z"}, "feedback[0]"),
        ({"card": CARD, "outcome": "ignored", "outcomeTimestamp": "2025-03-02T10:15:00Z"}, "feedback[0].outcome"),
        ({"card": CARD, "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "feedback[0].outcomeTimestamp"),
        ({"outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}, "feedback[0].card"),
        ({"card": "abc", "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}, "feedback[0].card"),
        (
            {"card": CARD, "outcome": "accepted", "outcomeTimestamp": "2025-03-02T10:15:00Z",
             "acceptedSuggestions": [{"id": "not-a-uuid"}]},
            "feedback[0].acceptedSuggestions[0].id",
        ),
    ],
)  # fmt: skip
def test_bad_feedback_is_422(client: TestClient, keys: Keys, item: dict[str, Any], field: str) -> None:
    path = OS + "/feedback"
    r = client.post(path, json={"feedback": [item]}, headers=auth(keys, path))
    assert r.status_code == 422, r.text
    assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.text


def test_feedback_needs_a_token_for_its_endpoint(client: TestClient, keys: Keys) -> None:
    path = OS + "/feedback"
    body = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}]}
    assert client.post(path, json=body).status_code == 401
    wrong = {"Authorization": f"Bearer {keys.token('http://testserver' + PV)}"}
    assert client.post(path, json=body, headers=wrong).status_code == 401


@needs_mapping
def test_no_patient_content_in_logs(client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    pf = prefetch([CLARITHROMYCIN])
    pf["patient"]["id"] = "mrn-998877"
    view = hook_request("patient-view", prefetch_data=pf)
    view["context"]["patientId"] = "mrn-998877"
    post(client, keys, PV, view)
    draft = {**draft_cabozantinib(60), "subject": {"reference": "Patient/mrn-998877"}}
    body = hook_request("order-sign", prefetch_data=pf, drafts=[draft])
    body["context"]["patientId"] = "mrn-998877"
    post(client, keys, OS, body)
    client.post(
        "/api/v1/evaluate",
        json={"id": "mrn-998877", "tumor": {"primary_site": "ileum", "ki67_percent": 150.25}},
    )
    text = caplog.text
    assert "POST /cds-services/{service_id} 200" in text  # the request log line exists
    for phi in ("mrn-998877", "ileum", "clarithromycin", "1962-05-01", "150.25"):
        assert phi not in text, phi


@pytest.mark.parametrize(("hook", "path"), [("patient-view", PV), ("order-sign", OS)])
def test_prefetch_about_another_patient_than_the_context_is_refused(
    client: TestClient, keys: Keys, hook: str, path: str
) -> None:
    """Cards are shown in the chart named by context.patientId: a prefetch about someone else is a 422
    naming the field, before anything is evaluated or stored."""
    draft = {**draft_cabozantinib(60), "subject": {"reference": "Patient/someone-else"}}
    body = hook_request(hook, prefetch_data=prefetch(), drafts=[draft])
    body["context"]["patientId"] = "someone-else"
    r = post(client, keys, path, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "prefetch.patient.id"
    assert client.get("/api/v1/health").status_code == 200
    ok = post(
        client, keys, path, hook_request(hook, prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    )
    assert ok.status_code == 200 and ok.json()["cards"]


@pytest.mark.parametrize(
    ("reference", "status"),
    [
        ("Patient/other", 422),
        ("https://ehr.example/fhir/Patient/other", 422),
        ("Patient/p1", 200),
        ("https://ehr.example/fhir/Patient/p1/_history/3", 200),
        ("urn:uuid:0b1c5a3e-7d0f-4f7e-9a11-3c1d2e4f5a6b", 200),  # cannot be compared: not refused
    ],
)
def test_draft_order_for_another_patient_is_refused(
    client: TestClient, keys: Keys, reference: str, status: int
) -> None:
    draft = {**draft_cabozantinib(60), "subject": {"reference": reference}}
    r = post(client, keys, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["errors"][0]["field"] == "context.draftOrders.entry[0].resource.subject.reference"


@needs_mapping
def test_a_cycle_ordered_ahead_does_not_break_the_hook(client: TestClient, keys: Keys) -> None:
    """A live hook reads the record as of today; an active order whose next cycle starts in two weeks is
    not history yet and must not turn the call into a 422."""
    from datetime import UTC, datetime, timedelta

    start = (datetime.now(UTC).date() + timedelta(days=14)).isoformat()
    ahead = {
        "resourceType": "MedicationRequest",
        "id": "m-evero-next",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "display": "everolimus 10 MG Oral Tablet"}]
        },
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": start}}}}],
    }
    for path, hook in ((PV, "patient-view"), (OS, "order-sign")):
        body = hook_request(hook, prefetch_data=prefetch([ahead]), drafts=[draft_cabozantinib(60)])
        r = post(client, keys, path, body)
        assert r.status_code == 200, r.text
        assert r.json()["cards"]


@pytest.mark.parametrize(
    "instance",
    [
        "x",
        "not-a-uuid",
        "d1577c69-dfbe-44ad-ba6d",
        "d1577c69dfbe44adba6d3e05e953b2ea",
        "{d1577c69-dfbe-44ad-ba6d-3e05e953b2ea}",
    ],
)
def test_hook_instance_must_be_a_uuid(client: TestClient, keys: Keys, instance: str) -> None:
    """CDS Hooks 2.0: hookInstance is a UUID; anything else is a 422 naming it, nothing evaluated or stored."""
    for path, hook in ((PV, "patient-view"), (OS, "order-sign")):
        body = hook_request(hook, prefetch_data=prefetch(), drafts=[draft_cabozantinib()])
        body["hookInstance"] = instance
        r = post(client, keys, path, body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == ["hookInstance"]
        assert "UUID" in r.json()["errors"][0]["message"]


@needs_mapping
def test_hook_instance_uuid_in_upper_case_is_accepted(client: TestClient, keys: Keys) -> None:
    body = hook_request("patient-view", prefetch_data=prefetch())
    body["hookInstance"] = body["hookInstance"].upper()
    assert post(client, keys, PV, body).status_code == 200


@needs_mapping
@needs_safety
def test_order_sign_cards_carry_no_bidi_or_control_characters_from_the_ehr(
    client: TestClient, keys: Keys
) -> None:
    """A concomitant order's text (EHR data) is shown in a card: bidi overrides and control characters
    are stripped from the cards, the words kept."""
    other = copy.deepcopy(CLARITHROMYCIN)
    other["id"] = "draft-other"
    other["medicationCodeableConcept"] = {
        "text": "zz\u202eenilomaxoma\u202c\x1b[2J\u2066pill\u2069\u200f 5 mg"
    }
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60), other])
    r = post(client, keys, OS, body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    shown = [c for c in cards if "enilomaxoma" in c.get("detail", "")]
    assert shown, [c["summary"] for c in cards]
    for c in cards:
        for text in (c["summary"], c.get("detail", "")):
            assert not any(ch in text for ch in "\u202e\u202c\x1b\u2066\u2069\u200f"), repr(text)
    assert "'zzenilomaxoma'" in shown[0]["detail"]
