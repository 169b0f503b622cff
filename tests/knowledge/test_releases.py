"""Knowledge releases: 5.2024-r13 (the default) and 5.2024-r2 to r12 re-encode NCCN NET V.5.2024; the
earlier releases stay loadable as released.

Each change of a release (its manifest's ``changes``) is tested here against the release it replaces,
so a test fails if a later release loses a fix or if a released folder is edited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netcds import load_knowledge
from netcds.knowledge.load import DEFAULT_VERSION, available_versions, default_knowledge_dir
from tests.conftest import g3, gi, lung, merge, opt, pancreas, run

R1, R2, R3 = load_knowledge("5.2024"), load_knowledge("5.2024-r2"), load_knowledge("5.2024-r3")
R4, R5, R6 = load_knowledge("5.2024-r4"), load_knowledge("5.2024-r5"), load_knowledge("5.2024-r6")
R7, R8, R9 = load_knowledge("5.2024-r7"), load_knowledge("5.2024-r8"), load_knowledge("5.2024-r9")
R10, R11 = load_knowledge("5.2024-r10"), load_knowledge("5.2024-r11")
R12, R13 = load_knowledge("5.2024-r12"), load_knowledge("5.2024-r13")
SCOPE_MARKED = {
    "poorly_differentiated",
    "resectable_g12",
    "unknown_primary_g12",
    "lung_thymus_not_distant",
    "g3_favorable_resectable",
}


def test_default_is_the_newest_release_of_the_same_guideline_version():
    assert DEFAULT_VERSION == "5.2024-r13" and load_knowledge() is R13
    assert (R1.version, R1.release, R1.manifest.replaces) == ("5.2024", "5.2024", None)
    assert (R2.version, R2.release, R2.manifest.replaces) == ("5.2024", "5.2024-r2", "5.2024")
    assert (R3.version, R3.release, R3.manifest.replaces) == ("5.2024", "5.2024-r3", "5.2024-r2")
    assert (R4.version, R4.release, R4.manifest.replaces) == ("5.2024", "5.2024-r4", "5.2024-r3")
    assert (R5.version, R5.release, R5.manifest.replaces) == ("5.2024", "5.2024-r5", "5.2024-r4")
    assert (R6.version, R6.release, R6.manifest.replaces) == ("5.2024", "5.2024-r6", "5.2024-r5")
    assert (R7.version, R7.release, R7.manifest.replaces) == ("5.2024", "5.2024-r7", "5.2024-r6")
    assert (R8.version, R8.release, R8.manifest.replaces) == ("5.2024", "5.2024-r8", "5.2024-r7")
    assert (R9.version, R9.release, R9.manifest.replaces) == ("5.2024", "5.2024-r9", "5.2024-r8")
    assert (R10.version, R10.release, R10.manifest.replaces) == ("5.2024", "5.2024-r10", "5.2024-r9")
    assert (R11.version, R11.release, R11.manifest.replaces) == ("5.2024", "5.2024-r11", "5.2024-r10")
    assert (R12.version, R12.release, R12.manifest.replaces) == ("5.2024", "5.2024-r12", "5.2024-r11")
    assert (R13.version, R13.release, R13.manifest.replaces) == ("5.2024", "5.2024-r13", "5.2024-r12")
    assert [len(kb.manifest.changes) for kb in (R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13)] == [
        5,
        2,
        3,
        1,
        3,
        4,
        3,
        1,
        1,
        1,
        1,
        2,
    ]


def test_the_first_release_is_unchanged():
    # the digest every evaluation made with it records; editing the released folder changes it
    assert R1.digest == "77b4e68f92ec1b36"
    assert R2.digest == "7bef4424f74a5b55"
    assert R3.digest == "e3ad2d4c5b7d4ae2"
    assert R4.digest == "ebeadd7943ec76e1"
    assert R5.digest == "3261a94300710810"
    assert R6.digest == "d417f498e662f99b"
    assert R7.digest == "ae9205c555a273a4"
    assert R8.digest == "b7e24455d01c4c94"
    assert R9.digest == "7695bb9960c0b7ef"
    assert R10.digest == "216251f02d7fbefa"
    assert R11.digest == "02da99baac12c1c0"
    assert R12.digest == "0e75c9175ff7075a"
    assert R13.digest == "42799c11cdf0e35f"


@pytest.mark.parametrize("folder", available_versions())
def test_every_folder_is_named_by_its_release(folder):
    manifest = yaml.safe_load((default_knowledge_dir() / "nccn-net" / folder / "manifest.yaml").read_text())
    assert (manifest.get("release") or manifest["version"]) == folder


def test_evaluation_names_version_and_release():
    ev = run(gi())
    assert (ev.guideline.version, ev.guideline.release, ev.guideline.digest) == (
        "5.2024",
        "5.2024-r13",
        R13.digest,
    )
    old = run(gi(), R1)
    assert (old.guideline.version, old.guideline.release) == ("5.2024", "5.2024")
    # every citation names the guideline version, not the release
    assert {o.source.version for o in ev.options} == {"5.2024"}


def _lu177_fdg(kb_rel, fdg):
    p = g3(tumor={"fdg_avid": fdg, "ki67_percent": 50})
    return [q for q in opt(run(p, kb_rel), "g3fav.lu177_dotatate").qualifiers if q.footnote == "o"][-1]


@pytest.mark.parametrize(("fdg", "met"), [(False, True), (True, False), (None, None)])
def test_g3_lu177_footnote_o_qualifier_says_what_it_tests(fdg, met):
    q = _lu177_fdg(None, fdg)
    assert q.met is met
    assert q.text.startswith("not FDG-PET avid") and "no Ki-67 cut-off" in q.text
    assert "neither high Ki-67" in _lu177_fdg(R1, fdg).text  # the first release's wording, kept as released


def test_resectable_g12_exclusion_does_not_say_how_resectable_disease_is_managed():
    p = gi(disease={"extent": "localized", "resectable": True})
    assert not any("resection is the approach" in r for r in run(p).setting.reasons)
    assert any("resection is the approach" in r for r in run(p, R1).setting.reasons)


def test_g3_notes_are_the_ones_its_page_prints():
    assert [n.id for n in run(g3()).notes] == ["default_category"]
    assert [n.id for n in run(g3(), R1).notes] == [
        "no_adjuvant_role",
        "dose_modification",
        "default_category",
    ]


def test_pancreas_states_its_footnote_inference_and_the_missing_page():
    ev = run(pancreas())
    assert "pancreas_footnote_letters" in [n.id for n in ev.notes]
    assert [r.ref for r in ev.unavailable_references][-2:] == ["PanNET-1..10", "NE-H-4"]
    old = run(pancreas(), R1)
    assert "pancreas_footnote_letters" not in [n.id for n in old.notes]
    assert "NE-H-4" not in [r.ref for r in old.unavailable_references]


@pytest.mark.parametrize(
    ("make", "entry"), [(gi, "gi.ssa"), (lung, "lung.ssa"), (pancreas, "pancreas.ssa_sstr_positive")]
)
def test_ssa_entries_carry_footnote_a_where_the_table_has_it(make, entry):
    p = make(disease={"progression_clinically_significant": True}, tumor={"functional": False})
    o = opt(run(p, R2), entry)  # r2: a qualifier only, the entry stays eligible
    assert o.status == "eligible" and "a" in o.footnotes
    assert [q.met for q in o.qualifiers if q.footnote == "a"] == [False]
    assert "a" not in opt(run(p, R1), entry).footnotes
    now = opt(run(p), entry)  # r3: footnote a is a condition of the entry
    assert now.status == "not_eligible" and "a" in now.footnotes
    assert not [q for q in now.qualifiers if q.footnote == "a"]
    assert any(r.startswith("Not met: footnote a") for r in now.reasons)


@pytest.mark.parametrize(
    ("make", "entry"),
    [(gi, "gi.ssa_above_label"), (lung, "lung.ssa_above_label"), (pancreas, "pancreas.ssa_above_label")],
)
def test_above_label_ssa_entries_gain_the_footnote_a_qualifier_in_r3(make, entry):
    p = make(disease={"progression_clinically_significant": True}, tumor={"functional": False})
    assert [q.met for q in opt(run(p, R6), entry).qualifiers if q.footnote == "a"] == [False]
    assert not [q for q in opt(run(p, R2), entry).qualifiers if q.footnote == "a"]
    assert opt(run(p, R6), entry).status == opt(run(p, R2), entry).status  # status unchanged until r7


def test_g3_has_no_footnote_a_qualifier():
    ev = run(g3())
    assert not any(q.footnote == "a" for o in ev.options for q in o.qualifiers)


@pytest.mark.parametrize("make", [gi, lung])
def test_table_pages_come_from_the_data_and_match_the_first_release(make):
    assert [r.ref for r in run(make(), R6).unavailable_references] == [
        r.ref for r in run(make(), R1).unavailable_references
    ]


def test_r4_marks_the_exclusions_covered_on_pages_not_in_the_source():
    assert {e.id for e in R4.exclusions if e.scope == "pages_not_in_source"} == SCOPE_MARKED
    assert all(e.scope is None for kb in (R1, R2, R3) for e in kb.exclusions)  # older: none marked
    # the same exclusions, in the same order, with the same conditions but one; tables and the rest unchanged
    same = [(e.id, e.when) for e in R4.exclusions if e.id != "resectable_g12"]
    assert same == [(e.id, e.when) for e in R3.exclusions if e.id != "resectable_g12"]
    assert [e.id for e in R4.exclusions] == [e.id for e in R3.exclusions]
    assert (R4.tables, R4.footnotes, R4.principles) == (R3.tables, R3.footnotes, R3.principles)
    assert R4.manifest.references == R3.manifest.references


def test_r4_resectable_g12_gives_way_to_no_evidence_of_disease():
    resected = gi(disease={"status": "no_evidence_of_disease", "extent": "localized", "resectable": True})
    present = gi(disease={"status": "stable", "extent": "localized", "resectable": True})
    reasons = {kb.release: run(resected, kb).setting.reasons for kb in (R3, R4)}
    assert any("Resectable localized" in r for r in reasons["5.2024-r3"])
    assert not any("Resectable localized" in r for r in reasons["5.2024-r4"])
    assert any("No evidence of disease" in r for r in reasons["5.2024-r4"])
    assert any("Resectable localized" in r for r in run(present).setting.reasons)


def test_r4_g3_favorable_resectable_exclusion_says_the_source_gives_no_guidance():
    p = g3(disease={"extent": "locoregional", "resectable": True})
    assert any("no systemic-therapy guidance" in r for r in run(p).setting.reasons)
    assert not any("no systemic-therapy guidance" in r for r in run(p, R3).setting.reasons)
    assert [o.entry_id for o in run(p).options] == [o.entry_id for o in run(p, R3).options] == []


def test_bundled_folders_are_the_twelve_releases_in_issue_order():
    # numbers sort as numbers: r10 after r9, not after the first release
    assert available_versions() == [
        "5.2024",
        "5.2024-r2",
        "5.2024-r3",
        "5.2024-r4",
        "5.2024-r5",
        "5.2024-r6",
        "5.2024-r7",
        "5.2024-r8",
        "5.2024-r9",
        "5.2024-r10",
        "5.2024-r11",
        "5.2024-r12",
        "5.2024-r13",
    ]
    assert all((Path(default_knowledge_dir()) / "nccn-net" / v).is_dir() for v in available_versions())


# ---- 5.2024-r5: footnote a speaks of an SSA course the disease progressed on ----------------------------
SSA_IDS = {"gi.ssa", "lung.ssa", "pancreas.ssa_sstr_positive", "pancreas.ssa_sstr_negative"}


def _ssa_course(**line):
    return [{"agent": "lanreotide", "dose_mg": 120, "interval_days": 28, "start": "2018-01-10", **line}]


def _ssa_and_plan(record, kb=None):
    ev = run(record, kb)
    entry = next(o for o in ev.options if o.entry_id in SSA_IDS)
    return entry, ev.ssa_plan


@pytest.mark.parametrize("make", [gi, lung, pancreas])
def test_r5_a_course_stopped_without_progression_does_not_trigger_footnote_a(make):
    stopped = make(
        treatments=_ssa_course(end="2019-03-01", progressed=False, stop_reason="patient_choice"),
        disease={"status": "progressive", "progression_clinically_significant": True},
    )
    entry, plan = _ssa_and_plan(stopped)
    assert entry.status == "eligible" and plan.action == "not_applicable"
    assert any("progression on octreotide LAR or lanreotide" in r for r in plan.reasons)
    assert not any(r.startswith("Not met: footnote a") for r in entry.reasons)
    old_entry, old_plan = _ssa_and_plan(stopped, R4)  # r4: any course in the history
    assert old_entry.status == "not_eligible" and old_plan.action == "discontinue"


@pytest.mark.parametrize("make", [gi, lung, pancreas])
@pytest.mark.parametrize(
    "line",
    [
        {"end": "2024-06-01", "progressed": True},  # progression recorded on a stopped course
        {"end": "2024-06-01", "stop_reason": "progression"},
        {},  # ongoing while the disease is progressing, assessed so after it began: progression on it
    ],
)
def test_r5_significant_progression_on_the_ssa_still_stops_it_for_a_non_functional_tumor(make, line):
    dated = {} if line else {"disease": {"status_date": "2019-03-04"}}
    record = make(treatments=_ssa_course(**line), **dated)
    entry, plan = _ssa_and_plan(record)
    assert entry.status == "not_eligible" and plan.action == "discontinue"
    assert any(r.startswith("Not met: footnote a") for r in entry.reasons)
    functional = merge(record, {"tumor": {"functional": True}})
    entry, plan = _ssa_and_plan(functional)
    assert entry.status != "not_eligible" and plan.action == "continue"


def test_r5_a_course_whose_progression_is_not_recorded_is_needs_data_naming_it():
    record = gi(treatments=_ssa_course(end="2022-05-01"))  # stopped, neither progression nor reason recorded
    entry, plan = _ssa_and_plan(record)
    assert entry.status == "needs_data" and "treatments[0].progressed" in entry.missing
    assert plan.action == "needs_data" and plan.missing == ["treatments[0].progressed"]
    assert _ssa_and_plan(record, R4)[1].action == "discontinue"  # r4 read the course as enough


def test_r5_above_label_qualifier_follows_the_same_course_test():
    stopped = gi(
        treatments=_ssa_course(end="2019-03-01", progressed=False, stop_reason="patient_choice"),
        disease={"status": "progressive", "progression_clinically_significant": True},
    )
    q5 = [q for q in opt(run(stopped, R5), "gi.ssa_above_label").qualifiers if q.footnote == "a"]
    q4 = [q for q in opt(run(stopped, R4), "gi.ssa_above_label").qualifiers if q.footnote == "a"]
    assert [q.met for q in q5] == [True] and [q.met for q in q4] == [False]


def test_r5_changes_only_the_footnote_a_course_test():
    assert (R5.footnotes, R5.principles, R5.exclusions) == (R4.footnotes, R4.principles, R4.exclusions)
    assert R5.manifest.references == R4.manifest.references
    changed = set()
    for t5, t4 in zip(R5.tables, R4.tables, strict=True):
        assert t4.ssa_plan_course is None
        assert (t5.ssa_plan_course is not None) == (t5.ssa_plan_footnote is not None)
        assert t5.model_copy(update={"columns": [], "ssa_plan_course": None}) == t4.model_copy(
            update={"columns": []}
        )
        for c5, c4 in zip(t5.columns, t4.columns, strict=True):
            assert [e.id for e in c5.entries] == [e.id for e in c4.entries]
            changed |= {e5.id for e5, e4 in zip(c5.entries, c4.entries, strict=True) if e5 != e4}
    above = {"gi.ssa_above_label", "lung.ssa_above_label", "pancreas.ssa_above_label"}
    assert changed == SSA_IDS | above


# ---- 5.2024-r6: the pancreas CAPTEM preference is the clinician's judgement; wording of mdt_choice, o ----
CAPTEM = "pancreas.capecitabine_temozolomide"


@pytest.mark.parametrize(
    "over",
    [
        # hormone symptoms and a stated priority of response, but no stated need for a response
        {"tumor": {"functional": True, "hormonal_symptoms": True}, "preferences": {"priority": "response"}},
        {"tumor": {"functional": True, "hormonal_symptoms": True}},
        {"preferences": {"priority": "response"}},
        {"disease": {"tumor_burden": "bulky"}},
        {"disease": {"tumor_symptoms": True}},
    ],
)
def test_r6_captem_is_not_qualified_by_symptoms_bulk_or_a_stated_priority(over):
    record = pancreas(**over)
    old = opt(run(record, R5), CAPTEM)
    assert [q.met for q in old.qualifiers] == [True]  # r5: read as "a tumor response is needed"
    new = opt(run(record, R6), CAPTEM)
    assert new.qualifiers == [] and not any(r.startswith("Qualifier") for r in new.reasons)
    assert new.note is not None and "clinician's judgement" in new.note and "cytoreduction" in new.note
    same = ("status", "tier", "category", "footnotes")
    assert [getattr(new, k) for k in same] == [getattr(old, k) for k in same]


def test_r6_captem_note_is_the_same_whatever_is_recorded():
    records = (pancreas(), pancreas(preferences={"priority": "response"}))
    notes = {opt(run(record, R6), CAPTEM).note for record in records}
    assert len(notes) == 1 and opt(run(pancreas(), R5), CAPTEM).note is None


def _notes(kb):
    return {n.id: n.text for n in run(gi(), kb).notes}


def test_r6_mdt_principle_suggests_considering_a_discussion_rather_than_directing_a_choice():
    old, new = _notes(R5)["mdt_choice"], _notes(R6)["mdt_choice"]
    assert "should choose" in old and "is not right for every patient" in old
    assert "should" not in new and "considering a multidisciplinary discussion" in new
    assert "may not suit every patient" in new
    for approach in ("observation", "locoregional therapy", "cytoreductive surgery", "systemic therapy"):
        assert approach in new


def _footnote_o(kb):
    (f,) = [f for f in opt(run(g3(), kb), "g3fav.lu177_dotatate").footnote_details if f.letter == "o"]
    return f.text or ""


def test_r6_footnote_o_suggests_considering_an_ssa_trial_rather_than_ordering_one():
    assert _footnote_o(R5).startswith("Try an SSA before PRRT")
    assert "suggested for consideration" in _footnote_o(R6) and not _footnote_o(R6).startswith("Try")
    assert "FDG-PET avid" in _footnote_o(R6)


def test_r6_changes_only_the_captem_entry_mdt_choice_and_footnote_o():
    assert R6.exclusions == R5.exclusions and R6.manifest.references == R5.manifest.references
    assert {k for k in R6.footnotes if R6.footnotes[k] != R5.footnotes[k]} == {"o"}
    assert {k for k in R6.principles if R6.principles[k] != R5.principles[k]} == {"mdt_choice"}
    assert (list(R6.footnotes), list(R6.principles)) == (list(R5.footnotes), list(R5.principles))
    changed = set()
    for t6, t5 in zip(R6.tables, R5.tables, strict=True):
        assert t6.model_copy(update={"columns": []}) == t5.model_copy(update={"columns": []})
        for c6, c5 in zip(t6.columns, t5.columns, strict=True):
            assert [e.id for e in c6.entries] == [e.id for e in c5.entries]
            changed |= {e6.id for e6, e5 in zip(c6.entries, c5.entries, strict=True) if e6 != e5}
    assert changed == {CAPTEM}
    (e6,) = [e for t in R6.tables for c in t.columns for e in c.entries if e.id == CAPTEM]
    (e5,) = [e for t in R5.tables for c in t.columns for e in c.entries if e.id == CAPTEM]
    assert e6.model_copy(update={"qualifiers": [], "note": None}) == e5.model_copy(update={"qualifiers": []})


# ---- 5.2024-r7: no evidence of disease, footnote a on above-label SSA, footnote b, the Discussion ------
NED = {"disease": {"status": "no_evidence_of_disease"}}


@pytest.mark.parametrize(
    "record",
    [
        gi(**NED),
        lung(**NED),
        pancreas(**NED),
        pancreas(disease={"status": "no_evidence_of_disease", "extent": "locoregional", "resectable": False}),
        g3(**NED),
        g3(disease={"status": "no_evidence_of_disease", "biology": "unfavorable"}),
        g3(
            disease={
                "status": "no_evidence_of_disease",
                "biology": "unfavorable",
                "extent": "localized",
                "resectable": True,
            }
        ),
    ],
    ids=[
        "gi",
        "lung",
        "pancreas_metastatic",
        "pancreas_unresectable",
        "g3",
        "g3_unfavorable",
        "g3_resectable",
    ],
)
def test_r7_no_table_applies_without_evidence_of_disease(record):
    ev = run(record)
    assert ev.setting.status == "not_applicable" and ev.options == []
    assert any(r.startswith("No evidence of disease") for r in ev.setting.reasons)
    assert run(record, R6).setting.status != "not_applicable"  # r6 listed the table's options


@pytest.mark.parametrize("make", [gi, lung, pancreas, g3])
def test_r7_a_table_waits_for_the_disease_status_when_it_is_not_recorded(make):
    ev = run(make(disease={"status": None}))
    assert ev.setting.status == "needs_data" and "disease.status" in ev.setting.missing
    assert all(o.status != "eligible" for o in ev.options)


@pytest.mark.parametrize("status", ["stable", "progressive"])
@pytest.mark.parametrize("make", [gi, lung, pancreas])
def test_r7_disease_that_remains_keeps_the_table(make, status):
    ev = run(make(disease={"status": status}))
    assert ev.setting.status == run(make(disease={"status": status}), R6).setting.status


ABOVE_LABEL = [
    (gi, "gi.ssa_above_label"),
    (lung, "lung.ssa_above_label"),
    (pancreas, "pancreas.ssa_above_label"),
]


def _progressed_on_standard_ssa(make, **over):
    line = {
        "agent": "lanreotide",
        "dose_mg": 120,
        "interval_days": 28,
        "start": "2020-01-01",
        "progressed": True,
    }
    return make(**merge({"treatments": [line], "disease": {"status": "progressive"}}, over))


@pytest.mark.parametrize(("make", "entry"), ABOVE_LABEL)
def test_r7_above_label_ssa_follows_footnote_a(make, entry):
    stop = _progressed_on_standard_ssa(
        make, disease={"progression_clinically_significant": True}, tumor={"functional": False}
    )
    now = opt(run(stop), entry)
    assert now.status == "not_eligible" and "a" in now.footnotes
    assert any(r.startswith("Not met: footnote a") for r in now.reasons)
    assert opt(run(stop, R6), entry).status == "eligible"  # r6: a qualifier only
    assert run(stop).ssa_plan.action == "discontinue"
    functional = _progressed_on_standard_ssa(
        make,
        disease={"progression_clinically_significant": True},
        tumor={"functional": True, "hormonal_symptoms": True},
    )
    assert opt(run(functional), entry).status == "eligible"  # footnote a: continue in functional tumors
    minor = _progressed_on_standard_ssa(
        make, disease={"progression_clinically_significant": False}, tumor={"functional": False}
    )
    assert opt(run(minor), entry).status == "eligible"
    unknown = _progressed_on_standard_ssa(
        make, disease={"progression_clinically_significant": None}, tumor={"functional": False}
    )
    o = opt(run(unknown), entry)
    assert o.status == "needs_data" and "disease.progression_clinically_significant" in o.missing


@pytest.mark.parametrize(("make", "entry"), [(gi, "gi.everolimus"), (lung, "lung.everolimus")])
def test_r7_everolimus_footnote_b_is_met_for_a_non_functional_tumor(make, entry):
    p = make(tumor={"functional": False, "syndromes": None})
    assert [q.met for q in opt(run(p), entry).qualifiers if q.footnote == "b"] == [True]
    assert [q.met for q in opt(run(p, R6), entry).qualifiers if q.footnote == "b"] == [None]
    carcinoid = make(tumor={"functional": True, "syndromes": ["carcinoid_syndrome"]})
    assert [q.met for q in opt(run(carcinoid), entry).qualifiers if q.footnote == "b"] == [False]
    unknown = make(tumor={"functional": None, "syndromes": None})
    assert [q.met for q in opt(run(unknown), entry).qualifiers if q.footnote == "b"] == [None]


def test_r7_the_gi_discussion_reference_is_shown_as_unavailable():
    refs = {r.ref: r for r in run(gi()).unavailable_references}
    assert "Discussion" in refs and "Discussion" not in {r.ref for r in run(gi(), R6).unavailable_references}
    assert "Discussion" in [r.ref for r in opt(run(gi()), "gi.cytotoxic_chemotherapy").see]
    assert "Discussion" not in {r.ref for r in run(pancreas()).unavailable_references}


def test_r7_changes_only_the_columns_the_above_label_and_everolimus_entries_and_one_reference():
    assert (R7.footnotes, R7.principles, R7.exclusions) == (R6.footnotes, R6.principles, R6.exclusions)
    assert [r for r in R7.manifest.references if r.id != "Discussion"] == R6.manifest.references
    changed = set()
    for t7, t6 in zip(R7.tables, R6.tables, strict=True):
        assert t7.model_copy(update={"columns": []}) == t6.model_copy(update={"columns": []})
        for c7, c6 in zip(t7.columns, t6.columns, strict=True):
            assert c7.model_copy(update={"when": None, "entries": []}) == c6.model_copy(
                update={"when": None, "entries": []}
            )
            assert c7.when != c6.when  # every column gained the evidence-of-disease condition
            assert [e.id for e in c7.entries] == [e.id for e in c6.entries]
            changed |= {e7.id for e7, e6 in zip(c7.entries, c6.entries, strict=True) if e7 != e6}
    assert changed == {
        "gi.ssa_above_label",
        "lung.ssa_above_label",
        "pancreas.ssa_above_label",
        "gi.everolimus",
        "lung.everolimus",
        "gi.cytotoxic_chemotherapy",
    }


# ---- 5.2024-r8: the G3 favorable column is for unresectable disease; "consider" kept in words -----------
NO_GUIDANCE = "no systemic-therapy guidance"


@pytest.mark.parametrize("status", ["stable", "progressive"])
def test_r8_resectable_metastatic_g3_favorable_gets_no_column_and_the_pages_not_in_source_reason(status):
    record = g3(disease={"resectable": True, "status": status})
    ev = run(record, R8)
    assert (ev.setting.status, ev.options) == ("not_applicable", [])
    assert any(NO_GUIDANCE in r and "metastatic" in r for r in ev.setting.reasons)
    (scoped,) = [e for e in R8.exclusions if e.id == "g3_favorable_resectable"]
    assert scoped.scope == "pages_not_in_source"
    old = run(record, R7)  # r7: any distant metastatic disease was "advanced", resectable or not
    assert (old.setting.status, old.setting.column) == ("applies", "favorable_advanced")


def test_r8_resected_metastatic_g3_favorable_without_disease_keeps_only_the_no_adjuvant_role_reason():
    record = g3(disease={"resectable": True, "status": "no_evidence_of_disease"})
    reasons = run(record, R8).setting.reasons
    assert reasons == run(record, R7).setting.reasons
    assert reasons[0].startswith("No evidence of disease") and not any(NO_GUIDANCE in r for r in reasons)


def test_r8_g3_favorable_waits_for_resectability_when_it_is_not_recorded():
    ev = run(g3(disease={"resectable": None}), R8)
    assert (ev.setting.status, ev.setting.column) == ("needs_data", "favorable_advanced")
    assert ev.setting.missing == ["disease.resectable"]
    assert ev.options and all(o.status != "eligible" for o in ev.options)
    assert opt(ev, "g3fav.cabozantinib").status == "needs_data"
    assert run(g3(disease={"resectable": None}), R7).setting.status == "applies"


@pytest.mark.parametrize(
    "disease",
    [{"resectable": False}, {"extent": "locoregional", "resectable": False}],
    ids=["mets", "locadv"],
)
def test_r8_unresectable_g3_favorable_keeps_the_column_as_in_r7(disease):
    new, old = run(g3(disease=disease), R8), run(g3(disease=disease), R7)
    assert (new.setting.status, new.setting.column) == ("applies", "favorable_advanced")
    assert [(o.entry_id, o.status) for o in new.options] == [(o.entry_id, o.status) for o in old.options]


@pytest.mark.parametrize("resectable", [True, None])
def test_r8_unfavorable_advanced_column_does_not_ask_for_resectability(resectable):
    record = g3(disease={"biology": "unfavorable", "resectable": resectable})
    for kb in (R7, R8):
        ev = run(record, kb)
        assert (ev.setting.status, ev.setting.column) == ("applies", "unfavorable_advanced")


FOOTNOTE_HOLDERS = [
    ("e", gi, "gi.ssa"),
    ("i", lung, "lung.carboplatin_etoposide"),
    ("n", g3, "g3fav.pembrolizumab"),
]


def _footnote(kb, letter, make, entry):
    (f,) = [f for f in opt(run(make(), kb), entry).footnote_details if f.letter == letter]
    return f.text or ""


@pytest.mark.parametrize(("letter", "make", "entry"), FOOTNOTE_HOLDERS)
def test_r8_footnotes_e_i_n_keep_the_guideline_tentative(letter, make, entry):
    old, new = _footnote(R7, letter, make, entry), _footnote(R8, letter, make, entry)
    assert any(s in old for s in ("are options for", "is an option for", "may be added"))
    assert "consider" in new and not any(s in new for s in ("option for", "options for", "may be added"))


CONSIDER_ENTRIES = {
    "gi.rt_fluoropyrimidine",
    "gi.cytotoxic_chemotherapy",
    "pancreas.belzutifan",
    "pancreas.rt_fluoropyrimidine",
    "g3fav.rt_fluoropyrimidine",
    "g3adv.rt_fluoropyrimidine",
}


def _entries(kb):
    return {e.id: e for t in kb.tables for c in t.columns for e in c.entries}


def test_r8_entries_the_guideline_prefixes_with_consider_say_so():
    old, new = _entries(R7), _entries(R8)
    for entry_id in CONSIDER_ENTRIES:
        assert new[entry_id].label.startswith("Consider ") and not old[entry_id].label.startswith("Consider")
        assert new[entry_id].model_copy(update={"label": old[entry_id].label}) == old[entry_id]
    shown = opt(run(pancreas(biomarkers={"germline_vhl": True}), R8), "pancreas.belzutifan")
    assert shown.label == "Consider belzutifan"


def test_r8_changes_only_the_g3_favorable_column_one_exclusion_three_footnotes_and_six_labels():
    assert R8.principles == R7.principles and R8.manifest.references == R7.manifest.references
    assert {k for k in R8.footnotes if R8.footnotes[k] != R7.footnotes[k]} == {"e", "i", "n"}
    assert [e.id for e in R8.exclusions] == [e.id for e in R7.exclusions]
    assert {e.id for e, o in zip(R8.exclusions, R7.exclusions, strict=True) if e != o} == {
        "g3_favorable_resectable"
    }
    changed, columns = set(), set()
    for t8, t7 in zip(R8.tables, R7.tables, strict=True):
        assert t8.model_copy(update={"columns": []}) == t7.model_copy(update={"columns": []})
        for c8, c7 in zip(t8.columns, t7.columns, strict=True):
            if c8.when != c7.when:
                columns.add((t8.id, c8.id))
            assert c8.model_copy(update={"when": None, "entries": []}) == c7.model_copy(
                update={"when": None, "entries": []}
            )
            changed |= {e8.id for e8, e7 in zip(c8.entries, c7.entries, strict=True) if e8 != e7}
    assert columns == {("wd_g3", "favorable_advanced")} and changed == CONSIDER_ENTRIES
