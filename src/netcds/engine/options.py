"""Every entry of the applicable table column, resolved for this patient.

Status comes from the entry's eligibility condition (three-valued); the
category from the entry's default and its category rules (first true rule
wins); qualifiers are reported beside, never gating. Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from netcds.errors import RuleError
from netcds.evaluation import FootnoteRef, Option, PageRef, Qualifier, SourceRef
from netcds.facts import Facts
from netcds.knowledge.schema import Column, Entry, Knowledge, Table
from netcds.logic.evaluate import Finding, Outcome, evaluate

STATUS = {True: "eligible", False: "not_eligible", None: "needs_data"}
UNCONDITIONAL = Finding("listed for this setting without a patient-specific condition", True, "")


def _category(kb: Knowledge, entry: Entry, facts: Facts) -> tuple[str, str, list[str], list[str]]:
    default = entry.category or kb.manifest.default_category
    basis: list[str] = []
    pending: list[str] = []
    for rule in entry.category_rules:
        out = evaluate(rule.when, facts)
        detail = "; ".join(f.detail for f in out.findings() if f.detail)
        if out.value is True:
            basis.insert(0, f"category {rule.category}: {rule.says} ({detail})")
            return rule.category, default, basis, list(dict.fromkeys(pending))
        if out.value is None:
            pending += out.missing
            basis.append(f"would be category {rule.category} if {rule.says}; not known ({detail})")
        else:
            basis.append(f"not category {rule.category}: {rule.says} is not the case ({detail})")
    why = "the table's mark for this entry" if entry.category else "the guideline's default"
    basis.insert(0, f"category {default}: {why}")
    return default, default, basis, list(dict.fromkeys(pending))


NOT_MET = "Not met: "  # the prefix of a condition the option failed on, in its reasons


def failed_conditions(reasons: list[str]) -> list[str]:
    """The conditions an option fails on the record (its "Not met: " reasons)."""
    return [r for r in reasons if r.startswith(NOT_MET)]


def _reasons(status: bool | None, out: Outcome) -> list[str]:
    if status is True:
        return [f"Met: {f.text}" for f in out.positives]
    if status is False:
        return [f"{NOT_MET}{f.text}" for f in out.negatives] + [f"Met: {f.text}" for f in out.positives]
    return [f"Unknown: {f.text}" for f in out.unknowns] + [f"Met: {f.text}" for f in out.positives]


UNCONFIRMED = "Unknown: the setting itself is not confirmed (see setting.missing)"


def build_option(
    kb: Knowledge,
    table: Table,
    column: Column,
    entry: Entry,
    facts: Facts,
    setting_missing: list[str],
    unconfirmed: str = UNCONFIRMED,
) -> Option:
    try:
        out = (
            evaluate(entry.when, facts)
            if entry.when is not None
            else Outcome(
                True, positives=[Finding(entry.when_says, True, "") if entry.when_says else UNCONDITIONAL]
            )
        )
        value = out.value
        reasons = _reasons(value, out)
        missing = list(out.missing)
        if setting_missing and value is not False:
            value = None
            missing = list(dict.fromkeys([*setting_missing, *missing]))
            reasons.insert(0, unconfirmed)
        category, default, basis, pending = _category(kb, entry, facts)
        quals = []
        for q in entry.qualifiers:
            q_out = evaluate(q.when, facts)
            detail = "; ".join(f.detail for f in q_out.findings() if f.detail)
            word = {True: "yes", False: "no", None: "unknown"}[q_out.value]
            quals.append(
                Qualifier(
                    says=q.says,
                    met=q_out.value,
                    footnote=q.footnote,
                    text=f"{q.says}: {word}" + (f" ({detail})" if detail else ""),
                )
            )
    except Exception as exc:  # wrapped once, with the rule id and its location
        raise RuleError(entry.id, f"{table.id}/{column.id or 'main'}", exc) from exc
    for qual in quals:
        reasons.append(f"Qualifier{f' (footnote {qual.footnote})' if qual.footnote else ''}: {qual.text}")
    static = _static(kb, table, column, entry)
    return Option(
        regimen=entry.regimen,
        tier=entry.tier,
        category=category,
        status=STATUS[value],
        reasons=reasons,
        missing=missing if value is None else [],
        footnotes=list(static.letters),
        source=static.source,
        entry_id=entry.id,
        label=entry.label,
        intent=entry.intent,
        group=entry.group,
        category_default=default,
        category_basis=basis,
        category_missing=pending,
        qualifiers=quals,
        footnote_details=list(static.footnotes),
        see=list(static.see),
        references=list(entry.references),
        guideline_dose=entry.guideline_dose,
        note=entry.note,
    )


@dataclass(frozen=True)
class _Static:
    """The parts of an option that depend only on the knowledge version (built once)."""

    letters: tuple[str, ...]
    source: SourceRef
    footnotes: tuple[FootnoteRef, ...]
    see: tuple[PageRef, ...]


_STATIC: dict[tuple[str, str, str], _Static] = {}


def _static(kb: Knowledge, table: Table, column: Column, entry: Entry) -> _Static:
    key = (kb.digest, kb.version, entry.id)
    hit = _STATIC.get(key)
    if hit is None:
        letters = tuple(
            dict.fromkeys([*entry.footnotes, *[q.footnote for q in entry.qualifiers if q.footnote]])
        )
        refs = {r.id: r for r in kb.manifest.references}
        hit = _Static(
            letters=letters,
            source=SourceRef(
                document=table.source.document,
                version=kb.version,
                page=table.source.page,
                table=table.source.table,
                column=column.id,
                footnotes=list(letters),
                section=table.source.section,
                see=list(entry.see),
            ),
            footnotes=tuple(_footnote(kb, letter, table) for letter in letters),
            see=tuple(
                PageRef(ref=s, title=refs[s].title, available=refs[s].available, note=refs[s].note)
                for s in entry.see
            ),
        )
        _STATIC[key] = hit
    return hit


def _footnote(kb: Knowledge, letter: str, table: Table) -> FootnoteRef:
    fn = kb.footnotes[letter]
    return FootnoteRef(
        letter=letter,
        available=fn.available,
        text=fn.text if fn.available else f"Unavailable: {fn.unavailable_reason}",
        source=SourceRef(
            document=fn.source.document,
            version=kb.version,
            page=fn.source.page,
            table=fn.source.table,
            footnote=letter,
            section=table.footnote_section(letter),
        ),
    )


def build_options(
    kb: Knowledge,
    table: Table,
    column: Column,
    facts: Facts,
    setting_missing: list[str],
    unconfirmed: str = UNCONFIRMED,
) -> list[Option]:
    return [build_option(kb, table, column, e, facts, setting_missing, unconfirmed) for e in column.entries]
