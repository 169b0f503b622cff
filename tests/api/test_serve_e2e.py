"""End to end: `python -m netcds serve` on a free loopback port, driven over real HTTP."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest

from netcds.fhir.cards import draft_dose_mg
from netcds.store import Store
from tests.api.conftest import (
    CLARITHROMYCIN,
    ISS,
    Keys,
    draft_cabozantinib,
    hook_request,
    patient_record,
    prefetch,
)

STARTUP_S = 60


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str, db_url: str) -> None:
        self.proc = proc
        self.url = url
        self.db_url = db_url


@pytest.fixture
def server(tmp_path: Path, keys: Keys) -> Iterator[Server]:
    jwks = tmp_path / "ehr.jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    cfg = tmp_path / "netcds.toml"
    cfg.write_text(
        f'[server]\nlog_level = "warning"\n\n[[hooks.issuers]]\niss = "{ISS}"\njwks_file = "{jwks}"\n'
    )
    db_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NETCDS_CONFIG", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netcds",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            db_url,
            "--config",
            str(cfg),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True).start()
    url = None
    deadline = time.monotonic() + STARTUP_S
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line.startswith("netcds serving on "):
            url = line.split()[3]
    if url is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"netcds serve did not start: {err[-2000:]}")
    try:
        yield Server(proc, url, db_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def bearer(keys: Keys, url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.token(url)}"}


@pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="needs the FHIR mapping and safety layers",
)
def test_serve_end_to_end(server: Server, keys: Keys) -> None:
    base = server.url
    assert base.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=base, timeout=30) as http:
        # REST round trips
        assert http.get("/api/v1/health").json()["status"] == "ok"
        ev = http.post("/api/v1/evaluate", json=patient_record())
        assert ev.status_code == 200
        assert any(
            o["regimen"] == "lu177_dotatate" and o["status"] == "eligible" for o in ev.json()["options"]
        )
        bad = http.post("/api/v1/evaluate", json={**patient_record(), "tumor": {"primary_site": "liver"}})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "tumor.primary_site"
        created = http.post("/api/v1/cases", json=patient_record())
        assert created.status_code == 201
        case_id = created.json()["case_id"]
        assert http.get(f"/api/v1/cases/{case_id}").json()["latest_version"] == 1
        evals = http.get(f"/api/v1/cases/{case_id}/evaluations").json()
        assert evals[0]["evaluation_id"] == created.json()["evaluation_id"]

        # CDS Hooks discovery (the token's aud is the discovery URL)
        services = http.get("/cds-services", headers=bearer(keys, f"{base}/cds-services")).json()["services"]
        assert {s["id"] for s in services} >= {"netcds-patient-view", "netcds-order-sign"}
        assert http.get("/cds-services").status_code == 401

        # patient-view with a realistic prefetch
        pv = f"{base}/cds-services/netcds-patient-view"
        r = http.post(
            pv, json=hook_request("patient-view", prefetch_data=prefetch()), headers=bearer(keys, pv)
        )
        assert r.status_code == 200, r.text
        cards = r.json()["cards"]
        assert "GI WD G1/2" in cards[0]["summary"]
        assert cards[0]["links"][0]["url"].startswith(f"{base}/ui/evaluations/")

        # order-sign: cabozantinib with clarithromycin (a strong CYP3A4 inhibitor) in the prefetch
        os_url = f"{base}/cds-services/netcds-order-sign"
        body = hook_request(
            "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
        )
        r = http.post(os_url, json=body, headers=bearer(keys, os_url))
        assert r.status_code == 200, r.text
        interaction = next(c for c in r.json()["cards"] if "CYP3A4" in c["summary"])
        action = interaction["suggestions"][0]["actions"][0]
        assert action["type"] == "update"
        assert draft_dose_mg(action["resource"]) == 40

        # feedback on that card
        fb_url = f"{os_url}/feedback"
        fb = {
            "feedback": [
                {
                    "card": interaction["uuid"],
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": interaction["suggestions"][0]["uuid"]}],
                    "outcomeTimestamp": "2025-03-21T09:00:00Z",
                }
            ]
        }
        r = http.post(fb_url, json=fb, headers=bearer(keys, fb_url))
        assert r.json() == {"stored": 1}

        # 412 when the prefetch is missing and the service cannot fetch
        r = http.post(pv, json=hook_request("patient-view"), headers=bearer(keys, pv))
        assert r.status_code == 412
        assert set(r.json()["missing_prefetch"]) == {
            "patient",
            "conditions",
            "observations",
            "medicationRequests",
            "medicationStatements",
        }

    server.proc.terminate()
    server.proc.wait(timeout=15)
    store = Store.open(server.db_url)
    try:
        stored: list[Any] = store.feedback(card_uuid=interaction["uuid"])
        assert [f.outcome for f in stored] == ["accepted"]
        assert stored[0].actor == f"ehr-client@{ISS}"
        assert store.get_case(case_id).latest_version == 1
    finally:
        store.close()
