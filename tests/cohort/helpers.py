"""Shared by the cohort tests: run the reference (per-patient engine) and compare results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netcds.cohort.layout import Decision, json_default
from netcds.cohort.read import validate_record
from netcds.cohort.verdict import reference_result
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient

COMPARED = (
    "setting_table",
    "setting_column",
    "setting_status",
    "options",
    "option_status",
    "option_category",
    "verdict",
    "verdict_entry_id",
    "failing_condition",
    "chosen_tier",
    "chosen_category",
    "decision_regimen",
    "primary_site",
)


def canonical_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(records, start=1):
        row, rej = validate_record(i, rec, rec)
        assert rej is None, rej
        assert row is not None
        out.append(row)
    return out


def write_canonical(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, default=json_default) + "\n")
    return path


def reference(records: list[dict[str, Any]], kb: Knowledge) -> dict[int, dict[str, Any]]:
    out = {}
    for i, rec in enumerate(records, start=1):
        p = Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})
        out[i] = reference_result(i, p, Decision.model_validate(rec["decision"]), kb)
    return out


def _plain(v: Any) -> Any:
    if hasattr(v, "asDict"):
        return {k: _plain(x) for k, x in v.asDict().items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def mismatches(
    got: list[dict[str, Any]], want: dict[int, dict[str, Any]], records: list[dict[str, Any]]
) -> list[str]:
    assert sorted(int(r["row_id"]) for r in got) == sorted(want), "row ids differ"
    problems = []
    for r in got:
        ref = want[int(r["row_id"])]
        for k in COMPARED:
            a, b = _plain(r[k]), ref[k]
            if a != b:
                problems.append(
                    f"row {r['row_id']} {k}: sql={a!r} engine={b!r}\n  record="
                    + json.dumps(records[int(r["row_id"]) - 1])
                )
                break
    return problems


def generated_records(n: int) -> list[dict[str, Any]]:
    """``n`` decision points drawn by Hypothesis (deterministic), for one batch run of a backend."""
    from hypothesis import HealthCheck, given, settings

    from .strategies import decision_point

    out: list[dict[str, Any]] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(decision_point())
    def collect(rec: dict[str, Any]) -> None:
        out.append(rec)

    collect()
    return out
