"""Shared by the cohort tests: run the reference (per-patient engine) and compare results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netcds.cohort.derived_sql import AMONG, SILENT_NULLS
from netcds.cohort.layout import Decision, json_default
from netcds.cohort.missing_sql import MissingSql
from netcds.cohort.read import validate_record
from netcds.cohort.stages import fact_stages
from netcds.cohort.verdict import reference_result
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import Condition
from netcds.logic.sql import ConditionCompiler, dialect
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
    "missing_fields",
    "chosen_tier",
    "chosen_category",
    "scope_exclusions",
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


def write_parts(records: list[dict[str, Any]], folder: Path, ext: str, sizes: list[int]) -> Path:
    """``records`` as a directory of part files ``part-1.<ext>``, ``part-2.<ext>``, ... holding
    ``sizes`` records each, with one header (CSV) or schema (Parquet) for all. Every NDJSON part
    after the first starts with a blank line, so a line number in it is one more than the record's.
    """
    import csv

    import duckdb

    from netcds.cohort.synth import write_cohort

    assert sum(sizes) == len(records)
    folder.mkdir(parents=True)
    whole = folder.parent / f"{folder.name}-whole.{ext}"
    write_cohort(iter(records), whole)
    start = 0
    for i, n in enumerate(sizes, start=1):
        part = folder / f"part-{i}.{ext}"
        if ext == "ndjson":
            lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
            part.write_text(("\n" if i > 1 else "") + "".join(lines[start : start + n]), encoding="utf-8")
        elif ext == "csv":
            with whole.open(newline="", encoding="utf-8") as fh:
                header, *rows = list(csv.reader(fh))
            with part.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows([header, *rows[start : start + n]])
        else:
            duckdb.connect().execute(
                f"COPY (SELECT * FROM read_parquet('{whole}') LIMIT {n} OFFSET {start})"
                f" TO '{part}' (FORMAT parquet)"
            )
        start += n
    whole.unlink()
    return folder


def thoracic_grading_records() -> list[dict[str, Any]]:
    """Decision points crossing every field that could grade a tumor (recorded grade, carcinoid subtype,
    Ki-67, mitoses, necrosis, differentiation) for lung, thymus and one digestive site: Ki-67 grades
    only the digestive one (facts._thoracic_grade)."""
    import itertools

    out = []
    for site, grade, sub, ki67, mitoses, necrosis, diff in itertools.product(
        ["lung", "thymus", "ileum"],
        [None, "G1", "G3"],
        [None, "typical_carcinoid", "atypical_carcinoid"],
        [None, 2.0, 10.0, 25.0],
        [None, 1.0, 5.0, 15.0],
        [None, False, True],
        [None, "well"],
    ):
        if site == "ileum" and sub is not None:
            continue
        tumor = {"primary_site": site, "grade": grade, "lung_subtype": sub, "ki67_percent": ki67}
        tumor |= {"mitoses_per_2mm2": mitoses, "necrosis": necrosis, "differentiation": diff}
        rec = {
            "tumor": {k: v for k, v in tumor.items() if v is not None},
            "disease": {"extent": "distant_metastatic", "status": "progressive"},
            "decision": {"date": "2024-06-01", "regimen": "everolimus"},
        }
        _keep_valid(out, rec)
    return out


DERIVED_WORDS = {"derived.grade": ("G1", "G2", "G3"), "derived.differentiation": ("well", "poor")}


def derived_sql(dialect: str) -> str:
    """One row per decision point: for each (fact, value) of DERIVED_WORDS whether the SQL derives it."""
    from netcds.cohort.query import conditions_sql
    from netcds.logic.ast import parse_condition

    conditions = {
        f"{fact.split('.')[1]}_{v}": parse_condition({"fact": fact, "eq": v})
        for fact, words in DERIVED_WORDS.items()
        for v in words
    }
    return conditions_sql(conditions, dialect) + " ORDER BY row_id"


def derived_values(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The derived value each SQL row holds (None: unknown), from the rows of :func:`derived_sql`."""
    out = {}
    for r in rows:
        got = {}
        for fact, words in DERIVED_WORDS.items():
            hits = [v for v in words if r[f"{fact.split('.')[1]}_{v}"] is True]
            # unknown: some value NULL (an unknown known to lie among values is FALSE for the others)
            assert len(hits) <= 1 and (hits or any(r[f"{fact.split('.')[1]}_{v}"] is None for v in words))
            got[fact] = hits[0] if hits else None
        out[int(r["row_id"])] = got
    return out


def engine_derived(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    from netcds.facts import build_facts

    out = {}
    for i, rec in enumerate(records, start=1):
        f = build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}))
        out[i] = {fact: f.get(fact) for fact in DERIVED_WORDS}
    return out


