"""With a record date (as_of), a record written after it was not in the record on that day: it is set aside
and reported, whatever its effective dates, as an Observation ``issued`` after it already is.

* MedicationStatement.dateAsserted (when its source asserted it) and MedicationRequest.authoredOn (when the
  order was first written): after as_of -> not used, reported in ``unmapped`` (the old mapping read them
  by their effective dates, so a course first recorded after the record date became treatment history).
* Condition.recordedDate: the same rule (already in place; the boundary is checked here too).
* MedicationAdministration and Procedure have no such element in FHIR R4: read by their own dates.
* Recorded on as_of is kept; a partial date is after only if its first day is; without as_of nothing is
  set aside."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from tests.fhir.conftest import wrap
from tests.fhir.test_review_conditions import RX, SCT, coded, cond, net

AS_OF = date(2025, 6, 1)
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-15"}
SUBJECT = {"reference": "Patient/p1"}
EVEROLIMUS = coded(RX, "141704", "everolimus")
LISINOPRIL = coded(RX, "29046", "lisinopril 10 MG Oral Tablet")


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, *resources), as_of=as_of)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def statement(asserted: str | None, status: str = "active", end: str | None = None,
              med: dict[str, Any] = EVEROLIMUS, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A MedicationStatement of a course that began on 2025-01-10 (before the record date)."""
    period = {"start": "2025-01-10", **({"end": end} if end else {})}
    return {"resourceType": "MedicationStatement", "id": "s", "status": status, "subject": SUBJECT,
            "medicationCodeableConcept": med, "effectivePeriod": period,
            **({"dateAsserted": asserted} if asserted else {}), **extra}  # fmt: skip


def request(authored: str, start: str = "2025-01-10", med: dict[str, Any] = EVEROLIMUS) -> dict[str, Any]:
    """An active MedicationRequest for a course that starts on ``start``, written on ``authored``."""
    return {"resourceType": "MedicationRequest", "id": "r", "status": "active", "intent": "order",
            "subject": SUBJECT, "medicationCodeableConcept": med, "authoredOn": authored,
            "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": start}}}}]}  # fmt: skip


# ---- MedicationStatement.dateAsserted ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("asserted", "kept"),
    [
        ("2025-06-02", False),  # the day after the record date
        ("2025-06-02T00:15:00+02:00", False),
        ("2025-06-01", True),  # on the record date: known then
        ("2025-06-01T23:30:00-05:00", True),  # that day as written
        ("2025-07", False),  # a partial date is after only if its first day is
        ("2025-06", True),
        ("2025", True),
        (None, True),  # not stated: read by its effective dates, as before
    ],
)
def test_a_statement_asserted_after_the_record_date_was_not_known_then(
    asserted: str | None, kept: bool
) -> None:
    p, report = mapped(net(), statement(asserted))
    if kept:
        [line] = p.treatments or []
        assert line.agent == "everolimus" and line.start == date(2025, 1, 10) and line.end is None
        assert "not known then" not in reason(report, "MedicationStatement/s")
    else:
        assert not p.treatments
        assert reason(report, "MedicationStatement/s") == (
            f"dateAsserted {asserted}, after the record date 2025-06-01: the statement was not known then; "
            "not used"
        )
        assert not any(m.field.startswith("treatments") for m in report.mapped)


def test_without_a_record_date_nothing_asserted_later_is_set_aside() -> None:
    p, report = mapped(net(), statement("2025-06-02"), as_of=None)
    [line] = p.treatments or []
    assert line.agent == "everolimus" and "not known then" not in reason(report, "MedicationStatement/s")


def test_a_finished_course_first_recorded_after_the_record_date_is_not_history_then() -> None:
    """Taken (and stopped for progression) before the record date, but asserted only after it: on the record
    date the record did not say so. Read as of the day it was asserted, it is a finished line."""
    stopped = statement("2025-06-15", "completed", "2025-05-01",
                        statusReason=[coded(SCT, "266721009", "No response to treatment")])  # fmt: skip
    p, report = mapped(net(), stopped)
    assert not p.treatments and report.treatments_ended_without_end_date == []
    assert "dateAsserted 2025-06-15, after the record date 2025-06-01" in reason(
        report, "MedicationStatement/s"
    )
    p, _ = mapped(net(), stopped, as_of=date(2025, 6, 15))
    [line] = p.treatments or []
    assert line.end == date(2025, 5, 1) and line.stop_reason == "progression"


def test_a_current_drug_asserted_after_the_record_date_is_not_listed() -> None:
    p, report = mapped(net(), statement("2025-06-02", med=LISINOPRIL))
    assert not p.medications
    assert "dateAsserted 2025-06-02, after the record date 2025-06-01: the statement was not known then" in (
        reason(report, "MedicationStatement/s")
    )
    p, _ = mapped(net(), statement("2025-06-01", med=LISINOPRIL))
    assert p.medications == ["lisinopril"]
    p, _ = mapped(net(), statement("2025-06-02", med=LISINOPRIL), as_of=None)
    assert p.medications == ["lisinopril"]


