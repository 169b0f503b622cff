"""Each consideration factor appears for a realistic case and is absent when its facts are absent."""

from __future__ import annotations

import re

from netcds.sequencing.data import load_sequencing_data
from tests.conftest import SSA_PROGRESSED, g3, gi, lung, pancreas
from tests.sequencing.util import OCT_STD, factors, rules, seq, tx

LIEU = "Lieu, Systemic therapy selection"
CAPTEM = [
    tx("capecitabine", "2021-07-05", "2022-01-10", progressed=True, stop_reason="progression"),
    tx("temozolomide", "2021-07-05", "2022-01-10", progressed=True, stop_reason="progression"),
]
PRRT = tx(
    "lu177_dotatate",
    "2021-07-05",
    "2021-12-20",
    interval_days=56,
    progressed=True,
    progression_date="2023-02-06",
    stop_reason="completed",
)
NO_PREFS = {"preferences": {}}


def by_id(result, entry_id):
    return result.for_option(entry_id)


# ---- tumor burden ------------------------------------------------------------------------------


def test_bulky_pancreatic_disease_favours_captem_and_oxaliplatin_regimens():
    _, r = seq(pancreas(disease={"tumor_burden": "bulky"}))
    c = [
        c for c in by_id(r, "pancreas.capecitabine_temozolomide").considerations if c.factor == "tumor_burden"
    ]
    assert len(c) == 1 and c[0].direction == "for"
    assert c[0].source.document.startswith(LIEU) and c[0].source.section == "tumor burden"
    nccn = c[0].additional_sources[0]
    assert nccn.document == "NCCN NET V.5.2024" and nccn.page == "NE-H" and nccn.table == "Pancreatic NETs"
    assert "burden.response_needed.oxaliplatin_pancreas" in rules(by_id(r, "pancreas.folfox"))
    assert not [c for c in by_id(r, "pancreas.everolimus").considerations if c.factor == "tumor_burden"]


def test_no_burden_consideration_without_bulk_or_symptoms_and_unknown_is_named():
    _, r = seq(pancreas())  # clinically significant, no symptoms
    assert factors(r, "tumor_burden") == []
    _, unknown = seq(
        pancreas(disease={"tumor_burden": None, "tumor_symptoms": None}, tumor={"hormonal_symptoms": None})
    )
    assert factors(unknown, "tumor_burden") == []
    assert "disease.tumor_burden" in by_id(unknown, "pancreas.capecitabine_temozolomide").not_assessed


# ---- progression pace --------------------------------------------------------------------------


def test_meaningful_sstr_positive_progression_favours_early_prrt():
    """ "Meaningful progression" is about whether the progression matters, not how fast it is: the
    point carries the progression_significance factor, never progression_pace."""
    _, r = seq(gi())
    c = [c for c in by_id(r, "gi.lu177_dotatate").considerations if c.factor == "progression_significance"]
    assert [x.rule_id for x in c] == ["prrt.early.meaningful_progression"]
    assert factors(r, "progression_pace") == []
    assert c[0].direction == "for" and c[0].source.section == "positioning of PRRT"
    assert any("clinically significant" in b for b in c[0].basis)
    _, not_meaningful = seq(gi(disease={"progression_clinically_significant": False}))
    assert "prrt.early.meaningful_progression" not in rules(by_id(not_meaningful, "gi.lu177_dotatate"))


def test_early_prrt_is_said_only_of_small_bowel_tumors_not_yet_given_prrt():
    """The source discusses progressive small-bowel NETs: other GI sites (the duodenum included),
    lung/thymus and a patient who already had PRRT do not get the "PRRT early" consideration."""
    rule = "prrt.early.meaningful_progression"
    for site in ("jejunum", "ileum", "small_bowel"):
        assert rule in rules(by_id(seq(gi(tumor={"primary_site": site}))[1], "gi.lu177_dotatate")), site
    for site in ("duodenum", "rectum", "stomach", "appendix"):
        assert rule not in rules(by_id(seq(gi(tumor={"primary_site": site}))[1], "gi.lu177_dotatate")), site
    progressing_lung = lung(
        tumor={"sstr_status": "positive"},
        disease={"status": "progressive", "progression_clinically_significant": True},
        treatments=SSA_PROGRESSED,
    )
    _, r_lung = seq(progressing_lung)
    assert rule not in rules(by_id(r_lung, "lung.lu177_dotatate"))
    _, after_prrt = seq(gi(treatments=[*SSA_PROGRESSED, PRRT]))
    assert rule not in rules(by_id(after_prrt, "gi.lu177_dotatate"))


