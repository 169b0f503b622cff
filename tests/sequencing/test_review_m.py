"""Review M, items 4 and 5: an unknown regimen attribute is named, never read as "no concern", and a
recorded comorbidity behind a warning or critical safety item of an option is a comorbidity
consideration that cites the item's own source."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcds import Patient, evaluate, load_knowledge
from netcds.errors import KnowledgeError
from netcds.facts import build_facts
from netcds.sequencing import annotate
from netcds.sequencing.data import default_path, load_sequencing_data
from tests.conftest import g3, gi, merge, opt, pancreas, run
from tests.sequencing.util import rules, seq

VISITS = {"route": "oral", "travel_limit": True, "priority": "fewest_visits", "prrt_center_access": True}
UNKNOWN_ROUTE = "sequencing data: regimens.{}.route"
UNKNOWN_CHECKS = "sequencing data: regimens.{}.lab_monitoring"


# ---- item 4: regimen attributes ----------------------------------------------------------------


def test_every_regimen_a_table_can_carry_has_an_entry():
    """A regimen without an entry had every attribute silently read as 'no concern'."""
    data = load_sequencing_data()
    kb = load_knowledge()
    carried = {e.regimen for t in kb.tables for c in t.columns for e in c.entries}
    assert carried and carried <= set(data.regimens), sorted(carried - set(data.regimens))


def test_the_two_platinum_etoposide_variants_get_the_same_practical_points():
    """Probe p_g3route: cisplatin/etoposide was placed above carboplatin/etoposide (one item of the WD G3
    table) only because its route and monitoring were not encoded."""
    unknown = {"msi": ..., "mmr": ..., "tmb_mut_per_mb": ...}  # pembrolizumab needs data, as in the probe
    ev, r = seq(g3(preferences=VISITS, tumor={"primary_site": "ileum"}, biomarkers=unknown))
    cis, carbo = r.for_option("g3fav.cisplatin_etoposide"), r.for_option("g3fav.carboplatin_etoposide")
    practical = {
        "preference.route.differs",
        "preference.fewest_visits.frequent_visits",
        "logistics.travel_limit.infusion",
        "monitoring.regular_checks.visit_constraints",
    }
    assert practical <= rules(cis) and rules(cis) == rules(carbo)
    assert cis.order_score == carbo.order_score and cis.discussion_rank == carbo.discussion_rank
    pembro = r.for_option("g3fav.pembrolizumab")
    assert {"preference.route.differs", "monitoring.regular_checks.visit_constraints"} <= rules(pembro)
    # the label sources of the newly encoded regimen facts are cited
    differs = next(c for c in cis.considerations if c.rule_id == "preference.route.differs")
    assert any(s.document.startswith("Cisplatin injection") for s in differs.additional_sources)
    assert opt(ev, "g3fav.cisplatin_etoposide").status == "eligible"  # status untouched


def test_a_choice_of_agents_stays_unknown_and_is_named():
    """The GI table's cytotoxic chemotherapy is a choice of oral and infused agents: no route point
    either way, and the unknown attributes are named among the considerations not assessed."""
    ev = run(gi(preferences=VISITS, context={"no_other_options_feasible": True}))
    cyto = opt(ev, "gi.cytotoxic_chemotherapy")
    assert cyto.status == "eligible"
    assert not {c.rule_id for c in cyto.considerations} & {
        "preference.route.matches",
        "preference.route.differs",
        "logistics.travel_limit.oral",
        "monitoring.regular_checks.visit_constraints",
    }
    for name in (UNKNOWN_ROUTE, UNKNOWN_CHECKS):
        assert name.format("cytotoxic_chemotherapy") in cyto.considerations_not_assessed
    # an encoded regimen names nothing of the kind
    cabo = opt(ev, "gi.cabozantinib")
    assert not [f for f in cabo.considerations_not_assessed if f.startswith("sequencing data:")]


def test_no_route_preference_recorded_names_both_unknowns():
    ev = run(gi(preferences={"travel_limit": True}, context={"no_other_options_feasible": True}))
    na = opt(ev, "gi.cytotoxic_chemotherapy").considerations_not_assessed
    assert "preferences.route" in na and UNKNOWN_ROUTE.format("cytotoxic_chemotherapy") in na


def _data_file(tmp_path: Path, old: str, new: str) -> Path:
    text = default_path().read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "considerations.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


CABO_ENTRY = "  cabozantinib:\n    route: oral\n    lab_monitoring: true\n"


def test_an_attribute_left_out_needs_a_note(tmp_path):
    """A left-out attribute used to default to False ('no regular monitoring'); now it is unknown, and
    the data file must say why."""
    path = _data_file(tmp_path, CABO_ENTRY, "  cabozantinib:\n    route: oral\n")
    with pytest.raises(KnowledgeError) as exc:
        load_sequencing_data(path)
    assert "regimens.cabozantinib" in str(exc.value) and "note" in str(exc.value)


def test_a_left_out_monitoring_flag_is_unknown_not_false(tmp_path):
    path = _data_file(tmp_path, CABO_ENTRY, "  cabozantinib:\n    route: oral\n    note: not encoded here\n")
    data = load_sequencing_data(path)
    patient = Patient.model_validate(gi(preferences=VISITS))
    ev = evaluate(patient, load_knowledge())
    cabo = annotate(ev, patient, build_facts(patient), data=data).for_option("gi.cabozantinib")
    assert "monitoring.regular_checks.visit_constraints" not in rules(cabo)
    assert UNKNOWN_CHECKS.format("cabozantinib") in cabo.not_assessed
    # with the shipped data the label's monitoring is stated
    assert "monitoring.regular_checks.visit_constraints" in rules(
        annotate(ev, patient, build_facts(patient)).for_option("gi.cabozantinib")
    )


# ---- item 5: comorbidities behind safety items -------------------------------------------------

PERFORATION_VTE = {"gi_perforation_or_fistula_history": True, "recent_venous_thromboembolism": True}


def _probe(**comorbidities):
    """Probe p_comorb_order: ileal NET, SSTR-negative (no PRRT), cabozantinib and everolimus open."""
    return merge(
        gi(tumor={"sstr_status": "negative"}, preferences={"priority": "long_term_control"}),
        {"comorbidities": comorbidities},
    )


def test_a_comorbidity_behind_a_label_warning_is_a_comorbidity_point_citing_the_item():
    ev = run(_probe(diabetes=True, **PERFORATION_VTE))
    cabo = opt(ev, "gi.cabozantinib")
    c = [c for c in cabo.considerations if c.factor == "comorbidity"]
    assert [(x.rule_id, x.direction) for x in c] == [("comorbidity.safety_findings", "against")]
    assert (
        "History of GI perforation or fistula" in c[0].text and "Recent venous thromboembolism" in c[0].text
    )
    items = {i.id: i for i in cabo.safety}
    first = items["gi_perforation_fistula_history"].source
    assert (c[0].source.document, c[0].source.section) == (first.document, first.section)
    sections = {s.section for s in c[0].additional_sources}
    assert items["recent_venous_thromboembolism"].source.section in sections
    assert any(s.document.startswith("Lieu") for s in c[0].additional_sources)  # the seed's factor
    assert "no directional consideration" not in (cabo.order_explanation or "")
    assert "against: comorbidity (comorbidity.safety_findings)" in (cabo.order_explanation or "")
    # everolimus (diabetes) and cabozantinib (perforation, VTE) now share the first position
    evero = opt(ev, "gi.everolimus")
    assert cabo.discussion_rank == evero.discussion_rank == 1
    assert cabo.status == "eligible" and cabo.category == opt(run(_probe()), "gi.cabozantinib").category


def test_a_fact_a_hand_written_rule_states_is_not_stated_again():
    ev = run(_probe(diabetes=True))
    evero = opt(ev, "gi.everolimus")
    assert [c.rule_id for c in evero.considerations if c.factor == "comorbidity"] == [
        "comorbidity.diabetes.everolimus"
    ]
    both = opt(run(_probe(diabetes=True, interstitial_lung_disease=True)), "gi.everolimus")
    generic = next(c for c in both.considerations if c.rule_id == "comorbidity.safety_findings")
    assert "nterstitial lung disease" in generic.text and "iabetes" not in generic.text
    assert both.order_score == evero.order_score  # the factor still moves the order once


def test_other_options_and_agents_get_their_own_items():
    ev = run(pancreas(comorbidities={"heart_failure": True}))
    suni = opt(ev, "pancreas.sunitinib")
    generic = next(c for c in suni.considerations if c.rule_id == "comorbidity.safety_findings")
    assert "sunitinib" in generic.text and "SUTENT" in generic.source.document.upper()


def test_unknown_or_absent_comorbidities_state_nothing():
    for comorbidities in ({}, {"gi_perforation_or_fistula_history": False}):
        cabo = opt(run(_probe(**comorbidities)), "gi.cabozantinib")
        assert "comorbidity.safety_findings" not in {c.rule_id for c in cabo.considerations}
