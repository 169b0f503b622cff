"""GI tract WD G1/2 table (NE-H): one test per entry and per condition."""

from __future__ import annotations

import pytest

from tests.conftest import gi, opt, run

ENTRY_TIERS = {
    "gi.cabozantinib": ("cabozantinib", "preferred"),
    "gi.everolimus": ("everolimus", "preferred"),
    "gi.lu177_dotatate": ("lu177_dotatate", "preferred"),
    "gi.ssa": ("ssa", "preferred"),
    "gi.ssa_above_label": ("ssa_above_label", "useful_in_certain_circumstances"),
    "gi.rt_fluoropyrimidine": ("rt_fluoropyrimidine", "useful_in_certain_circumstances"),
    "gi.cytotoxic_chemotherapy": ("cytotoxic_chemotherapy", "useful_in_certain_circumstances"),
}


def test_every_entry_listed_with_its_tier_and_nothing_else():
    ev = run(gi())
    assert ev.setting.table == "gi_wd_g12" and ev.setting.status == "applies" and ev.setting.column is None
    assert {o.entry_id: (o.regimen, o.tier) for o in ev.options} == ENTRY_TIERS
    assert not [o for o in ev.options if o.tier == "other_recommended"]  # the guideline says "None"
    assert "sunitinib" not in {o.regimen for o in ev.options}


@pytest.mark.parametrize(
    ("history", "category", "trigger"),
    [
        ([], "2A", None),
        (
            [{"agent": "everolimus", "start": "2023-01-01", "end": "2023-09-01", "progressed": True}],
            "1",
            "everolimus",
        ),
        # named in words in the basis: "received Lu-177 dotatate from 2023-01-01"
        (
            [{"agent": "lu177_dotatate", "start": "2023-01-01", "end": "2023-07-01"}],
            "1",
            "Lu-177 dotatate from",
        ),
        ([{"agent": "sunitinib", "start": "2023-01-01", "end": "2023-07-01"}], "2A", None),
    ],
)
def test_cabozantinib_category_1_after_everolimus_or_lu177(history, category, trigger):
    o = opt(run(gi(treatments=history)), "gi.cabozantinib")
    assert o.status == "eligible" and o.category == category
    if trigger:
        assert trigger in o.category_basis[0] and o.category_basis[0].startswith("category 1")


def test_cabozantinib_category_pending_when_history_unknown():
    o = opt(run(gi(treatments=None)), "gi.cabozantinib")
    assert o.category == "2A" and o.category_missing == ["treatments"]


@pytest.mark.parametrize(
    ("tumor", "category", "pending"),
    [
        ({"functional": False}, "1", []),
        ({"functional": True}, "2A", []),
        # hormonal symptoms would settle it too (session 36), so an unrecorded flag is named as well
        ({"functional": None}, "2A", ["tumor.functional", "tumor.hormonal_symptoms"]),
        ({"functional": None, "hormonal_symptoms": False}, "2A", ["tumor.functional"]),
        ({"functional": None, "hormonal_symptoms": True}, "2A", []),
        ({"functional": None, "syndromes": ["carcinoid_syndrome"]}, "2A", []),
    ],
)
def test_everolimus_category_1_for_nonfunctional(tumor, category, pending):
    o = opt(run(gi(tumor=tumor)), "gi.everolimus")
    assert o.status == "eligible" and o.category == category and o.category_missing == pending
    assert o.footnotes == ["b", "c"]


def test_everolimus_footnote_b_qualifier_flags_carcinoid_syndrome():
    o = opt(run(gi(tumor={"functional": True, "syndromes": ["carcinoid_syndrome"]})), "gi.everolimus")
    (q,) = o.qualifiers
    assert q.footnote == "b" and q.met is False