def test_pace_derived_from_assessments_is_stated_without_a_direction():
    scans = [
        {"date": "2024-01-01", "sum_of_diameters_mm": 50},
        {"date": "2024-04-01", "sum_of_diameters_mm": 62},
    ]
    _, r = seq(pancreas(assessments=scans))
    assert r.progression_pace.value == "rapid" and r.progression_pace.derived_from == "assessments"
    captem = by_id(r, "pancreas.capecitabine_temozolomide")
    assert factors(r, "progression_pace") == []
    assert "pace of progression (rapid)" in captem.order_explanation


# ---- prior durability --------------------------------------------------------------------------


def test_short_benefit_on_a_line_already_stated_as_progression_is_not_said_twice():
    """Everolimus progressed after 3.4 months: the progressed-on point states that line with its
    months; the short-benefit point would count the same line a second time, so it is not given."""
    short = tx(
        "everolimus",
        "2021-07-05",
        "2021-11-01",
        progressed=True,
        progression_date="2021-10-18",
        stop_reason="progression",
    )
    _, r = seq(gi(treatments=[OCT_STD, short]))
    evero = by_id(r, "gi.everolimus")
    c = [c for c in evero.considerations if c.factor == "prior_durability"]
    assert [(x.rule_id, x.direction) for x in c] == [("durability.progressed_on", "against")]
    assert "3.4 months from its start" in c[0].text
    assert evero.order_score == -1
    long = tx(
        "everolimus",
        "2021-07-05",
        "2023-01-02",
        progressed=True,
        progression_date="2022-12-19",
        stop_reason="progression",
    )
    _, r2 = seq(gi(treatments=[OCT_STD, long]))
    assert "durability.same_regimen.short" not in rules(by_id(r2, "gi.everolimus"))
    assert "durability.same_regimen.durable" in rules(by_id(r2, "gi.everolimus"))


def test_short_benefit_from_a_same_class_drug_but_not_across_tkis():
    short_tem = tx("temozolomide", "2021-07-05", "2021-10-04", progressed=True, progression_date="2021-09-20")
    _, r = seq(pancreas(treatments=[OCT_STD, short_tem]))
    # temozolomide alone counts as the temozolomide (+/- capecitabine) regimen, so CAPTEM shares its class
    captem = by_id(r, "pancreas.capecitabine_temozolomide")
    assert "durability.same_class.short" in rules(captem)
    short_sun = tx("sunitinib", "2021-07-05", "2021-10-04", progressed=True, progression_date="2021-09-20")
    _, tki = seq(pancreas(treatments=[OCT_STD, short_sun]))
    assert "durability.same_class.short" not in rules(by_id(tki, "pancreas.cabozantinib"))


def test_progression_after_prrt_favours_oral_targeted_therapy():
    _, r = seq(gi(treatments=[OCT_STD, PRRT]))
    for entry in ("gi.everolimus", "gi.cabozantinib"):
        assert "durability.after_prrt.oral_targeted" in rules(by_id(r, entry))
    _, before = seq(gi())  # SSA only: no PRRT yet
    for entry in ("gi.everolimus", "gi.cabozantinib"):
        assert "durability.after_prrt.oral_targeted" not in rules(by_id(before, entry))
    _, naive = seq(gi(treatments=[], disease={"status": "progressive"}))
    assert factors(naive, "prior_durability") == []


# ---- comorbidity -------------------------------------------------------------------------------


