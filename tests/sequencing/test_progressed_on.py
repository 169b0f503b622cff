"""Progression on (or after) an option's own regimen is stated at the option, whatever the duration.

The disease progressed on the regimen before, or is progressing on an ongoing line of it now: the
option gets an "against" consideration naming the line with its dates, keeps the status and
category the table gives it, and is placed after the options without such a concern. An unknown
history (treatments not recorded, progression not recorded) makes no such claim.
"""

from __future__ import annotations

from pathlib import Path

from netcds import Patient, evaluate, load_knowledge
from netcds.facts import build_facts
from netcds.sequencing import annotate
from tests.conftest import g3, gi, lung, opt, pancreas
from tests.sequencing.util import OCT_STD, rules, seq, tx

RULE = "durability.progressed_on"
LAN = tx("lanreotide", "2023-01-10", "2024-06-10", dose_mg=120, interval_days=28, stop_reason="other")


def _claim(result, entry_id):
    found = [c for c in result.for_option(entry_id).considerations if c.rule_id == RULE]
    assert len(found) <= 1
    return found[0] if found else None


def _ranked(result, tier):
    return next(t for t in result.discussion_order if t.tier == tier).entry_ids


def test_ongoing_line_while_the_disease_progresses_is_stated_and_placed_last():
    ongoing = tx("everolimus", "2024-07-01", None, dose_mg=10)
    scan = [{"date": "2025-03-10", "recist_response": "PD"}]  # progression assessed while on it
    ev, r = seq(gi(as_of="2025-04-01", treatments=[LAN, ongoing], assessments=scan))
    c = _claim(r, "gi.everolimus")
    assert c is not None and c.direction == "against" and c.factor == "prior_durability"
    assert "line 2 everolimus (2024-07-01 to ongoing)" in c.text and "progressing now" in c.text
    assert c.source.document.startswith("Lieu")
    # the guideline result is untouched
    o = r.for_option("gi.everolimus")
    assert (o.status, opt(ev, "gi.everolimus").category) == ("eligible", "1")
    assert _ranked(r, "preferred")[-1] == "gi.everolimus"
    assert "placed after the options without such a concern" in o.order_explanation
    assert "progressing now" in o.order_explanation
    assert "progressing now" in (o.history.summary if o.history else "")


def test_progression_after_a_mid_length_course_is_stated():
    """11 months on cabozantinib: neither short (< 6) nor durable (>= 12), yet it progressed."""
    evero = tx("everolimus", "2023-01-10", "2024-01-10", progressed=True, stop_reason="progression")
    cabo = tx("cabozantinib", "2024-02-10", "2025-01-10", progressed=True, stop_reason="progression")
    _, r = seq(gi(as_of="2025-04-01", treatments=[OCT_STD, evero, cabo]))
    c = _claim(r, "gi.cabozantinib")
    assert c is not None and "line 3 cabozantinib (2024-02-10 to 2025-01-10)" in c.text
    assert "11 months from its start" in c.text
    assert r.for_option("gi.cabozantinib").discussion_rank != 1


def test_progression_after_long_control_is_stated_beside_the_durability():
    sun = tx("sunitinib", "2023-01-10", "2025-01-10", progressed=True, stop_reason="progression")
    _, r = seq(pancreas(as_of="2025-04-01", tumor={"sstr_status": "negative"}, treatments=[sun]))
    assert {RULE, "durability.same_regimen.durable"} <= rules(r.for_option("pancreas.sunitinib"))
    assert "24 months" in _claim(r, "pancreas.sunitinib").text
    assert _ranked(r, "preferred")[-1] == "pancreas.sunitinib"


def test_chemotherapy_regimen_and_the_same_agents_inside_a_larger_one():
    cis_eto = tx(
        "cisplatin_etoposide", "2024-01-10", "2024-07-10", progressed=True, stop_reason="progression"
    )
    unfavorable = {"biology": "unfavorable"}
    _, r = seq(g3(as_of="2025-04-01", disease=unfavorable, treatments=[cis_eto]))
    assert (
        "line 1 cisplatin + etoposide (2024-01-10 to 2024-07-10)"
        in _claim(r, "g3adv.cisplatin_etoposide").text
    )
    assert _claim(r, "g3adv.carboplatin_etoposide") is None  # another regimen: not claimed
    folfirinox = tx("folfirinox", "2024-01-10", "2024-05-10", progressed=True, stop_reason="progression")
    _, r2 = seq(g3(as_of="2025-04-01", disease=unfavorable, treatments=[folfirinox]))
    for entry in ("g3adv.folfox", "g3adv.folfiri", "g3adv.folfirinox"):
        assert _claim(r2, entry) is not None, entry
    assert "it held every agent of this regimen" in _claim(r2, "g3adv.folfox").text
    assert _claim(r2, "g3adv.capeox") is None and _claim(r2, "g3adv.cisplatin_irinotecan") is None