@pytest.mark.parametrize(
    ("over", "status", "missing"),
    [
        ({}, "eligible", []),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible", []),
        ({"tumor": {"sstr_status": "unknown"}}, "needs_data", ["tumor.sstr_status"]),
        ({"tumor": {"sstr_status": None}}, "needs_data", ["tumor.sstr_status"]),
        ({"treatments": []}, "not_eligible", []),
        ({"treatments": None}, "needs_data", ["treatments"]),
        (
            {
                "treatments": [{"agent": "lanreotide", "start": "2023-01-01", "end": None}],
                "assessments": [{"date": "2023-10-02", "recist_response": "PD"}],
            },
            "eligible",
            [],
        ),
        (  # ongoing while progressive, but no progression dated after it began
            {"treatments": [{"agent": "lanreotide", "start": "2023-01-01", "end": None}]},
            "needs_data",
            ["treatments[0].progressed"],
        ),
        (
            {
                "treatments": [
                    {
                        "agent": "lanreotide",
                        "start": "2023-01-01",
                        "end": "2023-06-01",
                        "stop_reason": "toxicity",
                        "progressed": False,
                    }
                ]
            },
            "not_eligible",
            [],
        ),
        (
            {"treatments": [{"agent": "lanreotide", "start": "2023-01-01", "end": "2023-06-01"}]},
            "needs_data",
            ["treatments[0].progressed"],
        ),
    ],
)
def test_lu177_requires_sstr_positive_and_progression_on_ssa(over, status, missing):
    o = opt(run(gi(**over)), "gi.lu177_dotatate")
    assert (o.status, o.missing) == (status, missing)
    assert o.see[0].ref == "NE-J" and o.see[0].available is False


@pytest.mark.parametrize(
    ("over", "category", "pending"),
    [
        ({}, "1", []),  # ileum, progressive
        ({"tumor": {"primary_site": "jejunum"}}, "1", []),
        ({"tumor": {"primary_site": "appendix"}}, "1", []),
        ({"tumor": {"primary_site": "stomach"}}, "2A", []),  # foregut
        ({"tumor": {"primary_site": "rectum"}}, "2A", []),  # hindgut
        ({"tumor": {"primary_site": "colon"}}, "2A", ["tumor.colon_segment"]),
        ({"tumor": {"primary_site": "colon", "colon_segment": "ascending"}}, "1", []),
        # the transverse colon spans midgut (proximal two-thirds) and hindgut (distal third)
        ({"tumor": {"primary_site": "colon", "colon_segment": "transverse"}}, "2A", ["tumor.colon_segment"]),
        ({"tumor": {"primary_site": "colon", "colon_segment": "transverse_proximal"}}, "1", []),
        ({"tumor": {"primary_site": "colon", "colon_segment": "transverse_distal"}}, "2A", []),
        ({"disease": {"status": "stable"}}, "2A", []),
        # the duodenum spans foregut (down to the major papilla) and midgut (beyond it): no part, no gut
        ({"tumor": {"primary_site": "duodenum"}}, "2A", ["tumor.duodenal_part"]),
        ({"tumor": {"primary_site": "duodenum", "duodenal_part": "first"}}, "2A", []),
        ({"tumor": {"primary_site": "duodenum", "duodenal_part": "ampullary"}}, "2A", []),
        ({"tumor": {"primary_site": "duodenum", "duodenal_part": "second"}}, "2A", ["tumor.duodenal_part"]),
        ({"tumor": {"primary_site": "duodenum", "duodenal_part": "second_postampullary"}}, "1", []),
        ({"tumor": {"primary_site": "duodenum", "duodenal_part": "third"}}, "1", []),
    ],
)
def test_lu177_category_1_for_progressive_midgut(over, category, pending):
    o = opt(run(gi(**over)), "gi.lu177_dotatate")
    assert (o.category, o.category_missing) == (category, pending)


@pytest.mark.parametrize("sstr", ["positive", "negative", None])
def test_ssa_listed_whatever_sstr_with_footnote_d_qualifier(sstr):
    p = gi(tumor={"sstr_status": sstr, "functional": True})  # footnote a keeps the SSA of a functional tumor
    o = opt(run(p), "gi.ssa")
    assert o.status == "eligible" and o.category == "2A" and o.footnotes == ["a", "d", "e", "f", "g"]
    assert o.qualifiers[0].footnote == "d"
    assert o.qualifiers[0].met is {"positive": True, "negative": False, None: None}[sstr]


