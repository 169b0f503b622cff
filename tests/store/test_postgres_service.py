"""The service on PostgreSQL ("PostgreSQL by URL"): the FastAPI app on the session's PostgreSQL database
(tests/postgres_plugin.py) stores and reads back evaluations, records issued cards and their feedback,
versions cases (a stale form is a 409), keeps the audit log append-only with the database's trigger and
refuses a JWT id twice, also across two service processes sharing the database.

Without PostgreSQL these tests are skipped, and under CI=true ``test_postgresql_is_available`` fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

from netcds.api.app import create_app
from netcds.store import Store
from netcds.store.repo import make_engine
from tests.api.conftest import BASE, PV, Keys, auth, evaluation_id_of, hook_request, make_settings, prefetch
from tests.api.conftest import patient_record as record
from tests.postgres_plugin import CI, Postgres

needs_mapping = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
DISCOVERY = "/cds-services"


def test_postgresql_is_available(postgres: Postgres) -> None:
    """The one test that says why there is no PostgreSQL: a failure under CI=true, else a skip."""
    if postgres.url is None:
        message = f"no PostgreSQL for the store and service tests: {postgres.reason}"
        if CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    engine = make_engine(postgres.url)
    try:
        with engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            assert str(conn.execute(sa.text("SELECT version()")).scalar()).startswith("PostgreSQL")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def make_client(pg_url: str, tmp_path: Path, keys: Keys) -> Iterator[Callable[..., TestClient]]:
    """Service apps on the (emptied) PostgreSQL database; each call is another process's app."""
    opened: list[TestClient] = []

    def make(**over: Any) -> TestClient:
        client = TestClient(create_app(make_settings(tmp_path, keys, db_url=pg_url, **over)))
        opened.append(client.__enter__())
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    c = make_client()
    assert store_of(c).engine.dialect.name == "postgresql"
    return c


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.netcds.store  # type: ignore[attr-defined]
    return store


def rows(pg_url: str, query: str) -> list[tuple[Any, ...]]:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query)).all()]
    finally:
        engine.dispose()


# --- evaluations: stored, read back, replayed ------------------------------------------------------------


def test_an_evaluation_is_stored_read_back_and_replayed_identical(client: TestClient, pg_url: str) -> None:
    rec = record()
    plain = client.post("/api/v1/evaluate", json=rec)
    assert plain.status_code == 200, plain.text
    digest = plain.headers["x-netcds-input-hash"]
    created = client.post("/api/v1/cases", json=rec)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["patient_hash"] == digest and body["evaluation"] == plain.json()  # same input, same output

    stored = client.get(f"/api/v1/evaluations/{body['evaluation_id']}")
    assert stored.status_code == 200, stored.text
    got = stored.json()
    assert got["output"] == plain.json() and got["input"]["tumor"] == rec["tumor"]
    assert (got["origin"], got["case_id"], got["case_version"]) == ("case", body["case_id"], 1)
    assert got["guideline_version"] == plain.json()["guideline"]["release"]
    replayed = client.post(f"/api/v1/evaluations/{body['evaluation_id']}/replay").json()
    assert replayed["identical"] is True and replayed["differences"] == []
    assert replayed["replay_output_hash"] == replayed["stored_output_hash"] == got["output_hash"]

    # in PostgreSQL's own tables: the row, and the audit entries of the stateless evaluation and the case
    assert rows(pg_url, "SELECT id, case_version FROM evaluations") == [(body["evaluation_id"], 1)]
    audit = rows(pg_url, "SELECT action, detail FROM audit_log ORDER BY id")
    actions = [a for a, _ in audit]
    assert actions[:2] == ["evaluate", "case.create"] and "evaluation.read" in actions
    assert json.loads(audit[0][1])["input_hash"] == digest


# --- CDS Hooks: issued cards and their feedback ------------------------------------------------------------


def hook_cards(client: TestClient, keys: Keys) -> tuple[list[dict[str, Any]], str]:
    body = hook_request("patient-view", prefetch_data=prefetch())
    r = client.post(PV, json=body, headers=auth(keys, PV))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    assert cards
    return cards, body["hookInstance"]


def feedback(client: TestClient, keys: Keys, card: str) -> httpx.Response:
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}
    path = PV + "/feedback"
    return client.post(path, json={"feedback": [item]}, headers=auth(keys, path))


@needs_mapping
def test_patient_view_records_its_cards_and_feedback_on_them_is_accepted(
    make_client: Callable[..., TestClient], keys: Keys, pg_url: str
) -> None:
    first = make_client()
    cards, instance = hook_cards(first, keys)
    uuids = [c["uuid"] for c in cards]
    evaluation_id = evaluation_id_of(cards[0]["links"][0]["url"])
    stored = first.get(f"/api/v1/evaluations/{evaluation_id}").json()
    assert stored["origin"] == "cds-hooks" and stored["hook_instance"] == instance
    assert stored["card_uuids"] == uuids
    assert first.post(f"/api/v1/evaluations/{evaluation_id}/replay").json()["identical"] is True
    issued = rows(pg_url, "SELECT card_uuid FROM issued_cards WHERE service_id = 'netcds-patient-view'")
    assert sorted(u for (u,) in issued) == sorted(uuids)

    # another process on the same database knows the cards only from PostgreSQL
    other = make_client()
    r = feedback(other, keys, uuids[-1])
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 1}
    unknown = feedback(other, keys, "0b1e7a52-8d4c-5f0e-9a57-2f4a1c6f9e11")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "feedback[0].card"
    got = store_of(first).feedback()
    assert [(f.service_id, f.card_uuid, f.outcome) for f in got] == [
        ("netcds-patient-view", uuids[-1], "overridden")
    ]
    assert rows(pg_url, "SELECT count(*) FROM hook_feedback") == [(1,)]