def test_unknown_history_makes_no_claim_and_names_the_field():
    _, none = seq(gi(treatments=None))
    for o in none.options:
        assert RULE not in rules(o)
    assert "treatments" in none.for_option("gi.everolimus").not_assessed
    # an ongoing line while the disease is stable, with progression not recorded: unknown, not false
    ongoing = tx("everolimus", "2024-07-01", None, dose_mg=10)
    _, stable = seq(gi(as_of="2025-04-01", disease={"status": "stable"}, treatments=[LAN, ongoing]))
    evero = stable.for_option("gi.everolimus")
    assert RULE not in rules(evero) and "treatments[1].progressed" in evero.not_assessed


def test_no_claim_without_progression_on_the_regimen():
    tox = tx("everolimus", "2021-07-05", "2021-10-04", progressed=False, stop_reason="toxicity")
    _, r = seq(gi(treatments=[OCT_STD, tox]))
    assert _claim(r, "gi.everolimus") is None
    # progression on the standard-dose SSA is what the above-label entry is for: no claim there
    assert _claim(r, "gi.ssa_above_label") is None


# --- progression only after a finished course of durable control --------------------------------------------
AFTER = "durability.progressed_after_durable_course"
PRRT_2022 = tx("lu177_dotatate", "2022-01-10", "2022-06-27", progressed=True, progression_date="2023-08-14")


def _prrt_patient(*courses):
    return gi(as_of="2025-04-01", tumor={"sstr_status": "positive"}, treatments=[OCT_STD, *courses])


def test_progression_long_after_a_finished_prrt_course_is_neutral_and_not_held_back():
    """13.6 months from the end of a finished PRRT course to progression: stated, not counted against."""
    ev, r = seq(_prrt_patient(PRRT_2022))
    o = r.for_option("gi.lu177_dotatate")
    assert _claim(r, "gi.lu177_dotatate") is None
    (c,) = [c for c in o.considerations if c.rule_id == AFTER]
    assert c.direction == "neutral" and c.factor == "prior_durability"
    assert "line 2 Lu-177 dotatate" in c.text and "2022-01-10 to 2022-06-27" in c.text
    assert "progression 13.6 months after it ended" in c.text
    # a claim about the guideline pages the source holds, not the whole guideline (rule 3)
    assert "give it again is not addressed on the guideline pages in the source" in c.text
    assert not any(f.rule_id == RULE for f in o.order_factors)
    assert "placed after the options without such a concern" not in o.order_explanation
    assert (o.status, opt(ev, "gi.lu177_dotatate").status) == ("eligible", "eligible")
    # the general durable-control point would say the same again: not repeated
    assert "durability.same_regimen.durable" not in rules(o)


def test_control_is_counted_from_the_end_of_the_course_not_its_start():
    """12.6 months from the start but 7 months after the last dose: not long after, so held back."""
    course = tx("lu177_dotatate", "2023-02-01", "2023-07-20", progressed=True, progression_date="2024-02-20")
    _, r = seq(_prrt_patient(course))
    o = r.for_option("gi.lu177_dotatate")
    assert _claim(r, "gi.lu177_dotatate") is not None and AFTER not in rules(o)
    assert "placed after the options without such a concern" in o.order_explanation


def test_progression_soon_after_a_finished_prrt_course_is_held_back():
    """8 months from the start: not durable control, so the progression counts against it."""
    short = tx("lu177_dotatate", "2022-01-10", "2022-06-27", progressed=True, progression_date="2022-09-12")
    _, r = seq(_prrt_patient(short))
    o = r.for_option("gi.lu177_dotatate")
    assert _claim(r, "gi.lu177_dotatate") is not None and AFTER not in rules(o)
    assert "placed after the options without such a concern" in o.order_explanation


