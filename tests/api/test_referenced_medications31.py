"""Medications a hook's record names by a reference with no display, read by id from ``fhirServer``.

EHRs often send a MedicationRequest (or Statement, or Administration) whose drug is a ``medicationReference``
to a Medication the prefetch does not hold. With a display, the display names the drug (no round trip on every
call). Without one the drug was unreadable, so a strong CYP3A4 inhibitor recorded that way went unscreened.
Where fetching is allowed, the hook now reads such a Medication by id from fhirServer (as the SMART launch
does), within the call's time budget; one it cannot read leaves the drug reported as not identifiable, never a
412 or a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.prefetch import (
    MAX_REFERENCED,
    REFERENCED_MEDICATIONS,
    Budget,
    resolve,
    with_referenced_medications,
)
from netcds.fhir.mcode import prefetch_to_patient
from tests.api.conftest import OS, RXNORM, Keys, auth, draft_cabozantinib, hook_request, make_settings
from tests.api.test_order_interactions import record

SERVER = "https://ehr.example.test/fhir"
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "s", "subject": "s"}
Handler = Callable[[httpx.Request], httpx.Response]


def medication(mid: str, display: str = "clarithromycin 500 MG Oral Tablet") -> dict[str, Any]:
    return {
        "resourceType": "Medication",
        "id": mid,
        "code": {"coding": [{"system": RXNORM, "display": display}]},
    }


def requested(rid: str, ref: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-03-20", "medicationReference": ref}  # fmt: skip


def prefetch_of(*resources: dict[str, Any]) -> dict[str, Any]:
    """The test record (metastatic ileal NET, octreotide LAR stopped) with ``resources`` among its
    MedicationRequests search result."""
    return record(list(resources))


def server(answers: dict[str, httpx.Response], seen: list[httpx.Request]) -> Handler:
    def fhir(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.get(request.url.path, httpx.Response(404))

    return fhir


def read(prefetch: dict[str, Any], fhir: Handler, budget_s: float = 5.0, **request: Any) -> dict[str, Any]:
    body = {"context": {"patientId": "p1"}, "fhirServer": SERVER, "fhirAuthorization": AUTH, **request}
    return with_referenced_medications(
        prefetch,
        body,
        fetch_enabled=True,
        timeout_s=2.0,
        budget=Budget(budget_s, 2.0),
        transport=httpx.MockTransport(fhir),
    )


def read_ids(got: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in got.get(REFERENCED_MEDICATIONS, {}).get("entry", [])]


def test_a_reference_without_display_is_read_by_id_with_the_token() -> None:
    seen: list[httpx.Request] = []
    pf = prefetch_of(requested("r1", {"reference": "Medication/m-k"}))
    got = read(pf, server({"/fhir/Medication/m-k": httpx.Response(200, json=medication("m-k"))}, seen))
    assert [str(r.url) for r in seen] == [f"{SERVER}/Medication/m-k"]
    assert seen[0].headers["authorization"] == "Bearer fhir-token"
    assert got[REFERENCED_MEDICATIONS]["entry"] == [
        {"fullUrl": f"{SERVER}/Medication/m-k", "resource": medication("m-k")}
    ]
    assert got["medicationRequests"] == pf["medicationRequests"]  # the record as sent, plus the Medication
    patient, report = prefetch_to_patient(got)
    assert patient.medications == ["clarithromycin"]
    assert any(m.note == "current drug via Medication/m-k" for m in report.mapped)


def test_references_the_record_can_name_otherwise_are_not_read() -> None:
    """A display names the drug; a Medication the prefetch holds, a contained one, one on another server (the
    token goes to fhirServer only), a version or an id that would change the path are not read."""
    seen: list[httpx.Request] = []
    pf = prefetch_of(
        requested("r1", {"reference": "Medication/m-d", "display": "clarithromycin 500 MG Oral Tablet"}),
        requested("r2", {"reference": "Medication/held"}),
        medication("held"),
        requested("r3", {"reference": "#c1"}),
        requested("r4", {"reference": "https://other.example/fhir/Medication/m-o"}),
        requested("r5", {"reference": "Medication/m-v/_history/2"}),
        requested("r6", {"reference": "Medication/.."}),
        requested("r7", {"reference": "Medication/m-n\n"}),
        requested("r8", {"reference": "Substance/s1"}),
    )
    got = read(pf, server({}, seen))
    assert seen == [] and got is pf


def test_an_absolute_reference_on_fhir_server_is_read_once() -> None:
    seen: list[httpx.Request] = []
    answers = {"/fhir/Medication/m-a": httpx.Response(200, json=medication("m-a"))}
    pf = prefetch_of(
        requested("r1", {"reference": f"{SERVER}/Medication/m-a"}),
        requested("r2", {"reference": "Medication/m-a"}),
    )
    got = read(pf, server(answers, seen))
    assert [r.url.path for r in seen] == ["/fhir/Medication/m-a"] and read_ids(got) == ["m-a"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404),
        httpx.Response(410),
        httpx.Response(401),
        httpx.Response(403),
        httpx.Response(500),
        httpx.Response(200, content=b"null"),
        httpx.Response(200, content=b"{not json"),
        httpx.Response(200, json={"resourceType": "Patient", "id": "m-k"}),
        httpx.Response(200, json=medication("another-id")),
    ],
    ids=["404", "410", "401", "403", "500", "null", "broken", "another-type", "another-id"],
)
def test_a_medication_not_read_is_left_out_and_the_drug_reported(answer: httpx.Response) -> None:
    pf = prefetch_of(requested("r1", {"reference": "Medication/m-k"}))
    got = read(pf, server({"/fhir/Medication/m-k": answer}, []))
    assert REFERENCED_MEDICATIONS not in got
    patient, report = prefetch_to_patient(got)
    assert not patient.medications
    assert any(
        "not identifiable" in u.reason for u in report.unmapped if u.resource == "MedicationRequest/r1"
    )


@pytest.mark.parametrize(
    "request_over",
    [
        {"fhirServer": "http://ehr.example.test/fhir"},  # not https
        {"fhirAuthorization": None},
        {"fhirServer": None},
    ],
)
def test_without_fetch_access_nothing_is_read(request_over: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    pf = prefetch_of(requested("r1", {"reference": "Medication/m-k"}))
    assert read(pf, server({}, seen), **request_over) is pf and seen == []


def test_at_most_max_referenced_medications_are_read() -> None:
    seen: list[httpx.Request] = []
    ids = [f"m{n}" for n in range(MAX_REFERENCED + 5)]
    answers = {f"/fhir/Medication/{m}": httpx.Response(200, json=medication(m)) for m in ids}
    got = read(
        prefetch_of(*(requested(f"r-{m}", {"reference": f"Medication/{m}"}) for m in ids)),
        server(answers, seen),
    )
    assert len(seen) == MAX_REFERENCED and read_ids(got) == ids[:MAX_REFERENCED]


def test_the_reads_stop_when_the_calls_budget_is_used_up() -> None:
    """The Medication reads share the call's budget with the prefetch fetches: a slow server stops them, and
    what was read before stays."""
    seen: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        time.sleep(0.15)
        mid = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json=medication(mid))

    budget = Budget(0.4, 2.0)
    body = {"context": {"patientId": "p1"}, "fhirServer": SERVER, "fhirAuthorization": AUTH, "prefetch": {}}
    transport = httpx.MockTransport(slow)
    conditions = resolve(  # a missing key fetched first, with the same budget
        {"conditions": "Condition?patient={{context.patientId}}"},
        body,
        fetch_enabled=True,
        timeout_s=2.0,
        transport=transport,
        budget=budget,
    )
    pf = {
        **conditions,
        **prefetch_of(*(requested(f"r{n}", {"reference": f"Medication/m{n}"}) for n in range(6))),
    }
    started = time.monotonic()
    got = with_referenced_medications(
        pf, body, fetch_enabled=True, timeout_s=2.0, budget=budget, transport=transport
    )
    assert time.monotonic() - started < 0.45
    assert 1 <= len(read_ids(got)) < 6 and seen[0] == "/fhir/Condition"


def order_sign_app(tmp_path: Path, keys: Keys, answer: dict[str, Any], seen: list[httpx.Request]) -> Any:
    """The service with fetching on, its FHIR server answering ``answer`` for ``Medication/m-k``."""
    answers = {"/fhir/Medication/m-k": httpx.Response(200, json=answer)}
    settings = make_settings(tmp_path, keys, fhir_fetch=True, hooks_persist_evaluations=False)
    return create_app(settings, fhir_transport=httpx.MockTransport(server(answers, seen)))


def cabozantinib_order(**access: Any) -> dict[str, Any]:
    """Order-sign of cabozantinib 60 mg for the test record holding ``Medication/m-k`` (no display)."""
    pf = record([requested("m-req", {"reference": "Medication/m-k"})])
    return hook_request("order-sign", prefetch_data=pf, drafts=[draft_cabozantinib(60)], **access)


def test_order_sign_screens_a_drug_recorded_by_a_reference_without_display(
    tmp_path: Path, keys: Keys
) -> None:
    """Cabozantinib ordered for a patient whose record holds clarithromycin only as ``Medication/m-k``: with
    fhirServer the Medication is read and the strong CYP3A4 inhibitor is screened; without, it is not."""
    seen: list[httpx.Request] = []
    app = order_sign_app(tmp_path, keys, medication("m-k"), seen)
    with_access = cabozantinib_order(fhirServer=SERVER, fhirAuthorization=AUTH)
    without = cabozantinib_order()
    with TestClient(app) as c:
        read_cards = c.post(OS, json=with_access, headers=auth(keys, OS)).json()["cards"]
        unread_cards = c.post(OS, json=without, headers=auth(keys, OS)).json()["cards"]
    assert [r.url.path for r in seen if "/Medication/" in r.url.path] == ["/fhir/Medication/m-k"]
    said = " ".join(c["summary"] + c.get("detail", "") for c in read_cards).lower()
    unsaid = " ".join(c["summary"] + c.get("detail", "") for c in unread_cards).lower()
    assert "clarithromycin" in said and "cyp3a4" in said
    assert "clarithromycin" not in unsaid


INVALID_MEDICATIONS = {
    "code-a-string": {"resourceType": "Medication", "id": "m-k", "code": "clarithromycin"},
    "coding-not-a-list": {"resourceType": "Medication", "id": "m-k", "code": {"coding": "x"}},
    "no-such-element": {**medication("m-k"), "subject": {"reference": "Patient/p1"}},
    "not-finite": {**medication("m-k"), "amount": {"numerator": {"value": 1e400}}},
}


@pytest.mark.parametrize("answer", INVALID_MEDICATIONS.values(), ids=INVALID_MEDICATIONS.keys())
def test_a_medication_the_mapping_would_refuse_is_left_out(answer: dict[str, Any]) -> None:
    """The client never sent it, so it must not turn the call into a 422 naming a key it did not send."""
    pf = prefetch_of(requested("r1", {"reference": "Medication/m-k"}))
    body = json.dumps(answer).replace("1e+400", "1e400").encode()  # json.dumps writes inf as Infinity
    got = read(pf, server({"/fhir/Medication/m-k": httpx.Response(200, content=body)}, []))
    assert REFERENCED_MEDICATIONS not in got
    patient, _ = prefetch_to_patient(got)
    assert not patient.medications


def test_order_sign_with_an_invalid_referenced_medication_still_screens_the_order(
    tmp_path: Path, keys: Keys
) -> None:
    app = order_sign_app(tmp_path, keys, INVALID_MEDICATIONS["code-a-string"], [])
    body = cabozantinib_order(fhirServer=SERVER, fhirAuthorization=AUTH)
    with TestClient(app) as c:
        r = c.post(OS, json=body, headers=auth(keys, OS))
    assert r.status_code == 200, r.text
    assert any("cabozantinib" in card["summary"].lower() for card in r.json()["cards"])
