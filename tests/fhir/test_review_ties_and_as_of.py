"""Review fixes: (1) a fact recorded more than once is never decided by Bundle entry order: when the newest
records cannot be ordered by date (same date, undated, overlapping partial dates) and disagree, the fact stays
unknown and the report names both values; when they agree it is mapped once. (2) With a record date (as_of),
Observations dated after it are left out and reported; without one nothing is left out as dated after it.
Both hold for the Bundle, the CDS Hooks prefetch and the REST route."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.fhir import MappingReport, bundle_to_patient, prefetch_to_patient
from netcds.patient import Patient
from netcds.settings import Settings
from tests.fhir.conftest import load, wrap
from tests.fhir.test_review_results import ICDO, LNC, MC, NET, PATIENT, SCT

AS_OF = date(2025, 6, 1)


def obs(i: str, code: dict[str, Any], when: str | None, **value: Any) -> dict[str, Any]:
    out = {"resourceType": "Observation", "id": i, "status": "final", "code": code,
           "subject": {"reference": "Patient/p1"}, **value}  # fmt: skip
    return out | ({"effectiveDateTime": when} if when else {})


def loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": LNC, "code": code}]}


def ki67(i: str, when: str | None, v: float) -> dict[str, Any]:
    return obs(i, loinc("29593-1"), when, valueQuantity={"value": v, "unit": "%", "code": "%"})


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, NET, *resources), as_of=as_of)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def sources(report: MappingReport, field: str) -> list[str]:
    return [m.from_ for m in report.mapped if m.field == field]


# ---- 1. ties: conflicting values stay unknown, in either order ------------------------------------------
DATE_PAIRS = [
    ("2024-05-02", "2024-05-02"),  # the same date
    (None, None),  # both undated
    ("2024", "2024-05"),  # partial dates that overlap
    ("2024-05", "2024-05-17"),  # a month and a day in it
    ("2024-05-02", "2024-05-02T14:00:00Z"),  # a date-only value covers its whole day
    ("2024-05-02T09:00:00+02:00", "2024-05-02T07:00:00Z"),  # the same instant in two offsets
]


@pytest.mark.parametrize(("when_a", "when_b"), DATE_PAIRS)
@pytest.mark.parametrize("flip", [False, True])
def test_conflicting_ki67_without_a_date_order_stays_unknown(
    when_a: str | None, when_b: str | None, flip: bool
) -> None:
    a, b = ki67("a", when_a, 8), ki67("b", when_b, 80)
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert p.tumor.ki67_percent is None
    assert sources(report, "tumor.ki67_percent") == []
    for ref in ("Observation/a", "Observation/b"):
        why = reasons(report, ref)
        assert "conflicting values" in why and "superseded" not in why
        assert "8.0 in Observation/a" in why and "80.0 in Observation/b" in why


@pytest.mark.parametrize("flip", [False, True])
def test_same_id_with_different_values_stays_unknown(flip: bool) -> None:
    a, b = ki67("x", "2024-05-02", 8), ki67("x", "2024-05-02", 80)
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert p.tumor.ki67_percent is None
    assert "conflicting values" in reasons(report, "Observation/x")


@pytest.mark.parametrize("flip", [False, True])
def test_agreeing_values_without_a_date_order_are_mapped_once(flip: bool) -> None:
    a, b = ki67("a", "2024-05-02", 12), ki67("b", "2024-05-02", 12.0)
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert p.tumor.ki67_percent == 12
    assert len(sources(report, "tumor.ki67_percent")) == 1
    assert sources(report, "tumor.ki67_percent")[0].startswith("Observation/a ")  # not the input order
    assert "mapped once" in reasons(report, "Observation/b")


@pytest.mark.parametrize("flip", [False, True])
def test_a_dated_value_still_supersedes_older_and_undated_ones(flip: bool) -> None:
    rows = [ki67("new", "2025-02-01", 25), ki67("year", "2024", 8), ki67("undated", None, 3)]
    p, report = mapped(*(rows[::-1] if flip else rows))
    assert p.tumor.ki67_percent == 25
    assert "superseded by Observation/new" in reasons(report, "Observation/year")
    assert "superseded by Observation/new" in reasons(report, "Observation/undated")


def test_an_older_value_is_not_used_when_the_newest_conflict() -> None:
    p, report = mapped(ki67("old", "2023-01-10", 5), ki67("a", "2024-05-02", 8), ki67("b", "2024-05-02", 80))
    assert p.tumor.ki67_percent is None
    assert "superseded by Observation/a, Observation/b (conflicting)" in reasons(report, "Observation/old")


def _status(i: str, code: str) -> dict[str, Any]:
    return obs(
        i, loinc("97509-4"), "2025-03-01", valueCodeableConcept={"coding": [{"system": SCT, "code": code}]}
    )


# weight and platelets stand only within 30 days of the record date (netcds.fhir.recency.FRESH_DAYS)
def _weight(i: str, kg: float) -> dict[str, Any]:
    return obs(i, loinc("29463-7"), "2025-05-15", valueQuantity={"value": kg, "unit": "kg", "code": "kg"})


def _platelets(i: str, k: float) -> dict[str, Any]:
    return obs(
        i, loinc("777-3"), "2025-05-15", valueQuantity={"value": k, "unit": "10*3/uL", "code": "10*3/uL"}
    )


def _pregnant(i: str, code: str) -> dict[str, Any]:
    return obs(
        i, loinc("82810-3"), "2025-03-01", valueCodeableConcept={"coding": [{"system": LNC, "code": code}]}
    )


def _sstr(i: str, answer: str) -> dict[str, Any]:
    return obs(i, {"text": "Ga-68 DOTATATE PET/CT"}, "2025-03-01",
               valueCodeableConcept={"coding": [{"system": LNC, "code": answer}]})  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "read"),
    [
        (_status("a", "271299001"), _status("b", "359746009"), lambda p: p.disease.status),
        (_weight("a", 60), _weight("b", 90), lambda p: p.weight_kg),
        (_platelets("a", 150), _platelets("b", 40), lambda p: p.comorbidities.platelets_per_ul),
        (_pregnant("a", "LA15173-0"), _pregnant("b", "LA26683-5"), lambda p: p.pregnant),
        (_sstr("a", "LA6576-8"), _sstr("b", "LA6577-6"), lambda p: p.tumor.sstr_status),
    ],
    ids=["disease.status", "weight_kg", "platelets", "pregnant", "sstr_status"],
)
@pytest.mark.parametrize("flip", [False, True])
def test_every_newest_wins_fact_leaves_a_conflict_unknown(a: Any, b: Any, read: Any, flip: bool) -> None:
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert read(p) is None
    assert "conflicting values" in reasons(report, "Observation/a")
    assert "conflicting values" in reasons(report, "Observation/b")


def _tnm_m(i: str, value: str) -> dict[str, Any]:
    return obs(i, {"coding": [{"system": SCT, "code": "399387003"}]}, "2024-05-02",
               valueCodeableConcept={"text": value})  # fmt: skip


@pytest.mark.parametrize("flip", [False, True])
def test_tnm_categories_without_a_date_order_that_disagree_leave_the_extent_unknown(flip: bool) -> None:
    a, b = _tnm_m("a", "cM0"), _tnm_m("b", "cM1")
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert p.disease.extent is None
    assert "conflicting values" in reasons(report, "Observation/a")


def _hist(i: str, morph: str) -> dict[str, Any]:
    return obs(i, loinc("31206-6"), "2024-05-02", meta={"profile": [MC + "mcode-histologic-behavior-and-type"]},
               valueCodeableConcept={"coding": [{"system": ICDO, "code": morph}]})  # fmt: skip


@pytest.mark.parametrize("flip", [False, True])
def test_histologies_without_a_date_order_that_disagree_leave_differentiation_unknown(flip: bool) -> None:
    a, b = _hist("a", "8246/3"), _hist("b", "8249/3")
    p, report = mapped(*((b, a) if flip else (a, b)))
    assert p.tumor.differentiation is None
    assert "conflicting histology" in reasons(report, "Observation/a")
    assert "conflicting histology" in reasons(report, "Observation/b")


@pytest.mark.parametrize("flip", [False, True])
def test_prefetch_ties_are_not_decided_by_order(flip: bool) -> None:
    rows = [ki67("a", "2024-05-02", 8), ki67("b", "2024-05-02", 80)]
    search = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in (rows[::-1] if flip else rows)]}  # fmt: skip
    p, report = prefetch_to_patient({"patient": PATIENT, "conditions": NET, "observations": search}, AS_OF)
    assert p.tumor.ki67_percent is None
    assert "conflicting values" in reasons(report, "Observation/b")


# ---- 2. as_of: Observations dated after the record date are left out ---------------------------------------
def _ileal() -> dict[str, Any]:
    bundle = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "MedicationRequest"]
    return bundle


LATER = ("ileum-sstr-pet", "ileum-status", "ileum-weight", "ileum-crcl", "ileum-platelets", "ileum-alt")


def test_observations_after_the_record_date_are_left_out() -> None:
    p, report = bundle_to_patient(_ileal(), as_of=date(2024, 6, 1))
    assert p.disease.status is None and p.tumor.sstr_status is None and p.weight_kg is None
    assert p.comorbidities.platelets_per_ul is None and p.comorbidities.alt_x_uln is None
    assert p.comorbidities.creatinine_clearance_ml_min is None
    assert p.tumor.ki67_percent is not None  # 2023-11-28: before the record date
    for rid in LATER:
        assert "dated after the record date 2024-06-01" in reasons(report, f"Observation/{rid}")
    assert not any(m.from_.startswith(tuple(f"Observation/{r} " for r in LATER)) for m in report.mapped)


def test_without_as_of_nothing_is_left_out_by_date() -> None:
    """Without a record date nothing is left out as dated after it. Labs and weight, which stand only while
    recent (netcds.fhir.recency), cannot be placed in time: they are left unknown and reported so."""
    p, report = bundle_to_patient(_ileal())
    assert p.disease.status == "progressive" and p.tumor.sstr_status == "positive"
    assert not any("after the record date" in u.reason for u in report.unmapped)
    dated = {u.resource: u.reason for u in report.unmapped if "record date" in u.reason}
    recent_only = ("ileum-weight", "ileum-crcl", "ileum-platelets", "ileum-alt")
    assert set(dated) == {f"Observation/{rid}" for rid in recent_only}
    assert all("no record date (as_of) is given" in why for why in dated.values())
    assert p.weight_kg is None and p.comorbidities.platelets_per_ul is None


@pytest.mark.parametrize(
    ("when", "used"),
    [("2024-06", True), ("2024", True), ("2024-06-01T23:30:00-05:00", True), ("2024-07", False),
     ("2025", False), ("2024-06-02", False)],
)  # fmt: skip
def test_a_partial_date_is_after_only_if_its_first_day_is(when: str, used: bool) -> None:
    p, report = mapped(ki67("k", when, 12), as_of=date(2024, 6, 1))
    assert (p.tumor.ki67_percent == 12) is used
    assert ("dated after the record date" in reasons(report, "Observation/k")) is not used


def test_a_later_observation_does_not_supersede_one_before_the_record_date() -> None:
    p, report = mapped(ki67("old", "2024-01-10", 12), ki67("new", "2024-09-01", 30), as_of=date(2024, 6, 1))
    assert p.tumor.ki67_percent == 12
    assert "superseded" not in reasons(report, "Observation/old")


def test_prefetch_leaves_out_observations_after_the_record_date() -> None:
    search = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": ki67("k", "2025-03-01", 12)}]}  # fmt: skip
    p, report = prefetch_to_patient(
        {"patient": PATIENT, "conditions": NET, "observations": search}, date(2024, 6, 1)
    )
    assert p.tumor.ki67_percent is None
    assert "dated after the record date" in reasons(report, "Observation/k")


# ---- the REST route ----------------------------------------------------------------------------------------
def test_rest_route_reads_the_record_as_of_its_date_and_ties_in_either_order(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'netcds.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/evaluate/fhir?as_of=2024-06-01", json=_ileal())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["patient"]["disease"].get("status") is None
        assert any("dated after the record date" in u["reason"] for u in body["mapping"]["unmapped"])
        results = []
        for rows in ([ki67("a", "2024-05-02", 8), ki67("b", "2024-05-02", 80)],
                     [ki67("b", "2024-05-02", 80), ki67("a", "2024-05-02", 8)]):  # fmt: skip
            r = client.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=wrap(PATIENT, NET, *rows))
            assert r.status_code == 200, r.text
            results.append(r.json()["patient"]["tumor"].get("ki67_percent"))
        assert results == [None, None]
