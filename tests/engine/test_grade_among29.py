"""The WHO grade of a lung/thymus carcinoid of < 2 mitoses/2 mm² whose necrosis is not recorded (no grade or
subtype recorded) is unknown, known to be G1 or G2 (session 29): without necrosis a typical carcinoid (G1),
with it an atypical one (G2). It was derived as a known G1 ("WHO grade G1 derived (1 mitoses/2 mm² -> G1
..."), shown to clinicians in the setting's reasons. Now ``in [G1, G2]`` is true, ``eq G3`` false, ``eq G1``
unknown naming the fields that would settle it; the tumor is still well-differentiated, the lung/thymus
table still applies, and a poorly differentiated record is still a conflict to check.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.facts import build_facts
from netcds.grading import THORACIC_GRADE_FIELDS, grade_words, possible_grades
from netcds.logic.ast import parse_condition
from netcds.logic.evaluate import evaluate, settle
from netcds.patient import Patient
from tests.conftest import run
from tests.engine.test_among29 import lung

AMONG_FIELDS = ["tumor.grade", "tumor.lung_subtype", "tumor.necrosis"]


def facts(rec: dict[str, Any]) -> Any:
    return build_facts(Patient.model_validate(rec))


def record(site: str = "lung", **tumor: Any) -> dict[str, Any]:
    rec = lung()
    rec["tumor"] |= {"primary_site": site, **tumor}
    rec["tumor"] = {k: v for k, v in rec["tumor"].items() if v is not None}
    return rec


@pytest.mark.parametrize("site", ["lung", "thymus"])
@pytest.mark.parametrize("mitoses", [0, 0.5, 1, 1.9])
def test_grade_is_unknown_among_g1_and_g2(site: str, mitoses: float) -> None:
    f = facts(record(site, mitoses_per_2mm2=mitoses))
    d = f.derived["derived.grade"]
    assert (d.value, d.among) == (None, ("G1", "G2"))
    assert list(d.missing) == AMONG_FIELDS  # never the recorded mitotic count
    assert set(d.missing) <= set(THORACIC_GRADE_FIELDS) | {"tumor.necrosis"}
    assert set(f.derived["derived.lung_subtype"].missing) <= set(d.missing)  # what settles both
    assert "WHO grade G1" not in d.why and "-> G1" not in d.why
    assert "low or intermediate grade either way" in d.why and "necrosis not recorded" in d.why
    assert (possible_grades(d), grade_words(d)) == (("G1", "G2"), "G1 or G2")
    assert f.unknown_among()["derived.grade"] == ("G1", "G2")


@pytest.mark.parametrize(
    ("cond", "value"),
    [
        ({"fact": "derived.grade", "in": ["G1", "G2"]}, True),
        ({"fact": "derived.grade", "eq": "G3"}, False),
        ({"fact": "derived.grade", "ne": "G3"}, True),
        ({"fact": "derived.grade", "eq": "G1"}, None),
        ({"fact": "derived.grade", "eq": "G2"}, None),
        ({"any": [{"fact": "derived.grade", "eq": "G1"}, {"fact": "derived.grade", "eq": "G2"}]}, True),
    ],
)
def test_conditions_over_the_grade(cond: dict[str, Any], value: bool | None) -> None:
    f = facts(lung())
    c = parse_condition(cond)
    out = evaluate(c, f)
    assert out.value is value
    assert settle(c, f) == (value, out.missing)
    assert out.missing == ([] if value is not None else AMONG_FIELDS)


def test_table_applies_and_the_reasons_no_longer_claim_g1() -> None:
    """tests/engine/test_among29.py's example: the lung/thymus table applies; its grade reason says G1 or G2."""
    ev = run(lung())
    assert (ev.setting.table, ev.setting.status, ev.setting.missing) == ("lung_thymus", "applies", [])
    said = " ".join(ev.setting.reasons)
    assert "WHO grade G1 derived" not in said and "-> G1" not in said
    assert "low or intermediate grade: yes" in said and "low or intermediate grade either way" in said
    grade = next(d for d in ev.derived_facts if d.name == "derived.grade")
    assert grade.value is None and "G1 (typical carcinoid) without necrosis, G2" in grade.why


def test_differentiation_is_still_well_either_way() -> None:
    f = facts(record(differentiation=None))
    d = f.derived["derived.differentiation"]
    assert d.value == "well" and "G1 or G2" in d.why and "either way" in d.why
    assert run(record(differentiation=None)).setting.table == "lung_thymus"


@pytest.mark.parametrize(("necrosis", "grade"), [(False, "G1"), (True, "G2")])
def test_recorded_necrosis_grades_as_before(necrosis: bool, grade: str) -> None:
    f = facts(record(necrosis=necrosis))
    assert f.get("derived.grade") == grade and "derived.grade" not in f.unknown_among()
    assert f.derived["derived.grade"].among == ()
    assert f.get("derived.differentiation") == "well"


def test_recorded_grade_or_subtype_decides() -> None:
    assert facts(record(grade="G2")).get("derived.grade") == "G2"
    assert facts(record(lung_subtype="typical_carcinoid")).get("derived.grade") == "G1"
    assert facts(record(mitoses_per_2mm2=5)).get("derived.grade") == "G2"


def test_a_digestive_primary_is_not_affected() -> None:
    rec = record("ileum", mitoses_per_2mm2=1)
    rec["tumor"]["ki67_percent"] = 1
    d = facts(rec).derived["derived.grade"]
    assert (d.value, d.among) == ("G1", ())


@pytest.mark.parametrize(("ki67", "flagged"), [(None, False), (5, False), (20, False), (40, True)])
def test_ki67_checked_against_both_possible_grades(ki67: float | None, flagged: bool) -> None:
    """Ki-67 tells a carcinoid from a high-grade tumor, not typical from atypical: one above the carcinoid
    range disagrees with G1 and G2 alike (pointed out, the grade still unknown among them), else neither."""
    d = facts(record(ki67_percent=ki67)).derived["derived.grade"]
    assert (d.value, d.among) == (None, ("G1", "G2"))
    assert ("check the record" in d.why) is flagged
    if flagged:
        assert "Ki-67 40% is high for a carcinoid, typical or atypical" in d.why
    elif ki67 is not None:
        assert f"Ki-67 {ki67:g}% does not grade a lung/thymus carcinoid" in d.why


@pytest.mark.parametrize("necrosis", [None, False, True])
def test_poorly_differentiated_is_a_conflict_to_check_as_for_g1_or_g2(necrosis: bool | None) -> None:
    """A poorly differentiated record with < 2 mitoses: G1 or G2 whatever the necrosis, so the "check the
    record" remark is made (and shown where the decision is) with the necrosis unrecorded too."""
    rec = record(differentiation="poor", necrosis=necrosis)
    f = facts(rec)
    why = f.why("derived.differentiation")
    assert f.get("derived.differentiation") == "poor" and "(check the record:" in why
    shown = "G1 or G2" if necrosis is None else ("G2" if necrosis else "G1")
    assert f"the grade derived from the record is {shown}," in why
    ev = run(rec)
    assert ev.setting.status == "not_applicable"
    assert any("(check the record:" in r and "[derived.differentiation]" in r for r in ev.setting.reasons)
