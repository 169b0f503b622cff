"""Review 39, labs and clinical measures: a value stands for the record date only while recent enough
(netcds.fhir.recency.FRESH_DAYS, netcds's convention: blood counts, liver and renal tests and weight 30 days,
LVEF 90 days); an older, undated, or date-less-evaluation value leaves the fact unknown, the report naming the
resource and its date, and a safety check reading it says it is not recorded, never that it is normal. Also
the lab units /mm3, 10*3/mm3 and ukat/L."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from netcds.safety import AgentKnowledge, load_agents, screen_agent
from tests.fhir.conftest import wrap

AS_OF = date(2025, 6, 1)
LNC = "http://loinc.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-01"}
PRIMARY = {
    "resourceType": "Condition", "id": "net", "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.012"}]},
}  # fmt: skip
U_L = {"unit": "U/L", "code": "U/L"}
# LOINC code, value, unit, Patient path, value mapped, window (days); the ALT/AST/bilirubin rows carry a range
LABS: list[tuple[str, float, str, str, float, int]] = [
    ("718-7", 12.5, "g/dL", "comorbidities.hemoglobin_g_dl", 12.5, 30),
    ("777-3", 210, "10*3/uL", "comorbidities.platelets_per_ul", 210_000, 30),
    ("751-8", 3.1, "10*3/uL", "comorbidities.neutrophils_per_ul", 3100, 30),
    ("1742-6", 30, "U/L", "comorbidities.alt_x_uln", 0.75, 30),
    ("1920-8", 20, "U/L", "comorbidities.ast_x_uln", 0.5, 30),
    ("1975-2", 0.8, "mg/dL", "comorbidities.bilirubin_x_uln", 0.667, 30),
    ("2164-2", 85, "mL/min", "comorbidities.creatinine_clearance_ml_min", 85, 30),
    ("29463-7", 78, "kg", "weight_kg", 78, 30),
    ("10230-1", 55, "%", "comorbidities.lvef_percent", 55, 90),
]
HIGH = {"1742-6": (40, "U/L"), "1920-8": (40, "U/L"), "1975-2": (1.2, "mg/dL")}


def lab(i: str, code: str, value: float, unit: str, when: str | None, high: tuple[float, str] | None = None
        ) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "resourceType": "Observation", "id": i, "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": LNC, "code": code}]}, "valueQuantity": {"value": value, "unit": unit,
                                                                              "code": unit},
    }  # fmt: skip
    if when is not None:
        out["effectiveDateTime"] = when
    if high is not None:
        out["referenceRange"] = [{"high": {"value": high[0], "unit": high[1], "code": high[1]}}]
    return out


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, PRIMARY, *resources), as_of=as_of)


def value(p: Patient, path: str) -> Any:
    out: Any = p
    for part in path.split("."):
        out = getattr(out, part)
    return out


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def days_before(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


@pytest.mark.parametrize(("code", "v", "unit", "path", "expect", "window"), LABS, ids=[r[3] for r in LABS])
def test_each_measure_stands_only_within_its_window(
    code: str, v: float, unit: str, path: str, expect: float, window: int
) -> None:
    p, _ = mapped(lab("x", code, v, unit, days_before(window), HIGH.get(code)))
    assert value(p, path) == expect  # on the last day of its window: used
    p, report = mapped(lab("x", code, v, unit, days_before(window + 1), HIGH.get(code)))
    assert value(p, path) is None
    why = reasons(report, "Observation/x")
    assert f"dated {days_before(window + 1)}, {window + 1} days before the record date 2025-06-01" in why
    assert f"at most {window} days" in why and "netcds's freshness convention" in why
    assert "left unknown" in why


def test_a_2015_platelet_count_does_not_stand_for_2025() -> None:
    p, report = mapped(lab("plt2015", "777-3", 45, "10*3/uL", "2015-03-02"))
    assert p.comorbidities.platelets_per_ul is None
    assert "comorbidities.platelets_per_ul" not in report.fields()
    assert "dated 2015-03-02" in reasons(report, "Observation/plt2015")


def test_the_newest_value_within_the_window_wins_and_older_ones_are_reported() -> None:
    p, report = mapped(
        lab("old", "777-3", 40, "10*3/uL", "2024-01-10"),
        lab("mid", "777-3", 150, "10*3/uL", days_before(20)),
        lab("new", "777-3", 180, "10*3/uL", days_before(3)),
    )
    assert p.comorbidities.platelets_per_ul == 180_000
    assert "too old" in reasons(report, "Observation/old") and "a more recent value is used" in reasons(
        report, "Observation/old"
    )
    assert "superseded by Observation/new" in reasons(report, "Observation/mid")


def test_a_fresh_value_is_not_replaced_by_an_old_one_when_the_fresh_ones_conflict() -> None:
    p, report = mapped(
        lab("old", "777-3", 250, "10*3/uL", "2024-01-10"),
        lab("a", "777-3", 60, "10*3/uL", days_before(2)),
        lab("b", "777-3", 90, "10*3/uL", days_before(2)),
    )
    assert p.comorbidities.platelets_per_ul is None
    assert "conflicting values" in reasons(report, "Observation/a")


def test_an_undated_value_or_one_read_without_a_record_date_is_unknown() -> None:
    p, report = mapped(lab("u", "777-3", 210, "10*3/uL", None))
    assert p.comorbidities.platelets_per_ul is None
    assert "undated: whether it is recent enough" in reasons(report, "Observation/u")
    p, report = mapped(lab("d", "718-7", 9.5, "g/dL", "2025-05-30"), as_of=None)
    assert p.comorbidities.hemoglobin_g_dl is None
    assert "no record date (as_of) is given" in reasons(report, "Observation/d")


def test_a_partial_date_counts_from_its_first_day() -> None:
    p, _ = mapped(lab("m", "2164-2", 60, "mL/min", "2025-05"))  # May 1: 31 days before June 1
    assert p.comorbidities.creatinine_clearance_ml_min is None
    p, _ = mapped(lab("m", "2164-2", 60, "mL/min", "2025-05"), as_of=date(2025, 5, 31))
    assert p.comorbidities.creatinine_clearance_ml_min == 60


def test_the_official_mcode_hemoglobin_by_its_date(mcode_examples: dict[str, dict[str, Any]]) -> None:
    """mCODE 4.0.0 Observation-hemoglobin-brian-l (6.7 g/dL on 2024-01-04), moved onto this NET patient."""
    hgb = dict(mcode_examples["Observation-hemoglobin-brian-l.json"], subject={"reference": "Patient/p1"})
    p, _ = mapped(hgb, as_of=date(2024, 1, 20))
    assert p.comorbidities.hemoglobin_g_dl == 6.7
    p, report = mapped(hgb)
    assert p.comorbidities.hemoglobin_g_dl is None
    assert "dated 2024-01-04, 514 days before the record date" in reasons(
        report, "Observation/hemoglobin-brian-l"
    )


# ---- a safety check reading a stale lab says it is not recorded, never that it is normal ----------------
@pytest.fixture(scope="module")
def akb() -> AgentKnowledge:
    return load_agents()


def _platelet_items(agent: str, p: Patient, akb: AgentKnowledge) -> list[Any]:
    screen = screen_agent(agent, p, akb)
    return [i for i in screen.safety if any("platelets" in f for f in i.fields)]


@pytest.mark.parametrize("count", [45, 250], ids=["low", "normal"])
def test_a_stale_platelet_count_leaves_the_temozolomide_check_not_assessed(
    count: int, akb: AgentKnowledge
) -> None:
    """Temozolomide's label gives a dose only at platelets >= 100,000/uL. A count from 2015, low or normal,
    neither fires the check nor passes it: the screen says the count is not assessed."""
    fresh, _ = mapped(lab("plt", "777-3", count, "10*3/uL", days_before(5)))
    stale, _ = mapped(lab("plt", "777-3", count, "10*3/uL", "2015-03-02"))
    assert stale.comorbidities.platelets_per_ul is None
    items = _platelet_items("temozolomide", stale, akb)
    assert items and all(i.kind == "not_assessed" for i in items)
    assert not any(str(count * 1000) in i.finding or "normal" in i.finding for i in items)
    if count == 45:  # the same count, recent, does fire it
        assert any(i.kind != "not_assessed" for i in _platelet_items("temozolomide", fresh, akb))


# ---- units ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "v", "unit", "path", "expect"),
    [
        ("777-3", 150, "10*3/mm3", "platelets_per_ul", 150_000),
        ("777-3", 95000, "/mm3", "platelets_per_ul", 95_000),
        ("751-8", 1500, "cells/mm3", "neutrophils_per_ul", 1500),
        ("751-8", 1.5, "10^3/mm3", "neutrophils_per_ul", 1500),
    ],
)
def test_counts_per_cubic_millimetre(code: str, v: float, unit: str, path: str, expect: float) -> None:
    p, _ = mapped(lab("c", code, v, unit, days_before(1)))
    assert getattr(p.comorbidities, path) == expect


@pytest.mark.parametrize(
    ("code", "v", "unit", "high", "path", "expect"),
    [
        ("1742-6", 1.0, "ukat/L", (40, "U/L"), "alt_x_uln", 1.5),  # 60 U/L over 40
        ("1920-8", 90, "U/L", (0.75, "ukat/L"), "ast_x_uln", 2.0),  # 90 U/L over 45
        ("1742-6", 0.5, "\u00b5kat/L", (0.5, "\u00b5kat/L"), "alt_x_uln", 1.0),
        ("1742-6", 80, "IU/L", (40, "U/L"), "alt_x_uln", 2.0),
        ("1975-2", 34.2, "umol/L", (1.0, "mg/dL"), "bilirubin_x_uln", 2.0),
        ("1975-2", 2.4, "mg/dl", (1.2, "mg/dL"), "bilirubin_x_uln", 2.0),
    ],
)
def test_enzyme_and_bilirubin_units_are_brought_to_the_ranges_scale(
    code: str, v: float, unit: str, high: tuple[float, str], path: str, expect: float
) -> None:
    p, _ = mapped(lab("e", code, v, unit, days_before(1), high))
    assert getattr(p.comorbidities, path) == pytest.approx(expect, abs=0.001)


def test_units_of_another_kind_are_still_not_compared() -> None:
    p, report = mapped(lab("e", "1742-6", 1.0, "mg/dL", days_before(1), (40, "U/L")))
    assert p.comorbidities.alt_x_uln is None
    assert "differs from reference range unit" in reasons(report, "Observation/e")
