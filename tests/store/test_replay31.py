"""Replaying a stored evaluation whose stored input today's Patient contract refuses, and the evaluation
ids the command takes: a 409 problem / one line with exit 2 naming the field or the id, never a 500 or a
traceback; the id in every form the API path takes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.api.app import create_app
from netcds.cli import app
from netcds.store import Store
from netcds.store.replay import replay
from tests.api.conftest import Keys, make_settings, patient_record

runner = CliRunner()
PROBLEM = "application/problem+json"
# records the contract once took and now refuses (CHANGELOG): (what is changed, the field named)
TIGHTENED: list[tuple[dict[str, Any], str]] = [
    ({"tumor": {"functional": False, "hormonal_symptoms": True}}, "tumor.functional"),
    ({"pregnant": True, "sex": "male"}, "pregnant"),
]


def _merge(record: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key, value in change.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) else value
    return out


def _set_input(url: str, evaluation_id: str, record: dict[str, Any]) -> None:
    """What a database written by an earlier release holds: an input today's contract refuses."""
    store = Store.open(url)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE evaluations SET input_json = :j WHERE id = :i"),
            {"j": json.dumps(record), "i": evaluation_id},
        )
    store.close()


def _stored(url: str) -> str:
    store = Store.open(url)
    patient = Patient.model_validate(patient_record())
    eid = store.save_evaluation(patient, evaluate(patient, load_knowledge()), origin="rest", actor="t")
    store.close()
    return eid.evaluation_id


def _one_error_line(res: Any) -> str:
    text_out = res.stderr + res.stdout
    assert res.exit_code == 2, text_out
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in text_out
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), text_out
    return str(lines[0])


def _tampered(tmp_path: Path, record: dict[str, Any]) -> tuple[str, str]:
    """(database URL, evaluation id) of an evaluation stored in a new database, its input then set to
    ``record`` as an earlier release could have stored it."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    eid = _stored(url)
    _set_input(url, eid, record)
    return url, eid


# --- 1. the stored input is refused by today's contract ------------------------------------------------------
@pytest.mark.parametrize(("change", "field"), TIGHTENED)
def test_store_replay_names_the_field_of_a_stored_input_now_refused(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    from netcds.store.replay import StoredInputError

    url, eid = _tampered(tmp_path, _merge(patient_record(), change))
    store = Store.open(url)
    try:
        with pytest.raises(StoredInputError) as caught:
            replay(store, eid)
        assert caught.value.field == field
        assert caught.value.problems[0][0] == field
        assert "today's Patient contract" in str(caught.value)
    finally:
        store.close()


@pytest.mark.parametrize(("change", "field"), TIGHTENED)
def test_cli_replay_of_a_stored_input_now_refused_is_one_line(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    url, eid = _tampered(tmp_path, _merge(patient_record(), change))
    line = _one_error_line(runner.invoke(app, ["evaluations", "replay", eid, "--db", url]))
    assert f"evaluation {eid}: {field}: " in line
    assert "no longer passes today's Patient contract" in line


def test_cli_replay_counts_further_problems_of_the_stored_input(tmp_path: Path) -> None:
    record = _merge(patient_record(), {"tumor": {"ki67_percent": 150}, "age_years": -1})
    url, eid = _tampered(tmp_path, record)
    line = _one_error_line(runner.invoke(app, ["evaluations", "replay", eid, "--db", url]))
    assert "(+1 more)" in line and ("age_years" in line or "tumor.ki67_percent" in line)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, Keys())), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(("change", "field"), TIGHTENED)
def test_api_replay_of_a_stored_input_now_refused_is_a_409_naming_the_field(
    client: TestClient, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    created = client.post("/api/v1/cases", json=patient_record())
    assert created.status_code == 201, created.text
    eid = created.json()["evaluation_id"]
    _set_input(f"sqlite:///{tmp_path / 'netcds.db'}", eid, _merge(patient_record(), change))

    r = client.post(f"/api/v1/evaluations/{eid}/replay")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == "urn:netcds:problem:stored-input-invalid"
    assert body["status"] == 409
    assert body["errors"][0]["field"] == field
    assert f"{field}: " in body["detail"] and "today's Patient contract" in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]

    still = client.get(f"/api/v1/evaluations/{eid}")  # the stored evaluation itself stays readable
    assert still.status_code == 200
    assert still.json()["input"] == _merge(patient_record(), change)


# --- 2. and 3. the id: any form the API path takes; malformed (even undecodable) is said so, exit 2 ----------
ID_FORMS: list[tuple[str, Any, bool]] = [  # (what, spelling of the stored id, taken by the API path)
    ("upper case", lambda u: u.upper(), True),
    ("braces", lambda u: "{" + u + "}", True),
    ("no hyphens", lambda u: u.replace("-", ""), True),
    ("urn", lambda u: "urn:uuid:" + u, True),
    ("urn, upper-case hex", lambda u: "urn:uuid:" + u.upper(), True),
    ("upper-case URN prefix", lambda u: "URN:UUID:" + u, False),
    ("braces, no hyphens", lambda u: "{" + u.replace("-", "") + "}", False),
    ("an underscore", lambda u: u[:-2] + "_" + u[-1], False),
    ("a misplaced hyphen", lambda u: u[:13] + u[14:18] + "-" + u[18:], False),
    ("a word", lambda u: "nope", False),
]


@pytest.mark.parametrize(("what", "spelling", "taken"), ID_FORMS, ids=[f[0] for f in ID_FORMS])
def test_cli_replay_takes_exactly_the_id_forms_the_api_takes(
    client: TestClient, tmp_path: Path, what: str, spelling: Any, taken: bool
) -> None:
    eid = client.post("/api/v1/cases", json=patient_record()).json()["evaluation_id"]
    given = spelling(eid)
    api = client.get(f"/api/v1/evaluations/{given}")
    assert api.status_code == (200 if taken else 422), (what, api.text)

    res = runner.invoke(app, ["evaluations", "replay", given, "--db", f"sqlite:///{tmp_path / 'netcds.db'}"])
    if taken:
        assert res.exit_code == 0, res.output
        assert f"evaluation {eid}: " in res.stdout and "identical" in res.stdout
    else:
        line = _one_error_line(res)
        assert "is not an evaluation id" in line and "no evaluation" not in line


@pytest.mark.parametrize("given", ["\udcff", "e1\x1b[31m", ""])
def test_cli_replay_of_a_malformed_id_is_one_escaped_line(tmp_path: Path, given: str) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _stored(url)
    line = _one_error_line(runner.invoke(app, ["evaluations", "replay", given, "--db", url]))
    assert "is not an evaluation id" in line and "no evaluation" not in line
    assert "\x1b" not in line and "\udcff" not in line


def test_cli_replay_of_undecodable_argv_bytes_is_one_line(tmp_path: Path) -> None:
    """The argument as a shell gives it (``$'\\xff'``): bytes that are not UTF-8 (a lone surrogate in
    Python) reached the database driver and ended in a UnicodeEncodeError traceback."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _stored(url)
    proc = subprocess.run(
        [sys.executable, "-m", "netcds", "evaluations", "replay", b"\xff", "--db", url],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ID: ") and "not an evaluation id" in lines[0]
