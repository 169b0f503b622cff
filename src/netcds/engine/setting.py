"""Which table (and G3 column) applies to the patient, or why none does."""

from __future__ import annotations

from dataclasses import dataclass, field

from netcds.facts import Facts
from netcds.grading import CHECK_THE_RECORD
from netcds.knowledge.schema import Column, Knowledge, Table
from netcds.logic.ast import facts_of
from netcds.logic.evaluate import Outcome, evaluate, settle


@dataclass
class Candidate:
    table: Table
    column: Column
    value: bool | None
    table_outcome: Outcome
    column_outcome: Outcome

    @property
    def missing(self) -> list[str]:
        out: list[str] = []
        if self.table_outcome.value is None:
            out += self.table_outcome.missing
        if self.column_outcome.value is None:
            out += self.column_outcome.missing
        return list(dict.fromkeys(out))


@dataclass
class SettingResult:
    status: str
    table: Table | None
    column: Column | None
    reasons: list[str]
    missing: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # when several settings remain possible


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _texts(*outcomes: Outcome) -> list[str]:
    return [f.text for o in outcomes for f in o.findings()]


def select_setting(kb: Knowledge, facts: Facts) -> SettingResult:
    candidates: list[Candidate] = []
    # a table or column that is false is only ever read for its value, unless no setting remains
    # (its reasons are then the explanation): its findings are not built here (``settle``)
    false_tables: set[int] = set()  # their ids
    for table in kb.tables:
        if settle(table.applies_when, facts)[0] is False:
            false_tables.add(id(table))
            continue
        t_out = evaluate(table.applies_when, facts)
        for col in table.columns:
            if settle(col.when, facts)[0] is False:
                continue
            c_out = evaluate(col.when, facts)
            value = _and(t_out.value, c_out.value)
            if value is not False:
                candidates.append(Candidate(table, col, value, t_out, c_out))
    sure = [c for c in candidates if c.value is True]
    if len(sure) > 1:
        names = ", ".join(f"{c.table.id}/{c.column.id}" for c in sure)
        raise ValueError(f"knowledge ambiguity: several settings apply ({names})")
    if len(sure) == 1:
        c = sure[0]
        return SettingResult("applies", c.table, c.column, _texts(c.table_outcome, c.column_outcome))
    if candidates:
        missing = list(dict.fromkeys(m for c in candidates for m in c.missing))
        tables = {c.table.id for c in candidates}
        if len(candidates) == 1:
            c = candidates[0]
            reasons = [
                f"Possible setting, not yet confirmed: {c.table.title}",
                *_texts(c.table_outcome, c.column_outcome),
            ]
            return SettingResult("needs_data", c.table, c.column, reasons, missing)
        reasons = [
            "More than one setting remains possible: "
            + "; ".join(
                f"{c.table.title}" + (f" / {c.column.label}" if c.column.id else "") for c in candidates
            )
        ]
        reasons += sorted(
            {f.text for c in candidates for o in (c.table_outcome, c.column_outcome) for f in o.unknowns}
        )
        common = candidates[0].table if len(tables) == 1 else None
        return SettingResult("needs_data", common, None, reasons, missing, candidates)
    excluded = [e for e in kb.exclusions if settle(e.when, facts)[0] is True]
    reasons = [e.text for e in excluded]
    # a derived fact behind an exclusion that the record itself puts in doubt (grading's "check the
    # record", e.g. poorly differentiated with a G1 Ki-67) is said where the decision is shown
    for name in sorted({f for e in excluded for f in facts_of(e.when)}):
        why = facts.why(name)
        if why is not None and CHECK_THE_RECORD in why:
            reasons.append(f"{why[0].upper()}{why[1:]} [{name}]")
    if not reasons:
        for table in kb.tables:
            why = (
                "; ".join(f.text for f in evaluate(table.applies_when, facts).negatives)
                if id(table) in false_tables
                else "its row criteria are not met"
            )
            reasons.append(f"{table.title}: does not apply ({why})")
    return SettingResult("not_applicable", None, None, reasons)
