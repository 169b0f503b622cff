"""Fetching missing prefetch keys from the client's FHIR server (``hooks.fhir_fetch``): the bearer token
goes only to fhirServer's origin, a search result is read whole or answered with a 412 naming the key,
and one hook call's requests share a time budget."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.prefetch import MAX_PAGES, PrefetchMissing, resolve
from tests.api.conftest import PV, Keys, auth, hook_request, make_settings, prefetch

SERVER = "https://ehr.example.test/fhir"
TEMPLATES = {"conditions": "Condition?patient={{context.patientId}}"}
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "s", "subject": "s"}


def _request(**over: Any) -> dict[str, Any]:
    return {"context": {"patientId": "p1"}, "fhirServer": SERVER, "fhirAuthorization": AUTH, **over}


def _page(n: int, next_url: str | None) -> dict[str, Any]:
    condition = {"resourceType": "Condition", "id": f"c{n}", "subject": {"reference": "Patient/p1"}}
    page: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": condition}]}
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


def _resolve(handler: Any, templates: dict[str, str] = TEMPLATES, **kw: Any) -> dict[str, Any]:
    return resolve(
        templates,
        _request(),
        fetch_enabled=True,
        timeout_s=kw.pop("timeout_s", 5.0),
        transport=httpx.MockTransport(handler),
        **kw,
    )


def test_next_pages_on_the_same_origin_are_followed() -> None:
    seen: list[str] = []

    def fhir(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        n = int(request.url.params.get("page", "1"))
        nxt = f"{SERVER}/Condition?patient=p1&page={n + 1}" if n < 3 else None
        return httpx.Response(200, json=_page(n, nxt if n != 2 else "Condition?patient=p1&page=3"))

    got = _resolve(fhir)
    assert [e["resource"]["id"] for e in got["conditions"]["entry"]] == ["c1", "c2", "c3"]
    assert len(seen) == 3 and seen[2] == f"{SERVER}/Condition?patient=p1&page=3"  # a relative link too


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://attacker.example/fhir/Condition?page=2",
        "http://ehr.example.test/fhir/Condition?page=2",  # another scheme
        "https://ehr.example.test:8443/fhir/Condition?page=2",  # another port
        "https://ehr.example.test.attacker.example/fhir/Condition?page=2",
    ],
)
def test_a_next_link_to_another_origin_gets_no_token_and_a_412(elsewhere: str) -> None:
    seen: list[httpx.Request] = []

    def fhir(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_page(1, elsewhere))

    with pytest.raises(PrefetchMissing) as err:
        _resolve(fhir)
    assert [str(r.url) for r in seen] == [f"{SERVER}/Condition?patient=p1"]  # never the other origin
    assert err.value.status == 412 and err.value.extensions["missing_prefetch"] == ["conditions"]
    assert "another origin" in str(err.value.detail) and "token" in str(err.value.detail)


def test_a_result_longer_than_the_pages_followed_is_not_cut_silently() -> None:
    calls: list[str] = []

    def fhir(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json=_page(len(calls), f"{SERVER}/Condition?page={len(calls) + 1}"))

    with pytest.raises(PrefetchMissing) as err:
        _resolve(fhir)
    assert len(calls) == MAX_PAGES
    assert err.value.extensions["missing_prefetch"] == ["conditions"]
    assert f"more than {MAX_PAGES} pages" in str(err.value.detail)


def test_a_next_page_that_is_no_bundle_is_a_412() -> None:
    def fhir(request: httpx.Request) -> httpx.Response:
        if "page=2" in str(request.url):
            return httpx.Response(404)
        return httpx.Response(200, json=_page(1, f"{SERVER}/Condition?page=2"))

    with pytest.raises(PrefetchMissing) as err:
        _resolve(fhir)
    assert "page 2" in str(err.value.detail)


def test_the_fetches_of_one_call_share_a_time_budget() -> None:
    templates = {
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}",
        "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    }
    seen: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        time.sleep(0.25)
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})

    started = time.monotonic()
    with pytest.raises(PrefetchMissing) as err:
        _resolve(slow, templates, budget_s=0.4)
    assert time.monotonic() - started < 1.0  # not 3 x 0.25 s and more
    assert seen == ["/fhir/Condition", "/fhir/Observation"]
    assert err.value.extensions["missing_prefetch"] == ["observations", "medicationRequests"]
    assert "0.4 s" in str(err.value.detail) and "hooks.fhir_fetch_budget_s" in str(err.value.detail)


def test_hook_call_answers_412_naming_the_key_fetched_in_part(tmp_path: Path, keys: Keys) -> None:
    data = prefetch()

    def fhir(request: httpx.Request) -> httpx.Response:
        conditions = data["conditions"]
        return httpx.Response(
            200, json={**conditions, "link": [{"relation": "next", "url": "https://x.test/"}]}
        )

    settings = make_settings(tmp_path, keys, fhir_fetch=True, fhir_fetch_budget_s=3)
    app = create_app(settings, fhir_transport=httpx.MockTransport(fhir))
    pf = dict(data)
    del pf["conditions"]
    body = hook_request("patient-view", prefetch_data=pf, fhirServer=SERVER, fhirAuthorization=AUTH)
    with TestClient(app) as c:
        r = c.post(PV, json=body, headers=auth(keys, PV))
    assert r.status_code == 412, r.text
    assert r.json()["missing_prefetch"] == ["conditions"]
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_null_answer_from_the_fhir_server_is_a_412_not_no_data() -> None:
    """A prefetch key the client sends as null means "no data" (CDS Hooks); a FHIR server answering a
    search with JSON null has answered no FHIR at all, so the key is not read as empty."""

    def fhir(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"null", headers={"content-type": "application/fhir+json"})

    with pytest.raises(PrefetchMissing) as err:
        _resolve(fhir)
    assert err.value.extensions["missing_prefetch"] == ["conditions"]
    assert "answered null" in str(err.value.detail)


def test_a_next_link_httpx_cannot_send_is_a_412_not_a_500() -> None:
    def fhir(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_page(1, f"{SERVER}/Condition?page=2\x7f"))

    with pytest.raises(PrefetchMissing) as err:
        _resolve(fhir)
    assert err.value.extensions["missing_prefetch"] == ["conditions"]
    assert "InvalidURL" in str(err.value.detail)
