"""Review 38, clinical facts: hypertension control words with negation, pregnancy and breastfeeding statuses
only while recent enough to stand for the record date, pregnancy Conditions, disagreeing codings, and the
reference range that applies to the patient (sex, age, type) for x ULN."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.clinical import hypertension_control
from netcds.fhir.reproductive import STATUS_FRESH_DAYS
from netcds.patient import Patient
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
SCT, LNC = "http://snomed.info/sct", "http://loinc.org"
MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
SUBJECT = {"reference": "Patient/net-ileum-1"}


def bundle(*extra: dict[str, Any], gender: str = "male", birth: str = "1962-05-10") -> dict[str, Any]:
    b = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    patient = res(b, "net-ileum-1")
    patient["gender"], patient["birthDate"] = gender, birth
    b["entry"].extend({"resource": r} for r in extra)
    return b


def res(b: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in b["entry"] if e["resource"].get("id") == rid)


def mapped(b: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(b, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def status_obs(i: str, code: str, day: str, *answers: tuple[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": i, "status": "final", "subject": SUBJECT,
        "code": {"coding": [{"system": LNC, "code": code}]}, "effectiveDateTime": day,
        "valueCodeableConcept": {"coding": [{"system": s, "code": c} for s, c in answers]},
    }  # fmt: skip


def woman(*extra: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return mapped(bundle(*extra, gender="female", birth="1990-02-01"))


# ---- 1. hypertension control words ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hypertension, not controlled", "uncontrolled"),
        ("Hypertension, inadequately controlled", "uncontrolled"),
        ("Hypertension, not adequately controlled", "uncontrolled"),
        ("Poorly controlled hypertension", "uncontrolled"),
        ("Uncontrolled hypertension", "uncontrolled"),
        ("Hypertension, controlled", "controlled"),
        ("Essential hypertension, well controlled on amlodipine", "controlled"),
        ("Hypertension, partially controlled", None),
        ("Hypertension, controlled?", None),
        ("Previously uncontrolled hypertension", None),
        ("Hypertension: uncontrolled, now controlled", None),
        ("Essential hypertension", None),
    ],
)
def test_hypertension_control_reads_negation_and_leaves_unclear_words_unknown(
    text: str, expected: str | None
) -> None:
    b = bundle()
    res(b, "ileum-hypertension")["code"]["text"] = text
    p, report = mapped(b)
    assert p.comorbidities.hypertension == expected
    assert hypertension_control(text)[0] == expected
    if expected is None:
        assert "hypertension stays unknown" in reasons(report, "Condition/ileum-hypertension")


# ---- 2. a pregnancy status stands only while recent enough ------------------------------------------------
def test_an_old_not_pregnant_result_does_not_stand_for_the_record_date() -> None:
    p, report = woman(status_obs("preg", "82810-3", "2016-03-01", (LNC, "LA26683-5")))
    assert p.pregnant is None
    why = reasons(report, "Observation/preg")
    assert "too old to stand for the current status" in why and "30 days" in why
    assert "pregnant" not in report.fields()


def test_the_windows_are_30_days_negative_and_300_days_positive() -> None:
    assert STATUS_FRESH_DAYS == {False: 30, True: 300}
    p, _ = woman(status_obs("preg", "82810-3", "2025-04-15", (LNC, "LA26683-5")))  # 47 days: negative too old
    assert p.pregnant is None
    p, _ = woman(status_obs("preg", "82810-3", "2024-10-01", (LNC, "LA15173-0")))  # 243 days: positive stands
    assert p.pregnant is True
    p, _ = woman(status_obs("preg", "82810-3", "2024-08-01", (LNC, "LA15173-0")))  # 304 days: too old
    assert p.pregnant is None


def test_a_newer_stale_result_is_not_replaced_by_an_older_one() -> None:
    p, _ = woman(
        status_obs("old", "82810-3", "2025-01-01", (LNC, "LA15173-0")),  # pregnant, within 300 days
        status_obs("new", "82810-3", "2025-03-01", (LNC, "LA26683-5")),  # not pregnant, older than 30 days
    )
    assert p.pregnant is None


def test_a_current_not_pregnant_result_still_maps() -> None:
    p, report = woman(status_obs("preg", "82810-3", "2025-05-20", (LNC, "LA26683-5")))
    assert p.pregnant is False
    assert "pregnant" in report.fields()


def test_a_current_lab_value_with_one_range_still_maps() -> None:
    b = bundle()
    res(b, "ileum-alt")["effectiveDateTime"] = "2025-05-15"  # within the 30 days a liver test stands
    p, _ = mapped(b)
    assert p.comorbidities.alt_x_uln is not None


# ---- 3. the reference range that applies to the patient ---------------------------------------------------
def alt(*ranges: dict[str, Any], value: float = 80) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": "alt2", "status": "final", "subject": SUBJECT,
        "code": {"coding": [{"system": LNC, "code": "1742-6"}]}, "effectiveDateTime": "2025-05-15",
        "valueQuantity": {"value": value, "unit": "U/L", "code": "U/L"}, "referenceRange": list(ranges),
    }  # fmt: skip


def labs(*ranges: dict[str, Any], gender: str = "male") -> dict[str, Any]:
    """The bundle with its own ALT result replaced by one with these reference ranges."""
    b = bundle(alt(*ranges), gender=gender)
    b["entry"] = [e for e in b["entry"] if e["resource"].get("id") != "ileum-alt"]
    return b


def high(v: float, sex: str | None = None, **more: Any) -> dict[str, Any]:
    rng: dict[str, Any] = {"high": {"value": v, "unit": "U/L", "code": "U/L"}, **more}
    if sex is not None:
        code = {"female": "248152002", "male": "248153007"}[sex]
        rng["appliesTo"] = [{"coding": [{"system": SCT, "code": code, "display": sex.title()}]}]
    return rng


def test_the_range_for_the_patients_sex_gives_x_uln() -> None:
    p, _ = mapped(labs(high(33, "female"), high(45, "male")))
    assert p.comorbidities.alt_x_uln == round(80 / 45, 3)
    p, _ = mapped(labs(high(33, "female"), high(45, "male"), gender="female"))
    assert p.comorbidities.alt_x_uln == round(80 / 33, 3)


def test_ranges_that_do_not_say_which_applies_leave_x_uln_unknown() -> None:
    p, report = mapped(labs(high(33), high(45)))
    assert p.comorbidities.alt_x_uln is None
    assert "different upper limits" in reasons(report, "Observation/alt2")
    p, report = mapped(labs(high(33, "female")))  # none for a man
    assert p.comorbidities.alt_x_uln is None
    assert "no reference range applies" in reasons(report, "Observation/alt2")


def test_a_range_of_another_type_or_age_is_skipped() -> None:
    treat: dict[str, Any] = {"type": {"coding": [{"system": MEANING, "code": "treatment"}]}}
    normal: dict[str, Any] = {"type": {"coding": [{"system": MEANING, "code": "normal"}]}}
    p, _ = mapped(labs(high(100, **treat), high(40, **normal)))
    assert p.comorbidities.alt_x_uln == 2.0
    young: dict[str, Any] = {"age": {"low": {"value": 18, "code": "a"}, "high": {"value": 50, "code": "a"}}}
    older: dict[str, Any] = {"age": {"low": {"value": 51, "code": "a"}}}
    p, _ = mapped(labs(high(50, "male", **young), high(40, "male", **older)))  # 63 years old
    assert p.comorbidities.alt_x_uln == 2.0


# ---- 4. breastfeeding and pregnancy Conditions ------------------------------------------------------------
def test_breastfeeding_status_is_read_while_recent() -> None:
    p, report = woman(status_obs("bf", "63895-7", "2025-05-01", (SCT, "169750002")))
    assert p.breastfeeding is True
    assert "breastfeeding" in report.fields()
    p, _ = woman(status_obs("bf", "63895-7", "2025-05-25", (LNC, "LA29253-4")))
    assert p.breastfeeding is False
    p, report = woman(status_obs("bf", "63895-7", "2024-01-10", (LNC, "LA29253-4")))
    assert p.breastfeeding is None
    assert "too old" in reasons(report, "Observation/bf")


def pregnancy_condition(onset: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": "preg-c", "subject": SUBJECT, "onsetDateTime": onset,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SCT, "code": "77386006", "display": "Pregnancy"}]}, **more,
    }  # fmt: skip


def test_an_active_pregnancy_condition_gives_pregnant() -> None:
    p, report = woman(pregnancy_condition("2025-02-01"))
    assert p.pregnant is True
    assert "Pregnancy" not in (p.comorbidities.other or [])
    p, report = woman(pregnancy_condition("2023-02-01"))  # onset beyond 300 days: the pregnancy has ended
    assert p.pregnant is None
    assert "too old" in reasons(report, "Condition/preg-c")
    refuted = {"verificationStatus": {"coding": [{"code": "refuted"}]}}
    p, report = woman(pregnancy_condition("2025-02-01", **refuted))
    assert p.pregnant is None
    assert "refuted" in reasons(report, "Condition/preg-c")


# ---- 5. codings that disagree -------------------------------------------------------------------------------
def test_disagreeing_codings_leave_pregnant_unknown() -> None:
    p, report = woman(status_obs("preg", "82810-3", "2025-05-20", (LNC, "LA26683-5"), (SCT, "77386006")))
    assert p.pregnant is None
    assert "codings disagree" in reasons(report, "Observation/preg")
