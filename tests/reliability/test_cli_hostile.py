"""Hostile input to the CLI: whatever the bytes, exit 0 or 2 with one line, never a traceback."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netcds.cli import app
from netcds.io import SHOWN_OTHERS
from tests.conftest import gi

runner = CliRunner()
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "tumor",
    "disease",
    "biomarkers",
    "treatments",
    "comorbidities",
    "context",
    "preferences",
    "medications",
    "age_years",
    "as_of",
    "assessments",
]


def _check(res) -> None:
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output
    if res.exit_code == 2:  # one line naming the first field, then one "also" line per further problem
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert lines and lines[0].startswith("error: "), res.stderr
        assert all(ln.startswith(("  also ", "  ... and ")) for ln in lines[1:]), res.stderr
        more = re.search(r"\(\+(\d+) more\)$", lines[0])
        if len(lines[0]) < 390:  # not cut at the line cap: the count it gives is the lines that follow
            assert len(lines) - 1 == (min(int(more[1]), SHOWN_OTHERS + 1) if more else 0), res.stderr


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_random_bytes(data):
    _check(runner.invoke(app, ["evaluate", "-", "-f", "json"], input=data))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(FIELDS), JSONISH)
def test_one_field_replaced_by_arbitrary_json(field, value):
    record = gi()
    record[field] = value
    _check(runner.invoke(app, ["evaluate", "-", "-f", "json"], input=json.dumps(record)))


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["tumor", "disease", "biomarkers", "context"]), st.text(max_size=15), JSONISH)
def test_nested_key_injection(section, key, value):
    record = gi()
    record[section] = {**record.get(section, {}), key: value}
    _check(runner.invoke(app, ["evaluate", "-", "-f", "json"], input=json.dumps(record)))


def test_deeply_nested_json_is_rejected_cleanly():
    deep = "[" * 5000 + "]" * 5000
    _check(runner.invoke(app, ["evaluate", "-"], input=deep))
    res = runner.invoke(app, ["evaluate", "-"], input='{"tumor": ' + '{"a": ' * 100 + "1" + "}" * 101)
    assert res.exit_code == 2 and "nested deeper" in res.stderr


def test_huge_and_negative_numbers_and_strings_for_numbers():
    for bad in [
        {"age_years": 1e308},
        {"age_years": -1},
        {"weight_kg": "70"},
        {"tumor": {"primary_site": "ileum", "ki67_percent": 1e400}},
    ]:
        record = {**gi(), **bad}
        res = runner.invoke(app, ["evaluate", "-"], input=json.dumps(record))
        assert res.exit_code == 2, bad


def test_integer_with_too_many_digits():
    res = runner.invoke(
        app, ["evaluate", "-"], input='{"tumor": {"primary_site": "ileum"}, "age_years": ' + "9" * 5000 + "}"
    )
    assert res.exit_code == 2 and "too many digits" in res.stderr


def test_unicode_edge_cases():
    for text in ["\u202e\u0000", "💥" * 50, "a\ud800b"]:
        record = {**gi(), "id": text}
        _check(runner.invoke(app, ["evaluate", "-", "-f", "json"], input=json.dumps(record)))
