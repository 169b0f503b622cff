"""CDS Hooks requests the session-27 conformance review found accepted: a prefetch without a Patient
whose resources are about another patient made cards in the context patient's chart."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import OS, PV, Keys, auth, draft_cabozantinib, hook_request, prefetch


def _about(pf: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(pf).replace(f"Patient/{old}", f"Patient/{new}"))
    return out


@pytest.mark.parametrize(("hook", "path"), [("patient-view", PV), ("order-sign", OS)])
def test_prefetch_without_a_patient_about_another_patient_is_refused(
    client: TestClient, keys: Keys, hook: str, path: str
) -> None:
    """With prefetch.patient null (no data, CDS Hooks 2.0) nothing ties the record to context.patientId but
    the resources' own subjects: one naming another patient is a 422 naming where, not cards in this chart
    (a left-out key is a 412 for the missing prefetch)."""
    pf = _about(prefetch(), "p1", "p9")
    pf["patient"] = None
    body = hook_request(hook, prefetch_data=pf, drafts=[draft_cabozantinib(60)])
    assert body["context"]["patientId"] == "p1"
    r = client.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    field = r.json()["errors"][0]["field"]
    assert field.startswith("prefetch.") and field.endswith(".subject.reference"), field


@pytest.mark.parametrize(("hook", "path"), [("patient-view", PV), ("order-sign", OS)])
def test_prefetch_without_a_patient_about_the_context_patient_is_read(
    client: TestClient, keys: Keys, hook: str, path: str
) -> None:
    pf = prefetch()
    pf["patient"] = None
    body = hook_request(hook, prefetch_data=pf, drafts=[draft_cabozantinib(60)])
    r = client.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == 200, r.text
    assert r.json()["cards"]