def test_diabetes_against_everolimus_and_uncontrolled_hypertension_against_tkis():
    _, r = seq(pancreas(comorbidities={"diabetes": True, "hypertension": "uncontrolled"}))
    assert "comorbidity.diabetes.everolimus" in rules(by_id(r, "pancreas.everolimus"))
    # sunitinib also carries its label's warning on diabetes (hypoglycemia) as the generic point; the
    # hypertension its own rule states is not stated again there
    for entry, agent, more in (
        ("pancreas.cabozantinib", "cabozantinib", []),
        ("pancreas.sunitinib", "sunitinib", [("comorbidity.safety_findings", "against")]),
    ):
        c = [c for c in by_id(r, entry).considerations if c.factor == "comorbidity"]
        assert [(x.rule_id, x.direction) for x in c] == [
            (f"comorbidity.uncontrolled_hypertension.{agent}", "against"),
            *more,
        ]
    suni = next(
        c for c in by_id(r, "pancreas.sunitinib").considerations if c.rule_id == "comorbidity.safety_findings"
    )
    assert "Diabetes" in suni.text and "hypertension" not in suni.text
    cabo = next(c for c in by_id(r, "pancreas.cabozantinib").considerations if c.factor == "comorbidity")
    assert any("CABOMETYX" in s.document for s in cabo.additional_sources)
    _, fine = seq(pancreas(comorbidities={"diabetes": False, "hypertension": "controlled"}))
    assert factors(fine, "comorbidity") == []
    _, unknown = seq(pancreas())
    assert factors(unknown, "comorbidity") == []
    assert "comorbidities.diabetes" in by_id(unknown, "pancreas.everolimus").not_assessed


# ---- preferences -------------------------------------------------------------------------------


def test_oral_route_preference_for_oral_agents_and_against_infusion_or_injection():
    _, r = seq(gi(preferences={"route": "oral"}))
    assert "preference.route.matches" in rules(by_id(r, "gi.everolimus"))
    assert "preference.route.matches" in rules(by_id(r, "gi.cabozantinib"))
    assert "preference.route.differs" in rules(by_id(r, "gi.lu177_dotatate"))
    # 5.2024-r7: footnote a gates the above-label entry; with a minor progression it is eligible and ranked
    _, minor = seq(gi(preferences={"route": "oral"}, disease={"progression_clinically_significant": False}))
    assert "preference.route.differs" in rules(by_id(minor, "gi.ssa_above_label"))
    _, none = seq(gi(preferences={"route": "no_preference"}))
    assert factors(none, "preference") == []


def test_long_term_control_priority_favours_prrt_when_sstr_positive():
    _, r = seq(gi(preferences={"priority": "long_term_control"}))
    assert "preference.long_term_control.prrt" in rules(by_id(r, "gi.lu177_dotatate"))
    assert [e for e, _ in factors(r, "preference")] == ["gi.lu177_dotatate"]


def test_unknown_preferences_produce_no_preference_considerations():
    _, r = seq(gi(**NO_PREFS))
    assert factors(r, "preference") == []
    assert factors(r, "logistics") == [] and factors(r, "access") == [] and factors(r, "monitoring") == []
    assert "preferences.route" in by_id(r, "gi.everolimus").not_assessed


# ---- cumulative toxicity -----------------------------------------------------------------------


def test_prior_alkylator_counts_against_prrt_and_prior_prrt_against_alkylating_chemo():
    _, r = seq(pancreas(treatments=[OCT_STD, *CAPTEM]))
    c = [c for c in by_id(r, "pancreas.lu177_dotatate").considerations if c.factor == "cumulative_toxicity"]
    assert [(x.rule_id, x.direction) for x in c] == [
        ("cumulative_toxicity.myelosuppressive_before_prrt", "against")
    ]
    assert any("LUTATHERA" in s.document for s in c[0].additional_sources)
    _, after_prrt = seq(pancreas(treatments=[OCT_STD, PRRT]))
    assert "cumulative_toxicity.myelosuppressive_before_chemo" in rules(
        by_id(after_prrt, "pancreas.capecitabine_temozolomide")
    )
    assert "cumulative_toxicity.myelosuppressive_before_prrt" not in rules(
        by_id(after_prrt, "pancreas.lu177_dotatate")
    )
    _, naive = seq(pancreas())
    assert factors(naive, "cumulative_toxicity") == []


