"""Review 39, merged courses: records of one agent merged into one line (overlapping, or no more than 90 days
apart) keep why it stopped from any of them; records that disagree on the reason leave it unknown and the
report names each (never one picked by date or input order); a record saying it stopped for progression keeps
the progression (``progressed``) even then, or when another record of the course is still going."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient, Treatment
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
SCT = "http://snomed.info/sct"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUBJECT = {"reference": "Patient/net-ileum-1"}
EVEROLIMUS = {"coding": [{"system": RX, "code": "141704", "display": "everolimus"}]}
TOXICITY = {"coding": [{"system": SCT, "code": "407563006", "display": "Treatment not tolerated"}]}
PROGRESSION = {"coding": [{"system": SCT, "code": "266721009", "display": "No response to treatment"}]}
PATIENT_CHOICE = {"coding": [{"system": SCT, "code": "105480006"}]}


def statement(i: str, status: str, start: str, end: str | None = None, reason: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "MedicationStatement", "id": i, "status": status, "subject": SUBJECT,
        "medicationCodeableConcept": EVEROLIMUS, "effectivePeriod": {"start": start} | ({"end": end} if end else {}),
    }  # fmt: skip
    if reason is not None:
        out["statusReason"] = [reason]
    return out


def request(i: str, status: str, start: str, end: str | None = None, reason: Any = None) -> dict[str, Any]:
    bounds = {"start": start} | ({"end": end} if end else {})
    out: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": i, "status": status, "intent": "order", "subject": SUBJECT,
        "medicationCodeableConcept": EVEROLIMUS, "authoredOn": start,
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bounds}}}],
    }  # fmt: skip
    if reason is not None:
        out["statusReason"] = reason
    return out


def mapped(*extra: dict[str, Any]) -> tuple[Patient, MappingReport]:
    b = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    b["entry"].extend({"resource": r} for r in extra)
    return bundle_to_patient(b, as_of=AS_OF)


def everolimus(p: Patient) -> Treatment:
    (line,) = [t for t in p.treatments or [] if t.agent == "everolimus"]
    return line


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def test_overlapping_records_that_agree_keep_their_reason() -> None:
    p, _ = mapped(
        request("r", "completed", "2024-01-01", "2024-06-30"),
        statement("s", "stopped", "2024-01-01", "2024-05-15", TOXICITY),
    )
    line = everolimus(p)
    assert (line.end, line.stop_reason, line.progressed) == (date(2024, 6, 30), "toxicity", None)


@pytest.mark.parametrize("flip", [False, True])
def test_records_disagreeing_on_the_reason_leave_it_unknown_and_keep_the_progression(flip: bool) -> None:
    a = statement("a", "stopped", "2024-01-01", "2024-05-15", PROGRESSION)
    b = statement("b", "stopped", "2024-02-01", "2024-05-20", TOXICITY)
    p, report = mapped(*((b, a) if flip else (a, b)))
    line = everolimus(p)
    assert line.stop_reason is None  # neither picked (the old reading took the later-starting one)
    assert line.progressed is True  # "no response to treatment" still says it progressed on it
    assert line.end == date(2024, 5, 20)
    for ref in ("MedicationStatement/a", "MedicationStatement/b"):
        why = reasons(report, ref)
        assert "disagree on why it stopped" in why
        assert "MedicationStatement/a: progression" in why and "MedicationStatement/b: toxicity" in why


def test_disagreeing_reasons_without_progression_set_nothing() -> None:
    p, report = mapped(
        statement("a", "stopped", "2024-01-01", "2024-05-15", PATIENT_CHOICE),
        statement("b", "stopped", "2024-01-01", "2024-05-15", TOXICITY),
    )
    line = everolimus(p)
    assert (line.stop_reason, line.progressed) == (None, None)
    assert "stop_reason is left unknown" in reasons(report, "MedicationStatement/b")


@pytest.mark.parametrize(
    "still_going",
    [
        request("r", "active", "2024-01-01"),  # an order never closed
        statement("r", "active", "2024-03-01"),
        request("r", "active", "2024-01-01", "2025-12-31"),  # bounds reaching past the record date
    ],
    ids=["open-order", "active-statement", "order-to-2025-12"],
)
def test_a_stop_for_progression_beside_a_record_still_going_keeps_the_progression(
    still_going: dict[str, Any],
) -> None:
    stopped = statement("s", "stopped", "2024-01-01", "2024-05-15", PROGRESSION)
    p, report = mapped(still_going, stopped)
    line = everolimus(p)
    assert line.end is None and line.stop_reason is None  # the course is read as going
    assert line.progressed is True
    why = reasons(report, "MedicationStatement/s")
    assert "records of this course say it stopped (MedicationStatement/s: progression)" in why
    assert f"{still_going['resourceType']}/r still going" in why and "progressed = true" in why


def test_a_stop_for_toxicity_beside_a_record_still_going_is_reported() -> None:
    p, report = mapped(
        request("r", "active", "2024-01-01"), statement("s", "stopped", "2024-01-01", "2024-05-15", TOXICITY)
    )
    line = everolimus(p)
    assert (line.end, line.stop_reason, line.progressed) == (None, None, None)
    why = reasons(report, "MedicationStatement/s")
    assert "MedicationStatement/s: toxicity" in why and "whether it is still given is worth checking" in why


def test_the_official_mcode_cisplatin_requests_with_a_statement_that_disagrees(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    """mCODE 4.0.0: cisplatin ordered 2019-04-01 (completed) and again 2019-05-15, stopped as not tolerated
    (407563006); a statement of the same course says it stopped for no response."""

    def ours(name: str) -> dict[str, Any]:
        res = copy.deepcopy(mcode_examples[name])
        res["subject"] = SUBJECT
        res.pop("reasonCode", None)  # written for an NSCLC: about this NET here
        res.pop("requester", None)
        return res

    first = ours("MedicationRequest-cancer-related-medication-request-cisplatin.json")
    stopped = ours("MedicationRequest-cancer-related-medication-request-cisplatin-stopped.json")
    said = {
        "resourceType": "MedicationStatement", "id": "cis-statement", "status": "stopped", "subject": SUBJECT,
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "2555", "display": "cisplatin"}]},
        "effectivePeriod": {"start": "2019-04-01", "end": "2019-06-01"}, "statusReason": [PROGRESSION],
    }  # fmt: skip
    p, _ = mapped(first, stopped)
    (alone,) = [t for t in p.treatments or [] if t.agent == "cisplatin"]
    assert alone.stop_reason == "toxicity"
    p, report = mapped(first, stopped, said)
    (line,) = [t for t in p.treatments or [] if t.agent == "cisplatin"]
    assert (line.stop_reason, line.progressed) == (None, True)
    assert "toxicity" in reasons(report, "MedicationStatement/cis-statement")
