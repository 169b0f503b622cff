"""A compound condition is decided by trying each value an unknown fact lies among (session 29).

A lung carcinoid of < 2 mitoses/2 mm² whose necrosis is not recorded is typical or atypical (Derived.among).
An ``all`` / ``any`` over it that comes out the same, known, for each of the two is decided, waits for
nothing and says why ("either way", then what decided each trial under an "if"), never that the subtype is
one of them; one that differs stays unknown and waits for the necrosis. ``settle`` agrees with
``evaluate``, and a decided value is the one every completed record (necrosis recorded either way) gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcds.facts import Derived, Facts, build_facts
from netcds.knowledge.load import load_knowledge
from netcds.logic.ast import All, AnyOf, Condition, Not, parse_condition
from netcds.logic.evaluate import Finding, evaluate, settle
from netcds.patient import Patient
from tests.conftest import opt, run

TYPICAL = {"fact": "derived.lung_subtype", "eq": "typical_carcinoid"}
ATYPICAL = {"fact": "derived.lung_subtype", "eq": "atypical_carcinoid"}
BURDEN = {"fact": "derived.burden_significant", "is": True}
SUBTYPE_FIELDS = ["tumor.lung_subtype", "tumor.necrosis"]
FOOTNOTE_I = ("lung.carboplatin_etoposide", "lung.cisplatin_etoposide", "lung.temozolomide_pm_capecitabine")


def lung(**disease: Any) -> dict[str, Any]:
    """A distant metastatic lung carcinoid, 1 mitosis/2 mm², necrosis not recorded, stable, no symptoms."""
    d = {
        "extent": "distant_metastatic",
        "tumor_burden": "clinically_significant",
        "status": "stable",
        "tumor_symptoms": False,
    } | disease
    tumor = {
        "primary_site": "lung",
        "differentiation": "well",
        "mitoses_per_2mm2": 1,
        "functional": False,
        "hormonal_symptoms": False,
        "sstr_status": "positive",
        "proliferation_high_end": True,
    }
    return {"tumor": tumor, "disease": {k: v for k, v in d.items() if v is not None}, "treatments": []}


def facts(rec: dict[str, Any]) -> Facts:
    return build_facts(Patient.model_validate(rec))


def texts(found: list[Finding]) -> str:
    return " | ".join(f.text for f in found)


def test_significant_burden_applies_either_way() -> None:
    """The review's case: significant burden, no progression, no symptoms: the row holds whether the tumor is
    typical (burden with a typical carcinoid) or atypical, so the table applies and no option waits for the
    necrosis but footnote i's (atypical and proliferation toward the top of the range)."""
    ev = run(lung())
    assert (ev.setting.table, ev.setting.status, ev.setting.missing) == ("lung_thymus", "applies", [])
    for o in ev.options:
        if o.entry_id in FOOTNOTE_I:
            assert o.status == "needs_data" and "tumor.necrosis" in o.missing
        else:
            assert "tumor.necrosis" not in o.missing and "tumor.lung_subtype" not in o.missing
    assert opt(ev, "lung.everolimus").status == "eligible"
    assert opt(ev, "lung.cabozantinib").status == "eligible"
    said = " ".join(ev.setting.reasons)
    assert "typical or atypical carcinoid either way" in said
    assert "if carcinoid subtype is typical carcinoid: yes (clinically significant tumor burden: yes" in said
    assert "if carcinoid subtype is atypical carcinoid: yes" in said
    # never a finding that the subtype is one of them
    assert "typical carcinoid (low grade): yes" not in said
    assert "atypical carcinoid (intermediate grade): yes" not in said


def test_footnote_i_not_met_without_high_proliferation() -> None:
    rec = lung()
    rec["tumor"]["proliferation_high_end"] = False
    ev = run(rec)
    assert ev.setting.status == "applies"
    for entry in FOOTNOTE_I:
        assert opt(ev, entry).status == "not_eligible"


def test_burden_unknown_still_waits_for_both() -> None:
    """Burden not recorded: a typical carcinoid needs it, an atypical one does not: the row waits for the
    burden and for what tells the two apart."""
    ev = run(lung(tumor_burden=None))
    assert ev.setting.status == "needs_data"
    assert {"disease.tumor_burden", "tumor.necrosis"} <= set(ev.setting.missing)


def test_mild_burden_waits_for_necrosis_and_outside_row_stays_unknown() -> None:
    """Mild burden, stable, no symptoms: inside the row if atypical, outside it (exclusion
    lung_thymus_outside_row) if typical: both stay unknown and wait for the necrosis."""
    rec = lung(tumor_burden="mild")
    f = facts(rec)
    ev = run(rec)
    assert ev.setting.status == "needs_data" and "tumor.necrosis" in ev.setting.missing
    outside = next(e for e in load_knowledge().exclusions if e.id == "lung_thymus_outside_row")
    out = evaluate(outside.when, f)
    assert out.value is None and "tumor.necrosis" in out.missing
    assert settle(outside.when, f) == (None, out.missing)
    # significant burden: outside the row is false whatever the subtype (its burden item decides)
    assert settle(outside.when, facts(lung()))[0] is False