def test_stopped_for_toxicity_counts_against_the_same_regimen_and_class():
    sun = tx("sunitinib", "2021-07-05", "2021-10-04", progressed=False, stop_reason="toxicity")
    _, r = seq(pancreas(treatments=[OCT_STD, sun]))
    assert "cumulative_toxicity.stopped_same_regimen" in rules(by_id(r, "pancreas.sunitinib"))
    assert "cumulative_toxicity.stopped_same_class" in rules(by_id(r, "pancreas.cabozantinib"))
    assert "cumulative_toxicity.stopped_same_class" not in rules(by_id(r, "pancreas.everolimus"))


# ---- logistics, monitoring, access -------------------------------------------------------------


def test_travel_limit_against_prrt_and_infusions_for_oral_agents():
    _, r = seq(pancreas(preferences={"travel_limit": True}))
    assert "logistics.travel_limit.prrt" in rules(by_id(r, "pancreas.lu177_dotatate"))
    assert "logistics.travel_limit.infusion" in rules(by_id(r, "pancreas.folfox"))
    assert "logistics.travel_limit.oral" in rules(by_id(r, "pancreas.everolimus"))
    _, free = seq(pancreas(preferences={"travel_limit": False}))
    assert factors(free, "logistics") == []


def test_monitoring_burden_counts_when_visits_are_a_constraint():
    _, r = seq(gi(preferences={"priority": "fewest_visits"}))
    for entry in ("gi.everolimus", "gi.cabozantinib", "gi.lu177_dotatate"):
        assert "monitoring.regular_checks.visit_constraints" in rules(by_id(r, entry))
    assert "monitoring.regular_checks.visit_constraints" not in rules(by_id(r, "gi.ssa"))
    _, diabetic = seq(gi(comorbidities={"diabetes": True}))
    assert [(e, c.rule_id) for e, c in factors(diabetic, "monitoring")] == [
        ("gi.everolimus", "monitoring.diabetes.everolimus_glucose")
    ]
    _, none = seq(gi(preferences={"priority": "long_term_control", "travel_limit": False}))
    assert factors(none, "monitoring") == []


def test_no_prrt_center_access_counts_against_prrt():
    _, r = seq(gi(preferences={"prrt_center_access": False}))
    c = [c for c in by_id(r, "gi.lu177_dotatate").considerations if c.factor == "access"]
    assert [(x.rule_id, x.direction) for x in c] == [("access.no_prrt_center", "against")]
    assert c[0].source.section == "access to specialized care"
    _, ok = seq(gi(preferences={"prrt_center_access": True}))
    assert [(e, c.direction) for e, c in factors(ok, "access")] == [("gi.lu177_dotatate", "neutral")]


def test_fdg_avid_g3_tumor_counts_against_prrt_citing_footnote_o():
    _, r = seq(g3(tumor={"fdg_avid": True}))
    c = [c for c in by_id(r, "g3fav.lu177_dotatate").considerations if c.factor == "tumor_biology"]
    assert [(x.rule_id, x.direction) for x in c] == [("biology.prrt.fdg_avid_g3", "against")]
    assert c[0].source.footnote == "o" and c[0].source.table == "WD G3 NETs"
    _, not_avid = seq(g3())
    assert factors(not_avid, "tumor_biology") == []
    _, gi_avid = seq(gi(tumor={"fdg_avid": True}))  # footnote o belongs to the G3 table only
    assert factors(gi_avid, "tumor_biology") == []


def test_not_eligible_options_carry_no_considerations():
    _, r = seq(gi(tumor={"sstr_status": "negative"}, preferences={"travel_limit": True, "route": "oral"}))
    prrt = by_id(r, "gi.lu177_dotatate")
    assert prrt.status == "not_eligible" and prrt.considerations == []


def test_every_consideration_names_its_rule_factor_and_source():
    _, r = seq(
        gi(
            treatments=[OCT_STD, PRRT],
            comorbidities={"diabetes": True},
            preferences={
                "route": "oral",
                "priority": "long_term_control",
                "travel_limit": True,
                "prrt_center_access": False,
            },
        )
    )
    found = [c for o in r.options for c in o.considerations]
    assert len(found) >= 8
    for c in found:
        assert c.rule_id and c.text and c.basis
        assert c.source.document
        assert c.direction in ("for", "against", "neutral")