def test_a_later_course_that_failed_outweighs_an_earlier_durable_one():
    again = tx("lu177_dotatate", "2023-10-02", "2024-03-18", progressed=True, progression_date="2024-05-06")
    _, r = seq(_prrt_patient(PRRT_2022, again))
    o = r.for_option("gi.lu177_dotatate")
    c = _claim(r, "gi.lu177_dotatate")
    assert c is not None and AFTER not in rules(o)
    assert "2022-01-10 to 2022-06-27" in c.text and "2023-10-02 to 2024-03-18" in c.text


def test_progression_without_a_date_after_the_course_is_not_excused():
    """The record says it progressed but not when: nothing shows it came after durable control."""
    undated = tx("lu177_dotatate", "2022-01-10", "2023-06-27", progressed=True)
    _, r = seq(_prrt_patient(undated))
    assert _claim(r, "gi.lu177_dotatate") is not None
    assert AFTER not in rules(r.for_option("gi.lu177_dotatate"))


def test_long_control_while_on_a_continuous_drug_is_still_progression_on_it():
    """Everolimus for 2 years, stopped at progression: the disease progressed on it, not after."""
    evero = tx("everolimus", "2022-01-10", "2024-01-10", progressed=True, stop_reason="progression",
               progression_date="2024-01-10")  # fmt: skip
    _, r = seq(gi(as_of="2025-04-01", treatments=[OCT_STD, evero]))
    assert _claim(r, "gi.everolimus") is not None
    assert AFTER not in rules(r.for_option("gi.everolimus"))


# --- regimens the guideline offers as one choice ------------------------------------------------------------
VARIANT = "durability.progressed_on_variant"
UNFAVORABLE = {"biology": "unfavorable"}


def _variant(result, entry_id):
    found = [c for c in result.for_option(entry_id).considerations if c.rule_id == VARIANT]
    return found[0] if found else None


def test_progression_on_cisplatin_etoposide_is_stated_at_carboplatin_etoposide():
    cis = tx("cisplatin_etoposide", "2024-01-10", "2024-07-10", progressed=True, stop_reason="progression")
    ev, r = seq(g3(as_of="2025-04-01", disease=UNFAVORABLE, treatments=[cis]))
    c = _variant(r, "g3adv.carboplatin_etoposide")
    assert c is not None and c.direction == "against"
    assert "line 1 cisplatin + etoposide (2024-01-10 to 2024-07-10)" in c.text
    assert (
        "closely related regimen" in c.text and "the same etoposide doublet with the other platinum" in c.text
    )
    assert any(s.page == "NE-H" and s.table == "WD G3 NETs" for s in [c.source, *c.additional_sources])
    o = r.for_option("g3adv.carboplatin_etoposide")
    assert "placed after the options without such a concern" in o.order_explanation
    assert o.status == opt(ev, "g3adv.carboplatin_etoposide").status == "eligible"
    # the regimen itself gets its own point, not the variant one
    assert _variant(r, "g3adv.cisplatin_etoposide") is None and _claim(r, "g3adv.cisplatin_etoposide")


def test_folfox_and_capeox_speak_for_each_other_but_not_for_other_oxaliplatin_or_platinum_regimens():
    capeox = tx("capeox", "2024-01-10", "2024-09-10", progressed=True, stop_reason="progression")
    _, r = seq(g3(as_of="2025-04-01", disease=UNFAVORABLE, treatments=[capeox]))
    assert "line 1 CAPEOX" in _variant(r, "g3adv.folfox").text
    for other in ("g3adv.carboplatin_etoposide", "g3adv.folfiri", "g3adv.folfirinox"):
        assert _variant(r, other) is None, other
    # FOLFIRINOX held FOLFOX's agents, but it is not offered as one choice with CAPEOX
    folfirinox = tx("folfirinox", "2024-01-10", "2024-05-10", progressed=True, stop_reason="progression")
    _, r2 = seq(g3(as_of="2025-04-01", disease=UNFAVORABLE, treatments=[folfirinox]))
    assert _variant(r2, "g3adv.capeox") is None