def history_records(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` decision points (GI, pancreatic and lung NETs; the setting settled once the status is) with 1-3 random SSA,
    everolimus or chemotherapy lines, each with its progression, stop reason, end, dose and interval
    recorded or not, and the disease status recorded or not: what a ``needs_data`` verdict waits for is
    then often a treatment line's field (``treatments[1].progressed``, ``treatments[0].dose_mg``)."""
    import random

    from tests.conftest import gi, lung, pancreas

    rng = random.Random(seed)
    agents = [
        "octreotide_lar",
        "lanreotide",
        "ssa",
        "ssa_above_label",
        "everolimus",
        "capecitabine_temozolomide",
    ]
    regimens = [
        "lu177_dotatate",
        "ssa_above_label",
        "octreotide_lar",
        "lanreotide",
        "everolimus",
        "observation",
    ]
    out: list[dict[str, Any]] = []
    while len(out) < n:
        lines = []
        for k in range(rng.randint(1, 3)):
            line: dict[str, Any] = {"agent": rng.choice(agents), "start": f"{2018 + 2 * k}-01-01"}
            if rng.random() < 0.6:
                line["end"] = f"{2018 + 2 * k}-12-01"
            for key, values in (
                ("progressed", [True, False]),
                ("stop_reason", ["progression", "completed"]),
                ("dose_mg", [20.0, 30.0, 60.0, 120.0, 180.0]),
                ("interval_days", [14.0, 28.0, 56.0]),
            ):
                if rng.random() < 0.5:
                    line[key] = rng.choice(values)
            if line.get("stop_reason") and "end" not in line:
                line["end"] = f"{2018 + 2 * k}-12-01"
            lines.append(line)
        status = rng.choice(["progressive", "stable", None])
        base = rng.choice([gi, pancreas, lung])(treatments=lines)
        base["disease"] = {k: v for k, v in base["disease"].items() if k != "status"}
        if status:
            base["disease"]["status"] = status
        # footnote a (stop the SSA after clinically significant progression in a non-functional tumor)
        # gates the SSA entries at every dose: vary what it reads, or it would decide most of them
        significant = rng.choice([True, False])
        if not (significant and status == "stable"):  # clinically significant progression in stable disease
            base["disease"]["progression_clinically_significant"] = significant  # is rejected: left unknown
        if rng.random() < 0.4:
            base["tumor"] = {**base["tumor"], "functional": True, "hormonal_symptoms": True}
        rec = {**base, "decision": {"date": "2024-06-01", "regimen": rng.choice(regimens)}}
        _keep_valid(out, rec)
    return out


def _keep_valid(out: list[dict[str, Any]], rec: dict[str, Any]) -> None:
    """Append ``rec`` when its patient part is a valid contract Patient (a generator may draw invalid ones)."""
    from pydantic import ValidationError

    try:
        Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})
    except ValidationError:
        return
    out.append(rec)


Query = Callable[[str], list[dict[str, Any]]]


def check_on_duckdb(
    records: list[dict[str, Any]], kb: Knowledge, tmp_path: Path, check: Callable[[Query], None]
) -> None:
    """Load ``records`` into DuckDB, run ``check`` with its query function (the SQL's condition values
    against the engine's), then the audit: every row as the per-patient reference gives it."""
    from netcds.cohort.run_duckdb import DuckDBEngine

    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        check(engine.query)
        engine.audit(kb)
        rows = engine.rows()
    finally:
        engine.close()
    problems = mismatches(rows, reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])


def check_on_spark(
    spark_engine: Any, records: list[dict[str, Any]], kb: Knowledge, check: Callable[[Query], None]
) -> None:
    """:func:`check_on_duckdb` on Spark local mode (the rows loaded again for the audit)."""
    spark_engine.load_rows(canonical_rows(records))
    try:
        check(spark_engine.query)
    finally:
        spark_engine.close()
    spark_engine.load_rows(canonical_rows(records))
    try:
        spark_engine.audit(kb)
        rows: list[dict[str, Any]] = spark_engine.rows()
    finally:
        spark_engine.close()
    problems = mismatches(rows, reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])


def conditions_missing_sql(d: str, conditions: dict[str, Condition], *, with_values: bool = False) -> str:
    """Per decision point (``row_id``): each condition's missing fields as ``<key>__missing`` (MissingSql,
    over the stages the audit derives facts in), and its value as ``<key>`` when ``with_values``."""
    cc = ConditionCompiler(dialect(d), SILENT_NULLS, AMONG)
    values = [(k, cc.expr(c)) for k, c in conditions.items()]
    probe = MissingSql.probe(cc)
    for c in conditions.values():
        probe.node(c)
    ms = MissingSql(cc, probe)
    bits = [(f"{k}__bits", ms.node(c)) for k, c in conditions.items()]
    ctes, _ = fact_stages(cc, "decisions")
    cols = ", ".join(f"{e} AS {n}" for n, e in values + bits)
    listed = ", ".join(
        (f"{k}, " if with_values else "") + f"{ms.settled(f'{k}__bits')} AS {k}__missing" for k in conditions
    )
    inner = f"SELECT row_id, {cols} FROM leaves"
    return f"WITH {', '.join(ctes)} SELECT row_id, {listed} FROM ({inner}) ORDER BY row_id"


def engine_agreement(
    d: str,
    conditions: dict[str, Condition],
    compare: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None],
    recs: list[dict[str, Any]],
) -> Callable[[Query], None]:
    """A check for :func:`check_on_duckdb` / :func:`check_on_spark`: ``conditions`` compiled for dialect
    ``d`` (values and missing fields) over ``recs``, the rows given to ``compare`` against the engine."""

    def check(query: Query) -> None:
        compare(query(conditions_missing_sql(d, conditions, with_values=True)), recs)

    return check