# ---- review fixes: wording and scope of individual rules ---------------------------------------


def test_after_prrt_oral_targeted_point_is_worded_as_the_seed_and_not_for_an_agent_already_had():
    evero = tx("everolimus", "2023-03-06", "2023-09-04", progressed=True, stop_reason="progression")
    _, r = seq(gi(treatments=[OCT_STD, PRRT, evero]))
    assert "durability.after_prrt.oral_targeted" not in rules(by_id(r, "gi.everolimus"))
    cabo = next(
        c for c in by_id(r, "gi.cabozantinib").considerations if c.rule_id.startswith("durability.after")
    )
    assert "usual" not in cabo.text and "depending on" in cabo.text


def test_prrt_positioning_points_stay_in_the_seed_setting():
    _, duodenum = seq(gi(tumor={"primary_site": "duodenum"}))
    assert "prrt.early.meaningful_progression" not in rules(by_id(duodenum, "gi.lu177_dotatate"))
    _, g3_avid = seq(g3(tumor={"fdg_avid": True}, preferences={"priority": "long_term_control"}))
    assert "preference.long_term_control.prrt" not in rules(by_id(g3_avid, "g3fav.lu177_dotatate"))
    _, pan = seq(pancreas(preferences={"priority": "long_term_control"}))
    assert "preference.long_term_control.prrt" not in rules(by_id(pan, "pancreas.lu177_dotatate"))


def test_each_tki_has_its_own_hypertension_text():
    _, r = seq(pancreas(comorbidities={"hypertension": "uncontrolled"}))
    sun = next(c for c in by_id(r, "pancreas.sunitinib").considerations if c.factor == "comorbidity")
    cabo = next(c for c in by_id(r, "pancreas.cabozantinib").considerations if c.factor == "comorbidity")
    assert "sunitinib" in sun.text and "cabozantinib" not in sun.text.lower()
    assert all("CABOMETYX" not in s.document for s in [sun.source, *sun.additional_sources])
    assert "cabozantinib" in cabo.text and "sunitinib" not in cabo.text


def test_above_label_ssa_is_not_marked_down_for_short_benefit_from_the_standard_dose():
    """Footnote h: progression on standard SSA doses is the very situation of the above-label entry."""
    short_oct = tx("octreotide_lar", "2023-01-02", "2023-05-01", dose_mg=30, interval_days=28,
                   progressed=True, progression_date="2023-04-17", stop_reason="progression")  # fmt: skip
    _, r = seq(gi(treatments=[short_oct], disease={"progression_clinically_significant": False}))
    above = by_id(r, "gi.ssa_above_label")
    assert above.status == "eligible"
    assert "durability.same_class.short" not in rules(above)


def test_myelosuppressive_chemo_rule_covers_its_cited_agents_only():
    """The rule's basis is alkylating/platinum marrow toxicity: FOLFIRINOX (oxaliplatin) is in,
    FOLFIRI (fluorouracil, leucovorin, irinotecan) is not, and the oxaliplatin label is cited."""
    cis_eto = tx(
        "cisplatin_etoposide", "2024-01-10", "2024-07-10", progressed=True, stop_reason="progression"
    )
    _, r = seq(g3(disease={"biology": "unfavorable"}, treatments=[cis_eto]))
    rule = "cumulative_toxicity.myelosuppressive_before_chemo"
    assert rule in rules(by_id(r, "g3adv.folfirinox")) and rule not in rules(by_id(r, "g3adv.folfiri"))
    c = next(c for c in by_id(r, "g3adv.folfirinox").considerations if c.rule_id == rule)
    assert any("Oxaliplatin" in s.document for s in c.additional_sources)


# ---- clinical review (PRRT-positioning scope, pace and burden wording) -------------------------

DIRECTIVE = re.compile(r"\b(calls? for|should|must|stop|weighs? toward)\b", re.IGNORECASE)


