"""Review 34 (fixer C): requests that are no order to give a drug, partial end dates, dose ranges.

* A MedicationRequest with ``doNotPerform`` true is an order NOT to give the drug: never a treatment line,
  nor a current medication (review defect 5).
* A month- or year-only end date wholly before the record date ends the course, written as the last day it
  can mean, and the report says so; one that spans the record date leaves it unknown (defect 7).
* A MedicationRequest whose intent is no order (proposal, plan, option) is no treatment given (defect 10).
* A dose given only as ``doseRange`` is not read as a dose, and the report says so (defect 15).

Inputs are built from tests/fixtures/fhir/ileal_net_ssa_progression.json as the review's variants were."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds import evaluate
from netcds.api.app import create_app
from netcds.api.orders import draft_medications
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.draft_dose import dose_not_read
from netcds.knowledge import Knowledge
from netcds.patient import Patient
from netcds.safety import load_agents, screen_agent
from tests.api.conftest import Keys, make_settings
from tests.fhir.conftest import load
from tests.fhir.test_prefetch import as_prefetch

AS_OF = date(2025, 6, 1)
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SUBJECT = {"reference": "Patient/net-ileum-1"}
OCTREOTIDE = "MedicationRequest/ileum-octreotide-lar"


def bundle() -> dict[str, Any]:
    return copy.deepcopy(load("ileal_net_ssa_progression.json"))


def resource(b: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in b["entry"] if e["resource"]["id"] == rid)


def add(b: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    b["entry"].append({"resource": res})
    return b


def request(rid: str, code: str, display: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display}]},
            "subject": SUBJECT, "authoredOn": "2025-04-01", **extra}  # fmt: skip


def everolimus(**extra: Any) -> dict[str, Any]:
    return request("evero", "141704", "everolimus", **extra)


def mapped(b: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(b, as_of=as_of)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def agents(p: Patient) -> list[str]:
    return [t.agent for t in p.treatments or []]


def category(p: Patient, kb: Knowledge, regimen: str) -> str | None:
    [option] = [o for o in evaluate(p, kb).options if o.regimen == regimen]
    return option.category


# ---- 5. doNotPerform -----------------------------------------------------------------------------------
def test_an_order_not_to_give_everolimus_is_no_treatment_line(kb: Knowledge) -> None:
    """v07: the order not to give everolimus had become an everolimus line, which made cabozantinib
    category 1 (after everolimus) instead of what it is for this patient without everolimus."""
    base, _ = mapped(bundle())
    p, report = mapped(add(bundle(), everolimus(doNotPerform=True)))
    assert agents(p) == agents(base) == ["octreotide_lar"]
    assert not [m for m in report.mapped if "MedicationRequest/evero" in m.from_]
    assert "doNotPerform" in reason(report, "MedicationRequest/evero")
    assert "order not to give" in reason(report, "MedicationRequest/evero")
    assert category(p, kb, "cabozantinib") == category(base, kb, "cabozantinib")
    given, _ = mapped(add(bundle(), everolimus()))  # the same order to give it is a line, as before
    assert agents(given) == ["octreotide_lar", "everolimus"]


def test_an_order_not_to_give_a_drug_is_no_current_medication() -> None:
    """Drug-interaction screening reads medications[]: an order not to give clarithromycin is none."""
    clari = request("clari", "21212", "clarithromycin", doNotPerform=True)
    p, report = mapped(add(bundle(), clari))
    assert p.medications == ["lisinopril"]
    assert "doNotPerform" in reason(report, "MedicationRequest/clari")
    given, _ = mapped(add(bundle(), request("clari", "21212", "clarithromycin")))
    assert given.medications == ["clarithromycin", "lisinopril"]


def test_patient_view_with_an_order_not_to_give_everolimus(tmp_path: Path) -> None:
    """hook_pv_dnp: the patient-view card listed cabozantinib at category 1 because of the everolimus
    order that says not to give it; it must read as the record without that order."""

    def card(b: dict[str, Any]) -> str:
        body = {"hook": "patient-view", "hookInstance": "11111111-2222-4333-8444-555555555555",
                "context": {"userId": "Practitioner/example", "patientId": "net-ileum-1"},
                "prefetch": as_prefetch(b)}  # fmt: skip
        settings = make_settings(tmp_path, Keys(), hooks_open=True)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            r = client.post("/cds-services/netcds-patient-view", json=body)
        assert r.status_code == 200, r.text
        [first] = [c for c in r.json()["cards"] if c["summary"].startswith("NET therapy")]
        return str(first["detail"])

    with_dnp, base = card(add(bundle(), everolimus(doNotPerform=True))), card(bundle())
    cabo = next(line for line in base.splitlines() if "Cabozantinib (category" in line)
    assert cabo in with_dnp


# ---- 7. partial end dates -----------------------------------------------------------------------------
def octreotide_ending(end: str, status: str | None = None) -> dict[str, Any]:
    """v10: the stopped octreotide LAR order with a month-only end (start 2024-01, authored 2024-01-10)."""
    b = bundle()
    lar = resource(b, "ileum-octreotide-lar")
    lar["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2024-01", "end": end}
    if status:
        lar["status"] = status
    return b


def test_a_month_only_end_before_the_record_date_ends_the_course(kb: Knowledge) -> None:
    """v10: the end 2025-03 was dropped, so octreotide LAR read as current (no end) and the report said no
    end date was recorded. It ended by 2025-03-31, the last day 2025-03 can mean."""
    p, report = mapped(octreotide_ending("2025-03"))
    [line] = p.treatments or []
    assert line.agent == "octreotide_lar" and line.end == date(2025, 3, 31)
    assert line.stop_reason == "progression"
    assert report.treatments_ended_without_end_date == []
    said = reason(report, OCTREOTIDE)
    assert "no end date is recorded" not in said
    assert "2025-03" in said and "2025-03-31" in said and "last day" in said
    lu = screen_agent("lu177_dotatate", p, load_agents())
    assert "ongoing_long_acting_ssa" not in {i.id for i in lu.safety if i.severity in ("warning", "critical")}


def test_a_year_only_end_before_the_record_date_ends_on_the_last_day_of_that_year() -> None:
    b = bundle()
    lar = resource(b, "ileum-octreotide-lar")
    lar["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2023-02-01", "end": "2024"}
    p, report = mapped(b)
    [line] = p.treatments or []
    assert line.end == date(2024, 12, 31)
    assert "no end date is recorded" not in reason(report, OCTREOTIDE)


def test_a_month_only_end_across_the_record_date_leaves_the_end_unknown() -> None:
    """Read as of 2025-03-15, a course ending 2025-03 may or may not have ended: no end is written (the
    contract cannot say 'unknown'), its row is listed, and the report says why, not that none is recorded."""
    p, report = mapped(octreotide_ending("2025-03"), as_of=date(2025, 3, 15))
    [line] = p.treatments or []
    assert line.end is None and line.stop_reason is None
    assert report.treatments_ended_without_end_date == [0]
    said = reason(report, OCTREOTIDE)
    assert "spans the record date 2025-03-15" in said
    assert "no end date is recorded" not in said


def test_an_active_order_with_a_month_only_end_before_the_record_date_has_ended() -> None:
    p, report = mapped(octreotide_ending("2025-03", status="active"))
    [line] = p.treatments or []
    assert line.end == date(2025, 3, 31)
    assert "conflicts with its end date 2025-03" in reason(report, OCTREOTIDE)


def test_a_current_drug_whose_month_only_end_has_passed_is_no_current_medication() -> None:
    b = bundle()
    resource(b, "ileum-lisinopril")["effectivePeriod"] = {"start": "2015-03-01", "end": "2025-03"}
    p, report = mapped(b)
    assert p.medications is None
    # the report says why it is not current: the status against the end that has passed
    said = reason(report, "MedicationStatement/ileum-lisinopril")
    assert "not a current drug" in said and "conflicts with its end date 2025-03" in said


# ---- 10. intents that are no order ---------------------------------------------------------------------
@pytest.mark.parametrize("intent", ["option", "proposal", "plan"])
def test_a_request_whose_intent_is_no_order_is_no_treatment(intent: str) -> None:
    """v32: intent 'option' counted as an everolimus line (only proposal and plan were skipped)."""
    p, report = mapped(add(bundle(), everolimus(intent=intent)))
    assert agents(p) == ["octreotide_lar"]
    assert f"intent {intent!r}" in reason(report, "MedicationRequest/evero")


@pytest.mark.parametrize(
    "intent", ["order", "original-order", "reflex-order", "filler-order", "instance-order"]
)
def test_a_request_whose_intent_is_an_order_is_a_treatment(intent: str) -> None:
    p, _ = mapped(add(bundle(), everolimus(intent=intent)))
    assert agents(p) == ["octreotide_lar", "everolimus"]


def test_an_option_is_no_current_medication() -> None:
    p, report = mapped(add(bundle(), request("clari", "21212", "clarithromycin", intent="option")))
    assert p.medications == ["lisinopril"]
    assert "intent 'option'" in reason(report, "MedicationRequest/clari")


# ---- 15. doseRange -------------------------------------------------------------------------------------
def dose_range(low: float, high: float) -> dict[str, Any]:
    unit = {"unit": "mg", "system": UCUM, "code": "mg"}
    return {"doseRange": {"low": {"value": low, **unit}, "high": {"value": high, **unit}}}


def test_a_dose_range_is_not_read_as_a_dose_and_the_report_says_so() -> None:
    """x04: the octreotide LAR dose 20-30 mg as doseRange was dropped without a word."""
    b = bundle()
    resource(b, "ileum-octreotide-lar")["dosageInstruction"][0]["doseAndRate"] = [dose_range(20, 30)]
    p, report = mapped(b)
    [line] = p.treatments or []
    assert line.dose_mg is None and line.agent == "octreotide_lar"
    said = reason(report, OCTREOTIDE)
    assert "doseRange" in said and "20" in said and "30" in said


def test_a_draft_order_with_a_dose_range_says_its_dose_was_not_compared() -> None:
    draft = everolimus(status="draft", dosageInstruction=[{"doseAndRate": [dose_range(5, 10)]}])
    found = dose_not_read(draft)
    assert found is not None
    ordered, why = found
    assert "5" in ordered and "10" in ordered and "mg" in ordered and "range" in why


def test_a_dose_with_a_comparator_is_not_read_as_a_dose_and_the_report_says_so() -> None:
    """A dose "<30 mg" is a bound: no dose_mg, and the report names it (it was dropped without a word)."""
    b = bundle()
    rate = {"doseQuantity": {"value": 30, "comparator": "<", "unit": "mg", "system": UCUM, "code": "mg"}}
    resource(b, "ileum-octreotide-lar")["dosageInstruction"][0]["doseAndRate"] = [rate]
    p, report = mapped(b)
    [line] = p.treatments or []
    assert line.dose_mg is None and line.agent == "octreotide_lar"
    assert "dose recorded as <30 mg: a bound, not a value" in reason(report, OCTREOTIDE)


def test_a_draft_order_not_to_give_a_drug_is_not_screened_as_an_order_for_it() -> None:
    """order-sign: a draft with doNotPerform (e.g. 'do not give clarithromycin') orders nothing to screen."""
    clarithromycin = request("no-clari", "21212", "clarithromycin", status="draft", doNotPerform=True)
    drafts = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": clarithromycin}]}
    assert draft_medications(drafts) == []
    clarithromycin["doNotPerform"] = False
    assert [d.name for d in draft_medications(drafts)] == ["clarithromycin"]
