"""Well-differentiated G3 table (NE-H): three columns, every entry and condition."""

from __future__ import annotations

import pytest

from tests.conftest import g3, opt, run

FAVORABLE = {
    "g3fav.clinical_trial": "preferred", "g3fav.cabozantinib": "listed",
    "g3fav.temozolomide_pm_capecitabine": "listed", "g3fav.folfox": "listed", "g3fav.capeox": "listed",
    "g3fav.cisplatin_etoposide": "listed", "g3fav.carboplatin_etoposide": "listed", "g3fav.everolimus": "listed",
    "g3fav.ssa": "listed", "g3fav.ssa_above_label": "listed", "g3fav.pembrolizumab": "listed",
    "g3fav.lu177_dotatate": "listed", "g3fav.sunitinib": "listed", "g3fav.rt_fluoropyrimidine": "listed",
}  # fmt: skip
RESECTABLE = {
    "g3res.clinical_trial": "preferred", "g3res.cisplatin_etoposide": "listed",
    "g3res.carboplatin_etoposide": "listed", "g3res.folfox": "listed", "g3res.capeox": "listed",
    "g3res.temozolomide_pm_capecitabine": "listed",
}  # fmt: skip
UNFAVORABLE = {
    "g3adv.clinical_trial": "preferred", "g3adv.cisplatin_etoposide": "listed",
    "g3adv.carboplatin_etoposide": "listed", "g3adv.folfiri": "listed", "g3adv.cisplatin_irinotecan": "listed",
    "g3adv.folfirinox": "listed", "g3adv.folfox": "listed", "g3adv.capeox": "listed",
    "g3adv.pembrolizumab": "listed", "g3adv.temozolomide_pm_capecitabine": "listed",
    "g3adv.nivolumab_ipilimumab": "listed", "g3adv.rt_fluoropyrimidine": "listed",
}  # fmt: skip
UNFAV_RESECTABLE = {"disease": {"biology": "unfavorable", "extent": "locoregional", "resectable": True}}
UNFAV_ADVANCED = {"disease": {"biology": "unfavorable"}}


@pytest.mark.parametrize(
    ("over", "column", "entries"),
    [
        ({}, "favorable_advanced", FAVORABLE),
        (UNFAV_RESECTABLE, "unfavorable_resectable", RESECTABLE),
        (UNFAV_ADVANCED, "unfavorable_advanced", UNFAVORABLE),
    ],
)
def test_each_column_lists_all_its_entries(over, column, entries):
    ev = run(g3(**over))
    assert (ev.setting.table, ev.setting.column, ev.setting.status) == ("wd_g3", column, "applies")
    assert {o.entry_id: o.tier for o in ev.options} == entries
    trial = opt(ev, next(k for k in entries if k.endswith("clinical_trial")))
    assert trial.status == "eligible" and trial.tier == "preferred"


@pytest.mark.parametrize(
    ("disease", "status", "column"),
    [
        ({"biology": None}, "needs_data", None),
        ({"biology": "favorable", "tumor_burden": "mild", "status": "stable"}, "not_applicable", None),
        (
            {"biology": "favorable", "tumor_burden": "mild", "status": "progressive"},
            "applies",
            "favorable_advanced",
        ),
        ({"biology": "favorable", "extent": "locoregional", "resectable": True}, "not_applicable", None),
        (
            {"biology": "unfavorable", "extent": "locoregional", "resectable": False},
            "applies",
            "unfavorable_advanced",
        ),
        ({"biology": "unfavorable", "extent": "locoregional", "resectable": None}, "needs_data", None),
    ],
)
def test_column_selection(disease, status, column):
    ev = run(g3(disease=disease))
    assert (ev.setting.status, ev.setting.column) == (status, column)
    if status == "needs_data":
        assert ev.setting.table == "wd_g3" and ev.needs_data


@pytest.mark.parametrize("column_over", [{}, UNFAV_ADVANCED])
@pytest.mark.parametrize(
    ("over", "status", "missing"),
    [
        ({"biomarkers": {"msi": "high"}}, "eligible", []),
        ({"biomarkers": {"mmr": "deficient"}}, "eligible", []),
        ({"biomarkers": {"tmb_mut_per_mb": 10}}, "eligible", []),
        ({"biomarkers": {"tmb_mut_per_mb": 9.9}}, "not_eligible", []),
        (
            {"biomarkers": {"msi": None, "mmr": None, "tmb_mut_per_mb": None}},
            "needs_data",
            ["biomarkers.msi", "biomarkers.mmr", "biomarkers.tmb_mut_per_mb"],
        ),
        (
            {"biomarkers": {"msi": "high"}, "context": {"no_satisfactory_alternative": False}},
            "not_eligible",
            [],
        ),
        (
            {"biomarkers": {"msi": "high"}, "context": {"no_satisfactory_alternative": None}},
            "needs_data",
            ["context.no_satisfactory_alternative"],
        ),
        ({"biomarkers": {"msi": "high"}, "treatments": []}, "not_eligible", []),
    ],
)
def test_pembrolizumab_footnote_n(column_over, over, status, missing):
    from tests.conftest import merge

    ev = run(g3(**merge(column_over, over)))
    o = next(o for o in ev.options if o.regimen == "pembrolizumab")
    assert (o.status, o.missing, o.footnotes) == (status, missing, ["n"])


