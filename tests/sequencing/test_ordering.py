"""Discussion order: grouped by tier as the guideline gives it, stable, explained, never one 'best'."""

from __future__ import annotations

from tests.conftest import gi, lung, opt, pancreas, run
from tests.sequencing.util import seq


def test_tiers_and_categories_untouched_and_every_option_kept():
    ev, r = seq(gi(preferences={"route": "oral"}))
    assert [o.entry_id for o in r.options] == [o.entry_id for o in ev.options]
    for o in r.options:
        assert o.tier == opt(ev, o.entry_id).tier and o.status == opt(ev, o.entry_id).status
    tiers = [t.tier for t in r.discussion_order]
    assert tiers == ["preferred", "useful_in_certain_circumstances"]


def _ranked(r, tier="preferred", skip=("gi.ssa",)):
    """The tier's discussion order without the standard-dose SSA, whose status (footnote a) is
    decided elsewhere and is not what these tests are about."""
    return [e for e in next(t for t in r.discussion_order if t.tier == tier).entry_ids if e not in skip]


def test_order_within_tier_follows_considerations_and_names_them():
    _, r = seq(gi(preferences={"priority": "long_term_control"}, comorbidities={"diabetes": True}))
    # table order: cabozantinib, everolimus, lu177, ssa
    # lu177 +1 (early PRRT; the long-term-control point restates the same sentence of the Lieu 2026
    # discussion and is shown but not counted again); everolimus -1 (diabetes); cabozantinib 0
    assert _ranked(r) == ["gi.lu177_dotatate", "gi.cabozantinib", "gi.everolimus"]
    lu = r.for_option("gi.lu177_dotatate")
    assert lu.discussion_rank == 1 and lu.order_score == 1
    assert [(f.rule_id, f.effect) for f in lu.order_factors] == [
        ("prrt.early.meaningful_progression", 1),
        ("preference.long_term_control.prrt", 0),
    ]
    assert "score +1" in lu.order_explanation
    assert "for: progression_significance (prrt.early.meaningful_progression)" in lu.order_explanation
    assert "not counted again" in lu.order_explanation
    ev = r.for_option("gi.everolimus")
    pref = next(t for t in r.discussion_order if t.tier == "preferred")
    assert ev.discussion_rank == len(pref.entry_ids) and ev.order_score == -1
    assert "against: comorbidity (comorbidity.diabetes.everolimus)" in ev.order_explanation


def test_equal_scores_share_a_position_listed_by_category_then_table_order():
    _, r = seq(gi(preferences={"route": "oral", "priority": "long_term_control"}))
    # cabozantinib +1 (oral, category 2A here: no prior everolimus or Lu-177), everolimus +1 (oral,
    # category 1); lu177 +1 (early PRRT, counted once with long-term control) -1 (infusion) = 0
    assert [r.for_option(e).order_score for e in _ranked(r)] == [1, 1, 0]
    assert _ranked(r) == ["gi.everolimus", "gi.cabozantinib", "gi.lu177_dotatate"]
    evero, cabo = r.for_option("gi.everolimus"), r.for_option("gi.cabozantinib")
    assert evero.discussion_rank == cabo.discussion_rank == 1
    assert r.for_option("gi.lu177_dotatate").discussion_rank == 3
    for o in (evero, cabo):
        assert "Discussion position 1-2 of 3" in o.order_explanation


