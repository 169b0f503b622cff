"""Clinical invariants over thousands of generated patients (hypothesis; fixed CI profile)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcds import Evaluation, Patient, evaluate, load_knowledge
from netcds.facts import build_facts
from netcds.knowledge.schema import TIER_ORDER
from netcds.logic import evaluate as cond
from tests.strategies import FILLABLE, fill_values, patients

KB = load_knowledge()
ENTRIES = {e.id: e for t in KB.tables for c in t.columns for e in c.entries}
PROFILE = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FILL_PROFILE = settings(PROFILE, max_examples=300)  # each example evaluates several filled records


def run(record: dict[str, Any]) -> tuple[Patient, Evaluation]:
    p = Patient.model_validate(record)
    return p, evaluate(p, KB)


@PROFILE
@given(patients())
def test_evaluation_is_total_valid_sourced_and_deterministic(record):
    p, ev = run(record)
    assert Evaluation.model_validate_json(ev.model_dump_json()) == ev
    assert ev.model_dump_json() == evaluate(p, KB).model_dump_json()
    for o in ev.options:
        assert o.source.document and o.source.page and o.source.table
        assert all(f.source.footnote == f.letter for f in o.footnote_details)
    for n in ev.notes:
        assert n.source.document and n.source.page


@PROFILE
@given(patients())
def test_options_are_exactly_the_applicable_column(record):
    _, ev = run(record)
    if ev.setting.table is None or (ev.setting.table == "wd_g3" and ev.setting.column is None):
        assert ev.options == []
        return
    table = KB.table(ev.setting.table)
    column = next(c for c in table.columns if c.id == ev.setting.column)
    assert sorted(o.entry_id for o in ev.options) == sorted(e.id for e in column.entries)
    tiers = [TIER_ORDER.index(o.tier) for o in ev.options]
    assert tiers == sorted(tiers)  # grouped by tier as the guideline gives them
    for tier in {o.tier for o in ev.options}:
        ranks = [o.discussion_rank for o in ev.options if o.tier == tier]
        ranked = [r for r in ranks if r is not None]
        # positions 1..n in list order; options of equal standing share the first of theirs
        assert ranks[: len(ranked)] == ranked and (not ranked or ranked[0] == 1)
        assert all(r == ranked[i - 1] or r == i + 1 for i, r in enumerate(ranked))
        for o in ev.options:
            assert (o.discussion_rank is None) == (o.status == "not_eligible")


@PROFILE
@given(patients())
def test_eligible_only_when_every_condition_is_true(record):
    p, ev = run(record)
    facts = build_facts(p)
    for o in ev.options:
        entry = ENTRIES[o.entry_id]
        value = True if entry.when is None else cond(entry.when, facts).value
        if o.status == "eligible":
            assert ev.setting.status == "applies" and value is True
        if value is False:
            assert o.status == "not_eligible"
        if value is None:
            assert o.status == "needs_data"


@PROFILE
@given(patients())
def test_needs_data_names_its_fields_and_only_then(record):
    _, ev = run(record)
    for o in ev.options:
        assert bool(o.missing) == (o.status == "needs_data")
        assert set(o.missing) <= set(ev.needs_data)
        assert set(o.category_missing) <= set(ev.needs_data)
    assert set(ev.setting.missing) <= set(ev.needs_data)


@PROFILE
@given(patients())
def test_category_1_only_where_a_data_rule_grants_it(record):
    p, ev = run(record)
    facts = build_facts(p)
    for o in ev.options:
        entry = ENTRIES[o.entry_id]
        granted = [r for r in entry.category_rules if cond(r.when, facts).value is True]
        expected = granted[0].category if granted else (entry.category or "2A")
        assert o.category == expected
        if o.category == "1":
            assert granted and o.category_basis[0].startswith("category 1")


@PROFILE
@given(patients())
def test_ssa_plan_follows_footnote_a(record):
    p, ev = run(record)
    facts = build_facts(p)
    plan = ev.ssa_plan.action
    if ev.setting.status == "not_applicable":
        assert plan == "not_applicable"
        return
    if ev.setting.table == "wd_g3":
        assert plan == "not_specified"
        return
    if ev.setting.table is None:
        return
    if ev.setting.status == "needs_data":  # the one possible table may not apply: a plan it gives waits
        assert plan in ("needs_data", "not_applicable")
        if plan == "needs_data":
            assert set(ev.setting.missing) <= set(ev.ssa_plan.missing)
        return
    # 5.2024-r5: the course footnote a speaks of is one the disease progressed on (ongoing while progressing)
    course = facts.get("derived.progressed_on_ssa")
    significant = p.disease.progression_clinically_significant
    functional = facts.get("derived.functional")
    if (
        course is False
        or significant is False
        or (significant is None and facts.get("derived.progressive") is False)
    ):
        assert plan == "not_applicable"
    elif significant is None or functional is None:
        assert plan == "needs_data" and ev.ssa_plan.missing
    elif course is None:  # unknown is not false: a course whose progression is not recorded
        assert plan == "needs_data"
        assert ev.ssa_plan.missing == list(facts.missing_for("derived.progressed_on_ssa"))
        assert p.treatments is not None or ev.ssa_plan.missing == ["treatments"]
    else:
        assert plan == ("continue" if functional else "discontinue")


def _set(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    head, tail = path.split(".")
    out[head][tail] = value
    return out


@FILL_PROFILE
@given(patients(), st.data())
def test_filling_an_unknown_never_overturns_a_definite_verdict(record, data):
    _, ev = run(record)
    unknown = [f for f in FILLABLE if record[f.split(".")[0]].get(f.split(".")[1]) in (None, "unknown")]
    if not unknown or ev.setting.status != "applies":
        return
    field = data.draw(st.sampled_from(unknown))
    for value in fill_values(record, field):
        _, after = run(_set(record, field, value))
        if (after.setting.table, after.setting.column) != (ev.setting.table, ev.setting.column):
            continue  # the fact moved the patient to another table: a different question
        before = {o.entry_id: (o.status, o.category) for o in ev.options}
        for o in after.options:
            if before[o.entry_id][0] != "needs_data":
                assert o.status == before[o.entry_id][0], (field, value, o.entry_id)
            if field not in ev.needs_data:  # needs_data is complete: an unlisted unknown changes nothing
                assert (o.status, o.category) == before[o.entry_id], (field, value, o.entry_id)


@PROFILE
@given(patients())
def test_footnote_a_at_the_ssa_options_agrees_with_the_ssa_plan(record):
    p, ev = run(record)
    plan = ev.ssa_plan.action
    for o in ev.options:
        stops = any(r.startswith("Not met: footnote a") for r in o.reasons)
        # 5.2024-r3: footnote a is a condition of the SSA entries; 5.2024-r7: of the above-label ones too
        if o.regimen in ("ssa", "ssa_above_label") and ev.setting.table != "wd_g3":
            if plan == "discontinue":
                assert o.status == "not_eligible" and stops
            elif plan in ("continue", "not_applicable"):
                assert not stops
            elif ev.setting.status == "needs_data":  # the plan waits for the setting, the entry need not
                pass
            else:  # needs_data: the entry is not eligible on an unknown, unless a functional tumor decides it
                assert not stops
                if o.status == "eligible":
                    assert build_facts(p).get("derived.functional") is True
        else:
            assert not stops
        assert not [q for q in o.qualifiers if q.footnote == "a"]  # a condition now, never a qualifier


@PROFILE
@given(patients())
def test_possible_settings_list_every_open_setting_whole_and_never_eligible(record):
    p, ev = run(record)
    if ev.possible_settings:
        assert ev.setting.status == "needs_data" and ev.options == [] and len(ev.possible_settings) > 1
    facts = build_facts(p)
    for ps in ev.possible_settings:
        column = next(c for c in KB.table(ps.table).columns if c.id == ps.column)
        assert [o.entry_id for o in ps.options] == [e.id for e in column.entries]  # nothing dropped
        assert ps.missing and set(ps.missing) <= set(ev.setting.missing) <= set(ev.needs_data)
        assert ps.source.page and ps.source.table
        for o in ps.options:
            own = True if ENTRIES[o.entry_id].when is None else cond(ENTRIES[o.entry_id].when, facts).value
            assert o.status == ("not_eligible" if own is False else "needs_data"), o.entry_id
            assert bool(o.missing) == (o.status == "needs_data") and set(o.missing) <= set(ev.needs_data)
            assert o.source.document and o.source.page and o.source.table


@FILL_PROFILE
@given(patients(), st.data())
def test_the_setting_a_record_settles_in_was_among_its_possible_settings(record, data):
    _, ev = run(record)
    fields = list(dict.fromkeys(f for ps in ev.possible_settings for f in ps.missing))
    if not fields or not set(fields) <= set(FILLABLE):
        return
    filled = record
    for f in fields:
        filled = _set(filled, f, data.draw(st.sampled_from(fill_values(filled, f)), label=f))
    _, after = run(filled)
    if after.setting.status == "applies":
        settled = (after.setting.table, after.setting.column)
        assert settled in {(ps.table, ps.column) for ps in ev.possible_settings}, (fields, settled)
        before = next(ps for ps in ev.possible_settings if (ps.table, ps.column) == settled)
        was = {o.entry_id: o.status for o in before.options}
        for o in after.options:  # an entry the record already ruled out stays ruled out
            if was[o.entry_id] == "not_eligible":
                assert o.status == "not_eligible", o.entry_id
