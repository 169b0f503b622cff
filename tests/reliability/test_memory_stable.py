"""No per-request memory growth: after a warm-up, a hundred mixed requests (varied patients, REST and
hooks, stored and stateless, valid and invalid) leave the Python heap where it was."""

from __future__ import annotations

import gc
import importlib.util
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds import evaluation_json
from netcds.api import optional
from netcds.api.app import create_app
from netcds.fhir.read import VALIDATED
from netcds.settings import Settings
from tests.api.conftest import patient_record

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("netcds_bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_heap_does_not_grow_with_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load = _bench()
    # the cache is bounded but would hold evaluations on purpose: measure the service without it
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'm.db'}", hooks_open=True, eval_cache_mb=0)
    work = load.workload(300, 300, 7)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        # likewise the bounded memos that fill as new patients come, up to their bounds (tested in
        # tests/safety/test_screen_memo.py, tests/fhir/test_validated_memo.py and
        # tests/engine/test_evaluation_json.py): monograph rule results and agent screens shared across
        # patients, FHIR resources validated before, Evaluation JSON fragments
        agents = optional._agents()
        for memo in (agents.judgements, agents.screens, VALIDATED, evaluation_json._fragments):  # type: ignore[union-attr]
            monkeypatch.setattr(memo, "capacity", 0)
            monkeypatch.setattr(memo, "_items", type(memo._items)())  # empty from the start, not by evictions
            monkeypatch.setattr(memo, "size", 0)

        def run(items: list[tuple[str, dict[str, Any]]]) -> None:
            for kind, body in items:
                assert c.post(load.PATHS[kind], json=body).status_code == 200
            r = c.post("/api/v1/cases", json=patient_record())
            assert r.status_code == 201
            assert c.post("/api/v1/evaluate", json={"tumor": {"primary_site": "nowhere"}}).status_code == 422

        run(work[:100])  # warm-up: lazy loads, pools, caches of the layers
        gc.collect()
        tracemalloc.start()
        try:
            run(work[100:200])
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            run(work[200:])
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    print(f"\nheap change over 100 requests: {(after - before) / 1024:+.0f} KiB")
    assert after - before < 200 * 1024, f"heap grew by {(after - before) / 1024:.0f} KiB over 100 requests"
