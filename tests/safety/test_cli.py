"""The safety CLI commands, registered on a fresh Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from netcds.safety.cli import register
from tests.safety.conftest import CLEAR, merge

app = typer.Typer()
register(app)
runner = CliRunner()


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    p = tmp_path / "patient.json"
    p.write_text(json.dumps(data))
    return p


def test_drug_json_is_the_monograph() -> None:
    r = runner.invoke(app, ["drug", "cabozantinib", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["id"] == "cabozantinib" and data["dose"]["amount"] == 60


def test_drug_text_lists_sources() -> None:
    r = runner.invoke(app, ["drug", "everolimus"])
    assert r.exit_code == 0
    assert "Sources" in r.stdout and "[nccn]" in r.stdout and "2.5 mg" in r.stdout


def test_drug_unknown_agent_exits_2() -> None:
    r = runner.invoke(app, ["drug", "aspirin"])
    assert r.exit_code == 2
    assert "agent: unknown agent 'aspirin'" in r.stderr


def test_check_json(tmp_path: Path) -> None:
    p = _write(tmp_path, merge(CLEAR, {"medications": ["Biaxin"]}))
    r = runner.invoke(app, ["check", str(p), "--agent", "cabozantinib", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["dose"]["adjusted_mg"] == 40
    assert all(i["source"]["document"] for i in data["safety"])


def test_check_text(tmp_path: Path) -> None:
    p = _write(tmp_path, merge(CLEAR, {"comorbidities": {"hypertension": "uncontrolled"}}))
    r = runner.invoke(app, ["check", str(p), "--agent", "cabozantinib"])
    assert r.exit_code == 0
    assert "critical" in r.stdout and "1 critical" in r.stdout


def test_check_regimen(tmp_path: Path) -> None:
    p = _write(tmp_path, CLEAR)
    r = runner.invoke(app, ["check", str(p), "--regimen", "ssa_above_label", "-f", "json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["agents"] == ["octreotide_lar", "lanreotide"]


def test_check_invalid_patient_names_the_field(tmp_path: Path) -> None:
    p = _write(tmp_path, merge(CLEAR, {"comorbidities": {"hypertension": "sky-high"}}))
    r = runner.invoke(app, ["check", str(p), "--agent", "cabozantinib"])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: comorbidities.hypertension")


def test_check_unknown_field_and_bad_json(tmp_path: Path) -> None:
    p = _write(tmp_path, merge(CLEAR, {"comorbidities": {"hypertensoin": "none"}}))
    r = runner.invoke(app, ["check", str(p), "--agent", "cabozantinib"])
    assert r.exit_code == 2 and "comorbidities.hypertensoin" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["check", str(bad), "--agent", "cabozantinib"])
    assert r.exit_code == 2 and "error:" in r.stderr


def test_check_needs_exactly_one_target(tmp_path: Path) -> None:
    p = _write(tmp_path, CLEAR)
    assert runner.invoke(app, ["check", str(p)]).exit_code == 2
    assert runner.invoke(app, ["check", str(p), "--agent", "x", "--regimen", "ssa"]).exit_code == 2
    r = runner.invoke(app, ["check", str(p), "--regimen", "nope"])
    assert r.exit_code == 2 and "unknown regimen id 'nope'" in r.stderr


def test_drug_text_marks_unverified_items() -> None:
    r = runner.invoke(app, ["drug", "lu177_dotatate"])
    assert r.exit_code == 0
    assert "UNVERIFIED" in r.stdout


def test_check_text_marks_unverified_items(tmp_path: Path) -> None:
    # LUTATHERA hepatotoxicity on treatment (unverified bilirubin threshold): needs an earlier dose
    after_prrt = {"treatments": [{"agent": "lu177_dotatate", "start": "2024-10-01"}]}
    p = _write(tmp_path, merge(CLEAR, {"comorbidities": {"bilirubin_x_uln": 3.5}, **after_prrt}))
    r = runner.invoke(app, ["check", str(p), "--agent", "lu177_dotatate"])
    assert r.exit_code == 0
    assert "UNVERIFIED" in r.stdout and "unverified:" in r.stdout


def test_drug_radiotherapy_says_no_monograph_applies() -> None:
    r = runner.invoke(app, ["drug", "radiotherapy"])
    assert r.exit_code == 0, r.output
    assert "no drug monograph applies" in r.stdout and "unknown agent" not in r.output
    r = runner.invoke(app, ["drug", "radiotherapy", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["id"] == "radiotherapy" and data["monograph"] is None and "not a drug" in data["note"]


def test_check_radiotherapy_is_accepted_with_no_dose(tmp_path: Path) -> None:
    p = _write(tmp_path, CLEAR)
    r = runner.invoke(app, ["check", str(p), "--agent", "radiotherapy", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["agent"] == "radiotherapy" and data["dose"] is None
    assert [i["kind"] for i in data["safety"]] == ["scope"]
    assert "no drug monograph applies" in data["safety"][0]["finding"]
    r = runner.invoke(app, ["check", str(p), "--agent", "radiotherapy"])
    assert r.exit_code == 0 and "no drug monograph applies" in r.stdout and "unknown agent" not in r.output


def test_check_radiotherapy_still_validates_the_patient(tmp_path: Path) -> None:
    p = _write(tmp_path, merge(CLEAR, {"comorbidities": {"hypertensoin": "none"}}))
    r = runner.invoke(app, ["check", str(p), "--agent", "radiotherapy"])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "comorbidities.hypertensoin" in lines[0]
