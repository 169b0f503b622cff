"""The concordance verdict of one decision point, on top of the per-patient engine.

This is the reference the SQL backends are tested against (tests/cohort). Given the
engine's Evaluation for the patient and the decision actually taken:

1. setting ``not_applicable`` (no table applies): ``out_of_scope`` when an exclusion marked as
   covered on pages not in the source (:func:`netcds.cohort.layout.scope_exclusions`) is TRUE for the
   patient (their ids, in knowledge order, go to ``scope_exclusions``), whatever the decision; else
   ``no_systemic_indicated`` when the decision is non-systemic (observation, surgery, locoregional);
   else ``needs_data`` when such an exclusion is unknown (waiting for the fields those unknown
   exclusions name: were one TRUE, the decision would be ``out_of_scope``, so an unknown fact never
   gives a negative), else ``not_listed``. A non-systemic decision stays ``no_systemic_indicated``
   whatever the unknown exclusions: like ``out_of_scope`` it is in the concordance share neither way
   (as in rule 5);
2. no options (setting ``needs_data`` with several candidate settings, or ``ambiguous``):
   ``needs_data``;
3. a non-systemic decision where a table applies: ``no_systemic_indicated`` when the table names
   that approach for this patient (:data:`NON_SYSTEMIC_BASIS`: observation needs the
   observation principle to hold, i.e. stable disease with a mild burden; surgery and
   locoregional therapy need the multidisciplinary-choice principle, or, for surgery, a
   column built around resection (neoadjuvant entries)); ``needs_data`` when that is unknown;
   ``not_listed`` otherwise;
4. a systemic decision: the options whose regimen the decision matches
   (:func:`netcds.cohort.layout.matching_decisions`), in table order (the order of the knowledge
   data; the engine itself orders options for discussion, which does not matter here). None -> ``not_listed``;
   one eligible -> ``concordant`` (the first eligible); else one needs_data -> ``needs_data``;
   else ``listed_not_eligible`` with the failing condition (:func:`decisive`);
5. the setting undetermined (``needs_data``: one candidate setting, not confirmed): a verdict that holds
   only if that setting applies (``concordant``, ``listed_not_eligible``, ``not_listed``) becomes
   ``needs_data`` (:data:`UNSETTLED`), its entry kept, no failing condition: were the setting to turn out
   not to apply, the decision would be judged by rule 1 instead (``not_listed`` or ``out_of_scope``), so an
   unknown fact never gives a negative. ``no_systemic_indicated`` stays: the table names the approach if it
   applies, and where no table applies a non-systemic decision is ``no_systemic_indicated`` or
   ``out_of_scope``, in the concordance share neither way.

A ``needs_data`` verdict names what it waits for (``missing_fields``, :func:`reference_result`).

``ambiguous`` is a setting status of its own: the record makes two settings apply at once
(e.g. a G3 tumor recorded as a typical carcinoid); the engine refuses such a record.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from netcds.cohort.layout import (
    NON_SYSTEMIC,
    NON_SYSTEMIC_BASIS,
    SCOPE_SEPARATOR,
    Decision,
    matching_decisions,
    scope_exclusions,
)
from netcds.engine import evaluate
from netcds.facts import Facts, any3, build_facts
from netcds.knowledge.schema import Column, Knowledge, Table
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.logic.evaluate import Outcome, says_of
from netcds.logic.evaluate import evaluate as evaluate_condition
from netcds.patient import Patient

AMBIGUITY = "knowledge ambiguity"
# rule 5: the verdicts that hold only if the undetermined setting applies (needs_data under it)
UNSETTLED: tuple[str, ...] = ("concordant", "listed_not_eligible", "not_listed")


def decisive(c: Condition, value: bool, facts: Facts) -> str:
    """The words for what made ``c`` come out ``value``.

    A comparison or history predicate speaks for itself (its ``says``, or the generated
    wording). Where the first decisive child settles the node (a false ``all``, a true
    ``any``) the walk descends into it; where every child counts (a false ``any``, a true
    ``all``) a worded node speaks for itself, else its first child does; a node no child settles
    (decided by trying each value of an among-fact) speaks for itself. A ``not`` speaks
    with its own words, else as ``not: `` + what settled its inner condition.
    """
    if isinstance(c, Compare | History):
        return says_of(c)
    if isinstance(c, Not):
        return c.says or "not: " + decisive(c.item, not value, facts)
    first_decides = (isinstance(c, All) and not value) or (isinstance(c, AnyOf) and value)
    if not first_decides:
        return c.says or decisive(c.items[0], value, facts)
    for kid in c.items:
        if evaluate_condition(kid, facts).value is value:
            return decisive(kid, value, facts)
    # no child decided it: the node came out the same for each value an unknown fact lies among
    # (logic/evaluate.py trials), so it speaks for itself
    return says_of(c)


def non_systemic_named(
    kb: Knowledge, table: Table, column: Column, decision: str, facts: Facts
) -> bool | None:
    """Does the applicable table name this non-systemic approach for this patient (3-valued)?"""
    values: list[bool | None] = []
    for pid in NON_SYSTEMIC_BASIS[decision]:
        if pid in table.principles:
            p = kb.principles[pid]
            values.append(True if p.when is None else evaluate_condition(p.when, facts).value)
    if decision == "surgery" and any(e.intent == "neoadjuvant" for e in column.entries):
        values.append(True)
    return any3(values)


def out_of_scope(kb: Knowledge, facts: Facts) -> tuple[list[str], list[Outcome]]:
    """The ids of the exclusions marked as covered on pages not in the source that are TRUE for the
    patient (unknown is not true), in knowledge order; and the outcomes of those that are unknown (rule 1:
    with none TRUE, a systemic decision then waits for what they name)."""
    outcomes = [(e.id, evaluate_condition(e.when, facts)) for e in scope_exclusions(kb)]
    return [i for i, o in outcomes if o.value is True], [o for _, o in outcomes if o.value is None]


def _column(table: Table, column_id: str | None) -> Column:
    return next(c for c in table.columns if c.id == column_id)


def non_systemic_waits(kb: Knowledge, table: Table, decision: str, facts: Facts) -> list[str]:
    """The fields an unknown :func:`non_systemic_named` waits for: those of its unknown principles."""
    out: list[str] = []
    for pid in NON_SYSTEMIC_BASIS[decision]:
        when = kb.principles[pid].when if pid in table.principles else None
        if when is not None:
            outcome = evaluate_condition(when, facts)
            out += outcome.missing if outcome.value is None else []
    return out


def reference_result(row_id: int, patient: Patient, decision: Decision, kb: Knowledge) -> dict[str, Any]:
    """One decision point audited by the per-patient engine: the same fields as the SQL result.

    ``missing_fields`` (a needs_data verdict only; else None): what the verdict waits for, sorted, each
    field once: under an undetermined setting the setting's missing fields (``Evaluation.setting.missing``),
    where no table applies those of the unknown marked exclusions (rule 1),
    for a non-systemic decision those of the table's principles for it, else the picked entry's
    (``Option.missing``); none for an ``ambiguous`` record."""
    out, waits = _judged(row_id, patient, decision, kb)
    if out["setting_status"] == "needs_data" and out["verdict"] in UNSETTLED:
        out.update(verdict="needs_data", failing_condition=None)  # rule 5
    out["missing_fields"] = sorted(set(waits)) if out["verdict"] == "needs_data" else None
    return out


def _judged(
    row_id: int, patient: Patient, decision: Decision, kb: Knowledge
) -> tuple[dict[str, Any], list[str]]:
    """Rules 1-4 (module docstring), and the fields the verdict waits for should it be needs_data."""
    out: dict[str, Any] = {
        "row_id": row_id, "patient_id": patient.id, "decision_date": decision.date,
        "decision_regimen": decision.regimen, "primary_site": patient.tumor.primary_site,
        "setting_table": None, "setting_column": None, "setting_status": "ambiguous", "options": [],
        "option_status": None, "option_category": None,
        "verdict": "needs_data", "verdict_entry_id": None, "failing_condition": None,
        "chosen_tier": None, "chosen_category": None, "scope_exclusions": None,
    }  # fmt: skip
    try:
        ev = evaluate(patient, kb)
    except ValueError as exc:
        if AMBIGUITY not in str(exc):
            raise
        return out, []  # the record contradicts itself: no field is missing
    out["setting_table"] = ev.setting.table
    out["setting_column"] = ev.setting.column
    out["setting_status"] = ev.setting.status
    unsettled = ev.setting.status == "needs_data"
    r = decision.regimen
    if ev.setting.status == "not_applicable":
        scope, unknown = out_of_scope(kb, build_facts(patient))
        if scope:
            out.update(verdict="out_of_scope", scope_exclusions=SCOPE_SEPARATOR.join(scope))
            return out, []
        if r in NON_SYSTEMIC:
            out["verdict"] = "no_systemic_indicated"
            return out, []
        out["verdict"] = "needs_data" if unknown else "not_listed"  # rule 1: unknown is not false
        return out, [field for o in unknown for field in o.missing]
    if not ev.options:
        out["verdict"] = "needs_data"
        return out, list(ev.setting.missing)
    assert ev.setting.table is not None
    table = kb.table(ev.setting.table)
    column = _column(table, ev.setting.column)
    by_id = {o.entry_id: o for o in ev.options}
    options = [by_id[e.id] for e in column.entries]  # table order (the engine orders them for discussion)
    out["options"] = [
        {
            "entry_id": o.entry_id,
            "regimen": o.regimen,
            "status": o.status,
            "tier": o.tier,
            "category": o.category,
        }
        for o in options
    ]
    out["option_status"] = [o.status for o in options]
    out["option_category"] = [o.category for o in options]
    facts = build_facts(patient)
    if r in NON_SYSTEMIC:
        named = non_systemic_named(kb, table, column, r, facts)
        out["verdict"] = {True: "no_systemic_indicated", False: "not_listed", None: "needs_data"}[named]
        return out, list(ev.setting.missing) if unsettled else non_systemic_waits(kb, table, r, facts)
    matches = [o for o in options if r in matching_decisions(o.regimen)]
    if not matches:
        out["verdict"] = "not_listed"
        return out, list(ev.setting.missing)
    for status, verdict in (
        ("eligible", "concordant"),
        ("needs_data", "needs_data"),
        ("not_eligible", "listed_not_eligible"),
    ):
        hit = next((o for o in matches if o.status == status), None)
        if hit is not None:
            out.update(
                verdict=verdict,
                verdict_entry_id=hit.entry_id,
                chosen_tier=hit.tier,
                chosen_category=hit.category,
            )
            if verdict == "listed_not_eligible":
                entry = next(e for e in column.entries if e.id == hit.entry_id)
                assert entry.when is not None
                out["failing_condition"] = decisive(entry.when, False, facts)
            return out, list(ev.setting.missing) if unsettled else list(hit.missing)
    raise AssertionError("an option has no status")  # pragma: no cover


def decision_year(d: date | None) -> int | None:
    return d.year if d else None
