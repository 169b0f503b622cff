"""Two contradictions refused like the others (docs/contract.md): ``tumor.functional: false`` with
``tumor.hormonal_symptoms: true``, and ``disease.progression_clinically_significant: true`` with a status
of ``stable`` or ``no_evidence_of_disease``. Each is named at its field by the model, the CLI (exit 2),
the REST API (422 problem+json), the web form and a cohort's rejects; the neighbours stay accepted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.api.app import create_app
from netcds.cli import app as cli_app
from netcds.cohort.audit import run_audit
from netcds.cohort.read import iter_rows
from netcds.cohort.synth import synth_records
from netcds.cohort.synth_sql import generate_sql
from netcds.io import all_errors
from netcds.settings import Settings
from tests.conftest import gi, pancreas

NON_FUNCTIONAL_SYMPTOMS = ({"tumor": {"functional": False, "hormonal_symptoms": True}}, "tumor.functional")
SIGNIFICANT_STABLE = (
    {"disease": {"status": "stable", "progression_clinically_significant": True}},
    "disease.progression_clinically_significant",
)
SIGNIFICANT_NED = (
    {"disease": {"status": "no_evidence_of_disease", "progression_clinically_significant": True}},
    "disease.progression_clinically_significant",
)
REFUSED = [NON_FUNCTIONAL_SYMPTOMS, SIGNIFICANT_STABLE, SIGNIFICANT_NED]
ALLOWED = [
    {"tumor": {"functional": False, "hormonal_symptoms": False}},
    {"tumor": {"functional": False, "hormonal_symptoms": None}},
    {"tumor": {"functional": None, "hormonal_symptoms": True}},
    {"tumor": {"functional": True, "syndromes": ["carcinoid_syndrome"], "hormonal_symptoms": True}},
    {"disease": {"status": "progressive", "progression_clinically_significant": True}},
    {"disease": {"status": "progressive", "progression_clinically_significant": False}},
    {"disease": {"status": "stable", "progression_clinically_significant": False}},
    {"disease": {"status": "no_evidence_of_disease", "progression_clinically_significant": False}},
    {"disease": {"status": "stable", "progression_clinically_significant": None}},
    {"disease": {"status": None, "progression_clinically_significant": True}},
]
IDS = ["functional-false-symptoms", "significant-stable", "significant-ned"]


def record(over: dict[str, Any]) -> dict[str, Any]:
    """The GI test patient with ``over``'s values set as given (none left out)."""
    rec = gi()
    for section, values in over.items():
        rec[section] = {**rec[section], **values}
    return rec


def errors(rec: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        Patient.model_validate(rec)
    return all_errors(info.value)


@pytest.mark.parametrize(("over", "field"), REFUSED, ids=IDS)
def test_the_model_refuses_each_contradiction_naming_the_field(over: dict[str, Any], field: str) -> None:
    found = errors(record(over))
    assert len(found) == 1 and found[0][0] == field, found
    message = found[0][1]
    if field == "tumor.functional":
        assert "hormonal_symptoms is true" in message and "which of the two is wrong is unknown" in message
    else:
        status = over["disease"]["status"]
        assert f"status is {status}" in message and "no progression" in message


def test_the_messages_read_in_full() -> None:
    assert errors(record(NON_FUNCTIONAL_SYMPTOMS[0])) == [
        (
            "tumor.functional",
            "is false but hormonal_symptoms is true (symptoms from hormone excess mean a functional tumor; "
            "which of the two is wrong is unknown, so neither is guessed)",
        )
    ]
    assert errors(record(SIGNIFICANT_STABLE[0])) == [
        (
            "disease.progression_clinically_significant",
            "is true but status is stable (no progression to qualify; which of the two is wrong is unknown, "
            "so neither is guessed)",
        )
    ]


@pytest.mark.parametrize("over", ALLOWED)
def test_the_neighbours_are_accepted_and_evaluated(over: dict[str, Any]) -> None:
    p = Patient.model_validate(record(over))
    assert evaluate(p, load_knowledge()).ssa_plan.action


def test_a_pancreatic_record_is_refused_the_same_way() -> None:
    rec = pancreas()
    rec["tumor"] = {**rec["tumor"], "hormonal_symptoms": True}  # functional false stays
    assert [f for f, _ in errors(rec)] == ["tumor.functional"]


@pytest.mark.parametrize(("over", "field"), REFUSED, ids=IDS)
def test_the_cli_exits_2_with_one_line_naming_the_field(
    tmp_path: Path, over: dict[str, Any], field: str
) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(record(over)))
    res = CliRunner().invoke(cli_app, ["evaluate", str(path)])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: is true" if "disease" in field else
                                                   f"error: {field}: is false"), res.stderr  # fmt: skip
    assert "Traceback" not in res.output


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(db_url=f"sqlite:///{tmp_path}/t.db")), raise_server_exceptions=False
    ) as c:
        yield c


