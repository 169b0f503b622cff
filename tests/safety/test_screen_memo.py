"""The shared memo of agent screens (keyed on each rule's result) gives exactly what screening afresh gives.

Patients are drawn from small domains that sit on both sides of the monographs' thresholds (ages, weights,
labs, dates around ``as_of``, interacting and unknown medications), so many share a memo entry and any
fact the signature missed would surface as a difference.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcds.memo import BoundedMemo
from netcds.patient import AGENT_IDS, Patient
from netcds.safety import AgentKnowledge, screen_agent
from netcds.safety.conditions import parse_safety_condition
from netcds.safety.judgement import judge, judge_shared
from netcds.safety.rule_inputs import readers, rule_inputs
from netcds.safety.screen import ScreenSession, _context, screen_regimen

from .conftest import AS_OF, CLEAR, merge

BOOL = st.sampled_from([True, False, None])
DATES = st.sampled_from([None, "2025-02-01", "2025-02-28", "2025-03-01", "2025-03-08", "2025-03-15",
                         "2025-03-29", "2025-04-30"])  # fmt: skip
MEDS = ["clarithromycin", "rifampin", "ketoconazole", "diltiazem", "verapamil", "carbamazepine", "St. John's wort",
        "grapefruit juice", "metformin", "Biaxin", "xyzzy-unknown", "warfarin", "amiodarone"]  # fmt: skip


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


@st.composite
def safety_patients(draw: st.DrawFn) -> dict[str, Any]:
    com = {
        "hypertension": draw(maybe(st.sampled_from(["none", "controlled", "uncontrolled"]))),
        "hepatic_impairment": draw(maybe(st.sampled_from(["none", "mild", "moderate", "severe"]))),
        "creatinine_clearance_ml_min": draw(
            maybe(st.sampled_from([10.0, 29.0, 30.0, 35.0, 50.0, 60.0, 95.0]))
        ),
        "platelets_per_ul": draw(
            maybe(st.sampled_from([40_000.0, 60_000.0, 75_000.0, 100_000.0, 250_000.0]))
        ),
        "neutrophils_per_ul": draw(maybe(st.sampled_from([500.0, 1000.0, 1500.0, 4000.0]))),
        "hemoglobin_g_dl": draw(maybe(st.sampled_from([7.9, 8.0, 10.0, 13.0]))),
        "alt_x_uln": draw(maybe(st.sampled_from([1.0, 2.5, 3.0, 4.0, 5.1, 8.0]))),
        "bilirubin_x_uln": draw(maybe(st.sampled_from([0.8, 1.5, 2.0, 3.1]))),
        "lvef_percent": draw(maybe(st.sampled_from([30.0, 45.0, 50.0, 60.0]))),
        "planned_surgery_date": draw(DATES),
        "planned_dental_procedure_date": draw(DATES),
        "recent_major_surgery_date": draw(DATES),
    }
    for flag in ("recent_hemorrhage", "gi_perforation_or_fistula_history", "recent_arterial_thromboembolism",
                 "proteinuria", "diabetes", "interstitial_lung_disease", "heart_failure", "qt_prolongation",
                 "wound_healed"):  # fmt: skip
        com[flag] = draw(BOOL)
    # "none recorded" flags, drawn only where they cannot contradict the drawn date (AS_OF: 2025-03-01)
    for flag, when in (("surgery_planned", "planned_surgery_date"),
                       ("dental_procedure_planned", "planned_dental_procedure_date")):  # fmt: skip
        com[flag] = draw(BOOL) if com[when] is None else draw(st.sampled_from([True, None]))
    com["recent_major_surgery"] = draw(BOOL) if com["recent_major_surgery_date"] is None else None
    over: dict[str, Any] = {
        "age_years": draw(maybe(st.sampled_from([10.0, 13.0, 17.0, 18.0, 40.0, 41.0, 70.0, 85.0]))),
        "weight_kg": draw(maybe(st.sampled_from([30.0, 35.0, 39.9, 40.0, 70.0, 71.5]))),
        "pregnant": draw(BOOL),
        "breastfeeding": draw(BOOL),
        "as_of": draw(st.sampled_from([AS_OF, None])),
        "medications": draw(maybe(st.lists(st.sampled_from(MEDS), max_size=3))),
        "comorbidities": com,
    }
    if draw(st.booleans()):
        over["disease"] = {"extent": "distant_metastatic", "liver_metastases": draw(BOOL)}
    return merge(CLEAR, over)


def _fresh(kb: AgentKnowledge) -> AgentKnowledge:
    return dataclasses.replace(kb, screens=BoundedMemo(0), judgements=BoundedMemo(0))


_SHARED: list[AgentKnowledge] = []


def _shared(kb: AgentKnowledge) -> AgentKnowledge:
    """One set of memos (screens and rule judgements) across every example the test draws."""
    if not _SHARED or _SHARED[0].digest != kb.digest:
        _SHARED[:] = [dataclasses.replace(kb, screens=BoundedMemo(100_000), judgements=BoundedMemo(100_000))]
    return _SHARED[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(safety_patients(), min_size=2, max_size=4))
def test_memoized_screens_equal_fresh_screens(akb: AgentKnowledge, records: list[dict[str, Any]]) -> None:
    shared = _shared(akb)
    fresh = _fresh(akb)
    for rec in records:
        patient = Patient.model_validate(rec)
        for agent in sorted(set(AGENT_IDS) & set(akb.agents)):
            got = screen_agent(agent, patient, shared).model_dump()
            assert got == screen_agent(agent, patient, fresh).model_dump(), agent
        session = ScreenSession(patient, shared)
        for regimen in ("cabozantinib", "capecitabine_temozolomide", "ssa_above_label", "lu177_dotatate"):
            got = screen_regimen(regimen, patient, shared, session).model_dump()
            assert got == screen_regimen(regimen, patient, fresh).model_dump(), regimen


def test_patients_whose_rules_agree_share_one_entry(akb: AgentKnowledge) -> None:
    shared = dataclasses.replace(akb, screens=BoundedMemo(100), judgements=BoundedMemo(0))
    first = screen_agent("cabozantinib", Patient.model_validate(merge(CLEAR, {"age_years": 40.0})), shared)
    second = screen_agent("cabozantinib", Patient.model_validate(merge(CLEAR, {"age_years": 41.0})), shared)
    assert shared.screens.hits == 1 and len(shared.screens) == 1
    assert first == second


def test_a_decisive_fact_in_other_words_is_not_shared(akb: AgentKnowledge) -> None:
    """Same truth values, different decisive facts (which medication triggered the rule): two entries.
    (Fresh judgements too: a judgement kept from an earlier test carries its screen, read before the memo.)"""
    shared = dataclasses.replace(akb, screens=BoundedMemo(100), judgements=BoundedMemo(100))
    a = screen_agent("cabozantinib", Patient.model_validate(merge(CLEAR, {"medications": ["clarithromycin"]})),
                     shared)  # fmt: skip
    b = screen_agent("cabozantinib", Patient.model_validate(merge(CLEAR, {"medications": ["ketoconazole"]})),
                     shared)  # fmt: skip
    assert len(shared.screens) == 2
    assert any("clarithromycin" in i.finding for i in a.safety)
    assert not any("clarithromycin" in i.finding for i in b.safety)
    assert any("ketoconazole" in i.finding for i in b.safety)


def test_memo_is_bounded() -> None:
    memo: BoundedMemo[int] = BoundedMemo(2)
    for k in range(5):
        memo.put(k, k)
    assert len(memo) == 2 and memo.get(0) is None and memo.get(4) == 4
    off: BoundedMemo[int] = BoundedMemo(0)
    off.put(1, 1)
    assert off.get(1) is None


def _with_first_warning(akb: AgentKnowledge, agent: str, when: dict[str, Any]) -> Any:
    mono = akb.monograph(agent)
    first = mono.warnings[0].model_copy(update={"when": parse_safety_condition(when)})
    return mono.model_copy(update={"warnings": [first, *mono.warnings[1:]]})


def test_a_false_fact_under_not_keeps_its_value_in_the_shared_judgement(akb: AgentKnowledge) -> None:
    """A false comparison is shared by its truth alone, unless a `not` turns it into a reason that is shown:
    then two patients with different values must not share the judgement."""
    lvef = "comorbidities.lvef_percent"  # read by no cabozantinib rule
    plain = _with_first_warning(akb, "cabozantinib", {"fact": lvef, "lt": 50})
    negated = _with_first_warning(akb, "cabozantinib", {"not": {"fact": lvef, "lt": 50}})
    ctx60, ctx61 = (
        _context(Patient.model_validate(merge(CLEAR, {"comorbidities": {"lvef_percent": v}})), akb)
        for v in (60.0, 61.0)
    )
    assert rule_inputs(readers(plain), ctx60) == rule_inputs(readers(plain), ctx61)
    assert rule_inputs(readers(negated), ctx60) != rule_inputs(readers(negated), ctx61)
    shared = dataclasses.replace(akb, judgements=BoundedMemo(100))
    for ctx in (ctx60, ctx61):
        got, want = judge_shared(negated, ctx, shared)[0][0], judge(negated, ctx)[0][0]
        assert got.value is True and [h.text for h in got.hits] == [h.text for h in want.hits]
    assert [h.text for h in judge_shared(negated, ctx61, shared)[0][0].hits] == ["LVEF (%) = 61"]


def test_a_shared_judgement_carries_its_screen(akb: AgentKnowledge) -> None:
    """A patient whose rule inputs agree with an earlier one's reads the agent's screen from the shared
    judgement (no screen-memo lookup); a per-kg dose is not kept there (the weight sets it): the memo is
    read for it."""
    shared = dataclasses.replace(akb, screens=BoundedMemo(100), judgements=BoundedMemo(100))
    first, second = (
        screen_agent("cabozantinib", Patient.model_validate(merge(CLEAR, {"id": pid})), shared)
        for pid in ("first", "second")
    )
    assert (shared.judgements.hits, shared.screens.hits, shared.screens.misses) == (1, 0, 1)
    assert first == second
    heavy = Patient.model_validate(merge(CLEAR, {"weight_kg": 71.5}))
    once, again = (screen_agent("pembrolizumab", heavy, shared) for _ in range(2))
    assert (shared.judgements.hits, shared.screens.hits, shared.screens.misses) == (2, 1, 2)
    assert once == again
