"""Values exactly at and around every numeric threshold the audit SQL compares with.

The thresholds are read from the generated SQL itself (a new cut point in the knowledge or in the
derived facts is picked up without editing this test): for each numeric column or treatment-line
field compared with a constant, decision points are built with the value one below, just below (the
next float down), exactly at, just above and one above each constant, and the DuckDB audit must
give exactly what the per-patient engine gives.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from netcds.cohort.query import audit_sql
from netcds.cohort.synth import synth_records
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient

from .helpers import generated_records, mismatches, reference
from .test_equivalence_duckdb import audit_duckdb

# numeric patient columns (canonical name -> record path) and treatment-line fields
PATIENT_NUMBERS = {
    "tumor__ki67_percent": ("tumor", "ki67_percent"),
    "tumor__mitoses_per_2mm2": ("tumor", "mitoses_per_2mm2"),
    "biomarkers__tmb_mut_per_mb": ("biomarkers", "tmb_mut_per_mb"),
}
LINE_NUMBERS = {"t.dose_mg": "dose_mg", "t.interval_days": "interval_days"}
COMPARISON = re.compile(r"\b(t\.\w+|\w+__\w+)\)? *(?:>=|<=|<>|>|<|=) *(-?\d+(?:\.\d+)?(?:e-?\d+)?)\b")


def thresholds(sql: str) -> dict[str, set[float]]:
    """Every (numeric field, constant) comparison in ``sql``."""
    out: dict[str, set[float]] = {}
    for field, value in COMPARISON.findall(sql):
        if field in PATIENT_NUMBERS or field in LINE_NUMBERS:
            out.setdefault(field, set()).add(float(value))
    return out


def around(c: float) -> list[float]:
    return [c - 1, math.nextafter(c, -math.inf), c, math.nextafter(c, math.inf), c + 1]


def _valid(rec: dict[str, Any]) -> bool:
    try:
        Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})
    except ValidationError:
        return False
    return True


def _bases() -> list[dict[str, Any]]:
    """Decision points that reach the numeric rules: synthetic ones (mostly recorded) and generated
    ones (many unknowns); half of them lose the recorded grade so Ki-67 and mitoses decide it."""
    bases = list(synth_records(24, seed=11, off_guideline=0.3, missing=0.05)) + generated_records(24)
    for i, rec in enumerate(bases):
        if i % 2:
            rec.get("tumor", {}).pop("grade", None)
    return bases


def boundary_records(found: dict[str, set[float]]) -> list[dict[str, Any]]:
    out = []
    for base in _bases():
        for field, cuts in sorted(found.items()):
            for v in sorted({x for c in cuts for x in around(c)}):
                rec = copy.deepcopy(base)
                if field in PATIENT_NUMBERS:
                    part, key = PATIENT_NUMBERS[field]
                    rec.setdefault(part, {})[key] = v
                else:
                    lines = rec.get("treatments") or [{"agent": "octreotide_lar", "progressed": True}]
                    for line in lines:
                        line[LINE_NUMBERS[field]] = v
                    rec["treatments"] = lines
                if _valid(rec):
                    out.append(rec)
    return out


def test_thresholds_are_found(kb: Knowledge) -> None:
    found = thresholds(audit_sql(kb, "duckdb"))
    # the cut points of the derived grade and carcinoid subtype, the TMB rule and the SSA dose level
    assert found["tumor__ki67_percent"] >= {3.0, 20.0}
    assert found["tumor__mitoses_per_2mm2"] >= {2.0, 10.0, 20.0}
    assert found["biomarkers__tmb_mut_per_mb"] >= {10.0}
    assert found["t.dose_mg"] >= {30.0, 120.0}
    assert found["t.interval_days"] >= {26.0}


@pytest.mark.parametrize("field", sorted([*PATIENT_NUMBERS, *LINE_NUMBERS]))
def test_duckdb_matches_engine_at_and_around_each_threshold(
    kb: Knowledge, tmp_path: Path, field: str
) -> None:
    found = {k: v for k, v in thresholds(audit_sql(kb, "duckdb")).items() if k == field}
    records = boundary_records(found)
    exact = set(found[field])
    seen = set()
    for rec in records:
        if field in PATIENT_NUMBERS:
            part, key = PATIENT_NUMBERS[field]
            seen.add(rec[part][key])
        else:
            seen.update(line[LINE_NUMBERS[field]] for line in rec["treatments"])
    assert exact <= seen, f"no valid record at {sorted(exact - seen)}"
    problems = mismatches(audit_duckdb(records, kb, tmp_path), reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])
