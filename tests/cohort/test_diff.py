"""Version impact: `cohort diff` lists exactly the decision points whose options change, per the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.diff import diff_versions
from netcds.cohort.synth import synth_records, write_cohort
from netcds.cohort.verdict import reference_result
from netcds.knowledge.load import load_knowledge
from netcds.knowledge.schema import Knowledge
from tests.conftest import gi

from .helpers import reference

FIXTURES = Path(__file__).parent.parent / "fixtures" / "knowledge"


def test_diff_finds_exactly_the_changed_decision_points(tmp_path: Path) -> None:
    kb = load_knowledge("5.2024")  # the fixture is a copy of the first release with two changes
    new = load_knowledge("0.0-diff", root=FIXTURES)
    records = list(synth_records(600, seed=21))
    path = tmp_path / "cohort.ndjson"
    write_cohort(iter(records), path)
    result = diff_versions(path, kb, new)
    before, after = reference(records, kb), reference(records, new)
    expected = {i for i in before if before[i]["options"] != after[i]["options"]}
    assert {c.row_id for c in result.changed} == expected
    assert result.compared == len(records) and result.rejects == 0
    words = {w for c in result.changed for w in c.changes}
    assert words == {
        "gi.cabozantinib: category 2A -> 2B",
        "pancreas.sunitinib: tier preferred -> other_recommended",
    }
    # a GI patient with prior everolimus keeps category 1 under both versions: not listed as changed
    kept = [
        i
        for i, r in before.items()
        if r["setting_table"] == "gi_wd_g12" and r["setting_status"] == "applies" and i not in expected
    ]
    assert all(
        next(o for o in before[i]["options"] if o["entry_id"] == "gi.cabozantinib")["category"] == "1"
        for i in kept
    )
    assert len(expected) > 50 and kept


def test_diff_cli(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    write_cohort(synth_records(120, seed=2), path)
    out = tmp_path / "changes.ndjson"
    res = CliRunner().invoke(
        app,
        [
            "cohort",
            "diff",
            str(path),
            "--from",
            "5.2024",
            "--to",
            "0.0-diff",
            "--to-root",
            str(FIXTURES),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "decision points change from 5.2024 to 0.0-diff" in res.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and all(c["changes"] for c in lines)


def test_diff_reference_result_differs_only_in_options(kb: Knowledge) -> None:
    """The fixture changes a category and a tier, never a status: verdicts only change through them."""
    new = load_knowledge("0.0-diff", root=FIXTURES)
    from netcds.cohort.layout import Decision
    from netcds.patient import Patient

    rec = next(r for r in synth_records(200, seed=4) if r["tumor"]["primary_site"] == "pancreas")
    p = Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})
    d = Decision.model_validate(rec["decision"])
    a, b = reference_result(1, p, d, kb), reference_result(1, p, d, new)
    assert [o["status"] for o in a["options"]] == [o["status"] for o in b["options"]]
    assert a["verdict"] == b["verdict"]


def test_diff_names_a_change_of_the_failing_condition(kb: Knowledge, tmp_path: Path) -> None:
    """A copied knowledge root whose PRRT entry tests its two conditions in the other order: no setting,
    option or verdict moves, but where both conditions fail the reason given first does. Exactly those
    decision points are listed, each with ``failing_condition A -> B``."""
    import shutil

    import yaml

    root = tmp_path / "k"
    shutil.copytree(
        Path(__file__).parent.parent.parent / "knowledge" / "nccn-net" / kb.release, root / "nccn-net" / "x"
    )
    path = root / "nccn-net" / "x" / "tables" / "gi.yaml"
    data = yaml.safe_load(path.read_text())
    entry = next(e for e in data["columns"][0]["entries"] if e["id"] == "gi.lu177_dotatate")
    entry["when"]["all"].reverse()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    swapped = load_knowledge("x", root=root)
    records = list(synth_records(2000, seed=5, off_guideline=0.3))
    records += [
        {**gi(tumor={"sstr_status": "negative"}, treatments=[]), "decision": {"regimen": "lu177_dotatate"}}
    ]
    cohort = tmp_path / "c.ndjson"
    write_cohort(iter(records), cohort)
    result = diff_versions(cohort, kb, swapped)
    before, after = reference(records, kb), reference(records, swapped)
    moved = {i for i in before if before[i]["failing_condition"] != after[i]["failing_condition"]}
    assert moved and {c.row_id for c in result.changed} == moved
    for c in result.changed:
        a, b = before[c.row_id]["failing_condition"], after[c.row_id]["failing_condition"]
        assert c.changes == [f"failing_condition {a} -> {b}"]
        assert c.verdict_from == c.verdict_to == "listed_not_eligible"
    assert "failing_condition SSTR-positive disease -> progression on octreotide LAR or lanreotide" in (
        result.changed[-1].changes
    )


def test_release_r2_changes_no_decision_point(tmp_path: Path) -> None:
    """5.2024-r2 corrects wording and provenance only: no setting, status, tier, category or verdict moves."""
    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(3000, seed=11), path)
    result = diff_versions(path, load_knowledge("5.2024"), load_knowledge("5.2024-r2"))
    assert (result.compared, result.rejects, result.changed) == (3000, 0, [])


SSA_ENTRIES = {"gi.ssa", "lung.ssa", "pancreas.ssa_sstr_positive", "pancreas.ssa_sstr_negative"}


def _ssa_status_moves(result: Any, allowed: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every change is a status move of an octreotide LAR / lanreotide entry among ``allowed``, and no
    setting moves; returns the moves seen."""
    moves = set()
    for change in result.changed:
        assert change.setting_from == change.setting_to
        for text in change.changes:
            if text.startswith("failing_condition "):  # with a status move, a listed_not_eligible's reason
                assert "listed_not_eligible" in (change.verdict_from, change.verdict_to), text
                continue
            if text.startswith("missing_fields "):  # with a status move, what a needs_data verdict waits for
                assert "needs_data" in (change.verdict_from, change.verdict_to), text
                continue
            entry, _, move = text.partition(": status ")
            before, _, after = move.partition(" -> ")
            assert entry in SSA_ENTRIES and (before, after) in allowed, text
            moves.add((before, after))
    return moves