def test_long_term_control_prrt_point_is_kept_to_small_bowel_with_meaningful_progression():
    """Seed 000: PRRT early for SSTR-positive small-bowel NETs with meaningful progression, when
    long-term control is the priority. Not pancreas (where it used to rank PRRT 2A above the
    category-1 everolimus and sunitinib), lung or rectum; not without clinically significant
    progression; unknown significance is listed, not assumed."""
    rule = "preference.long_term_control.prrt"
    ltc = {"priority": "long_term_control"}
    _, pan = seq(pancreas(preferences=ltc))
    assert rule not in rules(by_id(pan, "pancreas.lu177_dotatate"))
    first = next(t for t in pan.discussion_order if t.tier == "preferred").entry_ids[:2]
    assert first == ["pancreas.everolimus", "pancreas.sunitinib"]
    lung_record = lung(preferences=ltc)
    assert rule not in rules(by_id(seq(lung_record)[1], "lung.lu177_dotatate"))
    for site in ("rectum", "duodenum", "stomach"):
        r = seq(gi(tumor={"primary_site": site}, preferences=ltc))[1]
        assert rule not in rules(by_id(r, "gi.lu177_dotatate")), site
    for site in ("jejunum", "ileum", "small_bowel"):
        r = seq(gi(tumor={"primary_site": site}, preferences=ltc))[1]
        assert rule in rules(by_id(r, "gi.lu177_dotatate")), site
    _, not_meaningful = seq(gi(preferences=ltc, disease={"progression_clinically_significant": False}))
    assert rule not in rules(by_id(not_meaningful, "gi.lu177_dotatate"))
    _, unknown = seq(gi(preferences=ltc, disease={"progression_clinically_significant": None}))
    prrt = by_id(unknown, "gi.lu177_dotatate")
    assert rule not in rules(prrt)
    assert "disease.progression_clinically_significant" in prrt.not_assessed


def test_after_prrt_oral_targeted_point_is_kept_to_small_bowel():
    rule = "durability.after_prrt.oral_targeted"
    after = [OCT_STD, PRRT]
    _, pan = seq(pancreas(treatments=after))
    _, rectum = seq(gi(tumor={"primary_site": "rectum"}, treatments=after))
    _, lung_r = seq(lung(treatments=after))
    for r, prefix in ((pan, "pancreas"), (rectum, "gi"), (lung_r, "lung")):
        for agent in ("everolimus", "cabozantinib"):
            assert rule not in rules(by_id(r, f"{prefix}.{agent}")), (prefix, agent)
    _, ileum = seq(gi(treatments=after, disease={"progression_clinically_significant": False}))
    assert rule in rules(by_id(ileum, "gi.everolimus")) and rule in rules(by_id(ileum, "gi.cabozantinib"))


def test_pace_of_progression_gives_no_option_a_direction_or_a_new_place():
    """Seed 000 lists the rate of progression as a factor without a direction: a rapid or slow pace
    annotates no regimen and moves nothing; it is named in the explanation as undirected."""
    _, base = seq(pancreas())
    for pace in ("rapid", "slow"):
        _, r = seq(pancreas(disease={"progression_pace": pace}))
        assert factors(r, "progression_pace") == [], pace
        assert [t.entry_ids for t in r.discussion_order] == [t.entry_ids for t in base.discussion_order]
        captem = by_id(r, "pancreas.capecitabine_temozolomide")
        assert f"pace of progression ({pace})" in captem.order_explanation
    _, rapid = seq(pancreas(disease={"progression_pace": "rapid"}))
    assert (
        next(t for t in rapid.discussion_order if t.tier == "preferred").entry_ids[0] == "pancreas.everolimus"
    )


def test_captem_burden_point_states_the_table_qualifier_and_leaves_the_need_to_the_clinician():
    rule = "burden.response_needed.captem_pancreas"
    hormonal = pancreas(tumor={"hormonal_symptoms": True, "functional": True, "syndromes": ["insulinoma"]})
    assert rule not in rules(by_id(seq(hormonal)[1], "pancreas.capecitabine_temozolomide"))
    for over in ({"tumor_burden": "bulky"}, {"tumor_symptoms": True}):
        c = next(
            c
            for c in by_id(
                seq(pancreas(disease=over))[1], "pancreas.capecitabine_temozolomide"
            ).considerations
            if c.rule_id == rule
        )
        assert "clinician" in c.text and not DIRECTIVE.search(c.text)
        assert not any("response is needed" in b for b in c.basis)


