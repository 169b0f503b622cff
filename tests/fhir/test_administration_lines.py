"""Treatment lines recorded only as MedicationAdministrations (one completed resource per dose, as EHRs often
record clinic-given depot SSA injections, Lu-177 dotatate cycles and IV chemotherapy).

A patient given lanreotide 120 mg two weeks before the record date is on lanreotide: the line has no end (the
contract's "ongoing") while the next dose is not overdue (the dosing interval plus half an interval), and ends
at its last administration once it is; the mapping report says which, naming the dates and the interval.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.administrations import TOLERANCE_FRACTION
from netcds.patient import Patient, Treatment
from tests.fhir.conftest import wrap
from tests.fhir.test_review_results import AS_OF, MC, NET, PATIENT, RX

UCUM = "http://unitsofmeasure.org"
LANREOTIDE = {"text": "lanreotide 120 MG/0.5ML Prefilled Syringe [Somatuline Depot]"}
OCTREOTIDE_LAR = {"coding": [{"system": RX, "code": "7617", "display": "octreotide"}],
                  "text": "octreotide LAR 30 mg IM depot"}  # fmt: skip
CISPLATIN = {"coding": [{"system": RX, "code": "2555", "display": "cisplatin"}]}
LUTATHERA = {"text": "Lutathera (lutetium Lu 177 dotatate) injection"}


def administration(
    rid: str, day: date, drug: dict[str, Any], mg: float | None = 120, status: str = "completed"
) -> dict[str, Any]:
    """One dose as an mCODE CancerRelatedMedicationAdministration (the shape of the official examples, e.g.
    MedicationAdministration-cancer-related-medication-admin-doxorubicin-jenny-m)."""
    out: dict[str, Any] = {
        "resourceType": "MedicationAdministration", "id": rid, "status": status,
        "meta": {"profile": [MC + "mcode-cancer-related-medication-administration"]},
        "medicationCodeableConcept": drug, "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day.isoformat(),
    }  # fmt: skip
    if mg is not None:
        out["dosage"] = {"dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
    return out


def monthly(
    last: date,
    n: int,
    drug: dict[str, Any] = LANREOTIDE,
    *,
    gap: int = 28,
    mg: float | None = 120,
    ids: str = "adm",
) -> list[dict[str, Any]]:
    """``n`` administrations of ``mg`` mg, ``gap`` days apart, the last on ``last`` (ids ``<ids>0`` ...)."""
    return [administration(f"{ids}{k}", last - timedelta(days=gap * (n - 1 - k)), drug, mg) for k in range(n)]


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, NET, *resources), as_of=as_of)


def only_line(p: Patient) -> Treatment:
    assert p.treatments is not None
    [t] = p.treatments
    return t


def line_notes(report: MappingReport) -> list[str]:
    return [u.reason for u in report.unmapped if u.reason.startswith("treatments[")]


@pytest.mark.parametrize("drug", [LANREOTIDE, OCTREOTIDE_LAR], ids=["lanreotide", "octreotide_lar"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_monthly_depot_ssa_given_recently_is_ongoing(drug: dict[str, Any], n: int) -> None:
    last = AS_OF - timedelta(days=16)
    p, report = mapped(*monthly(last, n, drug))
    t = only_line(p)
    assert t.agent in ("lanreotide", "octreotide_lar")
    assert (t.start, t.end) == (last - timedelta(days=28 * (n - 1)), None)  # on the SSA now
    assert t.stop_reason is None
    [note] = line_notes(report)
    assert note.startswith(f"treatments[0] ({t.agent}) read as ongoing, no end date")
    assert f"the last on {last}, 16 days before the record date {AS_OF}" in note
    assert "dosing interval of 28 days plus a tolerance of 14 days" in note
    assert (
        report.treatments_ended_without_end_date == []
    )  # ongoing by the doses given, not for want of a date


@pytest.mark.parametrize("n", [2, 3, 4])
def test_monthly_depot_ssa_given_long_ago_ends_at_the_last_dose(n: int) -> None:
    last = AS_OF - timedelta(days=70)
    p, report = mapped(*monthly(last, n))
    t = only_line(p)
    assert (t.agent, t.end) == ("lanreotide", last)
    [note] = line_notes(report)
    assert note.startswith(f"treatments[0] (lanreotide) read as ended on {last}, its last administration: ")
    assert "no dose was given within the dosing interval of 28 days plus a tolerance of 14 days" in note
    assert report.treatments_ended_without_end_date == []


def test_the_tolerance_is_half_an_interval() -> None:
    """A 4-weekly injection is read as running up to 6 weeks after the last dose, and as ended the day after."""
    assert TOLERANCE_FRACTION == 0.5
    limit = 28 + 14
    assert only_line(mapped(*monthly(AS_OF - timedelta(days=limit), 3))[0]).end is None
    late = AS_OF - timedelta(days=limit + 1)
    assert only_line(mapped(*monthly(late, 3))[0]).end == late


def test_the_interval_is_the_median_gap_between_the_doses() -> None:
    """One late dose (35 days) does not stretch the interval read from the other gaps (26, 28 days)."""
    days = [date(2025, 2, 10), date(2025, 3, 8), date(2025, 4, 12), date(2025, 5, 10)]
    doses = [administration(f"a{i}", d, LANREOTIDE) for i, d in enumerate(days)]
    p, report = mapped(*doses, as_of=date(2025, 6, 21))  # 42 days after the last: within 28 + 14
    assert only_line(p).end is None
    [note] = line_notes(report)
    assert "the median gap between its 4 administrations, 2025-02-10 to 2025-05-10" in note
    p, _ = mapped(*doses, as_of=date(2025, 6, 23))  # 44 days: past 28 + 14 (the mean gap, 29.7, allows 44.5)
    assert only_line(p).end == date(2025, 5, 10)


def test_the_report_says_what_was_read_and_why() -> None:
    _, report = mapped(*monthly(date(2025, 5, 18), 3))
    assert line_notes(report) == [
        "treatments[0] (lanreotide) read as ongoing, no end date: recorded only as administrations, the last on "
        "2025-05-18, 14 days before the record date 2025-06-01, within the dosing interval of 28 days plus a "
        "tolerance of 14 days; the interval is the median gap between its 3 administrations, 2025-03-23 to "
        "2025-05-18"
    ]
    [item] = [u for u in report.unmapped if u.reason.startswith("treatments[")]
    assert item.resource == "MedicationAdministration/adm2"  # the last dose
    _, report = mapped(*monthly(date(2025, 3, 1), 2))
    assert line_notes(report) == [
        "treatments[0] (lanreotide) read as ended on 2025-03-01, its last administration: no dose was given "
        "within the dosing interval of 28 days plus a tolerance of 14 days before the record date 2025-06-01 "
        "(92 days later); the interval is the gap between its 2 administrations, 2025-02-01 and 2025-03-01"
    ]


def test_a_single_dose_uses_the_usual_interval_of_the_monograph() -> None:
    """With one dose, the interval is the one knowledge/agents/lanreotide.yaml states (every 4 weeks, NCCN
    footnote e), cited in the report."""
    recent = AS_OF - timedelta(days=10)
    p, report = mapped(administration("one", recent, LANREOTIDE))
    assert (only_line(p).start, only_line(p).end) == (recent, None)  # the first injection of a new course
    [note] = line_notes(report)
    assert "read as ongoing" in note
    assert "the usual one of the lanreotide monograph's schedule 'deep subcutaneously every 4 weeks'" in note
    assert "Footnote e: lanreotide 120 mg SC every 4 weeks" in note  # its source


def test_a_single_old_dose_has_ended() -> None:
    old = AS_OF - timedelta(days=60)
    p, report = mapped(administration("one", old, LANREOTIDE))
    assert only_line(p).end == old
    [note] = line_notes(report)
    assert note.startswith(f"treatments[0] (lanreotide) read as ended on {old}, its last administration: ")
    assert "the usual one of the lanreotide monograph's schedule" in note


def test_a_single_dose_without_any_interval_ends_as_before_and_says_why() -> None:
    """Cisplatin's monograph gives no interval (per regimen protocol): one dose, even recent, cannot tell
    whether the course continues, so the line ends at it, as before, and the clinician is told why."""
    day = AS_OF - timedelta(days=5)
    p, report = mapped(administration("cis", day, CISPLATIN, mg=100))
    assert (only_line(p).agent, only_line(p).end) == ("cisplatin", day)
    assert line_notes(report) == [
        f"treatments[0] (cisplatin) read as ended on {day}, its last administration: a single administration, "
        "and no dosing interval is stated in the cisplatin monograph, so netcds cannot tell "
        "whether a further dose is due (check whether the course continues)"
    ]


def test_without_a_record_date_the_line_ends_at_the_last_dose() -> None:
    last = AS_OF - timedelta(days=3)
    p, report = mapped(*monthly(last, 3), as_of=None)
    assert only_line(p).end == last
    [note] = line_notes(report)
    assert note.endswith("without a record date (as_of) netcds cannot tell whether a further dose is due")


def test_a_stopped_last_dose_ends_the_line_as_recorded() -> None:
    doses = monthly(AS_OF - timedelta(days=10), 3)
    doses[-1]["status"] = "stopped"
    p, report = mapped(*doses)
    assert only_line(p).end == AS_OF - timedelta(days=10)
    assert line_notes(report) == []  # the record says it was stopped: nothing for netcds to judge


def test_a_mixed_line_keeps_its_end() -> None:
    """A completed request with its end date, and administrations: read from the records as before (the end
    is the latest date), even with a dose two weeks ago."""
    request = {
        "resourceType": "MedicationRequest", "id": "req", "status": "completed", "intent": "order",
        "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-01-05", "medicationCodeableConcept": LANREOTIDE,
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2025-01-05", "end": "2025-04-30"},
                                                     "frequency": 1, "period": 4, "periodUnit": "wk"}}}],
    }  # fmt: skip
    last = AS_OF - timedelta(days=14)
    p, report = mapped(request, *monthly(last, 3))
    t = only_line(p)
    assert (t.start, t.end, t.interval_days) == (date(2025, 1, 5), last, 28)
    assert line_notes(report) == []


def test_lu177_dotatate_after_its_four_labelled_doses_has_ended() -> None:
    """The label's course is 4 doses every 8 weeks: after the fourth the course is complete (not read as
    running for another 12 weeks); after the third a dose is due, so it is running."""
    last = AS_OF - timedelta(days=20)
    p, report = mapped(*monthly(last, 4, LUTATHERA, gap=56, mg=None))
    assert (only_line(p).agent, only_line(p).end) == ("lu177_dotatate", last)
    [note] = line_notes(report)
    assert "its 4 administrations complete the 4 doses in total of the lu177_dotatate monograph's" in note
    p, report = mapped(*monthly(last, 3, LUTATHERA, gap=56, mg=None))
    assert only_line(p).end is None
    assert "within the dosing interval of 56 days plus a tolerance of 28 days" in line_notes(report)[0]


def test_rows_ended_without_an_end_date_are_listed_in_the_report() -> None:
    """The structured list names the rows read as ongoing only for want of an end date (a completed statement
    without one); an administration-only line, ongoing or ended, is never among them."""
    statement = {
        "resourceType": "MedicationStatement", "id": "st", "status": "completed",
        "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": CISPLATIN,
        "effectivePeriod": {"start": "2025-04-01"},
    }  # fmt: skip
    old_ssa = monthly(date(2024, 6, 1), 2, OCTREOTIDE_LAR, mg=30, ids="lar")
    p, report = mapped(*old_ssa, statement, *monthly(AS_OF - timedelta(days=7), 2))
    assert p.treatments is not None
    assert [(t.agent, t.end) for t in p.treatments] == [
        ("octreotide_lar", date(2024, 6, 1)), ("cisplatin", None), ("lanreotide", None)]  # fmt: skip
    assert report.treatments_ended_without_end_date == [1]
    assert report.model_dump(by_alias=True)["treatments_ended_without_end_date"] == [1]
    assert any(
        u.reason.startswith("treatments[1] (cisplatin) has ended but no end date") for u in report.unmapped
    )


# --- from the review of the first version ----------------------------------------------------------------------
@pytest.mark.parametrize("status", ["not-done", "on-hold"])
def test_a_later_dose_recorded_as_not_given_ends_the_course_at_the_last_given_one(status: str) -> None:
    """Lanreotide given three times, then a dose recorded as not given two days before the record date: the
    newest record says the course did not continue, so it is not read as running."""
    last = AS_OF - timedelta(days=30)
    skipped = administration("skip", AS_OF - timedelta(days=2), LANREOTIDE, status=status)
    p, report = mapped(*monthly(last, 3), skipped)
    assert only_line(p).end == last
    [note] = line_notes(report)
    assert note == (
        f"treatments[0] (lanreotide) read as ended on {last}, its last administration: a later dose, on "
        f"{AS_OF - timedelta(days=2)}, is recorded as not given (MedicationAdministration/skip, status "
        f"{status!r}); check whether the course continues"
    )
    # a dose not given before the last one given changes nothing
    early = administration("early", last - timedelta(days=10), LANREOTIDE, status=status)
    assert only_line(mapped(*monthly(last, 3), early)[0]).end is None


def test_a_last_dose_giving_a_reason_in_words_is_not_read_as_running() -> None:
    """A completed last dose with a statusReason netcds has no code for (free text) still ends the line there."""
    doses = monthly(AS_OF - timedelta(days=10), 3)
    doses[-1]["statusReason"] = [{"text": "discontinued: disease progression"}]
    assert only_line(mapped(*doses)[0]).end == AS_OF - timedelta(days=10)


def test_a_multi_day_cycle_is_one_cycle_for_the_interval() -> None:
    """Etoposide on days 1-3 every 21 days, two cycles, the record date 7 days after the last dose: the interval
    is the 21 days between the cycles (not the 1 day between a cycle's doses), so the course is running."""
    first = AS_OF - timedelta(days=30)
    days = [first + timedelta(days=d) for d in (0, 1, 2, 21, 22, 23)]
    etoposide = {"coding": [{"system": RX, "code": "4179", "display": "etoposide"}]}
    p, report = mapped(*(administration(f"e{k}", d, etoposide, mg=100) for k, d in enumerate(days)))
    assert only_line(p).end is None
    [note] = line_notes(report)
    assert "dosing interval of 21 days plus a tolerance of 10.5 days" in note
    assert f"the gap between its 2 cycles (6 administrations), {first} and {days[3]}" in note


def test_a_dose_recorded_again_the_next_day_does_not_shorten_the_interval() -> None:
    """Lanreotide on days -54, -26 and -25 (a duplicate record): cycles 28 days apart, running at day 25."""
    days = [AS_OF - timedelta(days=d) for d in (54, 26, 25)]
    p, _ = mapped(*(administration(f"l{k}", d, LANREOTIDE) for k, d in enumerate(days)))
    assert only_line(p).end is None


def test_a_single_pembrolizumab_dose_uses_the_longest_labelled_interval() -> None:
    """The monograph names 3- and 6-weekly schedules; a single dose 35 days ago may be a 6-weekly one, so the
    course is not read as ended (42 + 21 days)."""
    pembro = {"coding": [{"system": RX, "code": "1547545", "display": "pembrolizumab"}]}
    p, report = mapped(administration("k", AS_OF - timedelta(days=35), pembro, mg=400))
    assert only_line(p).end is None
    [note] = line_notes(report)
    assert "dosing interval of 42 days" in note


def test_an_ended_reading_gives_the_line_its_end_date() -> None:
    """A single old dose given as a period with a start only: read as ended, and the treatment says so (an end
    date), so it is not among the rows ended without an end date."""
    day = AS_OF - timedelta(days=100)
    dose = administration("p", day, LANREOTIDE)
    del dose["effectiveDateTime"]
    dose["effectivePeriod"] = {"start": day.isoformat()}
    p, report = mapped(dose)
    assert only_line(p).end == day
    assert report.treatments_ended_without_end_date == []


def test_a_completed_dose_running_past_the_record_date_is_read_as_running_in_plain_words() -> None:
    dose = administration("f", AS_OF - timedelta(days=1), LANREOTIDE)
    del dose["effectiveDateTime"]
    dose["effectivePeriod"] = {"start": (AS_OF - timedelta(days=1)).isoformat(), "end": "2025-06-03"}
    p, report = mapped(dose)
    assert only_line(p).end is None
    [note] = line_notes(report)
    assert "runs to 2025-06-03, after the record date 2025-06-01 (check the record)" in note
    assert "-" not in note.split("runs to")[0].split("administration")[-1]  # no negative day count


def test_the_gap_between_its_own_doses_is_the_lines_dosing_interval() -> None:
    """The interval the report names as measured between the line's doses is written as its interval_days (so
    the SSA dose level, lanreotide 120 mg every 28 days, can be judged); an interval taken from the monograph
    is not written (it was not given)."""
    p, report = mapped(*monthly(AS_OF - timedelta(days=12), 3))
    assert (only_line(p).dose_mg, only_line(p).interval_days) == (120, 28)
    assert "the interval is the median gap between its 3 administrations" in line_notes(report)[0]
    single, _ = mapped(administration("one", AS_OF - timedelta(days=12), LANREOTIDE))
    assert only_line(single).interval_days is None
