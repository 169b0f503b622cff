"""The service's cache of repeated work: bounded per kind, evaluations kept as bytes only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netcds.api.eval_cache import (
    OBJECT_FACTOR,
    SMALL_SHARE,
    CachedEvaluation,
    EvaluationCache,
    cache_key,
)
from netcds.api.examples import ORDER_SIGN_EXAMPLE, PATIENT_EXAMPLE
from netcds.engine import evaluate
from netcds.knowledge.load import load_knowledge
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient
from netcds.settings import Settings
from netcds.store.outputs import compress_output, decompress_output

DEFAULT_MB = Settings().eval_cache_mb


def _entry(kb_version: str = "5.2024") -> tuple[CachedEvaluation, Knowledge]:
    kb = load_knowledge(kb_version)
    ev = evaluate(Patient.model_validate(PATIENT_EXAMPLE), kb)
    body = ev.model_dump_json().encode()
    return CachedEvaluation(ev, body, "h", ev.guideline, ev.engine_version), kb


def test_an_evaluation_is_kept_as_bytes_with_its_versions() -> None:
    found, kb = _entry()
    cache = EvaluationCache(8 * 1024 * 1024)
    key = cache_key("input", kb)
    cache.put_evaluation(key, found)
    got = cache.evaluation(key)
    assert got is not None and got.evaluation is None  # no objects kept
    assert (got.body, got.output_hash, got.guideline, got.engine_version) == (
        found.body, "h", found.guideline, found.engine_version
    )  # fmt: skip


def test_an_evaluation_is_kept_in_its_stored_form_and_read_back_byte_for_byte() -> None:
    found, kb = _entry()
    budget = 4 * len(found.body)  # room for four evaluations as served
    cache = EvaluationCache(budget)
    for i in range(12):
        cache.put_evaluation(cache_key(f"input-{i}", kb), found)
    assert all(cache.evaluation(cache_key(f"input-{i}", kb)) is not None for i in range(12))
    got = cache.evaluation(cache_key("input-0", kb))
    assert got is not None
    assert got.packed == compress_output(found.body) and decompress_output(got.packed) == found.body
    assert got.body == found.body  # what the first caller was served
    entry = cache.get(cache_key("input-0", kb))
    assert isinstance(entry, CachedEvaluation) and entry._body is None  # reading a copy kept it packed
    assert found.packed == got.packed  # the computed value keeps its stored form for the store


def test_a_cached_evaluation_needs_its_output() -> None:
    found, _ = _entry()
    with pytest.raises(ValueError, match="output"):
        CachedEvaluation(None, None, "h", found.guideline, found.engine_version)


def test_new_evaluations_do_not_flush_other_kinds() -> None:
    found, kb = _entry()
    budget = 4 * len(found.body)
    cache = EvaluationCache(budget)
    cache.put(("mapping", "p1", "2025-01-01"), "patient-1", 100)
    for i in range(50):  # many new records: only the evaluations' own LRU turns over
        cache.put_evaluation(cache_key(f"input-{i}", kb), found)
    assert cache.get(("mapping", "p1", "2025-01-01")) == "patient-1"
    assert cache.evaluation(cache_key("input-0", kb)) is None
    assert cache.evaluation(cache_key("input-49", kb)) is not None
    assert cache.size <= budget + budget // SMALL_SHARE


def test_each_kind_is_bounded_by_its_share() -> None:
    cache = EvaluationCache(4000)
    for i in range(100):
        cache.put(("screen", str(i)), i, 100)
    assert len(cache) == 4000 // SMALL_SHARE // 100
    assert cache.get(("screen", "0")) is None and cache.get(("screen", "99")) == 99
    off = EvaluationCache(0)
    off.put(("mapping", "x"), 1, 1)
    assert off.get(("mapping", "x")) is None


def _order_cards() -> list[dict[str, Any]]:
    """The cards an order-sign call returns for the example record and draft (cabozantinib)."""
    from fastapi.testclient import TestClient

    from netcds.api.app import create_app

    app = create_app(Settings(db_url="sqlite://", hooks_open=True, rate_limit_per_minute=0))
    with TestClient(app) as client:
        r = client.post("/cds-services/netcds-order-sign", json=ORDER_SIGN_EXAMPLE)
    assert r.status_code == 200
    cards: list[dict[str, Any]] = r.json()["cards"]
    assert len(cards) >= 2  # the safety / dose cards and the guideline card
    return cards


def test_order_cards_of_a_thousand_records_fit_the_default_budget_and_read_back_equal() -> None:
    cards = _order_cards()
    cache = EvaluationCache(DEFAULT_MB * 1024 * 1024)  # a quarter of it for order cards
    keys = [("ordercards", "netcds-order-sign", f"record-{i}", "cabozantinib") for i in range(1000)]
    for key in keys:
        cache.put_json(key, cards)
    assert all(cache.get(key) == cards for key in keys)  # none evicted, each equal to what was kept
    # kept as objects at twice their JSON size, as before, the same budget held about a third of them
    as_objects = len(json.dumps(cards, separators=(",", ":"))) * OBJECT_FACTOR
    assert DEFAULT_MB * 1024 * 1024 // SMALL_SHARE // as_objects < 500


def test_a_packed_entry_is_read_back_as_a_copy_of_its_own() -> None:
    cache = EvaluationCache(1 << 20)
    key = ("cards", "netcds-patient-view", "record")
    cache.put_json(key, [{"uuid": "u1", "summary": "s", "links": []}])
    first = cache.get(key)
    first[0]["links"].append({"url": "https://example.org/x"})  # a caller sets its per-call link
    assert cache.get(key) == [{"uuid": "u1", "summary": "s", "links": []}]


def test_cards_are_only_kept_packed_and_other_kinds_never() -> None:
    cache = EvaluationCache(1 << 20)
    with pytest.raises(ValueError, match="put_json"):
        cache.put(("ordercards", "x"), [], 10)
    with pytest.raises(ValueError, match="not kept as packed"):
        cache.put_json(("mapping", "x"), {})
    off = EvaluationCache(0)
    off.put_json(("cards", "x"), [])
    assert off.get(("cards", "x")) is None


def test_health_reports_each_kind_and_a_mapping_is_weighed_by_the_record_not_the_prefetch() -> None:
    """A real chart's prefetch carries many resources the mapping does not read (vital signs here):
    the cache keeps the record they map to, so that is what its entry weighs."""
    import copy

    from fastapi.testclient import TestClient

    from netcds.api.app import create_app
    from netcds.api.examples import PATIENT_VIEW_EXAMPLE

    body = copy.deepcopy(PATIENT_VIEW_EXAMPLE)
    vitals = [
        {"resource": {"resourceType": "Observation", "id": f"hr{i}", "status": "final",
                      "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-01-01",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                      "valueQuantity": {"value": 60 + i % 40, "unit": "/min"}}}
        for i in range(400)
    ]  # fmt: skip
    body["prefetch"]["observations"]["entry"] += vitals
    assert len(json.dumps(body["prefetch"])) > 100_000
    app = create_app(Settings(db_url="sqlite://", hooks_open=True, rate_limit_per_minute=0))
    with TestClient(app) as client:
        assert client.post("/cds-services/netcds-patient-view", json=body).status_code == 200
        kinds = client.get("/api/v1/health").json()["eval_cache"]["kinds"]
    mapping = kinds["mapping"]
    assert mapping["entries"] == 1 and 0 < mapping["kept_bytes"] < 20_000
    assert mapping["budget_bytes"] == DEFAULT_MB * 1024 * 1024 // SMALL_SHARE
    assert kinds["evaluation"]["entries"] == 1 and kinds["cards"]["entries"] >= 1
    assert all(k["misses"] >= 1 and k["hits"] == 0 for k in (mapping, kinds["evaluation"]))
