"""The cards each CDS service issued (schema 0004): recorded once per service and card, looked up by key,
kept across a restart, and taken over from the hook evaluations a 0003 store holds."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import inspect, text

from netcds.store import Store
from netcds.store.repo import make_engine, migrate, schema_revision

A, B, C = (f"{n}0000000-0000-5000-8000-000000000000" for n in "abc")
S1, S2 = "51000000-0000-5000-8000-000000000000", "52000000-0000-5000-8000-000000000000"


def _rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        query = "SELECT service_id, card_uuid, suggestion_uuids FROM issued_cards ORDER BY 1, 2"
        return [tuple(r) for r in conn.execute(text(query)).all()]


def test_cards_are_recorded_once_per_service_and_looked_up_by_service(db_url: str) -> None:
    store = Store.open(db_url)
    store.record_issued_cards("netcds-order-sign", [(A, [S1]), (B, [])])
    store.record_issued_cards("netcds-order-sign", [(A, [S1]), (C, [S2])])  # A again: kept as it is
    fresh = Store.open(db_url)  # another process, which knows none of them: the insert does nothing
    fresh.record_issued_cards("netcds-order-sign", [(A, [S1])])
    fresh.record_issued_cards("netcds-patient-view", [(A, [])])
    fresh.close()
    assert store.issued_cards("netcds-order-sign", [A, B, C, S1]) == {A: [S1], B: [], C: [S2]}
    assert store.issued_cards("netcds-patient-view", [A, B]) == {A: []}
    assert store.issued_cards("netcds-order-select", [A]) == {}
    assert store.issued_cards("netcds-order-sign", []) == {}
    assert len(_rows(store)) == 4
    store.close()

    again = Store.open(db_url)  # a restart: they are in the database
    assert again.issued_cards("netcds-order-sign", [C]) == {C: [S2]}
    again.close()


def test_a_known_card_costs_no_write(db_url: str) -> None:
    store = Store.open(db_url)
    store.record_issued_cards("netcds-patient-view", [(A, [])])
    future = store.submit_issued_cards("netcds-patient-view", [(A, [])])
    assert future.done() and future.result() is None  # not queued at all
    store.close()


def test_upgrade_takes_over_the_cards_of_stored_hook_evaluations(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate(engine, "0003")
    insert = (
        "INSERT INTO evaluations (id, origin, input_json, input_hash, guideline_id, guideline_version, "
        "engine_version, output_hash, service_id, card_uuids, created_at, created_by) VALUES (:id, :o, '{}', "
        "'h', 'nccn-net', '5.2024', '0', 'out', :s, :c, :at, 't')"
    )
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO evaluation_outputs (hash, output_json) VALUES ('out', '{}')"))
        for id_, origin, service, cards, at in (
            ("e1", "cds-hooks", "netcds-patient-view", [A, B], "2026-01-02 00:00:00"),
            ("e2", "cds-hooks", "netcds-patient-view", [A], "2026-01-01 00:00:00"),  # A first issued here
            ("e3", "rest", None, None, "2026-01-01 00:00:00"),
            ("e4", "case", None, [C], "2026-01-01 00:00:00"),  # no service: not a hook card
        ):
            values = {
                "id": id_,
                "o": origin,
                "s": service,
                "c": json.dumps(cards) if cards else None,
                "at": at,
            }
            conn.execute(text(insert), values)
    migrate(engine)
    assert schema_revision(engine) == "0005"
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT service_id, card_uuid, suggestion_uuids, issued_at FROM issued_cards")
        ).all()
    assert sorted((r[0], r[1], r[2], str(r[3])[:10]) for r in rows) == [
        ("netcds-patient-view", A, None, "2026-01-01"),
        ("netcds-patient-view", B, None, "2026-01-02"),
    ]
    engine.dispose()
    store = Store.open(url)
    assert store.issued_cards("netcds-patient-view", [A, C]) == {A: None}  # suggestions never stored
    store.close()

    engine = make_engine(url)
    migrate(engine, "0003", down=True)
    assert "issued_cards" not in inspect(engine).get_table_names()
    engine.dispose()
