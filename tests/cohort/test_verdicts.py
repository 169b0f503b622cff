"""Clinical verdicts: what a recorded choice means against the tables, the same in Python and in SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netcds.cohort.layout import matching_decisions
from netcds.knowledge.schema import Knowledge
from tests.conftest import SSA_PROGRESSED, g3, gi, lung, merge, pancreas

from .helpers import reference
from .test_equivalence_duckdb import audit_duckdb


def _case(record: dict[str, Any], regimen: str) -> dict[str, Any]:
    return merge(record, {"decision": {"date": "2024-06-01", "regimen": regimen}})


CASES: list[tuple[str, dict[str, Any], str, str | None, str | None]] = [
    # (name, record, verdict, verdict entry, failing condition)
    (
        "PRRT after SSA progression, SSTR+",
        _case(gi(), "lu177_dotatate"),
        "concordant",
        "gi.lu177_dotatate",
        None,
    ),
    (
        "lanreotide recorded at agent level is the SSA entry",
        _case(gi(tumor={"functional": True}), "lanreotide"),
        "concordant",
        "gi.ssa",
        None,
    ),
    (
        "an SSA continued after clinically significant progression on it in a non-functional tumor",
        _case(gi(), "lanreotide"),
        "listed_not_eligible",
        "gi.ssa",
        "footnote a does not call for stopping the SSA (it does once progression on octreotide LAR or "
        "lanreotide is clinically significant in a non-functional tumor)",
    ),
    ("sunitinib is not in the GI table", _case(gi(), "sunitinib"), "not_listed", None, None),
    (
        "PRRT when SSTR-negative",
        _case(gi(tumor={"sstr_status": "negative"}), "lu177_dotatate"),
        "listed_not_eligible",
        "gi.lu177_dotatate",
        "SSTR-positive disease",
    ),
    (
        "PRRT with SSTR status unknown",
        _case(gi(tumor={"sstr_status": "unknown"}), "lu177_dotatate"),
        "needs_data",
        "gi.lu177_dotatate",
        None,
    ),
    (
        "PRRT before any SSA",
        _case(gi(treatments=[]), "lu177_dotatate"),
        "listed_not_eligible",
        "gi.lu177_dotatate",
        "progression on octreotide LAR or lanreotide",
    ),
    (
        "above-label SSA after standard-dose progression",
        _case(gi(), "ssa_above_label"),
        "concordant",
        "gi.ssa_above_label",
        None,
    ),
    (
        "RT in mesenteric small-bowel disease",
        _case(
            gi(disease={"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": True}),
            "radiotherapy",
        ),
        "listed_not_eligible",
        "gi.rt_fluoropyrimidine",
        "not small-bowel mesenteric disease",
    ),
    (
        "observation, stable disease with mild burden",
        _case(gi(disease={"status": "stable", "tumor_burden": "mild"}), "observation"),
        "no_systemic_indicated",
        None,
        None,
    ),
    (
        "observation while progressing with significant burden",
        _case(gi(), "observation"),
        "not_listed",
        None,
        None,
    ),
    (
        "observation with the burden unrecorded",
        _case(gi(disease={"status": "stable", "tumor_burden": ...}), "observation"),
        "needs_data",
        None,
        None,
    ),
    (
        "CAPTEM in a pancreatic NET",
        _case(pancreas(), "capecitabine_temozolomide"),
        "concordant",
        "pancreas.capecitabine_temozolomide",
        None,
    ),
    (
        "belzutifan without a germline VHL alteration",
        _case(pancreas(), "belzutifan"),
        "listed_not_eligible",
        "pancreas.belzutifan",
        "germline VHL alteration",
    ),
    (
        "SSA in an SSTR-negative pancreatic NET: the SSTR-negative entry",
        _case(pancreas(tumor={"sstr_status": "negative"}, treatments=[]), "ssa"),
        "concordant",
        "pancreas.ssa_sstr_negative",
        None,
    ),
    (
        "pembrolizumab without MSI-H/dMMR/TMB-H",
        _case(g3(), "pembrolizumab"),
        "listed_not_eligible",
        "g3fav.pembrolizumab",
        "MSI-H, dMMR or TMB-H (≥10 mut/Mb)",
    ),
    (
        "surgery in resectable G3 with unfavorable biology",
        _case(
            g3(disease={"biology": "unfavorable", "extent": "locoregional", "resectable": True}), "surgery"
        ),
        "no_systemic_indicated",
        None,
        None,
    ),
    (
        "lung: carboplatin/etoposide needs the high-end proliferation judgement",
        _case(lung(tumor={"proliferation_high_end": ...}), "carboplatin_etoposide"),
        "needs_data",
        "lung.carboplatin_etoposide",
        None,
    ),
    ("a therapy outside the vocabulary", _case(gi(), "other"), "not_listed", None, None),
]


NEC = {"differentiation": "poor", "grade": "G3", "ki67_percent": 70}
NED_TYPICAL = {
    "tumor": {"lung_subtype": "typical_carcinoid"},
    "disease": {"status": "no_evidence_of_disease", "tumor_burden": "mild", "tumor_symptoms": False},
}
TYPICAL_OUTSIDE_ROW = {
    "tumor": {"lung_subtype": "typical_carcinoid"},
    "disease": {"tumor_burden": "mild", "status": "stable", "tumor_symptoms": False},
}
# Where no table applies: (name, record, verdict and scope_exclusions with the default release
# 5.2024-r4, verdict with 5.2024-r3). An exclusion marked ``scope: pages_not_in_source`` (r4) that is TRUE
# makes the decision out_of_scope, systemic or not; the other exclusions keep the verdicts of r3.
SCOPE_CASES: list[tuple[str, dict[str, Any], str, str | None, str]] = [
    (
        "cisplatin/etoposide for a poorly differentiated carcinoma",
        _case(gi(tumor=NEC), "cisplatin_etoposide"),
        "out_of_scope",
        "poorly_differentiated",
        "not_listed",
    ),
    (
        "observation for a poorly differentiated carcinoma",
        _case(gi(tumor=NEC), "observation"),
        "out_of_scope",
        "poorly_differentiated",
        "no_systemic_indicated",
    ),
    (
        "an SSA for a G2 NET of unknown primary",
        _case(gi(tumor={"primary_site": "unknown_primary"}), "ssa"),
        "out_of_scope",
        "unknown_primary_g12",
        "not_listed",
    ),
    (
        "observation for a resectable localized G2 tumor",
        _case(gi(disease={"extent": "localized", "resectable": True}), "observation"),
        "out_of_scope",
        "resectable_g12",  # g12_not_advanced is true too, but it is the tables' own row criterion
        "no_systemic_indicated",
    ),
    (
        "everolimus for a locoregional unresectable typical carcinoid of the lung",
        _case(
            lung(
                tumor={"lung_subtype": "typical_carcinoid"},
                disease={"extent": "locoregional", "resectable": False},
            ),
            "everolimus",
        ),
        "out_of_scope",
        "lung_thymus_not_distant",
        "not_listed",
    ),
    (
        "surgery for a resectable WD G3 tumor with favorable biology",
        _case(g3(disease={"extent": "locoregional", "resectable": True}), "surgery"),
        "out_of_scope",
        "g3_favorable_resectable",
        "no_systemic_indicated",
    ),
    (
        "two marked exclusions are named in knowledge order",
        _case(
            gi(
                tumor={"primary_site": "unknown_primary"}, disease={"extent": "localized", "resectable": True}
            ),
            "everolimus",
        ),
        "out_of_scope",
        "resectable_g12, unknown_primary_g12",
        "not_listed",
    ),
    (
        "adjuvant everolimus, no evidence of disease after a distant typical carcinoid: the tables' criteria",
        _case(lung(**NED_TYPICAL), "everolimus"),
        "not_listed",
        None,
        "not_listed",
    ),
    (
        "observation, no evidence of disease after a distant typical carcinoid",
        _case(lung(**NED_TYPICAL), "observation"),
        "no_systemic_indicated",
        None,
        "no_systemic_indicated",
    ),
    (
        "adjuvant SSA, no evidence of disease after a favorable WD G3 tumor",
        _case(g3(disease={"status": "no_evidence_of_disease", "tumor_burden": "mild"}), "octreotide_lar"),
        "not_listed",
        None,
        "not_listed",
    ),
    (
        "adjuvant SSA, no evidence of disease after a resectable localized G2 tumor: the no-adjuvant-role"
        " reason, not resectable_g12 (r4 leaves it out once no disease is left)",
        _case(
            gi(disease={"status": "no_evidence_of_disease", "extent": "localized", "resectable": True}), "ssa"
        ),
        "not_listed",
        None,
        "not_listed",
    ),
    (
        "SSA for a resectable localized G2 tumor with disease present: resectable_g12 is marked",
        _case(gi(disease={"status": "stable", "extent": "localized", "resectable": True}), "ssa"),
        "out_of_scope",
        "resectable_g12",
        "not_listed",
    ),
    (
        "unknown is not true: a G3 tumor of unrecorded differentiation, outside the favorable column",
        _case(
            g3(tumor={"differentiation": ...}, disease={"tumor_burden": "mild", "status": "stable"}),
            "everolimus",
        ),
        "not_listed",
        None,
        "not_listed",
    ),
    (
        "everolimus for a distant typical carcinoid outside the lung/thymus row",
        _case(lung(**TYPICAL_OUTSIDE_ROW), "everolimus"),
        "not_listed",
        None,
        "not_listed",
    ),
    (
        "observation for a distant typical carcinoid outside the lung/thymus row",
        _case(lung(**TYPICAL_OUTSIDE_ROW), "observation"),
        "no_systemic_indicated",
        None,
        "no_systemic_indicated",
    ),
    (
        "everolimus for an advanced favorable WD G3 tumor with mild burden, stable",
        _case(g3(disease={"tumor_burden": "mild", "status": "stable"}), "everolimus"),
        "not_listed",
        None,
        "not_listed",
    ),
]


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    from netcds import load_knowledge

    kb = load_knowledge()
    records = [c[1] for c in CASES]
    sql = {int(r["row_id"]): r for r in audit_duckdb(records, kb, tmp_path_factory.mktemp("v"))}
    return [sql[i] for i in range(1, len(records) + 1)], reference(records, kb)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_clinical_verdict(audited: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]], i: int) -> None:
    _, _, verdict, entry, failing = CASES[i]
    sql, ref = audited[0][i], audited[1][i + 1]
    for got in (sql, ref):
        assert (got["verdict"], got["verdict_entry_id"], got["failing_condition"]) == (
            verdict,
            entry,
            failing,
        )


@pytest.fixture(scope="module")
def scope_audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]]:
    from netcds import load_knowledge

    records = [c[1] for c in SCOPE_CASES]
    out = {}
    for release in ("default", "5.2024-r3"):
        kb = load_knowledge() if release == "default" else load_knowledge(release)
        rows = audit_duckdb(records, kb, tmp_path_factory.mktemp("scope"))
        sql = {int(r["row_id"]): r for r in rows}
        out[release] = ([sql[i] for i in range(1, len(records) + 1)], reference(records, kb))
    return out


@pytest.mark.parametrize("i", range(len(SCOPE_CASES)), ids=[c[0] for c in SCOPE_CASES])
def test_no_table_applies_out_of_scope_or_not(
    scope_audited: dict[str, tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]], i: int
) -> None:
    _, _, verdict, scope, verdict_r3 = SCOPE_CASES[i]
    for release, want in (("default", (verdict, scope)), ("5.2024-r3", (verdict_r3, None))):
        sql, ref = scope_audited[release][0][i], scope_audited[release][1][i + 1]
        for got in (sql, ref):
            assert got["setting_status"] == "not_applicable", release
            assert (got["verdict"], got["scope_exclusions"]) == want, release
            assert (got["verdict_entry_id"], got["failing_condition"], got["options"]) == (None, None, [])


def test_agent_level_matching_is_documented_and_narrow() -> None:
    assert set(matching_decisions("ssa")) == {"ssa", "octreotide_lar", "lanreotide"}
    assert "octreotide" not in matching_decisions("ssa")  # short-acting octreotide is not the LAR entry
    assert "ssa_above_label" not in matching_decisions("ssa")
    assert set(matching_decisions("cytotoxic_chemotherapy")) >= {
        "folfox",
        "capeox",
        "temozolomide",
        "dacarbazine",
    }
    assert "folfiri" not in matching_decisions("cytotoxic_chemotherapy")  # irinotecan is not among its agents
    assert matching_decisions("clinical_trial") == ("clinical_trial",)


def test_ambiguous_record_stays_in_the_results(kb: Knowledge, tmp_path: Path) -> None:
    """If a record ever made two settings apply at once, the engine refuses it; the cohort keeps the row as
    setting 'ambiguous', verdict needs_data (here forced with a knowledge version whose rows overlap)."""
    import shutil

    import yaml

    from netcds.knowledge.load import load_knowledge

    root = tmp_path / "k"
    shutil.copytree(
        Path(__file__).parent.parent.parent / "knowledge" / "nccn-net" / "5.2024", root / "nccn-net" / "x"
    )
    wd = root / "nccn-net" / "x" / "tables" / "wd_g3.yaml"
    data = yaml.safe_load(wd.read_text())
    data["applies_when"] = {"fact": "tumor.primary_site", "eq": "ileum"}  # overlaps the GI row on purpose
    data["columns"][0]["when"] = {"fact": "disease.extent", "eq": "distant_metastatic"}
    wd.write_text(yaml.safe_dump(data, sort_keys=False))
    overlapping = load_knowledge("x", root=root)
    records = [_case(gi(), "everolimus")]
    ref = reference(records, overlapping)[1]
    sql = audit_duckdb(records, overlapping, tmp_path)[0]
    for got in (ref, sql):
        assert (got["setting_status"], got["setting_table"], got["verdict"], got["options"]) == (
            "ambiguous",
            None,
            "needs_data",
            [],
        )
    assert SSA_PROGRESSED  # the GI builder's history: progression on standard-dose SSA
