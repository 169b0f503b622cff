"""The persistent store: migrations from empty, persistence across restarts, replay, append-only audit."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from netcds import Patient, __version__, evaluate, load_knowledge
from netcds.api.examples import PATIENT_EXAMPLE
from netcds.store import NotFoundError, Store, replay
from netcds.store.canonical import canonical_json, sha256_hex
from netcds.store.models import Base
from netcds.store.repo import make_engine, migrate, schema_revision

RECORD: dict[str, Any] = {**copy.deepcopy(PATIENT_EXAMPLE), "id": "store-1"}
TABLES = {
    "cases",
    "case_versions",
    "evaluations",
    "hook_feedback",
    "audit_log",
    "used_jti",
    "evaluation_outputs",
    "issued_cards",
    "alembic_version",
}
# replace a stored evaluation's output document (outputs are stored once per hash, evaluations point at them)
TAMPER = (
    "UPDATE evaluation_outputs SET output_json = :o, output_zstd = NULL "
    "WHERE hash = (SELECT output_hash FROM evaluations WHERE id = :i)"
)


def patient(**over: Any) -> Patient:
    return Patient.model_validate({**RECORD, **over})


def test_migrations_run_from_empty(db_url: str) -> None:
    engine = make_engine(db_url)
    assert schema_revision(engine) is None
    migrate(engine)
    assert schema_revision(engine) == "0005"
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate(engine)  # idempotent
    with engine.connect() as conn:  # the models match what the migrations built
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    engine.dispose()


def test_sqlite_is_wal_and_synchronous_full(tmp_path: Any) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_evaluation_persisted_with_its_versions(db_url: str) -> None:
    store = Store.open(db_url)
    p = patient()
    kb = load_knowledge()
    ev = evaluate(p, kb)
    case_id, version, digest = store.create_case(p, "tester")
    info = store.save_evaluation(
        p, ev, origin="case", actor="tester", request_id="r1", case_id=case_id, case_version=version
    )
    stored = store.get_evaluation(info.evaluation_id)
    assert stored.guideline_id == "nccn-net"
    assert stored.guideline_version == "5.2024-r13"
    assert stored.knowledge_digest == kb.digest
    assert stored.engine_version == __version__
    assert stored.input_hash == digest == sha256_hex(canonical_json(p))
    assert stored.output == json.loads(ev.model_dump_json())
    assert Patient.model_validate(stored.input) == p
    assert [e.evaluation_id for e in store.case_evaluations(case_id)] == [info.evaluation_id]
    store.close()


def test_case_versions(db_url: str) -> None:
    store = Store.open(db_url)
    case_id, v1, h1 = store.create_case(patient(), "a")
    v2, h2 = store.add_case_version(
        case_id, patient(tumor={**RECORD["tumor"], "sstr_status": "negative"}), "b"
    )
    assert (v1, v2) == (1, 2)
    assert h1 != h2
    info = store.get_case(case_id)
    assert [v.version for v in info.versions] == [1, 2]
    assert info.patient["tumor"]["sstr_status"] == "negative"
    assert store.case_patient(case_id, 1).tumor.sstr_status == "positive"
    with pytest.raises(NotFoundError):
        store.add_case_version("00000000-0000-4000-8000-000000000000", patient(), "a")
    with pytest.raises(NotFoundError):
        store.get_case("nope")
    store.close()


def test_replay_identical(db_url: str) -> None:
    store = Store.open(db_url)
    p = patient()
    info = store.save_evaluation(p, evaluate(p, load_knowledge()), origin="rest", actor="t")
    result = replay(store, info.evaluation_id)
    assert result.identical
    assert result.differences == []
    assert result.stored_output_hash == result.replay_output_hash
    assert result.guideline_version == "5.2024-r13"
    store.close()


def test_replay_reports_what_changed(db_url: str) -> None:
    store = Store.open(db_url)
    p = patient()
    info = store.save_evaluation(p, evaluate(p, load_knowledge()), origin="rest", actor="t")
    stored = store.get_evaluation(info.evaluation_id).output
    i = next(n for n, o in enumerate(stored["options"]) if o["regimen"] == "lu177_dotatate")
    stored["options"][i]["status"] = "not_eligible"
    stored["engine_version"] = "0.0.1"
    with store.engine.begin() as conn:
        conn.execute(
            text(TAMPER),
            {"o": json.dumps(stored), "i": info.evaluation_id},
        )
    result = replay(store, info.evaluation_id)
    assert not result.identical
    changed = {d.path: (d.stored, d.replayed) for d in result.differences}
    assert changed[f"options[{i}].status"] == ("not_eligible", "eligible")
    assert changed["engine_version"] == ("0.0.1", __version__)
    with pytest.raises(NotFoundError):
        replay(store, "00000000-0000-4000-8000-000000000000")
    store.close()


def test_restart_keeps_everything(db_url: str) -> None:
    store = Store.open(db_url)
    p = patient()
    case_id, _, _ = store.create_case(p, "a")
    info = store.save_evaluation(
        p,
        evaluate(p, load_knowledge()),
        origin="case",
        actor="a",
        case_id=case_id,
        case_version=1,
        card_uuids=["u1", "u2"],
    )
    store.record_feedback(
        "netcds-order-sign",
        [
            {
                "card": "u1",
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "patient-preference"}},
                "outcomeTimestamp": "2025-03-02T10:00:00Z",
            }
        ],
        "ehr",
        "r9",
    )
    store.audit("a", "case.create", case_id, "r1", {"patient_hash": "h"})
    assert store.use_token_id("iss", "jti-1", 2**40)
    store.close()

    again = Store.open(db_url)  # runs the migrations again: a no-op
    assert again.get_case(case_id).patient["id"] == "store-1"
    assert again.get_evaluation(info.evaluation_id).card_uuids == ["u1", "u2"]
    assert [f.override_code for f in again.feedback()] == ["patient-preference"]
    assert again.audit_log(action="case.create")[0].target == case_id
    assert not again.use_token_id("iss", "jti-1", 2**40)  # replay still refused after restart
    assert again.count_evaluations() == 1
    again.close()


def test_audit_log_is_append_only(db_url: str) -> None:
    store = Store.open(db_url)
    store.audit("a", "evaluate", None, "r1", {"input_hash": "h"})
    for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert [e.actor for e in store.audit_log()] == ["a"]
    store.close()


def test_expired_token_ids_are_purged(db_url: str) -> None:
    store = Store.open(db_url)
    assert store.use_token_id("iss", "old", 1)
    assert store.use_token_id("iss", "new", 2**40)  # purges 'old' (long expired)
    assert store.use_token_id("iss", "old", 1)
    store.close()


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:", "sqlite:///:memory:?cache=private"],
)
def test_every_spelling_of_in_memory_sqlite_keeps_what_it_stores(
    url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a file database named ':memory:' would appear here
    store = Store(make_engine(url))
    migrate(store.engine)
    p = Patient.model_validate(PATIENT_EXAMPLE)
    stored = store.save_evaluation(p, evaluate(p, load_knowledge()), actor="t", origin="rest")
    assert store.get_evaluation(stored.evaluation_id).evaluation_id == stored.evaluation_id  # same database
    assert list(tmp_path.iterdir()) == []  # no ':memory:' file, no ':memory:.writer-lock'
