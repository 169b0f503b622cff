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

LAN_ONGOING = {"agent": "lanreotide", "dose_mg": 120, "interval_days": 28, "start": "2023-01-01"}
PD_SCAN = {"date": "2023-09-04", "recist_response": "PD"}


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
        _case(gi(disease={"progression_clinically_significant": False}), "ssa_above_label"),
        "concordant",
        "gi.ssa_above_label",
        None,
    ),
    (
        "above-label SSA where footnote a calls for stopping the SSA (5.2024-r7)",
        _case(gi(), "ssa_above_label"),
        "listed_not_eligible",
        "gi.ssa_above_label",
        "footnote a does not call for stopping octreotide LAR or lanreotide, at any dose (it does once "
        "progression on them is clinically significant in a non-functional tumor)",
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
        "RT in mesenteric small-bowel disease recorded beside a cecal primary (session 42)",
        _case(
            gi(
                tumor={"primary_site": "cecum"},
                disease={"extent": "locoregional", "resectable": False, "small_bowel_mesenteric": True},
            ),
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
    (
        "PRRT while progressive on an ongoing SSA, the progressive status dated after it began",
        _case(gi(treatments=[LAN_ONGOING], disease={"status_date": "2023-09-04"}), "lu177_dotatate"),
        "concordant",
        "gi.lu177_dotatate",
        None,
    ),
    (
        "PRRT after an SSA line whose best response was PD",
        _case(
            gi(
                treatments=[{**LAN_ONGOING, "end": "2023-06-01", "best_response": "PD"}],
                disease={"status": "stable"},
            ),
            "lu177_dotatate",
        ),
        "concordant",
        "gi.lu177_dotatate",
        None,
    ),
    (
        "PRRT while progressive on an ongoing SSA, progression assessed after it began",
        _case(gi(treatments=[LAN_ONGOING], assessments=[PD_SCAN]), "lu177_dotatate"),
        "concordant",
        "gi.lu177_dotatate",
        None,
    ),
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
        "observation, no evidence of disease after a resectable localized G2 tumor: judged, as the doc says",
        _case(
            gi(disease={"status": "no_evidence_of_disease", "extent": "localized", "resectable": True}),
            "observation",
        ),
        "no_systemic_indicated",
        None,
        "no_systemic_indicated",
    ),
    (
        "SSA for a resectable localized G2 tumor with disease present: resectable_g12 is marked",
        _case(gi(disease={"status": "stable", "extent": "localized", "resectable": True}), "ssa"),
        "out_of_scope",
        "resectable_g12",
        "not_listed",
    ),
    (
        "unknown is neither true nor false: a G3 tumor of unrecorded differentiation, outside the"
        " favorable column (poorly_differentiated unknown: needs_data, not out_of_scope nor not_listed)",
        _case(
            g3(tumor={"differentiation": ...}, disease={"tumor_burden": "mild", "status": "stable"}),
            "everolimus",
        ),
        "needs_data",
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


def audit_both(
    records: list[dict[str, Any]], kb: Any, folder: Path
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The DuckDB audit of ``records`` in input order, and the per-patient reference by row id."""
    sql = {int(r["row_id"]): r for r in audit_duckdb(records, kb, folder)}
    return [sql[i] for i in range(1, len(records) + 1)], reference(records, kb)


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    from netcds import load_knowledge

    kb = load_knowledge()
    return audit_both([c[1] for c in CASES], kb, tmp_path_factory.mktemp("v"))


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
        out[release] = audit_both(records, kb, tmp_path_factory.mktemp("scope"))
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


# The setting undetermined (one candidate setting; a fact its row or column reads is unknown): a verdict
# that holds only if that setting applies is needs_data, never a negative (cohort/verdict.py rule 5). The
# first three are one decision point with the extent unrecorded, then localized and resectable (no table
# applies: out_of_scope), then distant (the GI table applies: listed_not_eligible).
CECUM_G2 = {
    "id": "cecum-g2",
    "tumor": {"primary_site": "cecum", "differentiation": "well", "grade": "G2", "ki67_percent": 6.9,
              "sstr_status": "positive", "functional": False, "hormonal_symptoms": False},
    "disease": {"tumor_burden": "clinically_significant", "status": "stable"},
    "treatments": [{"agent": "lanreotide", "dose_mg": 120.0, "interval_days": 28.0, "start": "2019-07-30",
                    "end": "2020-12-22", "progressed": False, "stop_reason": "completed"}],
    "decision": {"date": "2022-02-22", "regimen": "ssa_above_label"},
}  # fmt: skip
NO_EXTENT = {"extent": ...}
UNDETERMINED_CASES: list[tuple[str, dict[str, Any], str, str, str | None, str | None, str | None]] = [
    # (name, record, setting status, verdict, verdict entry, failing condition, scope_exclusions)
    (
        "above-label SSA without progression on standard doses, extent unrecorded",
        CECUM_G2,
        "needs_data",
        "needs_data",
        "gi.ssa_above_label",
        None,
        None,
    ),
    (
        "the same, localized and resectable",
        merge(CECUM_G2, {"disease": {"extent": "localized", "resectable": True}}),
        "not_applicable",
        "out_of_scope",
        None,
        None,
        "resectable_g12",
    ),
    (
        "the same, distant metastatic",
        merge(CECUM_G2, {"disease": {"extent": "distant_metastatic"}}),
        "applies",
        "listed_not_eligible",
        "gi.ssa_above_label",
        "progression on standard SSA doses",
        None,
    ),
    (
        "sunitinib (not in the GI table), extent unrecorded",
        _case(gi(disease=NO_EXTENT), "sunitinib"),
        "needs_data",
        "needs_data",
        None,
        None,
        None,
    ),
    (
        "PRRT before any SSA, extent unrecorded",
        _case(gi(disease=NO_EXTENT, treatments=[]), "lu177_dotatate"),
        "needs_data",
        "needs_data",
        "gi.lu177_dotatate",
        None,
        None,
    ),
    (
        "observation while progressing with significant burden, extent unrecorded",
        _case(gi(disease=NO_EXTENT), "observation"),
        "needs_data",
        "needs_data",
        None,
        None,
        None,
    ),
    (
        "observation, stable disease with mild burden, extent unrecorded: the table names it",
        _case(gi(disease={**NO_EXTENT, "status": "stable", "tumor_burden": "mild"}), "observation"),
        "needs_data",
        "no_systemic_indicated",
        None,
        None,
        None,
    ),
]


def undetermined_expected(i: int) -> tuple[Any, ...]:
    _, _, setting, verdict, entry, failing, scope = UNDETERMINED_CASES[i]
    return setting, verdict, entry, failing, scope


def verdict_fields(r: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("setting_status", "verdict", "verdict_entry_id", "failing_condition", "scope_exclusions")
    return tuple(r[k] for k in keys)


@pytest.fixture(scope="module")
def undetermined_audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    from netcds import load_knowledge

    kb = load_knowledge()
    return audit_both([c[1] for c in UNDETERMINED_CASES], kb, tmp_path_factory.mktemp("u"))


@pytest.mark.parametrize("i", range(len(UNDETERMINED_CASES)), ids=[c[0] for c in UNDETERMINED_CASES])
def test_undetermined_setting_gives_no_negative(
    undetermined_audited: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]], i: int
) -> None:
    sql, ref = undetermined_audited[0][i], undetermined_audited[1][i + 1]
    for got in (sql, ref):
        assert verdict_fields(got) == undetermined_expected(i)


def test_undetermined_setting_concordant_is_needs_data_too(kb: Knowledge, tmp_path: Path) -> None:
    """Where the undetermined setting names no missing field (a fact unknown without one), the engine keeps
    its options eligible; a concordant choice there is needs_data too, in both implementations (forced with
    a knowledge version whose GI row reads the carcinoid subtype, unknown for a non-thoracic primary)."""
    import shutil

    import yaml

    from netcds.knowledge.load import load_knowledge

    root = tmp_path / "k"
    shutil.copytree(
        Path(__file__).parent.parent.parent / "knowledge" / "nccn-net" / kb.release, root / "nccn-net" / "x"
    )
    path = root / "nccn-net" / "x" / "tables" / "gi.yaml"
    data = yaml.safe_load(path.read_text())
    data["applies_when"]["all"].append({"not": {"fact": "derived.lung_subtype", "eq": "atypical_carcinoid"}})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    silent = load_knowledge("x", root=root)
    records = [_case(gi(), "lu177_dotatate")]
    ref = reference(records, silent)[1]
    sql = audit_duckdb(records, silent, tmp_path)[0]
    for got in (ref, sql):
        status = {o["entry_id"]: o["status"] for o in got["options"]}["gi.lu177_dotatate"]
        assert (got["setting_status"], status) == ("needs_data", "eligible")
        assert (got["verdict"], got["verdict_entry_id"]) == ("needs_data", "gi.lu177_dotatate")


OCT_ENDED = {"agent": "octreotide_lar", "dose_mg": 30, "interval_days": 28, "start": "2023-01-01",
             "end": "2024-01-01"}  # fmt: skip
EVEROLIMUS_PROGRESSED = {
    "agent": "everolimus",
    "start": "2022-01-01",
    "end": "2022-12-01",
    "progressed": True,
}
# A needs_data verdict names the fields it waits for (missing_fields): the picked entry's, the table's
# principles' for a non-systemic decision, or the setting's when the setting is undetermined.
MISSING_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "PRRT while progressive on an ongoing SSA, no progression dated after it began",
        _case(gi(treatments=[LAN_ONGOING]), "lu177_dotatate"),
        ["treatments[0].progressed"],
    ),
    (
        "PRRT while progressive on an ongoing SSA begun after the progressive status was assessed",
        _case(gi(treatments=[LAN_ONGOING], disease={"status_date": "2022-12-20"}), "lu177_dotatate"),
        ["treatments[0].progressed"],
    ),
    (
        "PRRT while progressive on an ongoing SSA started after the dated progression",
        _case(gi(treatments=[LAN_ONGOING], assessments=[{**PD_SCAN, "date": "2023-01-01"}]), "lu177_dotatate"),
        ["treatments[0].progressed"],
    ),
    (
        "PRRT, progression on the SSA line not recorded",
        _case(gi(disease={"status": "stable"}, treatments=[OCT_ENDED]), "lu177_dotatate"),
        ["treatments[0].progressed"],
    ),
    (
        "PRRT, the SSA line second in the history",
        _case(gi(disease={"status": "stable"}, treatments=[EVEROLIMUS_PROGRESSED, OCT_ENDED]), "lu177_dotatate"),
        ["treatments[1].progressed"],
    ),
    (
        "above-label SSA after lanreotide progression at an unrecorded dose",
        _case(
            gi(
                treatments=[{"agent": "lanreotide", "start": "2023-01-01", "end": "2024-01-01", "progressed": True}],
                disease={"progression_clinically_significant": False},
            ),
            "ssa_above_label",
        ),
        ["treatments[0].dose_mg", "treatments[0].interval_days"],
    ),
    ("PRRT, treatment history not recorded", _case(gi(treatments=...), "lu177_dotatate"), ["treatments"]),
    ("PRRT with SSTR status unknown", _case(gi(tumor={"sstr_status": "unknown"}), "lu177_dotatate"), ["tumor.sstr_status"]),
    (
        "observation with the burden unrecorded: the observation principle waits for it",
        _case(gi(disease={"status": "stable", "tumor_burden": ...}), "observation"),
        ["disease.tumor_burden"],
    ),
    (
        "lung: carboplatin/etoposide needs the high-end proliferation judgement",
        _case(lung(tumor={"proliferation_high_end": ...}), "carboplatin_etoposide"),
        ["tumor.proliferation_high_end"],
    ),
    ("the setting undetermined: the setting's missing field", CECUM_G2, ["disease.extent"]),
    (
        "the setting undetermined, several candidate settings (GI G1/2 or WD G3, by biology)",
        _case(gi(tumor={"grade": ..., "ki67_percent": ..., "differentiation": ...}), "everolimus"),
        # 5.2024-r8: the favorable G3 column is for unresectable disease, so it waits for resectability too
        [
            "disease.biology",
            "disease.resectable",
            "tumor.differentiation",
            "tumor.grade",
            "tumor.ki67_percent",
            "tumor.mitoses_per_2mm2",
        ],
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def missing_audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    from netcds import load_knowledge

    kb = load_knowledge()
    return audit_both([c[1] for c in MISSING_CASES], kb, tmp_path_factory.mktemp("m"))


@pytest.mark.parametrize("i", range(len(MISSING_CASES)), ids=[c[0] for c in MISSING_CASES])
def test_needs_data_names_the_missing_fields(
    missing_audited: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]], i: int
) -> None:
    sql, ref = missing_audited[0][i], missing_audited[1][i + 1]
    for got in (sql, ref):
        assert (got["verdict"], got["missing_fields"]) == ("needs_data", MISSING_CASES[i][2])


def test_only_needs_data_names_missing_fields(
    audited: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]],
) -> None:
    for sql in audited[0]:
        assert (sql["missing_fields"] is None) == (sql["verdict"] != "needs_data"), sql["verdict"]


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


NED_MILD = {"status": "no_evidence_of_disease", "tumor_burden": "mild", "tumor_symptoms": False}
RESECTABLE_G2 = {"extent": "localized", "resectable": True}
# Where no table applies and no marked exclusion is TRUE, one that is UNKNOWN makes a systemic decision
# needs_data (were it TRUE, the decision would be out_of_scope): unknown is not false (cohort/verdict.py
# rule 1). (name, record, verdict and missing_fields with the default release, verdict with 5.2024-r3,
# which marks no exclusion.)
SCOPE_UNKNOWN_CASES: list[tuple[str, dict[str, Any], str, list[str] | None, str]] = [
    (
        "everolimus, resectable localized ileal G2, disease status unrecorded (resectable_g12 unknown)",
        _case(gi(disease={**RESECTABLE_G2, "status": ...}), "everolimus"),
        "needs_data",
        ["disease.status"],
        "not_listed",
    ),
    (
        "observation, the same: stays no_systemic_indicated (out_of_scope or not, never counted)",
        _case(gi(disease={**RESECTABLE_G2, "status": ...}), "observation"),
        "no_systemic_indicated",
        None,
        "no_systemic_indicated",
    ),
    (
        "everolimus, G3 of unrecorded differentiation, no evidence of disease (poorly_differentiated)",
        _case(
            gi(tumor={"differentiation": ..., "grade": "G3", "ki67_percent": 40}, disease=NED_MILD),
            "everolimus",
        ),
        "needs_data",
        ["tumor.differentiation"],
        "needs_data",  # r3: the setting itself is undetermined there (biology)
    ),
    (
        "everolimus, typical lung carcinoid, no evidence of disease, extent unrecorded (lung_thymus)",
        _case(
            lung(tumor={"lung_subtype": "typical_carcinoid"}, disease={**NED_MILD, "extent": ...}),
            "everolimus",
        ),
        "needs_data",
        ["disease.extent"],
        "not_listed",
    ),
    (
        # session 28: with the extent alone unrecorded, disease not resectable is advanced either way
        "everolimus, favorable WD G3, mild and stable, extent and resectability unrecorded"
        " (g3_favorable_resectable)",
        _case(
            g3(disease={"extent": ..., "resectable": ..., "tumor_burden": "mild", "status": "stable"}),
            "everolimus",
        ),
        "needs_data",
        ["disease.extent", "disease.resectable"],
        "not_listed",
    ),
    (
        "adjuvant SSA, resectable localized G2, no evidence of disease: every marked exclusion known",
        _case(gi(disease={**RESECTABLE_G2, "status": "no_evidence_of_disease"}), "ssa"),
        "not_listed",
        None,
        "not_listed",
    ),
]


@pytest.fixture(scope="module")
def scope_unknown_audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]]:
    from netcds import load_knowledge

    records = [c[1] for c in SCOPE_UNKNOWN_CASES]
    return {
        release: audit_both(
            records,
            load_knowledge() if release == "default" else load_knowledge(release),
            tmp_path_factory.mktemp("su"),
        )
        for release in ("default", "5.2024-r3")
    }


@pytest.mark.parametrize("i", range(len(SCOPE_UNKNOWN_CASES)), ids=[c[0] for c in SCOPE_UNKNOWN_CASES])
def test_no_table_applies_unknown_marked_exclusion_is_needs_data(
    scope_unknown_audited: dict[str, tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]], i: int
) -> None:
    _, _, verdict, missing, verdict_r3 = SCOPE_UNKNOWN_CASES[i]
    sql, ref = scope_unknown_audited["default"][0][i], scope_unknown_audited["default"][1][i + 1]
    for got in (sql, ref):
        assert got["setting_status"] == "not_applicable"
        assert (got["verdict"], got["missing_fields"], got["scope_exclusions"]) == (verdict, missing, None)
        assert (got["verdict_entry_id"], got["failing_condition"], got["options"]) == (None, None, [])
    sql, ref = scope_unknown_audited["5.2024-r3"][0][i], scope_unknown_audited["5.2024-r3"][1][i + 1]
    assert sql["verdict"] == ref["verdict"] == verdict_r3


def test_unknown_marked_exclusion_flips_to_out_of_scope_once_recorded(kb: Knowledge, tmp_path: Path) -> None:
    """The reviewer's record: no disease status is needs_data (waiting for it), progressive disease is
    out_of_scope (resectable_g12), in both implementations; never the negative not_listed."""
    record = {
        "id": "A",
        "tumor": {"primary_site": "ileum", "grade": "G2", "differentiation": "well"},
        "disease": {"extent": "localized", "resectable": True},
        "decision": {"date": "2024-01-01", "regimen": "everolimus"},
    }
    records = [record, merge(record, {"disease": {"status": "progressive"}})]
    ref = reference(records, kb)
    sql = {int(r["row_id"]): r for r in audit_duckdb(records, kb, tmp_path)}
    want = {
        1: ("needs_data", ["disease.status"], None),
        2: ("out_of_scope", None, "resectable_g12"),
    }
    for i, expected in want.items():
        for got in (sql[i], ref[i]):
            assert (got["verdict"], got["missing_fields"], got["scope_exclusions"]) == expected
