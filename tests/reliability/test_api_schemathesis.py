"""Schemathesis against the service's own OpenAPI document (/api/v1/openapi.json), in-process (ASGI).

Every operation gets schemathesis' deterministic coverage cases (boundary values, missing and
wrong-typed fields, unexpected methods and content types; positive and negative) and a seeded,
derandomized fuzzing run (positive and, where the schema can be violated, negative). Checks on every
response: not a server error (no 5xx), response schema conformance, and that every 4xx is an
application/problem+json document without a traceback. CDS Hooks run in open mode here (no JWT).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from netcds.api.app import create_app
from netcds.settings import Settings

DOC = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
OPS = [(path, method.upper()) for path, ops in DOC["paths"].items() for method in ops]
FUZZ_EXAMPLES = 20
TALLY: Counter[str] = Counter()


def _negatable(path: str, method: str) -> bool:
    """Whether schemathesis can build a schema-violating request (a body, or a typed/constrained parameter)."""
    op = DOC["paths"][path][method.lower()]
    if "requestBody" in op:
        return True
    for p in op.get("parameters", []):
        schema = p.get("schema", {})
        if any(k in schema for k in ("format", "pattern", "enum")) or schema.get("type") not in (
            None,
            "string",
        ):
            return True
    return False


FUZZ = [(p, m, GenerationMode.POSITIVE) for p, m in OPS] + [
    (p, m, GenerationMode.NEGATIVE) for p, m in OPS if _negatable(p, m)
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    app = create_app(
        Settings(db_url=f"sqlite:///{tmp / 'st.db'}", hooks_open=True, base_url="http://testserver")
    )
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    app.state.netcds.store.close()


def _check(case: Any, kind: str) -> None:
    response = case.call()
    TALLY[kind] += 1
    TALLY[f"status {response.status_code}"] += 1
    assert "Traceback" not in response.text
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text[:200]
        assert response.json()["status"] == response.status_code
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_every_live_operation_is_exercised(api_schema: Any) -> None:
    live = {(r.ok().path, r.ok().method.upper()) for r in api_schema.get_all_operations()}
    assert live == set(OPS)  # docs/openapi.json is kept current by tests/api/test_openapi.py


@pytest.mark.parametrize(("path", "method"), OPS)
def test_coverage_cases(api_schema: Any, path: str, method: str) -> None:
    op = api_schema[path][method]
    config = api_schema.config.generation_for(operation=op)
    n = 0
    for case in api_schema.iter_coverage_cases(
        op, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], generation_config=config
    ):
        _check(case, "coverage")
        n += 1
    assert n > 0


@pytest.mark.parametrize(("path", "method", "mode"), FUZZ)
def test_fuzzing(api_schema: Any, path: str, method: str, mode: GenerationMode) -> None:
    op = api_schema[path][method]
    calls: list[int] = []

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        calls.append(1)
        _check(case, "fuzzing")

    run()
    assert calls


def test_tally() -> None:
    """Printed with -s; the figures in docs/reliability.md come from this line."""
    print(f"\nschemathesis {schemathesis.__version__}: {dict(sorted(TALLY.items()))}")
    if TALLY:  # when run together with the tests above (the normal run), no 5xx was seen
        assert not any(k.startswith("status 5") for k in TALLY)