@pytest.mark.parametrize(
    ("tumor", "status"),
    [
        ({"sstr_status": "positive"}, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": True}, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": False}, "not_eligible"),
    ],
)
def test_favorable_ssa_if_sstr_positive_or_hormonal_symptoms(tumor, status):
    assert opt(run(g3(tumor=tumor)), "g3fav.ssa").status == status


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({}, "eligible"),
        ({"treatments": []}, "not_eligible"),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible"),
    ],
)
def test_favorable_above_label_ssa_category_2b(over, status):
    o = opt(run(g3(**over)), "g3fav.ssa_above_label")
    assert (o.status, o.category) == (status, "2B")


@pytest.mark.parametrize(
    ("tumor", "treatments", "status", "quals"),
    [
        ({"sstr_status": "positive", "fdg_avid": False}, None, "eligible", [True, True]),
        ({"sstr_status": "positive", "fdg_avid": True}, [], "eligible", [False, False]),
        ({"sstr_status": "negative"}, None, "not_eligible", [True, True]),
    ],
)
def test_favorable_lu177_if_sstr_positive_with_footnote_o_qualifiers(tumor, treatments, status, quals):
    over = {"tumor": tumor} if treatments is None else {"tumor": tumor, "treatments": treatments}
    o = opt(run(g3(**over)), "g3fav.lu177_dotatate")
    assert o.status == status and [q.met for q in o.qualifiers] == quals and o.footnotes == ["o"]


@pytest.mark.parametrize(("site", "status"), [("pancreas", "eligible"), ("ileum", "not_eligible")])
def test_sunitinib_pancreas_only(site, status):
    assert opt(run(g3(tumor={"primary_site": site})), "g3fav.sunitinib").status == status


@pytest.mark.parametrize(
    "entry",
    [
        "g3fav.cabozantinib",
        "g3fav.everolimus",
        "g3fav.folfox",
        "g3fav.capeox",
        "g3fav.cisplatin_etoposide",
        "g3fav.carboplatin_etoposide",
    ],
)
def test_favorable_unconditional_entries(entry):
    o = opt(run(g3()), entry)
    assert (o.status, o.category) == ("eligible", "2A")


@pytest.mark.parametrize(("site", "met"), [("pancreas", True), ("ileum", False)])
@pytest.mark.parametrize(
    "entry", ["g3fav.temozolomide_pm_capecitabine", "g3adv.temozolomide_pm_capecitabine"]
)
def test_temozolomide_footnote_m_pancreas_qualifier(entry, site, met):
    over = UNFAV_ADVANCED if entry.startswith("g3adv") else {}
    from tests.conftest import merge

    o = opt(run(g3(**merge(over, {"tumor": {"primary_site": site}}))), entry)
    assert o.status == "eligible" and o.footnotes == ["m"] and o.qualifiers[-1].met is met


@pytest.mark.parametrize(
    ("disease", "status"),
    [({"extent": "locoregional", "resectable": False}, "eligible"), ({}, "not_eligible")],
)
@pytest.mark.parametrize("biology", ["favorable", "unfavorable"])
def test_rt_for_locally_advanced_unresectable(biology, disease, status):
    ev = run(g3(disease={"biology": biology, **disease}))
    o = next(o for o in ev.options if o.regimen == "rt_fluoropyrimidine")
    assert o.status == status


@pytest.mark.parametrize(("ki67", "met"), [(60, True), (55, True), (40, False), (None, None)])
def test_neoadjuvant_entries_case_by_case_with_ki67_example(ki67, met):
    ev = run(g3(**UNFAV_RESECTABLE, tumor={"ki67_percent": ki67}))
    for o in ev.options:
        if o.regimen == "clinical_trial":
            continue
        assert o.intent == "neoadjuvant" and o.status == "eligible"
        assert o.qualifiers[0].met is met and "55" in o.qualifiers[0].says


def test_nivolumab_ipilimumab_category_2b_with_footnote_p():
    o = opt(run(g3(**UNFAV_ADVANCED)), "g3adv.nivolumab_ipilimumab")
    assert (o.status, o.category, o.footnotes) == ("eligible", "2B", ["p"])


def test_g3_has_no_ssa_plan_footnote():
    assert run(g3()).ssa_plan.action == "not_specified"
