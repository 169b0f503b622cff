"""Group commit and stored-once outputs: many writers share a transaction, none is lost or duplicated,
a faulty append fails alone, and an output document is kept once per content hash."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netcds import Patient, evaluate, load_knowledge
from netcds.store import Store, batch
from netcds.store.models import AuditRow
from netcds.store.repo import make_engine, migrate, schema_revision
from tests.store.test_store import RECORD


def _count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_concurrent_audit_entries_are_all_committed_in_fewer_transactions(db_url: str) -> None:
    store = Store.open(db_url)
    n = 400
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda i: store.audit("t", "bench", f"target-{i}", None, {"i": i}), range(n)))
    assert _count(store, "audit_log") == n
    targets = {e.target for e in store.audit_log(limit=n)}
    assert targets == {f"target-{i}" for i in range(n)}  # none lost, none duplicated
    assert store._batch.appends == n
    assert store._batch.batches < n  # waiting writers shared commits
    store.close()


def test_a_faulty_append_fails_alone_and_the_rest_of_its_batch_commits(db_url: str) -> None:
    store = Store.open(db_url)
    gate = threading.Event()

    def slow(s: Session) -> None:  # holds the writer so the next appends queue into one batch
        gate.wait(5)
        s.add(AuditRow(at=_now(), actor="t", action="first"))

    def good(i: int) -> Any:
        return lambda s: s.add(AuditRow(at=_now(), actor="t", action=f"good-{i}"))

    def bad(s: Session) -> None:
        s.add(AuditRow(at=_now(), actor="t", action="bad"))
        s.flush()
        raise ValueError("this append is broken")

    first = store._batch.submit(slow)
    futures = [store._batch.submit(good(0)), store._batch.submit(bad), store._batch.submit(good(1))]
    gate.set()
    first.result(10)
    assert futures[0].result(10) is None and futures[2].result(10) is None
    with pytest.raises(ValueError, match="broken"):
        futures[1].result(10)
    actions = {e.action for e in store.audit_log(limit=10)}
    assert actions == {"first", "good-0", "good-1"}
    store.close()


def test_the_writer_waits_for_company_only_after_a_shared_commit(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone append is committed at once; once a batch held several appends (concurrent requests), the
    writer waits the commit window before the next commit so that more appends share its fsync."""
    waits: list[float] = []
    monkeypatch.setattr(
        batch, "_pause", waits.append
    )  # this writer's wait only, not time.sleep for every thread
    store = Store.open(db_url)
    taken, gate = threading.Event(), threading.Event()

    def row(action: str, hold: bool = False) -> Any:
        def append(s: Session) -> None:
            if hold:  # the writer is inside this append: what is submitted now queues for the next batch
                taken.set()
                gate.wait(5)
            s.add(AuditRow(at=_now(), actor="t", action=action))

        return append

    before = store._batch.appends
    store._batch.run(row("alone"))
    store._batch.run(row("alone again"))
    assert waits == []  # nobody else writing: no delay
    first = store._batch.submit(row("holds the writer", hold=True))
    assert taken.wait(5)
    queued = [store._batch.submit(row(f"queued-{i}")) for i in range(3)]
    gate.set()
    first.result(10)
    for f in queued:
        f.result(10)
    assert waits == []  # the batch of three followed a lone commit
    store._batch.run(row("after a shared commit"))
    assert waits == [batch.WINDOW_S]
    assert store._batch.appends - before == 7
    store.close()


def test_replayed_token_id_in_a_busy_batch_is_refused_only_once_used(db_url: str) -> None:
    store = Store.open(db_url)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: store.use_token_id("iss", f"jti-{i % 50}", 2**40), range(200)))
    assert results.count(True) == 50  # each id accepted exactly once, every repeat refused
    assert _count(store, "used_jti") == 50
    store.close()


def test_the_same_output_is_stored_once(db_url: str) -> None:
    store = Store.open(db_url)
    p = Patient.model_validate(RECORD)
    ev = evaluate(p, load_knowledge())
    a = store.save_evaluation(p, ev, origin="rest", actor="t")
    b = store.save_evaluation(p, ev, origin="rest", actor="t", output=ev.model_dump_json())
    assert a.evaluation_id != b.evaluation_id and a.output_hash == b.output_hash
    assert _count(store, "evaluations") == 2 and _count(store, "evaluation_outputs") == 1
    assert store.get_evaluation(a.evaluation_id).output == store.get_evaluation(b.evaluation_id).output
    other = Patient.model_validate({**RECORD, "id": "store-2"})
    store.save_evaluation(other, evaluate(other, load_knowledge()), origin="rest", actor="t")
    assert _count(store, "evaluation_outputs") == 2
    store.close()