def test_release_r3_moves_only_the_ssa_entries_footnote_a_stops(tmp_path: Path) -> None:
    """5.2024-r3 makes footnote a a condition of the octreotide LAR / lanreotide entries: those entries, and
    only they, move from eligible towards not eligible (or needs data when a fact footnote a reads is
    unknown); no setting moves, and a verdict moves only away from concordant."""
    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(3000, seed=11), path)
    result = diff_versions(path, load_knowledge("5.2024-r2"), load_knowledge("5.2024-r3"))
    assert (result.compared, result.rejects) == (3000, 0) and len(result.changed) > 100
    allowed = {("eligible", "not_eligible"), ("eligible", "needs_data"), ("needs_data", "not_eligible")}
    for change in result.changed:
        assert change.verdict_from == change.verdict_to or change.verdict_from == "concordant"
    _ssa_status_moves(result, allowed)


def test_release_r4_moves_only_verdicts_where_no_table_applies(tmp_path: Path) -> None:
    """5.2024-r4 marks five exclusions as covered on pages not in the source: no setting or option moves;
    the decision points where one of them is true move from not_listed / no_systemic_indicated to
    out_of_scope, naming the exclusions."""
    from netcds.cohort.layout import scope_exclusions

    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(3000, seed=11), path)
    r3, r4 = load_knowledge("5.2024-r3"), load_knowledge("5.2024-r4")
    assert scope_exclusions(r3) == [] and len(scope_exclusions(r4)) == 5
    result = diff_versions(path, r3, r4)
    assert (result.compared, result.rejects) == (3000, 0) and len(result.changed) > 100
    marked = {e.id for e in scope_exclusions(r4)}
    for change in result.changed:
        assert change.setting_from == change.setting_to == "not_applicable:-"
        assert change.verdict_from in ("not_listed", "no_systemic_indicated")
        if change.verdict_to == "needs_data":  # a scope exclusion is unknown: the decision waits for it
            assert change.verdict_from == "not_listed", change
            (text,) = change.changes
            assert text.startswith("missing_fields added "), change
            continue
        assert change.verdict_to == "out_of_scope"
        (text,) = change.changes
        before, _, after = text.removeprefix("scope_exclusions ").partition(" -> ")
        assert before == "-" and set(after.split(", ")) <= marked, text


def test_release_r5_moves_only_the_ssa_entries_towards_eligible(tmp_path: Path) -> None:
    """5.2024-r5 asks footnote a for an SSA course the disease progressed on, not any course: the same
    octreotide LAR / lanreotide entries r3 made conditional move, and only away from not eligible (to
    eligible, or to needs data where the course's progression is not recorded); no setting moves."""
    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(3000, seed=11), path)
    result = diff_versions(path, load_knowledge("5.2024-r4"), load_knowledge("5.2024-r5"))
    assert (result.compared, result.rejects) == (3000, 0) and len(result.changed) > 20
    allowed = {("not_eligible", "eligible"), ("not_eligible", "needs_data"), ("needs_data", "eligible")}
    for change in result.changed:
        assert change.verdict_from == change.verdict_to or change.verdict_to in ("concordant", "needs_data")
    assert ("not_eligible", "eligible") in _ssa_status_moves(result, allowed)


