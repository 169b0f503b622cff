"""Evaluation outputs are stored zstd-compressed (schema 0003) and read back byte for byte; rows written as
text before the upgrade stay readable, and the downgrade restores every output as text."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import zstandard
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from netcds import Patient, __version__, evaluate, load_knowledge
from netcds.api.examples import PATIENT_EXAMPLE
from netcds.store import Store, replay
from netcds.store.canonical import canonical_json, sha256_hex
from netcds.store.outputs import compress_output, output_text
from netcds.store.repo import make_engine, migrate, schema_revision

PATIENT = Patient.model_validate({**copy.deepcopy(PATIENT_EXAMPLE), "id": "outputs-1"})


def _row(store: Store, evaluation_id: str) -> tuple[str, str | None, bytes | None]:
    with store.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT o.hash, o.output_json, o.output_zstd FROM evaluation_outputs o "
                "JOIN evaluations e ON e.output_hash = o.hash WHERE e.id = :i"
            ),
            {"i": evaluation_id},
        ).one()
    return found[0], found[1], None if found[2] is None else bytes(found[2])


def test_a_new_output_is_stored_compressed_and_reads_back_byte_for_byte(db_url: str) -> None:
    store = Store.open(db_url)
    evaluation = evaluate(PATIENT, load_knowledge())
    served = evaluation.model_dump_json().encode()
    info = store.save_evaluation(PATIENT, evaluation, origin="rest", actor="t")
    digest, as_text, compressed = _row(store, info.evaluation_id)
    assert as_text is None
    assert compressed is not None
    assert zstandard.decompress(compressed) == served  # the document itself, unchanged
    assert hashlib.sha256(zstandard.decompress(compressed)).hexdigest() == digest == info.output_hash
    assert len(compressed) * 4 < len(served)  # ~6x smaller in practice
    found = store.find_evaluation(info.evaluation_id)
    assert found is not None and found[1].encode() == served
    assert replay(store, info.evaluation_id).identical
    store.close()


def test_an_output_given_in_its_stored_form_is_stored_as_given(db_url: str) -> None:
    store = Store.open(db_url)
    evaluation = evaluate(PATIENT, load_knowledge())
    served = evaluation.model_dump_json().encode()
    # another level than the store's own: bytes it would not have made itself
    packed, digest = zstandard.compress(served, 3), hashlib.sha256(served).hexdigest()
    assert packed != compress_output(served)
    info = store.save_evaluation(
        PATIENT, evaluation, origin="cds-hooks", actor="t", output_zstd=packed, output_hash=digest
    )
    assert _row(store, info.evaluation_id) == (digest, None, packed)
    found = store.find_evaluation(info.evaluation_id)
    assert found is not None and found[1].encode() == served and info.output_hash == digest
    assert replay(store, info.evaluation_id).identical
    with pytest.raises(ValueError, match="output_hash"):
        store.save_evaluation(PATIENT, evaluation, origin="cds-hooks", actor="t", output_zstd=packed)
    store.close()


def test_an_output_row_holds_exactly_one_form(db_url: str) -> None:
    store = Store.open(db_url)
    insert = "INSERT INTO evaluation_outputs (hash, output_json, output_zstd) VALUES (:h, :t, :z)"
    blob = zstandard.compress(b"{}")
    for t, z in ((None, None), ("{}", blob)):
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(text(insert), {"h": f"bad-{t}", "t": t, "z": z})
    with store.engine.begin() as conn:  # either form alone is fine
        conn.execute(text(insert), {"h": "text", "t": "{}", "z": None})
        conn.execute(text(insert), {"h": "zstd", "t": None, "z": blob})
    store.close()


def test_output_text_reads_either_form_and_refuses_an_empty_row() -> None:
    assert output_text('{"a": 1}', None) == '{"a": 1}'
    assert output_text(None, zstandard.compress('{"a": "é"}'.encode())) == '{"a": "é"}'
    with pytest.raises(ValueError, match="neither form"):
        output_text(None, None)


def test_upgrade_keeps_text_outputs_readable_and_downgrade_restores_text(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate(engine, "0002")
    old = evaluate(PATIENT, load_knowledge("5.2024"))  # a store of the first release's time
    old_json = old.model_dump_json()
    old_hash = hashlib.sha256(old_json.encode()).hexdigest()
    record = canonical_json(PATIENT)
    with engine.begin() as conn:  # an output and an evaluation pointing at it, as a 0002 store wrote them
        conn.execute(
            text("INSERT INTO evaluation_outputs (hash, output_json) VALUES (:h, :o)"),
            {"h": old_hash, "o": old_json},
        )
        conn.execute(
            text(
                "INSERT INTO evaluations (id, origin, input_json, input_hash, guideline_id, "
                "guideline_version, engine_version, output_hash, created_at, created_by) VALUES ('e-old', "
                "'rest', :p, :ph, 'nccn-net', '5.2024', :v, :h, '2026-01-01 00:00:00', 't')"
            ),
            {"h": old_hash, "p": record, "ph": sha256_hex(record), "v": __version__},
        )
    engine.dispose()
    store = Store.open(url)  # opening migrates to the newest revision
    assert schema_revision(store.engine) == "0005"
    assert "output_zstd" in {c["name"] for c in inspect(store.engine).get_columns("evaluation_outputs")}
    with store.engine.connect() as conn:
        kept = conn.execute(text("SELECT output_json, output_zstd FROM evaluation_outputs")).one()
    assert kept[0] == old_json and kept[1] is None  # untouched by the upgrade
    assert store.get_evaluation("e-old").output == json.loads(old_json)
    assert replay(store, "e-old").identical  # the text row replays like any other
    info = store.save_evaluation(PATIENT, old, origin="rest", actor="t")  # the same output: stored once
    assert _row(store, info.evaluation_id)[1:] == (old_json, None)
    assert store.get_evaluation(info.evaluation_id).output["patient_id"] == "outputs-1"
    other = Patient.model_validate({**copy.deepcopy(PATIENT_EXAMPLE), "id": "outputs-2"})
    new = store.save_evaluation(other, evaluate(other, load_knowledge()), origin="rest", actor="t")
    new_json = store.find_evaluation(new.evaluation_id)
    assert new_json is not None and _row(store, new.evaluation_id)[1] is None  # written compressed
    store.close()
    engine = make_engine(url)
    migrate(engine, "0002", down=True)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT hash, output_json FROM evaluation_outputs")).all())
        columns = {c["name"] for c in inspect(conn).get_columns("evaluation_outputs")}
    assert columns == {"hash", "output_json"}
    with engine.connect() as conn:  # the evaluations still point at their outputs
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    assert rows == {info.output_hash: old_json, new.output_hash: new_json[1]}
    assert all(hashlib.sha256(v.encode()).hexdigest() == k for k, v in rows.items())
    engine.dispose()


def test_a_migration_that_would_leave_a_dangling_reference_is_rolled_back(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    engine = make_engine(url)
    migrate(engine, "0002")
    with engine.connect() as conn:  # a damaged store: an evaluation whose output row is missing
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql(
            "INSERT INTO evaluations (id, origin, input_json, input_hash, guideline_id, guideline_version, "
            "engine_version, output_hash, created_at, created_by) VALUES ('e-lost', 'rest', '{}', 'h', "
            "'nccn-net', '5.2024', '0', 'missing', '2026-01-01 00:00:00', 't')"
        )
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()
    with pytest.raises(RuntimeError, match="dangling"):
        migrate(engine)
    assert schema_revision(engine) == "0002"  # nothing of 0003 was kept
    assert "output_zstd" not in {c["name"] for c in inspect(engine).get_columns("evaluation_outputs")}
    with engine.connect() as conn:  # and foreign keys are on again for whoever uses the pool next
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