def test_variant_without_recorded_progression_makes_no_claim_and_names_the_field():
    cis = tx("cisplatin_etoposide", "2024-01-10", "2024-07-10", stop_reason="completed")
    _, r = seq(g3(as_of="2025-04-01", disease={**UNFAVORABLE, "status": "stable"}, treatments=[cis]))
    o = r.for_option("g3adv.carboplatin_etoposide")
    assert _variant(r, "g3adv.carboplatin_etoposide") is None
    assert "treatments[0].progressed" in o.not_assessed
    no = tx("cisplatin_etoposide", "2024-01-10", "2024-07-10", progressed=False, stop_reason="toxicity")
    _, r2 = seq(g3(as_of="2025-04-01", disease=UNFAVORABLE, treatments=[no]))
    assert _variant(r2, "g3adv.carboplatin_etoposide") is None


# --- clinical review, session 13 -----------------------------------------------------------------------------
def test_ssa_entries_get_no_durable_control_point():
    """A functional tumor progressing on an ongoing octreotide LAR after 26 months: at the SSA entries
    (eligible: footnote a keeps the SSA for a functional tumor) no "controlled for a long time" point
    hides the progression; the SSA plan speaks for it."""
    ongoing = tx("octreotide_lar", "2023-05-01", None, dose_mg=30, interval_days=28, progressed=True,
                 progression_date="2025-07-20")  # fmt: skip
    functional = {"sstr_status": "positive", "functional": True, "syndromes": ["carcinoid_syndrome"],
                  "hormonal_symptoms": True}  # fmt: skip
    _, r = seq(gi(as_of="2025-09-01", tumor=functional, treatments=[ongoing]))
    assert r.for_option("gi.ssa").status == "eligible"
    for entry in ("gi.ssa", "gi.ssa_above_label"):
        assert "durability.same_regimen.durable" not in rules(r.for_option(entry)), entry


def test_irinotecan_is_not_the_class_of_etoposide():
    """5.8 months on cisplatin/etoposide: a short benefit, but FOLFIRI (irinotecan, a topoisomerase I
    inhibitor) shares no class with it; cisplatin + irinotecan still shares the platinum agent."""
    cis = tx("cisplatin_etoposide", "2024-01-10", "2024-07-05", progressed=True, stop_reason="progression")
    _, r = seq(g3(as_of="2025-04-01", disease=UNFAVORABLE, treatments=[cis]))
    assert "durability.same_class.short" not in rules(r.for_option("g3adv.folfiri"))
    assert "durability.same_class.short" in rules(r.for_option("g3adv.cisplatin_irinotecan"))


def test_long_term_control_preference_does_not_place_prrt_early_after_a_prrt_course():
    pref = {"priority": "long_term_control"}
    _, before = seq(gi(as_of="2025-04-01", tumor={"sstr_status": "positive"}, preferences=pref,
                       treatments=[OCT_STD]))  # fmt: skip
    assert "preference.long_term_control.prrt" in rules(before.for_option("gi.lu177_dotatate"))
    _, after = seq(_prrt_patient(PRRT_2022) | {"preferences": pref})
    assert "preference.long_term_control.prrt" not in rules(after.for_option("gi.lu177_dotatate"))


def test_progression_on_one_pd1_inhibitor_is_stated_at_the_other():
    """21 months of pembrolizumab, then progression: nivolumab + ipilimumab (nivolumab binds PD-1 too)
    gets an against point citing both labels; the reverse holds for pembrolizumab after nivolumab."""
    pembro = tx("pembrolizumab", "2023-08-01", "2025-06-01", progressed=True, progression_date="2025-05-20",
                stop_reason="progression")  # fmt: skip
    msi = {"msi": "high", "mmr": "deficient", "tmb_mut_per_mb": 2}
    _, r = seq(g3(as_of="2025-09-01", disease=UNFAVORABLE, biomarkers=msi, treatments=[pembro]))
    (c,) = [c for c in r.for_option("g3adv.nivolumab_ipilimumab").considerations
            if c.rule_id == "durability.checkpoint_progression.nivolumab_ipilimumab"]  # fmt: skip
    assert c.direction == "against" and "PD-1" in c.text
    assert {s.document.split(" ")[0] for s in c.additional_sources} == {"KEYTRUDA", "OPDIVO"}
    nivo = tx("nivolumab_ipilimumab", "2023-08-01", "2024-06-01", progressed=True, stop_reason="progression")
    _, r2 = seq(g3(as_of="2025-09-01", disease=UNFAVORABLE, biomarkers=msi, treatments=[nivo]))
    assert "durability.checkpoint_progression.pembrolizumab" in rules(r2.for_option("g3adv.pembrolizumab"))
    unknown = tx("pembrolizumab", "2023-08-01", "2025-06-01", stop_reason="other")
    _, r3 = seq(g3(as_of="2025-09-01", disease={**UNFAVORABLE, "status": "stable"}, biomarkers=msi,
                   treatments=[unknown]))  # fmt: skip
    o = r3.for_option("g3adv.nivolumab_ipilimumab")
    assert "durability.checkpoint_progression.nivolumab_ipilimumab" not in rules(o)
    assert "treatments[0].progressed" in o.not_assessed