@pytest.mark.parametrize(("over", "field"), REFUSED, ids=IDS)
def test_the_api_is_422_problem_json_naming_the_field(
    client: TestClient, over: dict[str, Any], field: str
) -> None:
    r = client.post("/api/v1/evaluate", json=record(over))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["detail"].startswith(field)


@pytest.mark.parametrize("over", ALLOWED[:3] + ALLOWED[4:7])
def test_the_api_takes_the_neighbours(client: TestClient, over: dict[str, Any]) -> None:
    assert client.post("/api/v1/evaluate", json=record(over)).status_code == 200


def _row(over: dict[str, Any]) -> dict[str, Any]:
    return {**record(over), "decision": {"date": "2024-06-01", "regimen": "octreotide_lar"}}


def test_a_cohort_rejects_each_contradicting_row_with_field_and_message(tmp_path: Path) -> None:
    rows = [_row(o) for o, _ in REFUSED] + [_row(o) for o in ALLOWED]
    path = tmp_path / "cohort.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    read = list(iter_rows(path))
    rejects = [(i, rej) for i, (_, rej) in enumerate(read, start=1) if rej is not None]
    assert [(i, r["field"]) for i, r in rejects] == [(i, f) for i, (_, f) in enumerate(REFUSED, start=1)]
    assert all("which of the two is wrong is unknown" in r["message"] for _, r in rejects)
    run = run_audit(str(path), tmp_path / "out", load_knowledge())
    assert (run.rows_in, run.results, run.rejects) == (len(rows), len(ALLOWED), len(REFUSED))
    out = [json.loads(x) for x in (tmp_path / "out" / "rejects.ndjson").read_text().splitlines()]
    assert [(r["row"], r["field"]) for r in out] == [(i, f) for i, (_, f) in enumerate(REFUSED, start=1)]


def test_the_web_form_shows_the_error_at_the_field(tmp_path: Path) -> None:
    from tests.web.conftest import example, field_block, form_fields, make_app

    rec = example("small_bowel_after_ssa")
    with TestClient(make_app(f"sqlite:///{tmp_path}/web.db")) as c:
        for over, field, words in [
            (
                {"tumor.functional": "false", "tumor.hormonal_symptoms": "true"},
                "tumor.functional",
                "hormonal",
            ),
            (
                {"disease.status": "stable", "disease.progression_clinically_significant": "true"},
                "disease.progression_clinically_significant",
                "status is stable",
            ),
        ]:
            r = c.post("/ui/patient", data={**form_fields(rec), **over, "action": "evaluate"})
            assert r.status_code == 422
            block = field_block(r.text, field)
            assert 'class="field-error"' in block and words in block, block[:800]


def _contradicts(rec: dict[str, Any]) -> bool:
    tumor, disease = rec.get("tumor") or {}, rec.get("disease") or {}
    symptoms = tumor.get("hormonal_symptoms") is True
    return (symptoms and (tumor.get("functional") is False or tumor.get("syndromes") == [])) or (
        disease.get("progression_clinically_significant") is True
        and disease.get("status") in ("stable", "no_evidence_of_disease")
    )


def test_the_synthetic_generators_draw_neither_contradiction() -> None:
    import duckdb

    from netcds.cohort.layout import record_from_canonical

    python = list(synth_records(3000, seed=3, missing=0.3))
    assert not [r["id"] for r in python if _contradicts(r)]
    con = duckdb.connect()
    try:
        cur = con.execute(generate_sql(0, 3000, 2, missing=0.3))
        names = [d[0] for d in cur.description]
        sql = [record_from_canonical(dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    finally:
        con.close()
    assert not [r for r in sql if _contradicts(r)]
    # the neighbours are still drawn: hormonal symptoms with the functional flag unknown, stable disease
    assert any(r["tumor"].get("functional") is None and r["tumor"].get("hormonal_symptoms") for r in python)
    assert any((r.get("disease") or {}).get("status") == "stable" for r in python)


def test_the_hypothesis_strategies_draw_neither_contradiction() -> None:
    from hypothesis import HealthCheck, given, settings

    from tests.cohort.strategies import patient_record
    from tests.strategies import FILLABLE, fill_values, patients

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(patients(), patient_record())
    def check(a: dict[str, Any], b: dict[str, Any]) -> None:
        assert not _contradicts(a) and not _contradicts(b)
        for field in FILLABLE:
            head, tail = field.split(".")
            for value in fill_values(a, field):
                assert not _contradicts({**a, head: {**a[head], tail: value}}), (field, value)

    check()
