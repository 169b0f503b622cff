"""Which table (and G3 column) applies to the patient, or why none does."""

from __future__ import annotations

from dataclasses import dataclass, field

from netcds.evaluation import SourceRef
from netcds.facts import Facts
from netcds.grading import CHECK_THE_RECORD
from netcds.knowledge.schema import Column, Exclusion, Knowledge, Table
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
    reason_sources: list[SourceRef] = field(default_factory=list)  # aligned with ``reasons``
    excluded: list[Exclusion] = field(default_factory=list)  # the exclusions behind a not_applicable


# a "check the record" remark on a derived fact behind an exclusion: netcds's own reading of the record
DERIVED_FACTS_DOC = "netcds derived facts (docs/contract.md, Derived facts), not a guideline statement"


def table_source(kb: Knowledge, table: Table, column: Column | None = None) -> SourceRef:
    """Where a table (and its column) is in the guideline."""
    return SourceRef(
        document=table.source.document,
        version=kb.version,
        page=table.source.page,
        table=table.source.table,
        column=column.id if column else None,
        section=table.source.section,
    )


def exclusion_source(kb: Knowledge, e: Exclusion) -> SourceRef:
    """Where an exclusion (a reason no table applies) rests in the guideline."""
    s = e.source
    return SourceRef(
        document=s.document,
        version=kb.version,
        page=s.page,
        table=s.table,
        footnote=s.footnote,
        section=s.section,
        url=s.url,
        date=s.date,
    )


def _several(kb: Knowledge, candidates: list[Candidate]) -> SourceRef:
    """The source of "more than one setting remains possible": the table they share, else the page."""
    tables = {c.table.id: c.table for c in candidates}
    if len(tables) == 1:
        return table_source(kb, candidates[0].table)
    first = candidates[0].table.source
    pages = {t.source.page for t in tables.values()}
    return SourceRef(
        document=first.document, version=kb.version, page=first.page if len(pages) == 1 else None
    )


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
        texts = _texts(c.table_outcome, c.column_outcome)
        src = table_source(kb, c.table, c.column)
        return SettingResult("applies", c.table, c.column, texts, reason_sources=[src] * len(texts))
    if candidates:
        missing = list(dict.fromkeys(m for c in candidates for m in c.missing))
        tables = {c.table.id for c in candidates}
        if len(candidates) == 1:
            c = candidates[0]
            reasons = [
                f"Possible setting, not yet confirmed: {c.table.title}",
                *_texts(c.table_outcome, c.column_outcome),
            ]
            src = table_source(kb, c.table, c.column)
            return SettingResult(
                "needs_data", c.table, c.column, reasons, missing, reason_sources=[src] * len(reasons)
            )
        reasons = [
            "More than one setting remains possible: "
            + "; ".join(
                f"{c.table.title}" + (f" / {c.column.label}" if c.column.id else "") for c in candidates
            )
        ]
        # each unknown is sourced to the first setting (table and column) it is a finding of
        said: dict[str, SourceRef] = {}
        for c in candidates:
            for o in (c.table_outcome, c.column_outcome):
                for f in o.unknowns:
                    said.setdefault(f.text, table_source(kb, c.table, c.column))
        unknowns = sorted(said)
        reasons += unknowns
        sources = [_several(kb, candidates), *(said[t] for t in unknowns)]
        common = candidates[0].table if len(tables) == 1 else None
        return SettingResult("needs_data", common, None, reasons, missing, candidates, sources)
    excluded = [e for e in kb.exclusions if settle(e.when, facts)[0] is True]
    reasons = [e.text for e in excluded]
    sources = [exclusion_source(kb, e) for e in excluded]
    # a derived fact behind an exclusion that the record itself puts in doubt (grading's "check the
    # record", e.g. poorly differentiated with a G1 Ki-67) is said where the decision is shown
    for name in sorted({f for e in excluded for f in facts_of(e.when)}):
        why = facts.why(name)
        if why is not None and CHECK_THE_RECORD in why:
            reasons.append(f"{why[0].upper()}{why[1:]} [{name}]")
            sources.append(SourceRef(document=DERIVED_FACTS_DOC, section=name))
    if not reasons:
        for table in kb.tables:
            why = (
                "; ".join(f.text for f in evaluate(table.applies_when, facts).negatives)
                if id(table) in false_tables
                else "its row criteria are not met"
            )
            reasons.append(f"{table.title}: does not apply ({why})")
            sources.append(table_source(kb, table))
    return SettingResult("not_applicable", None, None, reasons, reason_sources=sources, excluded=excluded)