# ---- progression on an above-label SSA dose (footnote h) ----------------------------------------

ABOVE = "durability.progressed_on_above_label_ssa"
FIVE_LINES = Path(__file__).resolve().parents[2] / "examples" / "patients" / "five_lines.json"
LAN_Q14 = tx("lanreotide", "2021-07-05", "2022-01-03", dose_mg=120, interval_days=14, progressed=True,
             progression_date="2021-12-20", progression_type="symptomatic", stop_reason="progression")  # fmt: skip


def test_progression_on_above_label_dose_is_stated_at_the_above_label_entry_and_holds_it_back():
    """five_lines: lanreotide 120 mg every 14 days, progression 2021-11-08. Footnote h places the
    above-label dose after progression on standard doses; the entry now says the disease already
    progressed on it, citing footnote h, and is placed after the options without such a concern."""
    patient = Patient.model_validate_json(FIVE_LINES.read_text(encoding="utf-8"))
    # 5.2024-r6: the entry is eligible there (from r7 footnote a, clinically significant progression in
    # this non-functional tumor, makes it not eligible, and an entry not eligible is not ranked)
    ev = evaluate(patient, load_knowledge("5.2024-r6"))
    r = annotate(ev, patient, build_facts(patient))
    o = r.for_option("gi.ssa_above_label")
    assert o.status == "eligible" and opt(ev, "gi.ssa_above_label").category == "2A"
    (c,) = [c for c in o.considerations if c.rule_id == ABOVE]
    assert c.direction == "against" and "2021-11-08" in c.text and "120 mg every 14 days" in c.text
    assert c.source.footnote == "h" and c.source.page == "NE-H"
    assert "placed after the options without such a concern" in o.order_explanation


def test_above_label_progression_moves_the_entry_after_its_tier_mates():
    # lung table, useful tier: the above-label SSA (2B) would lead on the injection preference
    record = {
        "treatments": [OCT_STD, LAN_Q14],
        "preferences": {"route": "injection"},
        "disease": {"progression_clinically_significant": False},  # footnote a leaves the entry open
    }
    _, r = seq(lung(**record))
    assert ABOVE in rules(r.for_option("lung.ssa_above_label"))
    assert _ranked(r, "useful_in_certain_circumstances")[-1] == "lung.ssa_above_label"


def test_above_label_point_needs_progression_at_an_above_label_dose():
    minor = {"progression_clinically_significant": False}  # footnote a leaves the entry open (5.2024-r7)
    _, standard_only = seq(gi(treatments=[OCT_STD], disease=minor))
    assert ABOVE not in rules(standard_only.for_option("gi.ssa_above_label"))
    no_prog = tx("lanreotide", "2021-07-05", "2022-01-03", dose_mg=120, interval_days=14, progressed=False,
                 stop_reason="patient_choice")  # fmt: skip
    _, r = seq(gi(treatments=[OCT_STD, no_prog], disease=minor))
    assert ABOVE not in rules(r.for_option("gi.ssa_above_label"))
    # a progressed lanreotide course without dose or interval: unknown, the fields are named
    undosed = tx("lanreotide", "2021-07-05", "2022-01-03", progressed=True, stop_reason="progression")
    _, unknown = seq(gi(treatments=[OCT_STD, undosed], disease=minor))
    o = unknown.for_option("gi.ssa_above_label")
    assert ABOVE not in rules(o)
    assert {"treatments[1].dose_mg", "treatments[1].interval_days"} <= set(o.not_assessed)
