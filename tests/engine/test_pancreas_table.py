"""Pancreatic NET WD G1/2 table (NE-H): every entry and condition."""

from __future__ import annotations

import pytest

from netcds.field_labels import agent_name
from tests.conftest import opt, pancreas, run

ENTRIES = {
    "pancreas.cabozantinib": ("cabozantinib", "preferred"),
    "pancreas.everolimus": ("everolimus", "preferred"),
    "pancreas.sunitinib": ("sunitinib", "preferred"),
    "pancreas.ssa_sstr_positive": ("ssa", "preferred"),
    "pancreas.lu177_dotatate": ("lu177_dotatate", "preferred"),
    "pancreas.capecitabine_temozolomide": ("capecitabine_temozolomide", "preferred"),
    "pancreas.folfox": ("folfox", "other_recommended"),
    "pancreas.capeox": ("capeox", "other_recommended"),
    "pancreas.ssa_above_label": ("ssa_above_label", "useful_in_certain_circumstances"),
    "pancreas.ssa_sstr_negative": ("ssa", "useful_in_certain_circumstances"),
    "pancreas.belzutifan": ("belzutifan", "useful_in_certain_circumstances"),
    "pancreas.rt_fluoropyrimidine": ("rt_fluoropyrimidine", "useful_in_certain_circumstances"),
}


def test_every_entry_with_its_tier():
    ev = run(pancreas())
    assert ev.setting.table == "pancreas_wd_g12" and ev.setting.status == "applies"
    assert {o.entry_id: (o.regimen, o.tier) for o in ev.options} == ENTRIES


@pytest.mark.parametrize(
    ("agent", "category"),
    [("everolimus", "1"), ("lu177_dotatate", "1"), ("sunitinib", "1"), ("capecitabine_temozolomide", "2A")],
)
def test_cabozantinib_category_1_after_everolimus_lu177_or_sunitinib(agent, category):
    o = opt(
        run(pancreas(treatments=[{"agent": agent, "start": "2023-01-01", "progressed": True}])),
        "pancreas.cabozantinib",
    )
    assert o.category == category
    if category == "1":
        assert f"received {agent_name(agent)} from 2023-01-01" in o.category_basis[0]


@pytest.mark.parametrize("entry", ["pancreas.everolimus", "pancreas.sunitinib"])
@pytest.mark.parametrize(
    ("status_", "category", "pending", "option"),
    [
        ("progressive", "1", [], "eligible"),
        ("stable", "2A", [], "eligible"),
        # 5.2024-r7: the table itself waits for the status (no evidence of disease: no table)
        (None, "2A", ["disease.status"], "needs_data"),
    ],
)
def test_everolimus_and_sunitinib_category_1_for_progressive_disease(
    entry, status_, category, pending, option
):
    o = opt(run(pancreas(disease={"status": status_}, treatments=[])), entry)
    assert (o.status, o.category, o.category_missing) == (option, category, pending)


def test_guideline_doses_for_everolimus_and_sunitinib():
    ev = run(pancreas())
    assert "10 mg" in (opt(ev, "pancreas.everolimus").guideline_dose or "")
    assert "37.5 mg" in (opt(ev, "pancreas.sunitinib").guideline_dose or "")


@pytest.mark.parametrize(
    ("sstr", "pos", "neg"),
    [
        ("positive", "eligible", "not_eligible"),
        ("negative", "not_eligible", "eligible"),
        (None, "needs_data", "needs_data"),
    ],
)
def test_ssa_preferred_if_sstr_positive_useful_if_negative(sstr, pos, neg):
    ev = run(pancreas(tumor={"sstr_status": sstr}, treatments=[]))  # no SSA given: no footnote a
    assert opt(ev, "pancreas.ssa_sstr_positive").status == pos
    assert opt(ev, "pancreas.ssa_sstr_negative").status == neg
    assert "j" in opt(ev, "pancreas.ssa_sstr_positive").footnotes


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({}, "eligible"),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible"),
        ({"treatments": []}, "not_eligible"),
    ],
)
def test_lu177_if_sstr_positive_and_progression_on_ssa(over, status):
    assert opt(run(pancreas(**over)), "pancreas.lu177_dotatate").status == status


