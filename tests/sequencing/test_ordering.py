"""Discussion order: grouped by tier as the guideline gives it, stable, explained, never one 'best'."""

from __future__ import annotations

from tests.conftest import gi, opt, pancreas
from tests.sequencing.util import seq


def test_tiers_and_categories_untouched_and_every_option_kept():
    ev, r = seq(gi(preferences={"route": "oral"}))
    assert [o.entry_id for o in r.options] == [o.entry_id for o in ev.options]
    for o in r.options:
        assert o.tier == opt(ev, o.entry_id).tier and o.status == opt(ev, o.entry_id).status
    tiers = [t.tier for t in r.discussion_order]
    assert tiers == ["preferred", "useful_in_certain_circumstances"]


def test_order_within_tier_follows_considerations_and_names_them():
    _, r = seq(gi(preferences={"priority": "long_term_control"}, comorbidities={"diabetes": True}))
    pref = next(t for t in r.discussion_order if t.tier == "preferred")
    # table order: cabozantinib, everolimus, lu177, ssa
    # lu177 +2 (early PRRT, long-term control); everolimus -1 (diabetes); the others 0
    assert pref.entry_ids == ["gi.lu177_dotatate", "gi.cabozantinib", "gi.ssa", "gi.everolimus"]
    lu = r.for_option("gi.lu177_dotatate")
    assert lu.discussion_rank == 1 and lu.order_score == 2
    assert [f.rule_id for f in lu.order_factors] == [
        "prrt.early.meaningful_progression",
        "preference.long_term_control.prrt",
    ]
    assert "score +2" in lu.order_explanation and "for: progression_pace" in lu.order_explanation
    ev = r.for_option("gi.everolimus")
    assert ev.discussion_rank == 4 and ev.order_score == -1
    assert "against: comorbidity (comorbidity.diabetes.everolimus)" in ev.order_explanation


def test_equal_scores_fall_back_to_table_order():
    _, r = seq(gi(preferences={"route": "oral", "priority": "long_term_control"}))
    pref = next(t for t in r.discussion_order if t.tier == "preferred")
    # cabozantinib +1, everolimus +1 (oral), lu177 +2 -1 (infusion) = +1, ssa -1 (injection)
    assert [r.for_option(e).order_score for e in pref.entry_ids] == [1, 1, 1, -1]
    assert pref.entry_ids == ["gi.cabozantinib", "gi.everolimus", "gi.lu177_dotatate", "gi.ssa"]


def test_ties_keep_the_guideline_table_order():
    _, r = seq(gi(preferences={}))
    pref = next(t for t in r.discussion_order if t.tier == "preferred")
    # only PRRT gets a directional consideration (meaningful SSTR-positive progression)
    assert pref.entry_ids == ["gi.lu177_dotatate", "gi.cabozantinib", "gi.everolimus", "gi.ssa"]
    cabo = r.for_option("gi.cabozantinib")
    assert "keeps the guideline's table order" in cabo.order_explanation


def test_neutral_considerations_do_not_move_an_option():
    _, r = seq(
        gi(preferences={"prrt_center_access": True}, disease={"progression_clinically_significant": False})
    )
    lu = r.for_option("gi.lu177_dotatate")
    assert [(c.rule_id, c.direction) for c in lu.considerations] == [
        ("access.prrt_center_available", "neutral")
    ]
    assert lu.order_score == 0 and lu.order_factors == []


def test_not_eligible_options_are_listed_but_not_ranked_and_needs_data_come_after_eligible():
    _, r = seq(pancreas(biomarkers={"germline_vhl": None}, disease={"resectable": False}))
    useful = next(t for t in r.discussion_order if t.tier == "useful_in_certain_circumstances")
    belz = r.for_option("pancreas.belzutifan")
    assert belz.status == "needs_data"
    eligible = [e for e in useful.entry_ids if r.for_option(e).status == "eligible"]
    assert useful.entry_ids[: len(eligible)] == eligible
    assert useful.entry_ids[-1] == "pancreas.belzutifan"
    assert "until the missing data are known" in belz.order_explanation
    neg = r.for_option("pancreas.ssa_sstr_negative")
    assert neg.status == "not_eligible" and neg.discussion_rank is None
    assert "pancreas.ssa_sstr_negative" in useful.unranked


def test_deterministic_and_states_it_is_a_discussion_aid():
    record = gi(preferences={"route": "oral", "travel_limit": True}, comorbidities={"diabetes": True})
    _, a = seq(record)
    _, b = seq(record)
    assert a.model_dump_json() == b.model_dump_json()
    assert "no data-driven sequence" in a.statement
    assert "discussion aid" in a.statement and "no single recommended therapy" in a.statement
    ranks = [o.discussion_rank for o in a.options if o.tier == "preferred"]
    assert sorted(r for r in ranks if r is not None) == list(range(1, len([r for r in ranks if r]) + 1))