def test_a_later_statement_does_not_change_a_line_known_on_the_record_date() -> None:
    """The order written in January keeps the line ongoing; a statement asserted after the record date that
    says it was stopped in May is not read (the old mapping merged both records into one line)."""
    later = statement("2025-06-20", "stopped", "2025-05-20",
                      statusReason=[coded(SCT, "266721009", "No response to treatment")])  # fmt: skip
    p, report = mapped(net(), request("2025-01-10"), later)
    [line] = p.treatments or []
    assert line.start == date(2025, 1, 10) and line.end is None and line.stop_reason is None
    assert [m.from_.split()[0] for m in report.mapped if m.field == "treatments[0]"] == [
        "MedicationRequest/r"
    ]
    assert "dateAsserted 2025-06-20, after the record date" in reason(report, "MedicationStatement/s")


# ---- MedicationRequest.authoredOn --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("authored", "kept"),
    [("2025-06-02", False), ("2025-06-02T08:00:00Z", False), ("2025-06-01", True),
     ("2025-06-01T18:00:00Z", True), ("2025-07", False), ("2025-06", True)],
)  # fmt: skip
def test_an_order_written_after_the_record_date_was_not_known_then(authored: str, kept: bool) -> None:
    """The course's bounds start in January, but the order was written after the record date (e.g. entered
    afterwards to document it): not in the record on that day."""
    p, report = mapped(net(), request(authored))
    if kept:
        [line] = p.treatments or []
        assert line.agent == "everolimus" and line.start == date(2025, 1, 10)
    else:
        assert not p.treatments
        assert reason(report, "MedicationRequest/r") == (
            f"authoredOn {authored}, after the record date 2025-06-01: the order was not known then; not used"
        )
    p, _ = mapped(net(), request(authored), as_of=None)
    assert [t.agent for t in p.treatments or []] == ["everolimus"]


def test_an_order_written_and_starting_after_the_record_date_is_still_reported_as_scheduled() -> None:
    p, report = mapped(net(), request("2025-06-10", start="2025-06-10"))
    assert not p.treatments
    assert reason(report, "MedicationRequest/r") == (
        "starts 2025-06-10, after the record date 2025-06-01: scheduled, not given"
    )


def test_the_mcode_anastrozole_request_written_after_the_record_date_is_not_a_current_drug_then(
    mcode_dir: Path,
) -> None:
    """mCODE 4.0.0 example CancerRelatedMedicationRequest (anastrozole, bounds from 2018-09-30), its
    authoredOn moved to 2018-10-15: as of 2018-10-01 it was not yet in the record."""
    name = "MedicationRequest-cancer-related-medication-request-anastrozole-jenny-m.json"
    example = json.loads((mcode_dir / name).read_text(encoding="utf-8"))
    order = copy.deepcopy(example) | {"subject": SUBJECT, "authoredOn": "2018-10-15"}
    order.pop("reasonReference")  # Jenny M's breast cancer is not in this bundle
    ref = f"MedicationRequest/{order['id']}"
    p, report = mapped(net(), order, as_of=date(2018, 10, 1))
    assert not p.medications
    assert reason(report, ref) == (
        "authoredOn 2018-10-15, after the record date 2018-10-01: the order was not known then; not used"
    )
    for as_of in (date(2018, 10, 15), None):
        p, _ = mapped(net(), order, as_of=as_of)
        assert p.medications == ["anastrozole"]


# ---- Condition.recordedDate: the same rule, its boundary ---------------------------------------------------
@pytest.mark.parametrize(("recorded", "kept"), [("2025-06-01", True), ("2025-06-02", False)])
def test_a_condition_recorded_after_the_record_date_is_set_aside_even_with_an_earlier_onset(
    recorded: str, kept: bool
) -> None:
    dm = cond("dm", coded(SCT, "44054006", "Diabetes mellitus type 2"), onsetDateTime="2020-01-01",
              recordedDate=recorded)  # fmt: skip
    p, report = mapped(net(), dm)
    assert p.comorbidities.diabetes is (True if kept else None)
    assert ("(recorded 2025-06-02)" in reason(report, "Condition/dm")) is not kept
    p, _ = mapped(net(), dm, as_of=None)
    assert p.comorbidities.diabetes is True


# ---- no recorded date in R4: administrations and procedures are read by their own dates ------------------
def test_administrations_and_procedures_have_no_recorded_date_and_are_read_by_their_dates() -> None:
    """FHIR R4 MedicationAdministration and Procedure state no date the record was written
    (Procedure.recorded is R5); ``meta.lastUpdated`` says when the resource last changed, not when the fact
    became known, and is not read."""
    late = {"lastUpdated": "2025-07-01T10:00:00Z"}
    dose = {"resourceType": "MedicationAdministration", "id": "a", "status": "completed", "subject": SUBJECT,
            "meta": late, "medicationCodeableConcept": coded(RX, "1363268", "cabozantinib"),
            "effectivePeriod": {"start": "2025-05-20", "end": "2025-05-20"}}  # fmt: skip
    rt = {"resourceType": "Procedure", "id": "rt", "status": "completed", "subject": SUBJECT, "meta": late,
          "code": {"text": "External beam radiotherapy"},
          "performedPeriod": {"start": "2025-03-01", "end": "2025-04-01"}}  # fmt: skip
    p, report = mapped(net(), dose, rt)
    assert sorted(t.agent for t in p.treatments or []) == ["cabozantinib", "radiotherapy"]
    assert "not known then" not in " ".join(u.reason for u in report.unmapped)