@pytest.mark.parametrize(
    ("significant", "functional", "status", "missing"),
    [
        (True, False, "not_eligible", []),  # footnote a: stop the SSA of a non-functional tumor
        (True, True, "eligible", []),
        (False, False, "eligible", []),
        # unknown significance or function stays unknown, never assumed
        (None, False, "needs_data", ["disease.progression_clinically_significant"]),
        (True, None, "needs_data", ["tumor.functional", "tumor.hormonal_symptoms"]),
    ],
)
def test_ssa_status_follows_footnote_a(significant, functional, status, missing):
    p = gi(disease={"progression_clinically_significant": significant}, tumor={"functional": functional})
    o = opt(run(p), "gi.ssa")
    assert (o.status, o.missing) == (status, missing)
    assert not [q for q in o.qualifiers if q.footnote == "a"]  # 5.2024-r3: a condition, not a qualifier
    if status == "not_eligible":
        assert any(r.startswith("Not met: footnote a") for r in o.reasons)


def test_ssa_needs_the_history_when_footnote_a_could_apply():
    o = opt(run(gi(treatments=None)), "gi.ssa")
    assert o.status == "needs_data" and "treatments" in o.missing


def test_ssa_eligible_without_prior_ssa_even_after_significant_progression():
    o = opt(run(gi(treatments=[])), "gi.ssa")
    assert o.status == "eligible"  # footnote a is about stopping an SSA being given


@pytest.mark.parametrize(
    ("significant", "functional", "status"),
    [
        (True, False, "not_eligible"),
        (True, True, "eligible"),
        (False, False, "eligible"),
        (None, False, "needs_data"),
        (True, None, "needs_data"),
    ],
)
def test_above_label_ssa_follows_footnote_a(significant, functional, status):
    """5.2024-r7: footnote a (stop octreotide LAR / lanreotide after clinically significant progression in
    a non-functional tumor) is a condition of the above-label entry, as of the standard-dose one."""
    p = gi(disease={"progression_clinically_significant": significant}, tumor={"functional": functional})
    o = opt(run(p), "gi.ssa_above_label")
    assert o.status == status and not [q for q in o.qualifiers if q.footnote == "a"]


@pytest.mark.parametrize(
    ("over", "status", "missing"),
    [
        ({}, "eligible", []),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible", []),
        (
            {
                "treatments": [
                    {
                        "agent": "octreotide_lar",
                        "dose_mg": 60,
                        "interval_days": 28,
                        "start": "2023-01-01",
                        "progressed": True,
                    }
                ]
            },
            "not_eligible",
            [],
        ),
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
            [],
        ),
        (
            {
                "treatments": [
                    {
                        "agent": "lanreotide",
                        "dose_mg": 120,
                        "interval_days": 28,
                        "start": "2023-01-01",
                        "progressed": True,
                    }
                ]
            },
            "eligible",
            [],
        ),
        (
            {"treatments": [{"agent": "octreotide_lar", "start": "2023-01-01", "progressed": True}]},
            "needs_data",
            ["treatments[0].dose_mg", "treatments[0].interval_days"],
        ),
        ({"treatments": [{"agent": "ssa", "start": "2023-01-01", "progressed": True}]}, "eligible", []),
    ],
)
def test_above_label_ssa_after_progression_on_standard_dose_if_sstr_positive(over, status, missing):
    minor = {"disease": {"progression_clinically_significant": False}}  # footnote a does not stop the SSA
    o = opt(run(gi(**{**minor, **over})), "gi.ssa_above_label")
    assert (o.status, o.missing) == (status, missing) and o.footnotes == ["a", "h"]


