"""Symptoms from hormone excess mean a functional tumor (session 36; a clinical QA finding, HIGH).

Up to session 35 ``derived.functional`` read an empty ``syndromes`` list as non-functional even when the
record said ``hormonal_symptoms: true``. Footnote a's plan then said to discontinue the SSA (and the GI
SSA entry was not eligible, everolimus category 1 "for nonfunctional tumors") in a patient with hormone
symptoms now. The pair is now refused as a contradiction, like ``functional: false`` with the symptoms;
hormonal symptoms with the functional status and syndromes unrecorded read as a functional tumor, as the
contract's contradiction rule says they mean. The per-patient engine, DuckDB and Spark agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.api.app import create_app
from netcds.cli import app as cli_app
from netcds.cohort.audit import run_audit
from netcds.facts import build_facts
from netcds.knowledge.schema import Knowledge
from netcds.settings import Settings
from tests.conftest import gi, pancreas
from tests.engine.test_contradictions28 import errors

from .helpers import check_on_duckdb, check_on_spark

MESSAGE = (
    "is an empty list (no hormone syndrome) but hormonal_symptoms is true (symptoms from hormone excess mean "
    "a functional tumor; which of the two is wrong is unknown, so neither is guessed; an unnamed syndrome is "
    "listed as 'other')"
)


def _tumor(rec: dict[str, Any], **tumor: Any) -> dict[str, Any]:
    rec["tumor"] = {
        **{k: v for k, v in rec["tumor"].items() if k not in ("functional", "syndromes")},
        **tumor,
    }
    return rec


def test_an_empty_syndrome_list_with_hormonal_symptoms_is_refused_naming_syndromes() -> None:
    for rec in (gi(), pancreas()):
        assert errors(_tumor(rec, syndromes=[], hormonal_symptoms=True)) == [("tumor.syndromes", MESSAGE)]


@pytest.mark.parametrize(
    "tumor",
    [
        {"syndromes": [], "hormonal_symptoms": False},
        {"syndromes": [], "hormonal_symptoms": None},
        {"syndromes": ["other"], "hormonal_symptoms": True},
        {"functional": True, "hormonal_symptoms": True},
    ],
)
def test_the_neighbours_are_accepted(tumor: dict[str, Any]) -> None:
    Patient.model_validate(_tumor(gi(), **tumor))


def test_the_cli_and_api_refuse_it_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_tumor(gi(), syndromes=[], hormonal_symptoms=True)))
    res = CliRunner().invoke(cli_app, ["evaluate", str(path)])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: tumor.syndromes: {MESSAGE}"] and "Traceback" not in res.output
    with TestClient(
        create_app(Settings(db_url=f"sqlite:///{tmp_path}/t.db")), raise_server_exceptions=False
    ) as c:
        r = c.post("/api/v1/evaluate", json=json.loads(path.read_text()))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["tumor.syndromes"]


def test_a_cohort_row_is_rejected_not_lost(tmp_path: Path) -> None:
    bad = {
        **_tumor(gi(), syndromes=[], hormonal_symptoms=True),
        "decision": {"date": "2024-06-01", "regimen": "octreotide_lar"},
    }
    good = {**gi(), "decision": {"date": "2024-06-01", "regimen": "octreotide_lar"}}
    path = tmp_path / "c.ndjson"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    run = run_audit(str(path), tmp_path / "out", load_knowledge())
    assert (run.rows_in, run.results, run.rejects) == (2, 1, 1)
    rej = [json.loads(x) for x in (tmp_path / "out" / "rejects.ndjson").read_text().splitlines()]
    assert [(r["row"], r["field"]) for r in rej] == [(2, "tumor.syndromes")]


def test_hormonal_symptoms_alone_mean_a_functional_tumor() -> None:
    kb = load_knowledge()
    p = Patient.model_validate(_tumor(gi(), hormonal_symptoms=True))
    d = build_facts(p).derived["derived.functional"]
    assert d.value is True and d.missing == () and "hormone excess" in d.why
    ev = evaluate(p, kb)
    by = {o.regimen: o for o in ev.options}
    # footnote a: continue the SSA in a functional tumor, even after clinically significant progression
    assert ev.ssa_plan.action == "continue"
    assert by["ssa"].status == "eligible"
    # everolimus: category 1 on the GI table is for nonfunctional tumors only
    assert by["everolimus"].category == "2A" and "tumor.functional" not in by["everolimus"].category_missing


def test_unrecorded_symptoms_and_syndromes_still_leave_it_unknown() -> None:
    p = Patient.model_validate(_tumor(gi(), hormonal_symptoms=False))
    d = build_facts(p).derived["derived.functional"]
    assert d.value is None and d.missing == ("tumor.functional",)  # no symptoms now is not non-functional


def _rows() -> list[dict[str, Any]]:
    out = []
    for functional in (True, False, None):
        for syndromes in (None, [], ["carcinoid_syndrome"]):
            for symptoms in (True, False, None):
                t: dict[str, Any] = {"hormonal_symptoms": symptoms}
                if functional is not None:
                    t["functional"] = functional
                if syndromes is not None:
                    t["syndromes"] = syndromes
                rec = _tumor(gi(), **t)
                try:
                    Patient.model_validate(rec)
                except ValueError:
                    continue  # a contradiction: refused, covered above
                out.append({**rec, "decision": {"date": "2025-04-01", "regimen": "octreotide_lar"}})
    return out


def test_the_rows_cover_the_new_reading() -> None:
    rows = _rows()
    assert any(
        r["tumor"].get("hormonal_symptoms") is True
        and "functional" not in r["tumor"]
        and "syndromes" not in r["tumor"]
        for r in rows
    )
    assert len(rows) >= 15


def test_duckdb_agrees_with_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    check_on_duckdb(_rows(), kb, tmp_path, lambda q: None)


def test_spark_agrees_with_the_engine(spark_engine: Any, kb: Knowledge) -> None:
    check_on_spark(spark_engine, _rows(), kb, lambda q: None)


def test_an_unknown_functional_status_names_the_hormonal_flag_that_would_settle_it() -> None:
    """Review M1: recording hormonal symptoms can now move the SSA entries and footnote a's plan, so an
    unrecorded flag is named beside ``tumor.functional`` (unknown is never silently settled)."""
    kb = load_knowledge()
    rec = _tumor(gi())
    rec["tumor"].pop("hormonal_symptoms", None)
    unrecorded = evaluate(Patient.model_validate(rec), kb)
    ssa = next(o for o in unrecorded.options if o.regimen == "ssa")
    assert ssa.status == "needs_data" and {"tumor.functional", "tumor.hormonal_symptoms"} <= set(ssa.missing)
    assert {"tumor.functional", "tumor.hormonal_symptoms"} <= set(unrecorded.ssa_plan.missing)
    no_symptoms = evaluate(Patient.model_validate(_tumor(gi(), hormonal_symptoms=False)), kb)
    assert "tumor.hormonal_symptoms" not in next(o for o in no_symptoms.options if o.regimen == "ssa").missing