# --- case versions -----------------------------------------------------------------------------------------


def test_case_versions_are_numbered_in_order_also_when_written_at_once(client: TestClient) -> None:
    case_id = client.post("/api/v1/cases", json=record()).json()["case_id"]
    changed = record()
    changed["tumor"]["sstr_status"] = "negative"
    second = client.post(f"/api/v1/cases/{case_id}/versions", json=changed)
    assert second.status_code == 201 and second.json()["version"] == 2
    lu = next(o for o in second.json()["evaluation"]["options"] if o["regimen"] == "lu177_dotatate")
    assert lu["status"] == "not_eligible"

    # six writers at once: PostgreSQL's row lock on the case gives each its own next version
    results: list[httpx.Response] = []
    start = threading.Barrier(6)

    def write() -> None:
        start.wait()
        results.append(client.post(f"/api/v1/cases/{case_id}/versions", json=record()))

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 6, [r.text for r in results]
    assert sorted(r.json()["version"] for r in results) == [3, 4, 5, 6, 7, 8]
    info = client.get(f"/api/v1/cases/{case_id}").json()
    assert info["latest_version"] == 8 and [v["version"] for v in info["versions"]] == list(range(1, 9))
    evaluations = client.get(f"/api/v1/cases/{case_id}/evaluations").json()
    # one evaluation per version, listed oldest version first (concurrent writers take their time stamps
    # before the case's lock, so the stamps alone could list version 5 before version 4)
    assert [e["case_version"] for e in evaluations] == list(range(1, 9))


def test_a_save_from_a_stale_version_is_a_409_and_stores_nothing(pg_url: str) -> None:
    from tests.web.conftest import form_fields, make_app
    from tests.web.test_cases25b import _edit_form, _new_case, _record, _saved, _versions

    with TestClient(make_app(pg_url)) as web:
        assert store_of(web).engine.dialect.name == "postgresql"
        case_id = _new_case(web)
        mine, theirs = _edit_form(web, case_id), _edit_form(web, case_id)
        data = {**form_fields(_record(7.5)), **theirs, "action": "save"}
        assert _saved(web.post("/ui/patient", data=data, follow_redirects=False)) == (case_id, 2)
        stale = web.post(
            "/ui/patient", data={**form_fields(_record(9)), **mine, "action": "save"}, follow_redirects=False
        )
        assert stale.status_code == 409, stale.text[:500]
        assert f"Case {case_id[:8]} has version 2" in stale.text and _versions(web, case_id) == 2
        confirmed = {**form_fields(_record(9)), **mine, "action": "save-after:2"}
        assert _saved(web.post("/ui/patient", data=confirmed, follow_redirects=False)) == (case_id, 3)
    assert rows(pg_url, f"SELECT version FROM case_versions WHERE case_id = '{case_id}' ORDER BY 1") == [
        (1,),
        (2,),
        (3,),
    ]


# --- the audit log is append-only in the database ------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
    ids=["update", "delete", "truncate"],
)
def test_the_audit_log_refuses_update_delete_and_truncate(
    client: TestClient, pg_url: str, statement: str
) -> None:
    client.post("/api/v1/evaluate", json=record())
    client.post("/api/v1/cases", json=record())
    before = rows(pg_url, "SELECT id, actor, action FROM audit_log ORDER BY id")
    assert len(before) == 2 and {a for _, a, _ in before} == {"local"}
    engine = make_engine(pg_url)
    try:
        with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert rows(pg_url, "SELECT id, actor, action FROM audit_log ORDER BY id") == before
    assert client.post("/api/v1/evaluate", json=record()).status_code == 200  # and it still takes new entries
    assert len(rows(pg_url, "SELECT id FROM audit_log")) == 3


# --- a JWT id is used once -----------------------------------------------------------------------------------


def test_a_jwt_id_is_refused_the_second_time_also_by_another_process(
    make_client: Callable[..., TestClient], keys: Keys, pg_url: str
) -> None:
    first, second = make_client(), make_client()
    token = keys.token(BASE + DISCOVERY, jti="once-on-postgresql")
    headers = {"Authorization": f"Bearer {token}"}
    assert first.get(DISCOVERY, headers=headers).status_code == 200
    for c in (first, second):
        again = c.get(DISCOVERY, headers=headers)
        assert again.status_code == 401 and "replay" in again.json()["detail"]
    assert rows(pg_url, "SELECT jti FROM used_jti") == [("once-on-postgresql",)]

    # the same fresh token sent to both processes at once: exactly one accepts it
    token = keys.token(BASE + DISCOVERY, jti="raced")
    codes: list[int] = []
    start = threading.Barrier(8)

    def call(c: TestClient) -> None:
        start.wait()
        codes.append(c.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"}).status_code)

    threads = [threading.Thread(target=call, args=(c,)) for c in (first, second) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [401] * 7