@pytest.mark.parametrize(
    "over",
    [
        {"disease": {"tumor_symptoms": True}},
        {"disease": {"tumor_burden": "bulky"}},
        {"preferences": {"priority": "response"}},
        {"tumor": {"hormonal_symptoms": True}, "preferences": {"priority": "response"}},
        {"disease": {"tumor_symptoms": False}, "preferences": {"priority": "long_term_control"}},
    ],
)
def test_captem_response_needed_is_a_note_for_the_clinician_not_a_computed_qualifier(over):
    """The table prefers CAPTEM where a tumor response is needed (for symptoms or cytoreduction); no
    recorded fact states that need, so 5.2024-r6 shows it as the entry's note (5.2024-r5 computed it)."""
    o = opt(run(pancreas(**over)), "pancreas.capecitabine_temozolomide")
    assert o.status == "eligible" and o.qualifiers == []
    assert o.note is not None and "clinician's judgement" in o.note


@pytest.mark.parametrize("entry", ["pancreas.folfox", "pancreas.capeox"])
@pytest.mark.parametrize(
    ("disease", "status"),
    [
        ({"tumor_burden": "bulky", "status": "stable", "tumor_symptoms": False}, "eligible"),
        ({"tumor_burden": "mild", "status": "stable", "tumor_symptoms": True}, "eligible"),
        ({"tumor_burden": "mild", "status": "progressive", "tumor_symptoms": False}, "eligible"),
        ({"tumor_burden": "mild", "status": "stable", "tumor_symptoms": False}, "not_eligible"),
        ({"tumor_burden": "mild", "status": "stable", "tumor_symptoms": None}, "needs_data"),
    ],
)
def test_folfox_capeox_for_bulky_symptomatic_or_progressive(entry, disease, status):
    assert opt(run(pancreas(disease=disease)), entry).status == status


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({}, "eligible"),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible"),
        (
            {
                "treatments": [
                    {
                        "agent": "lanreotide",
                        "dose_mg": 120,
                        "interval_days": 14,
                        "start": "2023-01-01",
                        "progressed": True,
                    }
                ]
            },
            "not_eligible",
        ),
    ],
)
def test_above_label_ssa(over, status):
    minor = {"disease": {"progression_clinically_significant": False}}  # footnote a does not stop the SSA
    o = opt(run(pancreas(**{**minor, **over})), "pancreas.ssa_above_label")
    assert o.status == status and o.footnotes == ["a", "h", "j"]


@pytest.mark.parametrize("entry", ["pancreas.ssa_sstr_positive", "pancreas.ssa_sstr_negative"])
@pytest.mark.parametrize(
    ("significant", "functional", "status"),
    [
        (True, False, "not_eligible"),
        (True, True, "eligible"),
        (False, False, "eligible"),
        (True, None, "needs_data"),
    ],
)
def test_ssa_entries_follow_footnote_a(entry, significant, functional, status):
    sstr = "positive" if entry.endswith("positive") else "negative"
    history = [{"agent": "octreotide_lar", "start": "2023-01-01", "end": "2024-01-01", "progressed": True}]
    p = pancreas(
        disease={"status": "progressive", "progression_clinically_significant": significant},
        tumor={"functional": functional, "sstr_status": sstr},
        treatments=history,
    )
    assert opt(run(p), entry).status == status


@pytest.mark.parametrize(
    ("vhl", "status_", "status", "missing"),
    [
        (True, "progressive", "eligible", []),
        (False, "progressive", "not_eligible", []),
        (True, "stable", "not_eligible", []),
        (None, "progressive", "needs_data", ["biomarkers.germline_vhl"]),
    ],
)
def test_belzutifan_germline_vhl_and_progressive(vhl, status_, status, missing):
    o = opt(
        run(pancreas(biomarkers={"germline_vhl": vhl}, disease={"status": status_})), "pancreas.belzutifan"
    )
    assert (o.status, o.missing) == (status, missing)
    assert [f.available for f in o.footnote_details] == [False, False]  # k, l are not in the source
    assert all(f.text and f.text.startswith("Unavailable") for f in o.footnote_details)


@pytest.mark.parametrize(
    ("disease", "status"),
    [({"extent": "locoregional", "resectable": False}, "eligible"), ({}, "not_eligible")],
)
def test_rt_for_locally_advanced_unresectable(disease, status):
    # a pancreatic primary is never small-bowel mesenteric disease, so that fact is not needed
    o = opt(run(pancreas(disease=disease)), "pancreas.rt_fluoropyrimidine")
    assert (o.status, o.missing) == (status, [])