def test_ties_are_listed_by_guideline_category_before_table_order_without_ranking_them():
    """Without the category listing, cabozantinib (listed first, category 2A for this patient) would
    come before everolimus (category 1 for a non-functional tumor); the two share a position."""
    ev, r = seq(gi(preferences={}))
    assert opt(ev, "gi.cabozantinib").category == "2A" and opt(ev, "gi.everolimus").category == "1"
    # only PRRT gets a directional consideration (meaningful SSTR-positive progression)
    assert _ranked(r) == ["gi.lu177_dotatate", "gi.everolimus", "gi.cabozantinib"]
    cabo = r.for_option("gi.cabozantinib")
    assert r.for_option("gi.everolimus").discussion_rank == cabo.discussion_rank == 2
    assert "listed by guideline category (1, 2A, 2B, 3), then by the table's order" in cabo.order_explanation
    assert "which is not a ranking" in cabo.order_explanation


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
    ranked = [o.discussion_rank for o in a.options if o.tier == "preferred" and o.discussion_rank]
    # positions are 1..n, options of equal standing sharing the first of theirs
    assert all(r == ranked[i - 1] or r == i + 1 for i, r in enumerate(ranked)) and ranked[0] == 1


# ---- held back: progression on the regimen, critical safety findings, "avoid" doses --------------


def _evaluated_order(ev, tier="preferred"):
    return [o.entry_id for o in ev.options if o.tier == tier and o.discussion_rank is not None]


def test_critical_safety_finding_places_the_option_after_the_others_and_keeps_it():
    """Recent hemorrhage is a critical cabozantinib finding: without the hold-back cabozantinib (+1 oral,
    -1 the recorded comorbidity behind the item, category 2A) would share the first position with PRRT
    (0)."""
    ev = run(gi(preferences={"route": "oral"}, comorbidities={"recent_hemorrhage": True}))
    cabo = opt(ev, "gi.cabozantinib")
    assert any(i.severity == "critical" for i in cabo.safety)
    assert cabo.status == "eligible" and cabo.order_score == 0
    order = _evaluated_order(ev)
    assert order.index("gi.cabozantinib") > order.index("gi.lu177_dotatate")  # PRRT scores 0
    assert order[-1] == "gi.cabozantinib"
    assert "critical safety finding for cabozantinib" in (cabo.order_explanation or "")
    assert "still listed with its guideline status and category" in (cabo.order_explanation or "")


def test_avoid_dose_places_the_option_after_the_others():
    """Clarithromycin leaves everolimus without a labelled dose (avoid): without the hold-back
    everolimus (+1 oral, category 1) would open the discussion."""
    ev = run(gi(preferences={"route": "oral"}, medications=["clarithromycin"]))
    evero = opt(ev, "gi.everolimus")
    assert evero.dose is not None and evero.dose.agents[0].adjusted.startswith("avoid")
    order = _evaluated_order(ev)
    assert order.index("gi.everolimus") > order.index("gi.lu177_dotatate")  # PRRT scores 0
    assert order[-1] == "gi.everolimus"
    explanation = evero.order_explanation or ""
    # an "avoid" dose is a critical finding: the hold-back names it and the label's word
    assert (
        "critical safety finding for everolimus" in explanation and "the label says to avoid" in explanation
    )
    # cabozantinib's dose is only lowered with the same inhibitor: not held back
    assert "placed after" not in (opt(ev, "gi.cabozantinib").order_explanation or "")


def test_held_back_options_keep_their_relative_order():
    from netcds.sequencing.models import OptionSequencing
    from netcds.sequencing.ordering import OrderInput, order_options

    def o(entry, status="eligible"):
        return OptionSequencing(entry_id=entry, regimen="everolimus", tier="preferred", status=status,
                                order_explanation="")  # fmt: skip

    opts = [o("a"), o("b"), o("c", "needs_data"), o("d")]
    inputs = {"a": OrderInput("1", held_back=("x",)), "b": OrderInput("2A"), "d": OrderInput("1", ("y",))}
    order = order_options(opts, inputs)
    assert order[0].entry_ids == ["b", "c", "a", "d"]
    assert "because: x" in opts[0].order_explanation and "because" not in opts[1].order_explanation


