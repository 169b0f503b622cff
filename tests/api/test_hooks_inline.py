"""Hook calls answered on the event loop: a chart opened before (open mode, no FHIR fetch) is answered
from the caches without a worker thread, with the same cards and the same records as the worker path;
anything not cached, and every call that checks a token, still goes to a worker."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api import hooks, optional
from netcds.api.app import create_app
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, content_hash
from netcds.store.replay import replay
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    PV,
    Keys,
    auth,
    draft_cabozantinib,
    evaluation_id_of,
    hook_request,
    make_settings,
    prefetch,
)

pytestmark = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)


@pytest.fixture
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the hook views sent to a worker thread."""
    seen: list[str] = []
    real = hooks.run_work

    async def counting(func: Any, *args: Any) -> Any:
        seen.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args)

    monkeypatch.setattr(hooks, "run_work", counting)
    return seen


def _client(tmp_path: Path, keys: Keys, **over: Any) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, keys, **over)), raise_server_exceptions=False) as c:
        yield c


def _without_links(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "links"} for c in cards]


def test_a_chart_opened_again_is_answered_inline_with_the_same_cards_and_records(
    open_client: TestClient, worker_calls: list[str]
) -> None:
    first_call, second_call = (hook_request("patient-view", prefetch_data=prefetch()) for _ in range(2))
    first = open_client.post(PV, json=first_call)
    assert first.status_code == 200, first.text
    assert worker_calls == ["work"]  # mapping, engine and cards: a worker
    second = open_client.post(PV, json=second_call)
    assert second.status_code == 200, second.text
    assert worker_calls == ["work"]  # the second call never left the event loop
    a, b = first.json()["cards"], second.json()["cards"]
    assert _without_links(a) == _without_links(b)
    # each call still gets its own stored evaluation, with the canonical input and an identical replay
    ctx = open_client.app.state.netcds  # type: ignore[attr-defined]
    ids = [evaluation_id_of(c[0]["links"][0]["url"]) for c in (a, b)]
    assert ids[0] != ids[1]
    stored = [ctx.store.get_evaluation(i) for i in ids]
    assert [s.hook_instance for s in stored] == [first_call["hookInstance"], second_call["hookInstance"]]
    assert stored[0].input == stored[1].input and stored[0].input_hash == stored[1].input_hash
    patient = Patient.model_validate(stored[1].input)
    assert stored[1].input_hash == content_hash(patient)
    assert canonical_json(patient) == canonical_json(Patient.model_validate(stored[0].input))
    assert replay(ctx.store, ids[1]).identical
    logged = ctx.store.audit_log(action="hooks.patient-view")
    assert {e.request_id for e in logged} >= {first.headers["x-request-id"], second.headers["x-request-id"]}


def test_a_call_the_event_loop_hands_to_a_worker_is_parsed_once(
    open_client: TestClient, worker_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    real = hooks.parse_json_body

    def counting(raw: bytes) -> Any:
        parsed.append(len(raw))
        return real(raw)

    monkeypatch.setattr(hooks, "parse_json_body", counting)
    r = open_client.post(PV, json=hook_request("patient-view", prefetch_data=prefetch()))
    assert r.status_code == 200, r.text
    assert worker_calls == ["work"]  # tried on the event loop (nothing cached), then a worker
    assert len(parsed) == 1


def test_a_changed_record_goes_to_a_worker(open_client: TestClient, worker_calls: list[str]) -> None:
    open_client.post(PV, json=hook_request("patient-view", prefetch_data=prefetch()))
    pf = prefetch()
    for e in pf["observations"]["entry"]:
        if e["resource"]["code"]["coding"][0]["code"] == "29593-1":  # Ki-67 87 %: a G3 tumor
            e["resource"]["valueQuantity"]["value"] = 87
    changed = open_client.post(PV, json=hook_request("patient-view", prefetch_data=pf))
    assert worker_calls == ["work", "work"]
    assert "G3" in changed.json()["cards"][0]["detail"]


def test_order_sign_answered_inline_the_second_time(open_client: TestClient, worker_calls: list[str]) -> None:
    def call() -> list[dict[str, Any]]:
        body = hook_request(
            "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
        )
        r = open_client.post(OS, json=body)
        assert r.status_code == 200, r.text
        cards: list[dict[str, Any]] = r.json()["cards"]
        return cards

    first = call()
    assert worker_calls == ["work"]
    second = call()
    assert worker_calls == ["work"]
    assert first == second
    assert any("CYP3A4" in c["summary"] or "CYP3A4" in c.get("detail", "") for c in first)


def test_order_cards_follow_the_draft_order_not_an_earlier_one(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached order cards are keyed by the draft order too: the same record ordered at another dose gets
    that dose's cards (the ones a server without a cache gives), and the agent is screened once."""
    screens: list[str] = []
    real = optional.screen

    def counting(agent: str, patient: Patient) -> Any:
        screens.append(agent)
        return real(agent, patient)

    monkeypatch.setattr(optional, "screen", counting)

    def body(mg: float) -> dict[str, Any]:
        return hook_request(
            "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(mg)]
        )

    (tmp_path / "off").mkdir()
    settings = make_settings(tmp_path, keys, hooks_open=True)
    uncached = make_settings(tmp_path / "off", keys, hooks_open=True, eval_cache_mb=0)
    with TestClient(create_app(settings)) as c, TestClient(create_app(uncached)) as p:
        answers = {}
        for mg in (60, 20, 60, 20):
            got, want = c.post(OS, json=body(mg)), p.post(OS, json=body(mg))
            assert got.status_code == want.status_code == 200, got.text
            assert got.json()["cards"] == want.json()["cards"]
            answers.setdefault(mg, got.json()["cards"])
    assert answers[60] != answers[20]  # the 60 mg order carries the reduction the 20 mg order already has
    assert screens.count("cabozantinib") == 1 + 4  # once with the cache, every time without


def test_errors_answered_inline_are_the_same_problems(
    open_client: TestClient, worker_calls: list[str]
) -> None:
    no_patient = hook_request("patient-view", prefetch_data=prefetch())
    no_patient["context"].pop("patientId")
    r = open_client.post(PV, json=no_patient)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "context.patientId" in r.text
    missing = open_client.post(PV, json=hook_request("patient-view"))
    assert missing.status_code == 412 and "missing_prefetch" in missing.json()
    assert worker_calls == []


def test_token_checked_calls_always_use_a_worker(
    client: TestClient, keys: Keys, worker_calls: list[str]
) -> None:
    """A token's jti is recorded (a commit), so a call with a token is never answered on the event loop."""
    for _ in range(2):
        r = client.post(
            PV, json=hook_request("patient-view", prefetch_data=prefetch()), headers=auth(keys, PV)
        )
        assert r.status_code == 200, r.text
    assert worker_calls == ["work", "work"]


def test_fetching_from_the_fhir_server_disables_the_inline_path(
    tmp_path: Path, keys: Keys, worker_calls: list[str]
) -> None:
    for c in _client(tmp_path, keys, hooks_open=True, fhir_fetch=True):
        for _ in range(2):
            assert c.post(PV, json=hook_request("patient-view", prefetch_data=prefetch())).status_code == 200
    assert worker_calls == ["work", "work"]
