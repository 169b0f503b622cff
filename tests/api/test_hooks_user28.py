"""``context.userId`` is REQUIRED in the CDS Hooks 2.0 patient-view and order-sign contexts, as
``[ResourceType]/[id]`` of a user type the hook allows: a call without it, or with another shape, is a 422
naming the field (it used to be answered with cards)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import OS, PV, Keys, auth, draft_cabozantinib, hook_request, prefetch

HOOKS = [("patient-view", PV), ("order-sign", OS)]


def _call(client: TestClient, keys: Keys, hook: str, path: str, user: Any, drop: bool = False) -> Any:
    body = hook_request(hook, prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    if drop:
        del body["context"]["userId"]
    else:
        body["context"]["userId"] = user
    return client.post(path, json=body, headers=auth(keys, path))


@pytest.mark.parametrize(("hook", "path"), HOOKS)
@pytest.mark.parametrize(
    ("user", "drop"),
    [(None, True), (None, False), ("", False), (5, False), (["Practitioner/1"], False), ("pr1", False),
     ("Practitioner/", False), ("/pr1", False), ("Practitioner/pr 1", False), ("Device/d1", False),
     ("Practitioner/" + "x" * 65, False)],
)  # fmt: skip
def test_a_missing_or_malformed_user_is_422_naming_it(
    client: TestClient, keys: Keys, hook: str, path: str, user: Any, drop: bool
) -> None:
    r = _call(client, keys, hook, path, user, drop)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["context.userId"]


@pytest.mark.parametrize(
    ("hook", "path", "user", "status"),
    [
        ("patient-view", PV, "Practitioner/pr1", 200),
        ("patient-view", PV, "PractitionerRole/r-1.a", 200),
        ("patient-view", PV, "Patient/p1", 200),  # a patient portal opening the chart
        ("patient-view", PV, "RelatedPerson/rp1", 200),
        ("order-sign", OS, "Practitioner/pr1", 200),
        ("order-sign", OS, "PractitionerRole/r1", 200),
        ("order-sign", OS, "Patient/p1", 422),  # order-sign's user signs orders: a practitioner
        ("order-sign", OS, "RelatedPerson/rp1", 422),
    ],
)
def test_the_user_types_each_hook_allows(
    client: TestClient, keys: Keys, hook: str, path: str, user: str, status: int
) -> None:
    r = _call(client, keys, hook, path, user)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["cards"]
    else:
        assert r.json()["errors"][0]["field"] == "context.userId"