def _ssa_line(agent, dose, interval, **more):
    line = {
        "agent": agent,
        "dose_mg": dose,
        "interval_days": interval,
        "start": "2023-01-01",
        "progressed": True,
    }
    return {k: v for k, v in {**line, **more}.items() if v is not None}


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([_ssa_line("octreotide_lar", 10, 28)], "not_eligible"),  # below footnote e's 20-30 mg
        ([_ssa_line("octreotide_lar", 10, None)], "not_eligible"),  # the dose alone says below
        ([_ssa_line("lanreotide", 90, 28)], "not_eligible"),  # below 120 mg
        ([_ssa_line("lanreotide", 120, 56)], "not_eligible"),  # every 8 weeks: less often than every 4
        ([_ssa_line("lanreotide", None, 42)], "not_eligible"),  # the interval alone says below
        ([_ssa_line("octreotide_lar", 20, 35)], "eligible"),  # the edges of the standard schedule
        ([_ssa_line("octreotide_lar", 19.9, 28)], "not_eligible"),
        ([_ssa_line("lanreotide", 120, 35.5)], "not_eligible"),
        # a below-standard course, then progression on the standard dose: footnote h is met
        (
            [
                _ssa_line("lanreotide", 120, 56, end="2023-06-01"),
                _ssa_line("lanreotide", 120, 28, start="2023-07-01"),
            ],
            "eligible",
        ),
    ],
)
def test_progression_below_the_standard_ssa_dose_is_not_progression_on_standard_doses(lines, status):
    """Footnote h speaks of progression on standard SSA doses (footnote e: octreotide LAR 20-30 mg or
    lanreotide 120 mg every 4 weeks); an under-dosed or stretched schedule has not reached them."""
    minor = {"progression_clinically_significant": False}  # footnote a does not call for stopping the SSA
    o = opt(run(gi(treatments=lines, disease=minor)), "gi.ssa_above_label")
    assert o.status == status, o.reasons


@pytest.mark.parametrize(
    ("over", "status", "missing"),
    [
        (
            {"disease": {"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": False}},
            "eligible",
            [],
        ),
        (
            {"disease": {"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": True}},
            "not_eligible",
            [],
        ),
        (
            {"disease": {"extent": "locoregional", "resectable": False}},
            "needs_data",
            ["disease.small_bowel_mesenteric"],
        ),
        (
            {"tumor": {"primary_site": "rectum"}, "disease": {"extent": "locoregional", "resectable": False}},
            "eligible",
            [],
        ),
        ({}, "not_eligible", []),  # distant metastatic
        # session 42: a record that says small-bowel mesenteric disease keeps it beside a cecal primary
        (
            {
                "tumor": {"primary_site": "cecum"},
                "disease": {"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": True},
            },
            "not_eligible",
            [],
        ),
        (
            {"tumor": {"primary_site": "cecum"}, "disease": {"extent": "locoregional", "resectable": False}},
            "eligible",
            [],
        ),
    ],
)
def test_rt_for_locally_advanced_unresectable_excluding_small_bowel_mesenteric(over, status, missing):
    o = opt(run(gi(**over)), "gi.rt_fluoropyrimidine")
    assert (o.status, o.missing) == (status, missing)


@pytest.mark.parametrize(
    ("context", "status_", "status", "missing"),
    [
        (True, "progressive", "eligible", []),
        (False, "progressive", "not_eligible", []),
        (None, "progressive", "needs_data", ["context.no_other_options_feasible"]),
        (True, "stable", "not_eligible", []),
    ],
)
def test_cytotoxic_chemotherapy_category_3_if_no_other_options_and_progressive(
    context, status_, status, missing
):
    o = opt(
        run(gi(context={"no_other_options_feasible": context}, disease={"status": status_})),
        "gi.cytotoxic_chemotherapy",
    )
    assert (o.status, o.missing, o.category) == (status, missing, "3")


def test_mesenteric_disease_recorded_beside_a_primary_outside_the_small_bowel_is_named():
    """The failing fact says what the record holds and where the primary is, so the clinician sees why."""
    over = {"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": True}
    o = opt(run(gi(tumor={"primary_site": "cecum"}, disease=over)), "gi.rt_fluoropyrimidine")
    assert o.status == "not_eligible"
    assert any("as recorded; primary site cecum" in r for r in o.reasons), o.reasons