def test_recorded_burden_and_pace_without_a_rule_are_said_in_the_explanation():
    _, r = seq(pancreas(disease={"tumor_burden": "bulky", "progression_pace": "moderate"}))
    evero = r.for_option("pancreas.everolimus").order_explanation
    assert (
        "no rule gives it a direction for this option: tumor burden (bulky); pace of progression (moderate)"
        in evero
    )
    # CAPTEM has a burden rule (bulky disease): only the pace is named
    captem = r.for_option("pancreas.capecitabine_temozolomide").order_explanation
    assert "tumor burden (bulky)" not in captem and "pace of progression (moderate)" in captem
    _, unknown = seq(pancreas(disease={"tumor_burden": None}))
    assert "no rule gives it a direction" not in unknown.for_option("pancreas.everolimus").order_explanation


# ---- one source statement counts once; ties share a position ------------------------------------


def test_a_factor_or_a_restated_source_statement_moves_an_option_once_each_way():
    """Limited visits read by route preference, fewest visits, travel and monitoring used to give PRRT
    -4 (lung, carboplatin/etoposide alike); now the patient's route preference counts once and the
    visit burden (logistics, monitoring and access, one sentence of the Lieu 2026 discussion) once."""
    record = lung(
        disease={"progression_clinically_significant": True},
        preferences={"route": "oral", "priority": "fewest_visits", "travel_limit": True,
                     "prrt_center_access": False},
    )  # fmt: skip
    _, r = seq(record)
    for entry in ("lung.lu177_dotatate", "lung.carboplatin_etoposide"):
        o = r.for_option(entry)
        against = [c.rule_id for c in o.considerations if c.direction == "against"]
        assert len(against) >= 4, entry  # every consideration is still shown
        assert o.order_score == -2, entry
        assert sorted(f.factor for f in o.order_factors if f.effect) == ["logistics", "preference"], entry
        assert "not counted again" in o.order_explanation


def test_captem_response_qualifier_counts_once_whether_read_from_findings_or_priority():
    _, r = seq(pancreas(disease={"tumor_burden": "bulky"}, preferences={"priority": "response"}))
    captem = r.for_option("pancreas.capecitabine_temozolomide")
    assert {"burden.response_needed.captem_pancreas", "preference.response.cytotoxic_pancreas"} <= {
        c.rule_id for c in captem.considerations
    }
    assert captem.order_score == 1


def test_ties_share_one_position_in_the_json_field_and_the_words():
    """Three preferred options with the same score (-1, route) are not ranked 1, 2, 3."""
    record = gi(
        tumor={"grade": "G1"},
        disease={"tumor_burden": "mild", "status": "stable", "progression_clinically_significant": None},
        treatments=[],
        preferences={"priority": "long_term_control", "route": "infusion", "travel_limit": False,
                     "prrt_center_access": True},
    )  # fmt: skip
    ev, r = seq(record)
    pref = next(t for t in r.discussion_order if t.tier == "preferred")
    assert pref.entry_ids == ["gi.everolimus", "gi.cabozantinib", "gi.ssa"]  # category 1 listed first
    for e in pref.entry_ids:
        o = r.for_option(e)
        assert o.order_score == -1 and o.discussion_rank == 1, e
        assert (
            "Discussion position 1-3 of 3" in o.order_explanation and "not a ranking" in o.order_explanation
        )
    # the evaluation lists the options in the same order (grouped by tier, then the discussion order)
    assert [o.entry_id for o in ev.options if o.tier == "preferred" and o.discussion_rank] == pref.entry_ids


def test_held_back_reasons_are_read_back_from_the_explanation():
    from netcds.sequencing.ordering import held_back_reasons

    ev = run(gi(preferences={"route": "oral"}, comorbidities={"recent_hemorrhage": True}))
    reasons = held_back_reasons(opt(ev, "gi.cabozantinib").order_explanation or "")
    assert reasons is not None and reasons.startswith("critical safety finding for cabozantinib")
    assert held_back_reasons(opt(ev, "gi.everolimus").order_explanation or "") is None
