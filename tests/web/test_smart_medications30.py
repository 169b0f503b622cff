"""A SMART launch reads the Medications the record names by reference.

EHRs commonly answer a MedicationRequest search with requests whose drug is a ``medicationReference`` to a
Medication that the search does not return. Before, such a drug was "not identifiable": a patient on
cabozantinib was read as never having had it. Now netcds reads each referenced Medication by id from the
issuer (once each, with the launch's token, never from another server), and where the EHR has none or will
not let the token read it, names the drug by the reference's display, saying so in the mapping report.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web import test_smart as smart_tests
from tests.web.test_smart_fake import (
    ACCESS_TOKEN,
    NET_PATIENT,
    FakeEhr,
    authorize,
    callback,
    launch,
    smart_settings,
    text,
)

ehr, netcds, client = smart_tests.ehr, smart_tests.netcds, smart_tests.client  # the launch tests' fixtures
CABO_MEDICATION = {
    "resourceType": "Medication",
    "id": "med-cabo",
    "code": {"text": "Cabometyx (cabozantinib) 60 mg tablet"},
}


def cabo_request(rid: str, reference: str, display: str | None = None) -> dict[str, Any]:
    ref = {"reference": reference, **({"display": display} if display else {})}
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{NET_PATIENT}"}, "authoredOn": "2025-01-10",
            "medicationReference": ref}  # fmt: skip


def with_resources(fake: FakeEhr, *resources: dict[str, Any]) -> None:
    fake.bundle = copy.deepcopy(fake.bundle)
    fake.bundle["entry"] += [{"resource": r} for r in resources]


def launched_page(client: TestClient, fake: FakeEhr) -> str:
    page = callback(client, authorize(launch(client, fake)))
    assert page.status_code == 200, text(page)
    return text(page)


def medication_reads(fake: FakeEhr) -> list[tuple[str, dict[str, str]]]:
    return [(w, h) for _, w, h in fake.requests if w.startswith("/fhir/Medication/")]


def test_a_referenced_medication_is_read_once_by_id_and_names_the_drug(
    client: TestClient, ehr: FakeEhr
) -> None:
    with_resources(
        ehr, CABO_MEDICATION,
        cabo_request("cabo-1", "Medication/med-cabo"), cabo_request("cabo-2", f"{ehr.iss}/Medication/med-cabo"),
    )  # fmt: skip
    shown = launched_page(client, ehr)
    reads = medication_reads(ehr)
    assert [w for w, _ in reads] == ["/fhir/Medication/med-cabo"]  # two references, one read
    assert reads[0][1].get("authorization") == f"Bearer {ACCESS_TOKEN}"
    assert "via Medication/med-cabo" in shown  # the Medication's code named the drug
    assert "display only" not in shown and "not identifiable" not in shown


@pytest.mark.parametrize("refused", [False, True], ids=["not-found", "token-refused"])
def test_an_unreadable_medication_leaves_the_display_and_the_launch_succeeds(
    client: TestClient, ehr: FakeEhr, refused: bool
) -> None:
    with_resources(ehr, cabo_request("cabo-1", "Medication/gone", "cabozantinib 40 MG Oral Tablet"))
    if refused:
        ehr.refused_types = frozenset({"Medication"})
    shown = launched_page(client, ehr)
    assert [w for w, _ in medication_reads(ehr)] == ["/fhir/Medication/gone"]
    assert "display only (Medication/gone is not in the record)" in shown


def test_no_medication_is_fetched_from_another_server_or_for_a_contained_reference(
    client: TestClient, ehr: FakeEhr
) -> None:
    with_resources(
        ehr,
        cabo_request("far", "https://other-ehr.example/fhir/Medication/med-cabo", "cabozantinib 60 MG Oral Tablet"),
        cabo_request("inside", "#med1", "cabozantinib 20 MG Oral Tablet"),
    )  # fmt: skip
    shown = launched_page(client, ehr)
    assert medication_reads(ehr) == []
    assert shown.count("display only") == 2


# --- review findings: ids that would change the path, 410, a budget spent on Medications ---------------
@pytest.mark.parametrize("reference", ["Medication/.", "Medication/..", "Medication/abc\n"])
def test_a_reference_whose_id_is_no_fhir_id_is_not_fetched(
    client: TestClient, ehr: FakeEhr, reference: str
) -> None:
    with_resources(ehr, cabo_request("odd", reference, "cabozantinib 40 MG Oral Tablet"))
    shown = launched_page(client, ehr)  # the launch still works: the display names the drug
    assert medication_reads(ehr) == []
    assert not [w for _, w, _ in ehr.requests if w.split("?")[0] in ("/fhir/Medication", "/fhir", "/fhir/")]
    assert "display only" in shown


def test_a_medication_gone_410_leaves_the_display(client: TestClient, ehr: FakeEhr) -> None:
    with_resources(
        ehr, CABO_MEDICATION, cabo_request("cabo-1", "Medication/med-cabo", "cabozantinib 60 MG Oral Tablet")
    )
    ehr.medication_status = 410
    assert "display only (Medication/med-cabo is not in the record)" in launched_page(client, ehr)


def test_a_server_error_on_a_medication_read_is_a_502_not_a_500(client: TestClient, ehr: FakeEhr) -> None:
    with_resources(
        ehr, CABO_MEDICATION, cabo_request("cabo-1", "Medication/med-cabo", "cabozantinib 60 MG Oral Tablet")
    )
    ehr.medication_status = 500
    page = callback(client, authorize(launch(client, ehr)))
    assert page.status_code == 502 and "reading Medication, answered HTTP 500" in text(page)


def test_medication_reads_stop_when_the_budget_runs_out_and_the_record_still_opens(
    netcds: smart_tests.Netcds, ehr: FakeEhr, tmp_path: Path
) -> None:
    with_resources(
        ehr, *[cabo_request(f"c{k}", f"Medication/m{k}", "cabozantinib 20 MG Oral Tablet") for k in range(6)]
    )
    ehr.slow_medications_s = 0.4
    client = netcds.client(smart_settings(tmp_path, ehr.iss, budget_s=1.5))
    shown = launched_page(client, ehr)
    assert 1 <= len(medication_reads(ehr)) < 6  # stopped before reading all six
    assert shown.count("display only") == 6