def test_no_rule_text_is_worded_as_a_directive():
    data = load_sequencing_data()
    offenders = [r.id for r in data.rules if DIRECTIVE.search(r.text)]
    assert offenders == []


# ---- review of the sequencing layer (2026): scope, wording and sources --------------------------

CIS_ETO = [
    tx("cisplatin", "2024-01-10", "2024-05-01", progressed=True, progression_date="2024-06-20",
       stop_reason="completed"),
    tx("etoposide", "2024-01-10", "2024-05-01", progressed=True, progression_date="2024-06-20",
       stop_reason="completed"),
]  # fmt: skip
LUNG_CE = {
    "tumor": {"sstr_status": "negative", "hormonal_symptoms": None},
    "disease": {"progression_clinically_significant": True},
    "treatments": CIS_ETO,
}


def test_progression_on_a_variant_is_not_counted_again_as_a_same_class_short_benefit():
    _, r = seq(lung(**LUNG_CE))
    carbo = by_id(r, "lung.carboplatin_etoposide")
    durability = [c.rule_id for c in carbo.considerations if c.factor == "prior_durability"]
    assert durability == ["durability.progressed_on_variant"]
    cis = by_id(r, "lung.cisplatin_etoposide")
    assert [c.rule_id for c in cis.considerations if c.factor == "prior_durability"] == [
        "durability.progressed_on"
    ]


def test_variant_point_is_worded_and_cited_for_the_patients_own_table():
    """A lung patient is not told about the WD G3 table: the lung/thymus table lists the two doublets
    as separate entries under footnote i; the G3 table groups them."""
    _, r = seq(lung(**LUNG_CE))
    c = next(c for c in by_id(r, "lung.carboplatin_etoposide").considerations
             if c.rule_id == "durability.progressed_on_variant")  # fmt: skip
    assert "WD G3" not in c.text and "lung/thymus table" in c.text
    cited = [c.source, *c.additional_sources]
    assert not any(s.table == "WD G3 NETs" for s in cited)
    assert any(s.table == "Lung/Thymus NETs" and s.footnote == "i" for s in cited)
    _, g3r = seq(g3(disease={"biology": "unfavorable"}, treatments=CIS_ETO))
    c3 = next(c for c in by_id(g3r, "g3adv.carboplatin_etoposide").considerations
              if c.rule_id == "durability.progressed_on_variant")  # fmt: skip
    assert "WD G3 table" in c3.text and "lung/thymus" not in c3.text
    assert any(s.table == "WD G3 NETs" for s in [c3.source, *c3.additional_sources])


def test_oxaliplatin_regimens_read_the_same_response_findings_as_captem():
    """Hormone-excess symptoms alone fire neither the CAPTEM nor the FOLFOX/CAPEOX burden point, and a
    response priority is the table's qualifier for temozolomide + capecitabine only."""
    hormonal = pancreas(tumor={"hormonal_symptoms": True, "functional": True, "syndromes": ["vipoma"]},
                        preferences={"priority": "response"})  # fmt: skip
    _, r = seq(hormonal)
    for entry in ("pancreas.folfox", "pancreas.capeox"):
        o = by_id(r, entry)
        assert o.status == "eligible"
        assert not {
            "burden.response_needed.oxaliplatin_pancreas",
            "preference.response.cytotoxic_pancreas",
        } & rules(o)
    assert "preference.response.cytotoxic_pancreas" in rules(by_id(r, "pancreas.capecitabine_temozolomide"))
    _, tumor_symptoms = seq(pancreas(disease={"tumor_symptoms": True}))
    assert "burden.response_needed.oxaliplatin_pancreas" in rules(by_id(tumor_symptoms, "pancreas.folfox"))


