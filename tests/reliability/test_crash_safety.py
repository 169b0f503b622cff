"""Crash safety: SIGKILL the server while several clients store cases; every acknowledged write survives,
nothing is half-written or duplicated, and retries with the same Idempotency-Key never store twice."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import patient_record
from tests.reliability.server import start

THREADS = 4
MIN_ACKED = 20
LOAD_SECONDS = 6.0


@dataclass
class Sent:
    key: str
    path: str
    body: dict[str, Any]
    case_id: str | None  # the case a version was added to (None: a new case)


def record(n: int, patient: str | None = None) -> dict[str, Any]:
    """Varied records: distinct ids, ages and Ki-67 values (so inputs, hashes and outputs differ); a new
    version of a case keeps the case's patient id (``patient``)."""
    rec = patient_record(id=patient or f"crash-{n}", age_years=30 + n % 50)
    rec["tumor"]["ki67_percent"] = 1 + n % 19
    return rec


class Load:
    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.acked: dict[str, dict[str, Any]] = {}  # key -> 201 body (ids only)
        self.counter = 0

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def worker(self) -> None:
        mine: list[str] = []  # acknowledged cases of this thread
        patients: dict[str, str] = {}  # case id -> its patient id
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                n = self.next_n()
                if mine and n % 4 == 0:
                    body = record(n, patients[mine[-1]])
                    s = Sent(str(uuid.uuid4()), f"/api/v1/cases/{mine[-1]}/versions", body, mine[-1])
                else:
                    s = Sent(str(uuid.uuid4()), "/api/v1/cases", record(n), None)
                with self.lock:
                    self.sent.append(s)
                try:
                    r = client.post(s.path, json=s.body, headers={"Idempotency-Key": s.key})
                except httpx.HTTPError:
                    continue  # the server is gone: this request is unacknowledged
                if r.status_code == 201:
                    body = r.json()
                    with self.lock:
                        self.acked[s.key] = {k: body[k] for k in ("case_id", "version", "evaluation_id")}
                    if s.case_id is None:
                        mine.append(body["case_id"])
                        patients[body["case_id"]] = s.body["id"]


def check_database(path: Path, load: Load) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for key, ids in load.acked.items():  # every acknowledged write is there, exactly as acknowledged
            row = con.execute(
                "SELECT case_id, case_version, origin FROM evaluations WHERE id = ?", (ids["evaluation_id"],)
            ).fetchone()
            assert row == (ids["case_id"], ids["version"], "case"), key
        # no duplicate: one evaluation per case version, one case version per evaluation
        assert (
            con.execute(
                "SELECT case_id, case_version FROM evaluations WHERE origin = 'case' "
                "GROUP BY case_id, case_version HAVING count(*) > 1"
            ).fetchall()
            == []
        )
        # atomic: no case version without its evaluation and no evaluation without its version
        assert (
            con.execute(
                "SELECT count(*) FROM case_versions v LEFT JOIN evaluations e "
                "ON e.case_id = v.case_id AND e.case_version = v.version WHERE e.id IS NULL"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "SELECT count(*) FROM evaluations e LEFT JOIN case_versions v "
                "ON e.case_id = v.case_id AND e.case_version = v.version "
                "WHERE e.origin = 'case' AND v.case_id IS NULL"
            ).fetchone()[0]
            == 0
        )
        # no case without its first version
        assert (
            con.execute(
                "SELECT count(*) FROM cases c LEFT JOIN case_versions v ON v.case_id = c.id AND v.version = 1 "
                "WHERE v.case_id IS NULL"
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    server = start(f"sqlite:///{db}", tmp_path, name="first")
    load = Load(server.url)
    threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(THREADS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + LOAD_SECONDS
        while len(load.acked) < MIN_ACKED and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # mid-load: requests are in flight when the kill comes
        in_flight = len(load.sent) - len(load.acked)
        server.kill()
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=20)
        server.kill()
    assert len(load.acked) >= MIN_ACKED, server.output()
    assert in_flight >= 1
    assert "Traceback" not in server.output()

    check_database(db, load)

    again = start(f"sqlite:///{db}", tmp_path, name="second")
    try:
        with httpx.Client(base_url=again.url, timeout=10) as client:
            # an acknowledged write survived the crash and reads back
            some = next(iter(load.acked.values()))
            assert client.get(f"/api/v1/evaluations/{some['evaluation_id']}").status_code == 200
            # every request retried with its key: acknowledged ones are answered from the store, the rest
            # are stored now (or were stored before the crash and only the answer was lost)
            replayed_unacked = 0
            for s in load.sent:
                r = client.post(s.path, json=s.body, headers={"Idempotency-Key": s.key})
                assert r.status_code == 201, r.text
                body = r.json()
                if s.key in load.acked:
                    assert r.headers.get("idempotency-replayed") == "true"
                    assert {k: body[k] for k in ("case_id", "version", "evaluation_id")} == load.acked[s.key]
                elif r.headers.get("idempotency-replayed") == "true":
                    replayed_unacked += 1
            # the same key for another record is refused, not stored
            first = load.sent[0]
            r = client.post(first.path, json=record(10**6), headers={"Idempotency-Key": first.key})
            assert r.status_code == 422 and "idempotency-key-reused" in r.json()["type"]
    finally:
        again.stop()
    assert "Traceback" not in again.output()

    check_database(db, load)
    con = sqlite3.connect(db)
    try:
        creates = sum(1 for s in load.sent if s.case_id is None)
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == creates
        assert con.execute("SELECT count(*) FROM evaluations WHERE origin = 'case'").fetchone()[0] == len(
            load.sent
        )
    finally:
        con.close()
    print(
        f"\ncrash test: {len(load.sent)} writes sent, {len(load.acked)} acknowledged before SIGKILL, "
        f"{in_flight} in flight, {replayed_unacked} committed but unacknowledged (answer lost, replayed)"
    )