@pytest.mark.parametrize(
    ("cond", "value"),
    [
        ({"any": [TYPICAL, ATYPICAL]}, True),
        ({"all": [TYPICAL, ATYPICAL]}, False),
        ({"not": {"any": [TYPICAL, ATYPICAL]}}, False),
        ({"any": [{"all": [BURDEN, TYPICAL]}, ATYPICAL]}, True),
        ({"all": [BURDEN, TYPICAL]}, None),  # true if typical, false if atypical
        ({"any": [{"all": [{"not": BURDEN}, TYPICAL]}, ATYPICAL]}, None),
    ],
)
def test_compound_over_the_subtype(cond: dict[str, Any], value: bool | None) -> None:
    f = facts(lung())
    c = parse_condition(cond)
    out = evaluate(c, f)
    assert out.value is value
    assert settle(c, f) == (value, out.missing)
    if value is None:
        assert out.missing == SUBTYPE_FIELDS
    else:
        assert out.missing == []
        assert "either way" in texts(out.findings())
        assert "carcinoid subtype is one of typical carcinoid, atypical carcinoid: yes" in texts(
            out.findings()
        )


def test_recorded_necrosis_needs_no_trial() -> None:
    """With the necrosis recorded the subtype is known: nothing is tried, nothing said "either way"."""
    rec = lung()
    rec["tumor"]["necrosis"] = False
    f = facts(rec)
    assert f.unknown_among() == {}
    out = evaluate(parse_condition({"any": [{"all": [BURDEN, TYPICAL]}, ATYPICAL]}), f)
    assert out.value is True and "either way" not in texts(out.findings())


def test_every_combination_of_several_among_facts_is_tried() -> None:
    """Two facts known to lie among values (a second made up here): a node is decided only when every
    combination gives the same value."""
    base = facts(lung())
    gut = Derived(None, "made up: midgut or hindgut", ("tumor.colon_segment",), ("midgut", "hindgut"))
    f = Facts(base.patient, {**base.values, "derived.gut": None}, {**base.derived, "derived.gut": gut})
    mid, hind = ({"fact": "derived.gut", "eq": g} for g in ("midgut", "hindgut"))
    decided = parse_condition({"any": [{"all": [mid, {"any": [TYPICAL, ATYPICAL]}]}, hind]})
    assert settle(decided, f) == (True, [])
    out = evaluate(decided, f)
    assert out.value is True
    said = texts(out.findings())
    for gut_value in ("midgut", "hindgut"):
        for subtype in ("typical carcinoid", "atypical carcinoid"):
            assert (
                f"if carcinoid subtype is {subtype} and embryologic gut of origin is {gut_value}: yes" in said
            )
    open_ = parse_condition({"any": [{"all": [mid, TYPICAL]}, hind]})
    assert settle(open_, f) == (None, ["tumor.colon_segment", *SUBTYPE_FIELDS])
    assert evaluate(open_, f).missing == ["tumor.colon_segment", *SUBTYPE_FIELDS]


# -- properties: settle == evaluate, and a decided value is the completed records' value ----------------

LEAVES: list[dict[str, Any]] = [
    TYPICAL,
    ATYPICAL,
    {"fact": "derived.lung_subtype", "in": ["typical_carcinoid", "atypical_carcinoid"]},
    {"fact": "derived.lung_subtype", "ne": "typical_carcinoid"},
    BURDEN,
    {"fact": "derived.progressive", "is": True},
    {"fact": "derived.symptomatic", "is": True},
    {"fact": "tumor.proliferation_high_end", "is": True},
    {"fact": "derived.grade", "in": ["G1", "G2"]},
]


def conditions() -> st.SearchStrategy[Condition]:
    leaf = st.sampled_from([parse_condition(x) for x in LEAVES])
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, min_size=1, max_size=4).map(lambda xs: All(tuple(xs))),
            st.lists(kids, min_size=1, max_size=4).map(lambda xs: AnyOf(tuple(xs), "worded")),
            kids.map(Not),
        ),
        max_leaves=10,
    )


def records() -> st.SearchStrategy[dict[str, Any]]:
    maybe_bool = st.sampled_from([None, True, False])
    return st.builds(
        lambda burden, status, symptoms, high: _set_high(lung(tumor_burden=burden, status=status,
                                                               tumor_symptoms=symptoms), high),
        st.sampled_from([None, "mild", "clinically_significant"]),
        st.sampled_from([None, "stable", "progressive"]),
        maybe_bool,
        maybe_bool,
    )  # fmt: skip


def _set_high(rec: dict[str, Any], high: bool | None) -> dict[str, Any]:
    if high is None:
        rec["tumor"].pop("proliferation_high_end")
    else:
        rec["tumor"]["proliferation_high_end"] = high
    return rec


def _claims_subtype(found: list[Finding]) -> bool:
    for f in found:
        if f.fact == "derived.lung_subtype" and f.value is not None and f.raw is not None:
            return True
        if f.children and _claims_subtype(f.children):
            return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions(), records())
def test_settle_equals_evaluate_and_decisions_are_sound(c: Condition, rec: dict[str, Any]) -> None:
    f = facts(rec)
    assert f.unknown_among() == {  # the grade too: G1 or G2 (session 29, tests/engine/test_grade_among29.py)
        "derived.grade": ("G1", "G2"),
        "derived.lung_subtype": ("typical_carcinoid", "atypical_carcinoid"),
    }
    out = evaluate(c, f)
    assert settle(c, f) == (out.value, out.missing)
    assert not _claims_subtype(out.findings())
    if out.value is not None:  # the value each completed record gives (necrosis recorded either way)
        for necrosis in (False, True):
            done = {**rec, "tumor": {**rec["tumor"], "necrosis": necrosis}}
            assert settle(c, facts(done))[0] is out.value
    else:  # no trial decides it: some completed records differ, or one is unknown
        outcomes = {
            settle(c, facts({**rec, "tumor": {**rec["tumor"], "necrosis": n}}))[0] for n in (False, True)
        }
        assert len(outcomes) > 1 or None in outcomes
