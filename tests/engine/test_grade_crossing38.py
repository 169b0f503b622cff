"""A recorded grade that its own measures put on the other side of the G1/2 | G3 line (session 38).

By the WHO rule the higher of the Ki-67 and the mitotic count decides the grade of a digestive NET. A
record saying G2 beside a Ki-67 of 30 % (or G3 beside a Ki-67 and a mitotic count both at G2) disagrees
with itself in a way that selects a different table (G1/2 or WD G3). The grade is then unknown, naming
the recorded grade and the measures that disagree, so both settings are shown and neither table is
chosen silently. A disagreement inside G1/2 (the same table), a G3 beside a single lower measure (the
other may be the one at G3) and every lung/thymus primary keep the recorded grade with a remark.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.facts import build_facts
from netcds.patient import Patient
from tests.conftest import gi, lung, run


def _tumor(**tumor: Any) -> dict[str, Any]:
    base = {"grade": None, "ki67_percent": None, "mitoses_per_2mm2": None, "differentiation": "well"}
    return {**base, **tumor}


@pytest.mark.parametrize(
    ("tumor", "missing", "said"),
    [
        (_tumor(grade="G2", ki67_percent=30), ("tumor.grade", "tumor.ki67_percent"), "Ki-67 30% is G3"),
        (_tumor(grade="G1", ki67_percent=20.5), ("tumor.grade", "tumor.ki67_percent"), "Ki-67 20.5% is G3"),
        (
            _tumor(grade="G2", ki67_percent=10, mitoses_per_2mm2=21),
            ("tumor.grade", "tumor.mitoses_per_2mm2"),
            "21 mitoses/2 mm² is G3",
        ),
        (
            _tumor(grade="G1", ki67_percent=25, mitoses_per_2mm2=30),
            ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"),
            "Ki-67 25% is G3 and 30 mitoses/2 mm² is G3",
        ),
        (
            _tumor(grade="G3", ki67_percent=15, mitoses_per_2mm2=5),
            ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"),
            "Ki-67 15% is G2 and 5 mitoses/2 mm² is G2",
        ),
    ],
)
def test_a_recorded_grade_across_the_line_is_unknown_and_says_why(
    tumor: dict[str, Any], missing: tuple[str, ...], said: str
) -> None:
    facts = build_facts(Patient.model_validate(gi(tumor=tumor)))
    assert facts.get("derived.grade") is None
    assert facts.missing_for("derived.grade") == missing
    why = facts.why("derived.grade")
    assert said in why and "check the record" in why and f"grade {tumor['grade']} as recorded" in why


@pytest.mark.parametrize(
    "tumor",
    [
        _tumor(grade="G2", ki67_percent=20),  # G2's upper bound: not across
        _tumor(grade="G1", ki67_percent=15),  # G1 against G2: the same table, a remark only
        _tumor(grade="G3", ki67_percent=8),  # the unrecorded mitotic count may be the one at G3
        _tumor(grade="G3", mitoses_per_2mm2=4),
        _tumor(grade="G3", ki67_percent=8, mitoses_per_2mm2=25),  # the higher decides: G3 agrees
        _tumor(grade="G2", ki67_percent=None, mitoses_per_2mm2=None),
    ],
)
def test_a_recorded_grade_on_the_same_side_decides(tumor: dict[str, Any]) -> None:
    facts = build_facts(Patient.model_validate(gi(tumor=tumor)))
    assert facts.get("derived.grade") == tumor["grade"]


def test_a_lung_primary_keeps_its_recorded_grade() -> None:
    """The thoracic criteria grade by mitoses and necrosis (thoracic cut-points); Ki-67 never grades a
    lung/thymus carcinoid, so a high one beside a recorded G2 is a remark, not an unknown grade."""
    record = gi(tumor={**_tumor(grade="G2", ki67_percent=40), "primary_site": "lung"})
    facts = build_facts(Patient.model_validate(record))
    assert facts.get("derived.grade") == "G2"
    assert "check the record" in facts.why("derived.grade")


def test_both_tables_are_shown_and_the_grade_is_asked_for() -> None:
    """G2 recorded with Ki-67 30 % on an ileal NET: not the G1/2 table silently. The setting waits for the
    grade, both the GI G1/2 and the WD G3 tables are possible, and every option names the fields."""
    ev = run(gi(tumor=_tumor(grade="G2", ki67_percent=30)))
    assert ev.setting.status == "needs_data"
    assert {"tumor.grade", "tumor.ki67_percent"} <= set(ev.setting.missing)
    tables = {s.table for s in ev.possible_settings}
    assert {"gi_wd_g12", "wd_g3"} <= tables, tables
    assert not ev.options  # no table confirmed: each possible setting lists its own, none eligible
    for possible in ev.possible_settings:
        assert possible.options and all(o.status != "eligible" for o in possible.options)
        assert {"tumor.grade", "tumor.ki67_percent"} <= set(possible.missing)
    shown = {d.name: d.why for d in ev.derived_facts}
    assert "across the G1/2 and G3 tables" in shown["derived.grade"]
    # the same record with the grade's own side of the line: the G1/2 table applies
    settled = run(gi(tumor=_tumor(grade="G2", ki67_percent=12)))
    assert (settled.setting.table, settled.setting.status) == ("gi_wd_g12", "applies")


# lung/thymus: a recorded subtype or grade that the recorded mitoses and necrosis contradict (QA, HIGH)
_LUNG_MILD_STABLE = {"extent": "distant_metastatic", "tumor_burden": "mild", "tumor_symptoms": False}


def _lung(**tumor: Any) -> dict[str, Any]:
    base = {"lung_subtype": None, "grade": None, "differentiation": None, "mitoses_per_2mm2": None}
    return lung(tumor={**base, **tumor}, disease={**_LUNG_MILD_STABLE, "status": "stable"})


@pytest.mark.parametrize(
    ("tumor", "among", "missing"),
    [
        # typical recorded (or read from G1) with an atypical's morphology: a carcinoid either way
        (
            {"grade": "G1", "mitoses_per_2mm2": 3, "necrosis": False},
            ("typical_carcinoid", "atypical_carcinoid"),
            ("tumor.grade", "tumor.mitoses_per_2mm2", "tumor.necrosis"),
        ),
        (
            {"lung_subtype": "typical_carcinoid", "necrosis": True},
            ("typical_carcinoid", "atypical_carcinoid"),
            ("tumor.lung_subtype", "tumor.necrosis"),
        ),
        (
            {"lung_subtype": "atypical_carcinoid", "mitoses_per_2mm2": 1, "necrosis": False},
            ("typical_carcinoid", "atypical_carcinoid"),
            ("tumor.lung_subtype", "tumor.mitoses_per_2mm2", "tumor.necrosis"),
        ),
        # a carcinoid recorded beside more than 10 mitoses: beyond the carcinoid range, not a carcinoid
        (
            {"lung_subtype": "atypical_carcinoid", "mitoses_per_2mm2": 12},
            (),
            ("tumor.lung_subtype", "tumor.mitoses_per_2mm2"),
        ),
    ],
)
def test_a_contradicted_lung_subtype_is_unknown(
    tumor: dict[str, Any], among: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    record = _lung(**tumor)
    facts = build_facts(Patient.model_validate(record))
    assert facts.get("derived.lung_subtype") is None
    assert facts.among("derived.lung_subtype") == among
    assert facts.missing_for("derived.lung_subtype") == missing
    assert facts.get("derived.grade") is None
    assert "check the record" in facts.why("derived.lung_subtype")
    ev = run(record)  # never settled silently: "outside the row" (typical) or "applies" (atypical) before
    assert ev.setting.status == "needs_data"
    assert set(missing) <= set(ev.setting.missing) | {m for s in ev.possible_settings for m in s.missing}
    if not among:  # beyond the carcinoid range: not read as well-differentiated from the subtype
        assert facts.get("derived.differentiation") is None


def test_g3_recorded_beside_a_carcinoid_count_is_unknown() -> None:
    facts = build_facts(Patient.model_validate(_lung(grade="G3", mitoses_per_2mm2=5)))
    assert facts.get("derived.grade") is None
    assert facts.missing_for("derived.grade") == ("tumor.grade", "tumor.mitoses_per_2mm2")


@pytest.mark.parametrize(
    "tumor",
    [
        {"grade": "G2", "mitoses_per_2mm2": 1},  # necrosis unrecorded: atypical by necrosis is possible
        {"lung_subtype": "typical_carcinoid", "mitoses_per_2mm2": 1, "necrosis": False},
        {"lung_subtype": "atypical_carcinoid", "mitoses_per_2mm2": 10},
        {"grade": "G3", "mitoses_per_2mm2": 11},
        {"grade": "G3", "necrosis": True},  # necrosis alone does not make a carcinoid of a G3
    ],
)
def test_a_lung_record_that_agrees_with_itself_decides(tumor: dict[str, Any]) -> None:
    facts = build_facts(Patient.model_validate(_lung(**tumor)))
    assert facts.get("derived.grade") is not None
