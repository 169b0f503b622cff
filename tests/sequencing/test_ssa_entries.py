"""The SSA entries and their own history: footnotes a, g and h and the SSA plan speak for them.

Progression on, a short benefit from, or a stop for toxicity of octreotide LAR or lanreotide is not
held against the SSA entries by the general durability and toxicity rules; footnote g (injection
site problems: consider the other SSA) is stated without a direction where an SSA course was
stopped for toxicity. Footnote a is on the GI, lung/thymus and pancreas tables only, so in the WD G3
table progression on an SSA is stated at its SSA entry like at any other option.
"""

from __future__ import annotations

from netcds import load_knowledge
from netcds.sequencing.data import load_sequencing_data
from tests.conftest import g3, gi, lung, pancreas
from tests.sequencing.util import rules, seq, tx

GENERAL_HISTORY_RULES = {
    "durability.same_regimen.short",
    "durability.same_class.short",
    "cumulative_toxicity.stopped_same_regimen",
    "cumulative_toxicity.stopped_same_class",
}
FUNCTIONAL_JEJUNAL = {
    "tumor": {
        "primary_site": "jejunum",
        "functional": True,
        "syndromes": ["carcinoid_syndrome"],
        "hormonal_symptoms": True,
    },
}


def test_ongoing_ssa_in_a_functional_tumor_is_not_marked_down_for_its_own_short_benefit():
    """Functional jejunal NET progressing after 4.7 months on octreotide LAR: the SSA plan says to
    continue it (footnote a), so the SSA entry gets no 'progressed after a short time on it' point
    and is not placed last for its own history."""
    ongoing = tx("octreotide_lar", "2024-10-01", None, dose_mg=30, interval_days=28,
                 progressed=True, progression_date="2025-02-20")  # fmt: skip
    ev, r = seq(gi(as_of="2025-06-01", treatments=[ongoing], preferences={}, **FUNCTIONAL_JEJUNAL))
    assert ev.ssa_plan.action == "continue"
    ssa = r.for_option("gi.ssa")
    assert ssa.status == "eligible"
    assert not rules(ssa) & GENERAL_HISTORY_RULES
    assert [c for c in ssa.considerations if c.direction == "against"] == []
    assert ssa.order_score == 0
    preferred = next(t for t in r.discussion_order if t.tier == "preferred")
    # it shares its position with the other options without a directional point (PRRT has one)
    assert ssa.discussion_rank == r.for_option("gi.cabozantinib").discussion_rank
    assert preferred.entry_ids[0] == "gi.lu177_dotatate"


def test_ssa_stopped_for_toxicity_states_footnote_g_without_a_direction():
    stopped = tx("octreotide_lar", "2024-01-01", "2024-06-01", dose_mg=30, interval_days=28,
                 progressed=False, stop_reason="toxicity")  # fmt: skip
    record = gi(
        as_of="2025-06-01",
        treatments=[stopped],
        disease={"status": "stable", "progression_clinically_significant": None},
        tumor={"grade": "G1", **FUNCTIONAL_JEJUNAL["tumor"]},
    )
    _, r = seq(record)
    ssa = r.for_option("gi.ssa")
    assert ssa.status == "eligible"
    assert not rules(ssa) & GENERAL_HISTORY_RULES
    g = [c for c in ssa.considerations if c.rule_id == "cumulative_toxicity.ssa_stopped.footnote_g"]
    assert len(g) == 1 and g[0].direction == "neutral"
    assert g[0].source.document == "NCCN NET V.5.2024" and g[0].source.footnote == "g"
    assert "injection site" in g[0].text and "octreotide LAR (line 1, 2024-01-01 to 2024-06-01)" in g[0].text
    assert ssa.order_score == 0 and ssa.order_factors == []


