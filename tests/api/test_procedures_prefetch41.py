"""The optional ``procedures`` prefetch key (QA session 41, HIGH): PRRT or radiotherapy recorded only as a
Procedure reaches the treatment history of the hooks when the client sends the key (or the service fetches
it); a client that does not send it is answered as before, never with a 412."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.hook_models import OPTIONAL_PREFETCH, PREFETCH, SERVICES
from netcds.api.prefetch import resolve
from netcds.fhir.mcode import prefetch_to_patient
from tests.api.conftest import OS, PV, draft_daily, hook_request, prefetch

pytestmark = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)
KEY = "procedures"


def prrt() -> dict[str, Any]:
    """Four Lu-177 dotatate cycles given March to September 2025, recorded as one completed Procedure."""
    procedure = {
        "resourceType": "Procedure",
        "id": "prrt",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Lutetium Lu 177 dotatate (Lutathera) PRRT"},
        "performedPeriod": {"start": "2025-03-01", "end": "2025-09-15"},
    }
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": procedure}]}


def test_every_service_asks_for_procedures_and_may_go_without() -> None:
    assert PREFETCH[KEY] == "Procedure?patient={{context.patientId}}" and KEY in OPTIONAL_PREFETCH
    assert all(s.prefetch[KEY] == PREFETCH[KEY] for s in SERVICES.values())


def test_a_prrt_procedure_sent_in_the_key_is_in_the_history() -> None:
    body = hook_request("patient-view", prefetch_data={**prefetch(), KEY: prrt()})
    read = resolve(PREFETCH, body, fetch_enabled=False, timeout_s=1, optional=OPTIONAL_PREFETCH)
    patient, _ = prefetch_to_patient(read, None, PREFETCH)
    assert "lu177_dotatate" in [t.agent for t in patient.treatments or []]
    without = resolve(PREFETCH, hook_request("patient-view", prefetch_data=prefetch()), fetch_enabled=False,
                      timeout_s=1, optional=OPTIONAL_PREFETCH)  # fmt: skip
    assert KEY not in without
    assert "lu177_dotatate" not in [
        t.agent for t in prefetch_to_patient(without, None, PREFETCH)[0].treatments or []
    ]


def test_the_hooks_answer_with_and_without_the_key(open_client: TestClient) -> None:
    with_key = hook_request("patient-view", prefetch_data={**prefetch(), KEY: prrt()})
    without = hook_request("patient-view", prefetch_data=prefetch())
    a, b = (open_client.post(PV, json=body) for body in (with_key, without))
    assert a.status_code == b.status_code == 200
    assert a.json()["cards"] != b.json()["cards"]  # the history differs: PRRT received
    order = draft_daily("d1", "Lutathera", None)
    signed = open_client.post(
        OS, json=hook_request("order-sign", prefetch_data={**prefetch(), KEY: prrt()}, drafts=[order])
    )
    assert signed.status_code == 200
    text = " ".join(c["summary"] + " " + (c.get("detail") or "") for c in signed.json()["cards"]).lower()
    assert "lu-177" in text or "lutetium" in text


def test_a_failed_fetch_names_the_search_and_the_servers_status(tmp_path: Any, keys: Any) -> None:
    """QA session 41, LOW: the 412 said only "HTTPStatusError"; it names the search (as its template, no
    patient id) and the HTTP status the FHIR server answered."""
    from tests.api.test_optional_prefetch import _app, _fetching, _fhir_server, call, record

    for c in _app(tmp_path, keys, "failing-required", _fhir_server({}, fail="Observation")):
        pf = record([])
        del pf["observations"]
        r = call(c, keys, _fetching(hook_request("patient-view", prefetch_data=pf)), 412)
        detail = r.json()["detail"]
        assert "GET Observation?patient={{context.patientId}}" in detail and "HTTP 500" in detail
        assert "p1" not in detail.replace("http", "")
