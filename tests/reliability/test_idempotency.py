"""Idempotent case writes: a retried POST with the same Idempotency-Key stores nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from netcds.api.app import create_app
from netcds.settings import Settings
from tests.api.conftest import patient_record


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'i.db'}", base_url="http://testserver"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def count(c: TestClient, table: str) -> int:
    engine = c.app.state.netcds.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def ids(r: Any) -> tuple[str, int, str]:
    b = r.json()
    return b["case_id"], b["version"], b["evaluation_id"]


def test_same_key_same_record_is_stored_once(client: TestClient) -> None:
    key = {"Idempotency-Key": "7d4c1f2e-retry-me"}
    first = client.post("/api/v1/cases", json=patient_record(), headers=key)
    again = client.post("/api/v1/cases", json=patient_record(), headers=key)
    assert first.status_code == again.status_code == 201
    assert ids(first) == ids(again)
    assert "idempotency-replayed" not in first.headers and again.headers["idempotency-replayed"] == "true"
    assert first.json()["evaluation"] == again.json()["evaluation"]
    assert first.headers["location"] == again.headers["location"]
    assert count(client, "cases") == 1 and count(client, "evaluations") == 1
    # the audit entry was written in the same transaction as the case, once
    engine = client.app.state.netcds.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'case.create'")).scalar_one()
    assert n == 1


def test_quoted_key_is_the_same_key(client: TestClient) -> None:
    a = client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "abc-123"})
    b = client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": '"abc-123"'})
    assert ids(a) == ids(b)


def test_same_key_other_record_is_refused(client: TestClient) -> None:
    key = {"Idempotency-Key": "k-1"}
    assert client.post("/api/v1/cases", json=patient_record(), headers=key).status_code == 201
    r = client.post("/api/v1/cases", json=patient_record(age_years=63), headers=key)
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "urn:netcds:problem:idempotency-key-reused"
    assert body["errors"][0]["field"] == "header.Idempotency-Key"
    assert count(client, "cases") == 1


def test_keys_are_per_caller_and_per_case(client: TestClient) -> None:
    case_a = ids(client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "a"}))[0]
    case_b = ids(client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "b"}))[0]
    key = {"Idempotency-Key": "v-1"}
    v1 = client.post(f"/api/v1/cases/{case_a}/versions", json=patient_record(age_years=63), headers=key)
    v2 = client.post(f"/api/v1/cases/{case_a}/versions", json=patient_record(age_years=63), headers=key)
    assert v1.status_code == v2.status_code == 201
    assert ids(v1) == ids(v2) and ids(v1)[1] == 2
    other = client.post(f"/api/v1/cases/{case_b}/versions", json=patient_record(age_years=63), headers=key)
    assert other.status_code == 422  # the key belongs to another case's write
    reused = client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "v-1"})
    assert reused.status_code == 422  # ... and not to a new case
    assert count(client, "case_versions") == 3


def test_without_a_key_every_post_is_a_new_case(client: TestClient) -> None:
    a = client.post("/api/v1/cases", json=patient_record())
    b = client.post("/api/v1/cases", json=patient_record())
    assert ids(a)[0] != ids(b)[0] and count(client, "cases") == 2


@pytest.mark.parametrize("bad", ["", "a" * 201, "tab\there", "caf\u00e9", "line\nbreak"])
def test_malformed_key_is_422_naming_the_header(client: TestClient, bad: str) -> None:
    r = client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": bad.encode("utf-8")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert count(client, "cases") == 0


def test_concurrent_twins_store_once(client: TestClient) -> None:
    results: list[Any] = []

    def post() -> None:
        results.append(
            client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "twin"})
        )

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} == {201}
    assert len({ids(r) for r in results}) == 1
    assert count(client, "cases") == 1 and count(client, "evaluations") == 1