def test_footnote_g_is_not_assessed_when_a_finished_ssa_course_has_no_stop_reason():
    ended = tx("lanreotide", "2023-01-02", "2024-01-08", dose_mg=120, interval_days=28, progressed=False)
    record = gi(treatments=[ended], disease={"status": "stable", "progression_clinically_significant": None})
    _, r = seq(record)
    ssa = r.for_option("gi.ssa")
    assert "cumulative_toxicity.ssa_stopped.footnote_g" not in rules(ssa)
    assert "treatments[0].stop_reason" in ssa.not_assessed


def test_a_higher_dose_of_the_same_lanreotide_is_not_another_drug_of_the_class():
    """Lanreotide every 28 days, then every 14 days (above label), progressing: the standard-dose entry
    is not told that 'a drug of the same class' gave a short benefit, and the above-label entry states
    its own progression once (footnote h), not again as a short benefit."""
    std = tx("lanreotide", "2023-01-01", "2024-06-01", dose_mg=120, interval_days=28, progressed=True,
             progression_date="2024-05-20", stop_reason="progression")  # fmt: skip
    above = tx("lanreotide", "2024-06-01", None, dose_mg=120, interval_days=14, progressed=True,
               progression_date="2024-09-01", progression_type="symptomatic")  # fmt: skip
    _, r = seq(gi(as_of="2025-06-01", treatments=[std, above], preferences={}, **FUNCTIONAL_JEJUNAL))
    ssa, above_label = r.for_option("gi.ssa"), r.for_option("gi.ssa_above_label")
    assert not rules(ssa) & GENERAL_HISTORY_RULES
    assert [c.rule_id for c in above_label.considerations if c.factor == "prior_durability"] == [
        "durability.progressed_on_above_label_ssa"
    ]


def test_wd_g3_ssa_entry_states_progression_on_an_ssa_because_the_g3_table_has_no_footnote_a():
    lan = tx("lanreotide", "2024-01-10", "2024-09-01", dose_mg=120, interval_days=28, progressed=True,
             progression_date="2024-08-20", stop_reason="progression")  # fmt: skip
    _, r = seq(g3(treatments=[lan]))
    ssa = r.for_option("g3fav.ssa")
    assert ssa.status == "eligible"
    c = [c for c in ssa.considerations if c.rule_id == "durability.progressed_on"]
    assert len(c) == 1 and "line 1 lanreotide" in c[0].text
    assert "placed after the options without such a concern" in ssa.order_explanation
    # the tables that carry footnote a keep leaving it to footnote a and the SSA plan
    for record, entry in (
        (gi(treatments=[lan], tumor={"functional": True, "syndromes": ["carcinoid_syndrome"]}), "gi.ssa"),
        (pancreas(treatments=[lan], tumor={"functional": True, "syndromes": ["insulinoma"]}),
         "pancreas.ssa_sstr_positive"),
        (lung(treatments=[lan], tumor={"functional": True, "syndromes": ["carcinoid_syndrome"]}), "lung.ssa"),
    ):  # fmt: skip
        o = seq(record)[1].for_option(entry)
        assert "durability.progressed_on" not in rules(o), entry


def test_footnote_a_exclusion_matches_the_tables_that_carry_footnote_a():
    """The rules that leave progression on an SSA to footnote a do so exactly in the tables whose
    SSA plan is footnote a (read from the released knowledge), and every standard-dose SSA entry
    carries footnote g, which the footnote-g rule states."""
    kb = load_knowledge()
    with_a = sorted(t.id for t in kb.tables if t.ssa_plan_footnote == "a")
    assert with_a == ["gi_wd_g12", "lung_thymus", "pancreas_wd_g12"]
    data = load_sequencing_data()
    for rid in ("durability.progressed_on", "durability.progressed_after_durable_course"):
        rule = next(r for r in data.rules if r.id == rid)
        assert sorted(rule.excludes_in["ssa"]) == with_a, rid
        assert rule.applies("ssa", "wd_g3") and not rule.applies("ssa_above_label", "wd_g3")
    for t in kb.tables:
        for col in t.columns:
            for e in col.entries:
                if e.regimen == "ssa":
                    assert "g" in e.footnotes, e.id
