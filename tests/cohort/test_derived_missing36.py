"""What an unknown ``derived.gut`` waits for, as cohort/missing_sql.py writes it, against facts.py (session 36).

``derived.gut`` is read only by a category rule, and the audit's ``missing_fields`` covers only
``needs_data`` verdicts: the audit cannot show which field the SQL names for an unknown gut. Here the
missing-field SQL of conditions over ``derived.gut`` (:class:`MissingSql`, the audit's own stages) runs on
DuckDB and Spark over every primary site, every duodenal part (and none) and every colon segment (and
none), and must name what facts.py's ``Derived.missing`` names for the patient's gut (and what
logic/evaluate.py's ``settle`` names for the condition): ``tumor.duodenal_part`` for a duodenal primary
with no part or just ``second``, ``tumor.colon_segment`` for a colon primary, ``tumor.primary_site`` for
an unknown primary; nothing where the gut is known.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from netcds.facts import GUT_BY_COLON_SEGMENT, GUT_BY_DUODENAL_PART, GUT_BY_SITE, build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import settle
from netcds.patient import ColonSegment, DuodenalPart, Patient, PrimarySite
from tests.conftest import gi

from .helpers import Query, check_on_duckdb, check_on_spark, conditions_missing_sql

GUT = "derived.gut"
GUTS = ("foregut", "midgut", "hindgut")
CONDITIONS: dict[str, Condition] = {
    k: parse_condition(v)
    for k, v in {
        **{g: {"fact": GUT, "eq": g} for g in GUTS},
        "not_midgut": {"fact": GUT, "ne": "midgut"},
        "fore_or_mid": {"fact": GUT, "in": ["foregut", "midgut"]},
    }.items()
}


def records() -> list[dict[str, Any]]:
    """Every primary site; a duodenal one with every part and none, a colon one with every segment and
    none (a part or segment fits only its own site: the contract refuses it elsewhere)."""
    tumors: list[dict[str, Any]] = []
    for site in get_args(PrimarySite):
        extra: list[dict[str, Any]] = [{}]
        if site == "duodenum":
            extra += [{"duodenal_part": part} for part in get_args(DuodenalPart)]
        if site == "colon":
            extra += [{"colon_segment": seg} for seg in get_args(ColonSegment)]
        tumors += [{"primary_site": site, **e} for e in extra]
    out = []
    for tumor in tumors:
        rec = gi(tumor=tumor)
        rec["decision"] = {"date": "2025-04-01", "regimen": "lu177_dotatate"}
        Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})  # every one a valid record
        out.append(rec)
    return out


def engine_gut(recs: list[dict[str, Any]]) -> dict[int, tuple[str | None, list[str]]]:
    """facts.py's ``derived.gut`` of each record: its value and the fields it names (sorted)."""
    out = {}
    for i, rec in enumerate(recs, start=1):
        d = build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})).derived[
            GUT
        ]
        out[i] = (d.value, sorted(d.missing))
    return out


def test_the_records_cross_every_site_part_and_segment() -> None:
    tumors = [r["tumor"] for r in records()]
    assert {t["primary_site"] for t in tumors} == set(get_args(PrimarySite))
    parts = [t.get("duodenal_part") for t in tumors if t["primary_site"] == "duodenum"]
    assert sorted(parts, key=str) == sorted([None, *get_args(DuodenalPart)], key=str)
    segments = [t.get("colon_segment") for t in tumors if t["primary_site"] == "colon"]
    assert sorted(segments, key=str) == sorted([None, *get_args(ColonSegment)], key=str)


def test_the_engine_names_the_field_that_would_settle_the_gut() -> None:
    """What the SQL is compared with, pinned: the reference itself is the reading session 35 chose."""
    recs = records()
    for (value, missing), rec in zip(engine_gut(recs).values(), recs, strict=True):
        t = rec["tumor"]
        site, part, seg = t["primary_site"], t.get("duodenal_part"), t.get("colon_segment")
        if site == "duodenum":
            want = (
                GUT_BY_DUODENAL_PART.get(part),
                [] if part in GUT_BY_DUODENAL_PART else ["tumor.duodenal_part"],
            )
        elif site == "colon":
            want = (
                GUT_BY_COLON_SEGMENT.get(seg),
                [] if seg in GUT_BY_COLON_SEGMENT else ["tumor.colon_segment"],
            )
        else:
            want = (GUT_BY_SITE.get(site), [] if site in GUT_BY_SITE else ["tumor.primary_site"])
        assert (value, missing) == want, t


def missing_sql(d: str) -> str:
    """Per decision point: each condition's value and its missing fields (``derived.gut`` included)."""
    return conditions_missing_sql(d, CONDITIONS, with_values=True)


def compare(rows: list[dict[str, Any]], recs: list[dict[str, Any]]) -> None:
    gut = engine_gut(recs)
    assert sorted(int(r["row_id"]) for r in rows) == sorted(gut)
    bad = []
    for r in rows:
        i = int(r["row_id"])
        value, derived_missing = gut[i]
        facts = build_facts(Patient.model_validate({k: v for k, v in recs[i - 1].items() if k != "decision"}))
        # the gut the SQL derived: the one value its equality holds for (NULL for all when unknown)
        held = [g for g in GUTS if r[g] is True]
        sql_value = held[0] if held else None
        if len(held) > 1 or (not held and any(r[g] is False for g in GUTS)) or sql_value != value:
            bad.append((i, "value", held, value, recs[i - 1]["tumor"]))
        for k, c in CONDITIONS.items():
            got = None if r[f"{k}__missing"] is None else sorted(r[f"{k}__missing"])
            engine_value, engine_missing = settle(c, facts)
            if r[k] != engine_value:
                bad.append((i, k, r[k], engine_value, recs[i - 1]["tumor"]))
            # an unknown condition on the gut names what the unknown gut names (facts.py Derived.missing)
            want = derived_missing if engine_value is None else []
            assert sorted(engine_missing) == want, (k, recs[i - 1]["tumor"])
            if (got or []) != want:
                bad.append((i, f"{k}__missing", got, want, recs[i - 1]["tumor"]))
    assert not bad, bad[:5]
    # not vacuous: the SQL named the duodenal part (and the segment, the site) for some unknown gut
    named = {tuple(r["foregut__missing"] or ()) for r in rows}
    assert {("tumor.duodenal_part",), ("tumor.colon_segment",), ("tumor.primary_site",)} <= named


def _agrees(dialect_name: str, recs: list[dict[str, Any]]) -> Callable[[Query], None]:
    def check(query: Query) -> None:
        compare(query(missing_sql(dialect_name)), recs)

    return check


def test_duckdb_names_what_the_engine_names(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, _agrees("duckdb", recs))


def test_spark_names_what_the_engine_names(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, _agrees("spark", recs))
