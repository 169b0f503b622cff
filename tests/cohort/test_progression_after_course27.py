"""Progression dated after a course that ended for another reason is not progression *on* it (session-27
clinical review): an octreotide LAR course stopped by the patient in 2021 with progression recorded in
2024 had made PRRT category 1 on the GI table and the SSA not eligible. The engine and the DuckDB and
Spark audits must read every combination of stop reason, best response and date order alike."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from netcds import evaluate, load_knowledge
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient

from .helpers import mismatches, reference
from .test_ssa_regimen_dose25 import duckdb_audit, spark_audit

STOPS = (None, "progression", "toxicity", "completed", "patient_choice", "other")
RESPONSES = (None, "SD", "PD")
DATES = (None, "2021-06-01", "2020-12-01")  # after the end (2021-01-01), before it


def record(
    stop: str | None, response: str | None, when: str | None, progressed: bool | None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "agent": "octreotide_lar",
        "dose_mg": 30,
        "interval_days": 28,
        "start": "2020-01-01",
        "end": "2021-01-01",
    }
    line |= {k: v for k, v in (("stop_reason", stop), ("best_response", response)) if v is not None}
    if when is not None:
        line["progression_date"] = when
    if progressed is not None:
        line["progressed"] = progressed
    return {
        "as_of": "2025-01-01",
        "tumor": {
            "primary_site": "ileum",
            "differentiation": "well",
            "grade": "G2",
            "functional": False,
            "sstr_status": "positive",
        },
        "disease": {
            "extent": "distant_metastatic",
            "status": "progressive",
            "progression_clinically_significant": True,
            "status_date": "2024-12-01",
        },
        "treatments": [line],
    }


def records() -> list[dict[str, Any]]:
    out = []
    for stop, response, when, progressed in itertools.product(STOPS, RESPONSES, DATES, (None, True)):
        rec = record(stop, response, when, progressed)
        try:
            Patient.model_validate(rec)
        except ValueError:
            continue  # e.g. a progression date after a line stopped for progression is refused
        for regimen in ("lu177_dotatate", "ssa"):
            out.append({**rec, "decision": {"date": "2025-01-01", "regimen": regimen}})
    return out


def _option(rec: dict[str, Any], entry: str) -> Any:
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    return next(o for o in ev.options if o.entry_id == entry)


@pytest.mark.parametrize("stop", ["patient_choice", "completed", "toxicity", "other"])
def test_progression_long_after_a_stopped_ssa_course_is_not_progression_on_it(stop: str) -> None:
    rec = record(stop, None, "2024-12-01", True)
    prrt, ssa = _option(rec, "gi.lu177_dotatate"), _option(rec, "gi.ssa")
    assert prrt.status == "not_eligible", prrt
    assert ssa.status == "eligible", ssa


@pytest.mark.parametrize(
    ("stop", "response", "when"),
    [
        ("progression", None, None),  # stopped for progression
        ("patient_choice", "PD", "2021-06-01"),  # best response PD: progression on it
        (None, None, "2021-06-01"),  # no stop reason: the recorded progression stands
        ("toxicity", None, "2020-12-01"),  # progression dated while on it
    ],
)
def test_progression_on_the_course_still_counts(
    stop: str | None, response: str | None, when: str | None
) -> None:
    rec = record(stop, response, when, True)
    assert _option(rec, "gi.lu177_dotatate").status == "eligible"
    assert _option(rec, "gi.ssa").status == "not_eligible"


def test_duckdb_audit_equals_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    got = duckdb_audit(recs, kb, tmp_path)
    problems = mismatches(got, reference(recs, kb), recs)
    assert not problems, "\n".join(problems[:5])


def test_spark_audit_equals_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    got = spark_audit(spark_engine, recs, kb)
    problems = mismatches(got, reference(recs, kb), recs)
    assert not problems, "\n".join(problems[:5])