def test_a_recorded_priority_no_rule_reads_is_listed_as_considered_without_direction():
    _, r = seq(gi(preferences={"route": "injection", "priority": "lowest_toxicity"}))
    evero = by_id(r, "gi.everolimus")
    assert "the patient's stated priority (lowest toxicity)" in evero.order_explanation
    _, ltc = seq(gi(preferences={"priority": "long_term_control"}))
    # PRRT has a rule reading the priority: not listed as undirected there; everolimus has none
    assert "stated priority" not in by_id(ltc, "gi.lu177_dotatate").order_explanation
    assert (
        "the patient's stated priority (long term control)" in by_id(ltc, "gi.everolimus").order_explanation
    )


def test_prior_cisplatin_is_covered_by_the_cisplatin_label():
    _, r = seq(lung(**LUNG_CE))
    c = next(c for c in by_id(r, "lung.temozolomide_pm_capecitabine").considerations
             if c.rule_id == "cumulative_toxicity.myelosuppressive_before_chemo")  # fmt: skip
    cis = [s for s in c.additional_sources if s.document.startswith("Cisplatin injection")]
    assert (
        cis
        and cis[0].url
        and cis[0].url.startswith("https://")
        and "myelosuppression" in (cis[0].section or "")
    )


def test_a_group_entry_is_not_said_to_have_been_given_as_such():
    _, r = seq(gi(treatments=[OCT_STD, *CAPTEM], context={"no_other_options_feasible": True}))
    c = next(c for c in by_id(r, "gi.cytotoxic_chemotherapy").considerations
             if c.rule_id == "durability.progressed_on")  # fmt: skip
    assert "an agent of this group was given" in c.text and "counted as this option" not in c.text


def test_prrt_offered_again_states_the_cumulative_radiation_exposure_from_its_label():
    done = tx("lu177_dotatate", "2021-07-01", "2021-12-20", interval_days=56, progressed=True,
              progression_date="2025-03-01", stop_reason="completed")  # fmt: skip
    _, r = seq(gi(as_of="2025-06-01", treatments=[OCT_STD, done]))
    prrt = by_id(r, "gi.lu177_dotatate")
    c = next(c for c in prrt.considerations if c.rule_id == "cumulative_toxicity.prrt_again")
    assert c.factor == "cumulative_toxicity" and c.direction == "against"
    assert "about 4 administrations" in c.text
    # no claim about what the whole guideline says: the pages the source holds, and NE-J named as missing
    assert "guideline does not address" not in c.text
    assert "not addressed on the guideline pages in the source" in c.text and "NE-J" in c.text
    label = [s for s in c.additional_sources if s.document.startswith("LUTATHERA")]
    assert any("radiation exposure" in (s.section or "") for s in label)
    assert all(s.url and s.url.startswith("https://") for s in label)
    _, naive = seq(gi())
    assert "cumulative_toxicity.prrt_again" not in rules(by_id(naive, "gi.lu177_dotatate"))


def test_the_no_sequence_statement_is_attributed_only_where_the_guideline_page_says_it():
    _, gi_r = seq(gi())
    assert "The guideline gives no data-driven sequence" in gi_r.statement
    _, g3_r = seq(g3())
    assert "The guideline gives no data-driven sequence" not in g3_r.statement
    assert "netcds adds no data-driven sequence" in g3_r.statement and "not a ranking" in g3_r.statement


def test_output_texts_name_the_lieu_2026_discussion_not_the_seed():
    from netcds.sequencing.annotation import STATEMENT, STATEMENT_NO_PRINCIPLE

    data = load_sequencing_data()
    texts = [r.text for r in data.rules] + [d.document for d in data.documents.values()]
    texts += [v.says for v in data.variants] + [t.says for v in data.variants for t in v.tables.values()]
    assert [t for t in [*texts, STATEMENT, STATEMENT_NO_PRINCIPLE] if re.search(r"\bseed\b", t, re.I)] == []
    _, r = seq(gi(disease={"progression_pace": "rapid"}))
    for o in r.options:
        assert not re.search(r"\bseed\b", o.order_explanation, re.I), o.entry_id
        for c in o.considerations:
            assert not re.search(r"\bseed\b", c.text, re.I), c.rule_id