def test_migration_0002_moves_existing_outputs_and_downgrades_back(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate(engine, "0001")
    row = {
        "origin": "rest", "input_json": "{}", "input_hash": "h", "guideline_id": "nccn-net",
        "guideline_version": "5.2024", "engine_version": "0", "output_hash": "o1",
        "created_at": "2026-01-01 00:00:00", "created_by": "t",
    }  # fmt: skip
    insert = (
        "INSERT INTO evaluations (id, origin, input_json, input_hash, guideline_id, guideline_version, "
        "engine_version, output_json, output_hash, created_at, created_by) VALUES (:id, :origin, "
        ":input_json, :input_hash, :guideline_id, :guideline_version, :engine_version, :output_json, "
        ":output_hash, :created_at, :created_by)"
    )
    with engine.begin() as conn:
        for i in range(3):  # two evaluations share an output, one has its own
            conn.execute(
                text(insert),
                {**row, "id": f"e{i}", "output_json": '{"x": 1}' if i < 2 else '{"x": 2}',
                 "output_hash": "o1" if i < 2 else "o2"},
            )  # fmt: skip
    migrate(engine, "0002")
    assert schema_revision(engine) == "0002"
    with engine.connect() as conn:
        outs = dict(conn.execute(text("SELECT hash, output_json FROM evaluation_outputs")).all())
        assert outs == {"o1": '{"x": 1}', "o2": '{"x": 2}'}
        assert conn.execute(text("SELECT count(*) FROM evaluations")).scalar_one() == 3
        with pytest.raises(IntegrityError):  # an evaluation must point at a stored output
            conn.execute(text(insert.replace(":output_json, ", "").replace("output_json, ", "")),
                         {**row, "id": "e9", "output_hash": "nowhere"})  # fmt: skip
    migrate(engine, "0001", down=True)
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT id, output_json FROM evaluations")).all())
    assert back == {"e0": '{"x": 1}', "e1": '{"x": 1}', "e2": '{"x": 2}'}
    engine.dispose()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_awaiting_writers_of_one_batch_are_woken_once_per_event_loop(db_url: str) -> None:
    """Requests on an event loop await their commits with ``batch.committed``: the writer wakes the loop
    once for a whole batch (``asyncio.wrap_future`` cost one cross-thread wake-up per append), every
    caller gets its own result, and a faulty append fails only its own caller."""
    import asyncio

    store = Store.open(db_url)
    taken, gate = threading.Event(), threading.Event()

    def hold(s: Session) -> str:
        taken.set()
        gate.wait(5)
        s.add(AuditRow(at=_now(), actor="t", action="held"))
        return "held"

    def row(i: int) -> Any:
        def append(s: Session) -> int:
            s.add(AuditRow(at=_now(), actor="t", action=f"async-{i}"))
            return i

        return append

    def bad(s: Session) -> None:
        raise ValueError("this append is broken")

    async def main() -> tuple[list[Any], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kw: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kw)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        first = store._batch.submit(hold)
        while not taken.is_set():  # the writer is inside the first batch: the rest queue up together
            await asyncio.sleep(0.001)
        futures = [store._batch.submit(row(i)) for i in range(20)]
        broken = store._batch.submit(bad)
        waits = [asyncio.ensure_future(batch.committed([f])) for f in futures]
        failing = asyncio.ensure_future(batch.committed([broken]))
        gate.set()
        assert await batch.committed([first]) == ["held"]
        results = [r for w in waits for r in await w]
        with pytest.raises(ValueError, match="broken"):
            await failing
        return results, wakeups

    results, wakeups = asyncio.run(main())
    assert results == list(range(20))
    # the held batch, then the queued one (retried append by append around the faulty one): a wake-up
    # per batch, never one per append
    assert wakeups <= 2, wakeups
    assert {e.action for e in store.audit_log(limit=50)} == {"held", *(f"async-{i}" for i in range(20))}
    store.close()