def test_release_r6_moves_no_decision_point(tmp_path: Path) -> None:
    """5.2024-r6 changes words only for the audit: the pancreas temozolomide + capecitabine preference
    becomes a note (it was a qualifier, never gating), and the mdt_choice principle and footnote o are
    reworded. No status, tier, category, setting or verdict moves."""
    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(3000, seed=11), path)
    result = diff_versions(path, load_knowledge("5.2024-r5"), load_knowledge("5.2024-r6"))
    assert (result.compared, result.rejects, result.changed) == (3000, 0, [])


def test_release_r7_moves_settings_only_where_no_disease_remains_or_its_status_is_unknown(
    tmp_path: Path,
) -> None:
    """5.2024-r7: every column also requires that disease remains, and footnote a gates the above-label
    SSA entries. A decision point's setting moves only to no table (no evidence of disease) or to
    needs_data (status not recorded); otherwise only above-label SSA entries move, towards not
    eligible, and a verdict moves only away from concordant."""
    path = tmp_path / "cohort.ndjson"
    records = list(synth_records(3000, seed=11))
    write_cohort(iter(records), path)
    status = {r["id"]: (r.get("disease") or {}).get("status") for r in records}
    result = diff_versions(path, load_knowledge("5.2024-r6"), load_knowledge("5.2024-r7"))
    assert (result.compared, result.rejects) == (3000, 0) and len(result.changed) > 100
    moved_setting = [c for c in result.changed if c.setting_from != c.setting_to]
    assert moved_setting and any(c.setting_to.startswith("not_applicable") for c in moved_setting)
    for change in moved_setting:
        expected = "not_applicable" if status[change.patient_id] == "no_evidence_of_disease" else "needs_data"
        assert status[change.patient_id] in ("no_evidence_of_disease", None), change
        assert change.setting_to.startswith(expected), change
    allowed = {("eligible", "not_eligible"), ("eligible", "needs_data"), ("needs_data", "not_eligible")}
    for change in result.changed:
        if change.setting_from == change.setting_to:
            moves = (change.verdict_from, change.verdict_to)
            assert moves[0] in (moves[1], "concordant") or moves == ("needs_data", "listed_not_eligible")
            for text in change.changes:
                if text.startswith("failing_condition "):
                    continue
                if text.startswith("missing_fields "):
                    assert "needs_data" in moves, change
                    continue
                entry, _, what = text.partition(": ")
                assert entry.endswith("ssa_above_label") and what.startswith("status "), text
                before, _, after = what.removeprefix("status ").partition(" -> ")
                assert (before, after) in allowed, text


def test_release_r8_moves_only_favorable_wd_g3_decision_points_towards_waiting_for_resectability(
    tmp_path: Path,
) -> None:
    """5.2024-r8: the WD G3 favorable column is for unresectable disease (``disease.resectable`` false).
    Only favorable WD G3 decision points move (and those waiting for an unrecorded biology, which now
    also wait for the resectability): a setting moves from that column to ``needs_data`` where
    the resectability is not recorded, or to no table where it is recorded resectable; a verdict moves
    only to ``needs_data`` (resectability unrecorded) or ``out_of_scope`` (recorded resectable). The
    labels and footnote wording move none."""
    path = tmp_path / "cohort.ndjson"
    records = list(synth_records(3000, seed=11))
    write_cohort(iter(records), path)
    disease = {r["id"]: r.get("disease") or {} for r in records}
    result = diff_versions(path, load_knowledge("5.2024-r7"), load_knowledge("5.2024-r8"))
    # 110 with the generator of 2026-11-22 (the manifest's count), 176 once missing_fields is compared;
    # the generator may change
    assert (result.compared, result.rejects) == (3000, 0) and len(result.changed) > 50
    for change in result.changed:
        d = disease[change.patient_id]
        if d.get("biology") is None:  # a decision already waiting for the biology now waits for both
            assert change.verdict_from == change.verdict_to == "needs_data", change
            assert change.changes == ["missing_fields added disease.resectable"], change
            assert d.get("resectable") is None and change.setting_from == change.setting_to, change
            continue
        assert d.get("biology") == "favorable" and d.get("status") != "no_evidence_of_disease", change
        if change.setting_from != change.setting_to:
            assert "wd_g3/favorable_advanced" in change.setting_from, change
            expected = (
                "not_applicable" if d.get("resectable") is True else "needs_data:wd_g3/favorable_advanced"
            )
            assert change.setting_to.startswith(expected), change
        resectable = {"needs_data": None, "out_of_scope": True}
        assert change.verdict_to in resectable and d.get("resectable") is resectable[change.verdict_to], (
            change
        )
