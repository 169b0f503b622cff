"""The audit query: one knowledge version compiled to one SQL statement over ``decisions``.

Stages (CTEs), each adding columns to the one before:

1. ``base``      the canonical columns the knowledge reads (enum words meaning "unknown" -> NULL),
                 the treatment history packed into bit flags (``tx0``...), and ``di``: the
                 decision's position in DECISION_IDS
2. ``derived1``  derived facts (facts.py) that read only raw fields
3. ``derived2``  derived facts that read other derived facts
4. ``leaves``    every distinct comparison / history predicate, once (``l0``, ``l1``, ...)
5. ``nodes``     table rows (3-valued); a table column's condition is inline in ``setting0``
6. ``setting*``  which table/column applies (engine/setting.py): ``okey`` numbers the column,
                 ``sst`` codes the setting status, ``kfu`` is the status of an entry without a
                 condition (needs_data under the single candidate's doubt)
7. ``per_key``   the applicable column's status and category lists, one CASE branch per column, so
                 an entry's condition is evaluated only for the rows of its column; ``mm``: the
                 positions of the entries the decision matches, packed (one constant lookup)
8. ``verdict*``  the verdict's pick, ``scope_exclusions`` (the exclusions that make a decision
                 ``out_of_scope``) and the concordance verdict (cohort/verdict.py) as codes
9. ``missing``   ``missing_bits``: for a needs_data verdict, the fields it waits for as the bits of
                 an integer, decoded into ``missing_fields`` by the last SELECT (cohort/missing_sql.py;
                 where no table applies, those of the unknown marked exclusions)

Keys, statuses and verdicts are small integers until the last SELECT, which spells the words by
indexing constant lists (ENUMs on DuckDB, see cohort/sqltext.py). The result has one row per
decision point (columns: :data:`RESULT_COLUMNS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

from netcds.cohort.derived_sql import AMONG, SILENT_NULLS
from netcds.cohort.layout import (
    DECISION_IDS,
    NON_SYSTEMIC,
    NON_SYSTEMIC_BASIS,
    SCOPE_SEPARATOR,
    VERDICTS,
    matching_decisions,
    scope_exclusions,
)
from netcds.cohort.missing_sql import missing_columns
from netcds.cohort.setting_sql import Candidate, setting_stages
from netcds.cohort.sqltext import as_text, case, cte, ident, in_ints, typed, word, word_index, words
from netcds.cohort.stages import fact_stages, names_in, register_history, substitute
from netcds.knowledge.schema import TIER_ORDER, Category, Entry, Knowledge
from netcds.logic.ast import Condition
from netcds.logic.evaluate import says_of
from netcds.logic.sql import ConditionCompiler, Dialect, SqlCompileError, lit
from netcds.logic.sql import dialect as get_dialect
from netcds.vocabulary import fact_specs

RESULT_COLUMNS: tuple[str, ...] = (
    "row_id", "patient_id", "decision_date", "decision_regimen", "primary_site",
    "setting_table", "setting_column", "setting_status", "option_status", "option_category", "options",
    "verdict", "verdict_entry_id", "failing_condition", "missing_fields", "chosen_tier", "chosen_category",
    "scope_exclusions",
)  # fmt: skip
OPTION_FIELDS: tuple[str, ...] = ("entry_id", "regimen", "status", "tier", "category")
STATUS_WORDS = ("eligible", "needs_data", "not_eligible")  # status code 0, 1, 2
SETTING_WORDS = ("applies", "needs_data", "not_applicable", "ambiguous")  # sst 0..3
CATEGORIES: tuple[str, ...] = get_args(Category)
SITES: tuple[str, ...] = tuple(fact_specs()["tumor.primary_site"].values or ())
POS = 64  # pick = status code * POS + position


@dataclass(frozen=True)
class EntryRef:
    cand: Candidate
    entry: Entry
    pos: int  # 1-based within its column


def _picked(x: str) -> str:
    """``x`` for the rows with a picked entry (``vpos``), NULL for the others: only those rows index a
    list (cheaper than indexing with NULL; Spark must not)."""
    return f"CASE WHEN vpos IS NOT NULL THEN {x} END"


class AuditQuery:
    """Builds the audit SQL for one knowledge version and one dialect."""

    def __init__(self, kb: Knowledge, dialect: str | Dialect = "duckdb") -> None:
        self.kb = kb
        self.d = get_dialect(dialect) if isinstance(dialect, str) else dialect
        self.cc = ConditionCompiler(self.d, SILENT_NULLS, AMONG)
        self.taken: set[str] = set()
        self.node_cols: list[tuple[str, str]] = []
        self.node_notes: dict[str, str] = {}
        self.candidates: list[Candidate] = []
        self.entries: list[EntryRef] = []
        self.principles: dict[str, str] = {}  # principle id -> its condition (SQL)
        self.scope: list[tuple[str, str]] = []  # (exclusion id, its condition) of the out-of-scope marks
        self._compile_nodes()

    # -- nodes ----------------------------------------------------------------------------
    def _node(self, prefix: str, label: str, expr: str, note: str | None = None) -> str:
        name = ident(prefix, label, self.taken)
        self.node_cols.append((name, expr))
        if note:
            self.node_notes[name] = note
        return name

    def _compile_nodes(self) -> None:
        """Table rows become columns of ``nodes``; a table column's condition, principles and entry
        conditions are written inline where they are read (a column's only where its table row is not
        false, see setting_sql.py; the others only for rows of a non-systemic decision / of the
        entry's column); all of them register their leaves."""
        for table in self.kb.tables:
            t = self._node("t_", table.id, self.cc.expr(table.applies_when), f"row criteria of {table.id}")
            for column in table.columns:
                c = self.cc.expr(column.when)
                c = c if re.fullmatch(r"\w+", c) else f"({c})"
                self.candidates.append(Candidate(len(self.candidates) + 1, table, column, t, c))
        # principles: read only for non-systemic decisions (inline in the verdict)
        for pid in dict.fromkeys(pid for t in self.kb.tables for pid in t.principles):
            if any(pid in basis for basis in NON_SYSTEMIC_BASIS.values()):
                self.principles[pid] = self.cc.expr(self.kb.principles[pid].when)
        # exclusions marked as covered on pages not in the source: read only where no table applies
        self.scope = [(e.id, self.cc.expr(e.when)) for e in scope_exclusions(self.kb)]
        seen: set[str] = set()
        for cand in self.candidates:
            if len(cand.column.entries) >= POS:
                raise SqlCompileError(
                    f"a column with {POS} or more entries: the verdict pick needs more bits"
                )
            for pos, e in enumerate(cand.column.entries, start=1):
                if e.id in seen:
                    raise SqlCompileError(f"entry id '{e.id}' is used twice; verdicts need unique ids")
                seen.add(e.id)
                self.entries.append(EntryRef(cand, e, pos))
                for cond in (e.when, *(rule.when for rule in e.category_rules)):
                    self.cc.expr(cond)

    # -- stages ---------------------------------------------------------------------------
    def _decision(self) -> list[str]:
        """``di``: the decision's 1-based position in DECISION_IDS (0 for anything else); on DuckDB also
        ``sp``, the primary site's position in its vocabulary (NULL when unrecorded): the two
        passed-through words are written as ENUMs by indexing (cheaper than copying the strings)."""
        cols = [f"{self.d.position(DECISION_IDS, 'decision_regimen')} AS di"]
        if typed(self.d):
            cols.append(f"list_position({self.d.array([lit(s) for s in SITES])}, tumor__primary_site) AS sp")
        return cols

    def _matches(self) -> tuple[list[tuple[str, str]], list[str]]:
        """The positions in the applicable column of the entries the decision matches (cohort/layout.py
        ``matching_decisions``), in table order, as one column ``mm`` (the first + POS x the second
        + ..., 0 when none): a constant list over (column, decision) pairs, indexed once per row.
        Returns the column and the expressions of the first, second, ... position (0 past the last)."""
        width = len(DECISION_IDS) + 1
        table: list[list[int]] = []
        for cand in self.candidates:
            for dec in (None, *DECISION_IDS):
                table.append(
                    [
                        r.pos
                        for r in self._refs(cand)
                        if dec is not None and dec in matching_decisions(r.entry.regimen)
                    ]
                )
        most = max((len(m) for m in table), default=0)
        if most == 0:
            return [], []
        if most > 8:
            raise SqlCompileError("a decision matching more than 8 entries of a column")
        at = f"(okey - 1) * {width} + di + 1"
        packed = [sum(p * POS**j for j, p in enumerate(m)) for m in table]
        lookup = self.d.bigint_array(packed) if most > 4 else self.d.array([str(p) for p in packed])
        positions = [
            f"(mm % {POS})" if j == 0 else f"({self.d.int_div('mm', str(POS**j))} % {POS})"
            for j in range(most)
        ]
        return [("mm", self.d.list_at_or_null(lookup, at, "okey"))], positions

    def _setting(self) -> list[str]:
        """The setting stages; the missing-field test is written only for a candidate whose row or
        column reads a fact that can be unknown without naming a missing field (where it is read, the
        candidate is the single possible one and unknown, so its row or column is: for the others the
        test is TRUE)."""
        missing = []
        for k in self.candidates:
            ms = [self.cc.reports_missing(cond) for cond in (k.table.applies_when, k.column.when)]
            if all(m is None for m in ms):
                continue
            parts = [
                f"({node} IS NULL)" if m is None else f"({node} IS NULL AND {m})"
                for node, m in zip((k.t, k.c), ms, strict=True)
            ]
            missing.append((str(k.key), "(" + " OR ".join(parts) + ")"))
        doubt = (word(self.d, "needs_data", STATUS_WORDS), word(self.d, "eligible", STATUS_WORDS))
        return setting_stages(self.d, self.candidates, missing, doubt)

    def _status(self, r: EntryRef) -> str:
        """The entry's status word (engine/options.py, with the setting's doubt), evaluated inline in
        its column's branch: only the rows of that column compute it."""
        if r.entry.when is None:
            return "kfu"
        w = self.cc.expr(r.entry.when)
        # TRUE: eligible unless the setting is in doubt (kfu); NULL: needs_data; FALSE: not_eligible
        # (an IS NULL test is cheaper than selecting the rows where NOT w holds)
        nd, ne = (word(self.d, x, STATUS_WORDS) for x in STATUS_WORDS[1:])
        return f"(CASE WHEN {w} THEN kfu WHEN ({w}) IS NULL THEN {nd} ELSE {ne} END)"

    def _refs(self, cand: Candidate) -> list[EntryRef]:
        return [r for r in self.entries if r.cand is cand]

    def _category(self, r: EntryRef) -> str:
        e = r.entry
        default = word(self.d, e.category or self.kb.manifest.default_category, CATEGORIES)
        arms = [
            (self.cc.expr(rule.when), word(self.d, rule.category, CATEGORIES))  # WHEN NULL is not taken
            for rule in e.category_rules
        ]
        return case(arms, default)

    def _per_key(self) -> str:
        """One branch per column: its status words and categories; the matched positions."""
        st_arms, cat_arms = [], []
        for cand in self.candidates:
            refs = self._refs(cand)
            st_arms.append((str(cand.key), self.d.array([self._status(r) for r in refs])))
            if any(r.entry.category_rules for r in refs):
                cat = self.d.array([self._category(r) for r in refs])
            else:
                cat = words(
                    self.d, [r.entry.category or self.kb.manifest.default_category for r in refs], CATEGORIES
                )
            cat_arms.append((str(cand.key), cat))
        return cte(
            "per_key",
            "setting",
            [
                ("option_status", case(st_arms, subject="okey")),
                ("option_category", case(cat_arms, subject="okey")),
                *self._matches()[0],
            ],
        )

    def _non_systemic_named(self) -> str:
        nonsys = []
        for cand in self.candidates:
            by_r = []
            for r in NON_SYSTEMIC:
                parts = [
                    self.principles[pid] for pid in NON_SYSTEMIC_BASIS[r] if pid in cand.table.principles
                ]
                if r == "surgery" and any(e.intent == "neoadjuvant" for e in cand.column.entries):
                    parts.append("TRUE")
                by_r.append((lit(r), "(" + " OR ".join(parts) + ")" if parts else "FALSE"))
            nonsys.append((str(cand.key), case(by_r, subject="decision_regimen")))
        return case(nonsys, subject="okey")

    def _scope(self) -> str:
        """``scope_exclusions``: where no table applies, the ids of the marked exclusions that are TRUE
        (cohort/verdict.py ``out_of_scope``), joined in knowledge order; NULL when none is (or a table
        applies, or could)."""
        if not self.scope:
            return f"CAST(NULL AS {self.d.type_of('string')})"
        ids = ", ".join(f"CASE WHEN ({x}) IS TRUE THEN {lit(eid)} END" for eid, x in self.scope)
        joined = f"nullif(concat_ws({lit(SCOPE_SEPARATOR)}, {ids}), '')"
        return f"CASE WHEN okey IS NULL AND sst = 2 THEN {joined} END"

    def _verdict(self) -> list[str]:
        """``pick``: the least ``status * POS + position`` over the entries the decision matches (the
        first eligible match, else the first needs_data match, else the first match);
        ``scope_exclusions`` (:meth:`_scope`); ``vc``: the verdict as an index into VERDICTS (under an
        undetermined setting, ``sst`` 1, only needs_data or no_systemic_indicated: cohort/verdict.py rule
        5; where no table applies, needs_data for a systemic decision while a marked exclusion is unknown
        and none is TRUE: rule 1); ``vpos``: the position of the picked entry."""
        d, v = self.d, {w: str(i) for i, w in enumerate(VERDICTS)}
        ms = self._matches()[1]
        status = {m: word_index(d, d.list_at("option_status", m), STATUS_WORDS) for m in ms}
        # the j-th match exists when mm >= POS ** (j - 1) (positions are filled in order): the rows
        # with j matches take the least of j terms (most rows match none and skip them all)
        terms = [f"{status[m]} * {POS} + {m}" for m in ms]
        arms = [
            (f"mm >= {POS**j}", f"least({', '.join(terms[: j + 1])})" if j else terms[0])
            for j in reversed(range(len(terms)))
        ]
        pick = case(arms)
        is_ns = in_ints("di", {DECISION_IDS.index(r) + 1 for r in NON_SYSTEMIC})
        named = self._non_systemic_named()
        # a picked status s (0 eligible, 1 needs_data, 2 not_eligible) is verdict (2 s) mod 3
        assert VERDICTS[:3] == ("concordant", "listed_not_eligible", "needs_data")
        assert VERDICTS.index("no_systemic_indicated") == VERDICTS.index("not_listed") + 1
        # no table applies (sst 2): with no marked exclusion TRUE, a systemic decision is needs_data while
        # one is unknown (cohort/verdict.py rule 1), tested only for those rows
        unknown = " OR ".join(f"({x}) IS NULL" for _, x in self.scope)
        scope_nd = f" WHEN {unknown} THEN {v['needs_data']}" if unknown else ""
        vc = (
            f"CASE WHEN okey IS NULL THEN (CASE WHEN sst = 2 THEN (CASE WHEN scope_exclusions IS NOT NULL"
            f" THEN {v['out_of_scope']} WHEN {is_ns} THEN {v['no_systemic_indicated']}{scope_nd}"
            f" ELSE {v['not_listed']} END) ELSE {v['needs_data']} END)"
            # named TRUE: no_systemic_indicated, FALSE: not_listed (one less), NULL: needs_data; under an
            # undetermined setting (sst 1) not_listed is needs_data too (cohort/verdict.py rule 5)
            f" WHEN {is_ns} THEN COALESCE(NULLIF({v['no_systemic_indicated']}"
            f" - CAST(NOT ({named}) AS INTEGER), CASE WHEN sst = 1 THEN {v['not_listed']} END),"
            f" {v['needs_data']})"
            # a systemic decision under an undetermined setting: needs_data whatever it matches (rule 5)
            f" WHEN sst = 1 THEN {v['needs_data']}"
            f" WHEN pick IS NULL THEN {v['not_listed']}"
            f" ELSE ({d.int_div('pick', str(POS))} * 2) % 3 END"
        )
        vpos = f"CASE WHEN pick IS NOT NULL AND NOT {is_ns} THEN pick % {POS} END"  # most rows: no pick
        return [
            cte("verdict1", "per_key", [("pick", pick), ("scope_exclusions", self._scope())]),
            cte("verdict", "verdict1", [("vc", vc), ("vpos", vpos)]),
        ]

    def _missing(self) -> tuple[str, str]:
        """The ``missing_bits`` stage's column and ``missing_fields`` decoded from it
        (cohort/missing_sql.py :func:`missing_columns`)."""
        entries = {cand.key: [(r.pos, r.entry.when) for r in self._refs(cand)] for cand in self.candidates}
        return missing_columns(self.cc, self.kb, self.candidates, entries)

    def _entry_at(self, values: list[str], vocab: tuple[str, ...] | list[str]) -> str:
        """The picked entry's value from a constant list over every entry of the knowledge (NULL when
        no entry is picked)."""
        offsets = [0]
        for cand in self.candidates:
            offsets.append(offsets[-1] + len(cand.column.entries))
        off = self.d.list_at(self.d.array([str(o) for o in offsets[:-1]]), "okey")  # okey is set with vpos
        return _picked(self.d.list_at(words(self.d, values, vocab), f"{off} + vpos"))

    def _failing(self) -> str:
        arms = []
        for cand in self.candidates:
            inner = [
                (str(r.pos), self.cc.decisive_text(r.entry.when, False, says_of))
                for r in self._refs(cand)
                if r.entry.when is not None
            ]
            if inner:
                arms.append((str(cand.key), case(inner, subject="vpos")))
        return f"CASE WHEN vc = {VERDICTS.index('listed_not_eligible')} THEN {case(arms, subject='okey')} END"

    def options_expansion(self) -> str:
        """``options``: every entry of the applicable column as a struct, from the compact lists."""
        d = self.d
        arms = []
        for cand in self.candidates:
            structs = [
                d.struct(
                    [
                        ("entry_id", lit(r.entry.id)),
                        ("regimen", lit(r.entry.regimen)),
                        ("status", as_text(d, d.list_at("option_status", str(r.pos)))),
                        ("tier", lit(r.entry.tier)),
                        ("category", as_text(d, d.list_at("option_category", str(r.pos)))),
                    ]
                )
                for r in self._refs(cand)
            ]
            arms.append((str(cand.key), d.array(structs)))
        empty = d.typed_empty_array(d.struct_type([(f, "string") for f in OPTION_FIELDS]))
        return case(arms, empty, subject="okey")

    def _finals(self, expand: bool) -> dict[str, str]:
        d = self.d
        tables = [k.table.id for k in self.candidates]
        cols = [k.column.id for k in self.candidates]
        table_vocab = list(dict.fromkeys(tables))
        col_vocab = list(dict.fromkeys(c for c in cols if c))
        entries = [r.entry for r in self.entries]
        passed = (
            {  # validated rows: the regimen is a DECISION_IDS word, the site one of SITES or NULL
                "decision_regimen": d.list_at(words(d, DECISION_IDS, DECISION_IDS), "di"),
                "primary_site": d.list_at(words(d, SITES, SITES), "sp"),
            }
            if typed(d)
            else {"primary_site": "tumor__primary_site"}
        )
        return {
            **passed,
            "setting_table": d.list_at_or_null(words(d, tables, table_vocab), "tkey", "tkey"),
            "setting_column": (
                d.list_at_or_null(words(d, cols, col_vocab), "okey", "okey")
                if col_vocab
                else f"CAST(NULL AS {d.type_of('string')})"
            ),
            "setting_status": d.list_at(words(d, SETTING_WORDS, SETTING_WORDS), "sst + 1"),
            "options": self.options_expansion() if expand else "",
            "verdict": d.list_at(words(d, VERDICTS, VERDICTS), "vc + 1"),
            "verdict_entry_id": self._entry_at([e.id for e in entries], [e.id for e in entries]),
            "failing_condition": self._failing(),
            "chosen_tier": self._entry_at([e.tier for e in entries], TIER_ORDER),
            "chosen_category": _picked(d.list_at("option_category", "vpos")),
        }

    def sql(self, source: str = "decisions", expand: bool = True) -> str:
        """The full audit statement reading the canonical relation ``source``; ``expand`` adds the
        ``options`` list of structs (entry_id, regimen, status, tier, category) beside the compact
        ``option_status`` / ``option_category`` lists (aligned with the column's entries)."""
        # every leaf and history bit is registered (by _compile_nodes) before any stage is written
        setting = self._setting()
        register_history(self.cc)  # before the missing fields read a table over the lines
        missing_bits, missing_fields = self._missing()
        later = [
            *setting,
            self._per_key(),
            *self._verdict(),
            cte("missing", "verdict", [("missing_bits", missing_bits)]),
        ]
        finals = {**self._finals(expand), "missing_fields": missing_fields}
        # leaves read only by category rules and non-systemic principles (a few rows of one branch
        # each) are written inline there instead of computed for every row
        eager = [e for _, e in self.node_cols] + setting + [self._status(r) for r in self.entries]
        used = names_in(" ".join([*eager, finals["failing_condition"]]))
        lazy = frozenset(name for name in self.cc.leaves.values() if name not in used)
        ctes, inlined = fact_stages(self.cc, source, self._decision(), lazy)
        ctes.append(cte("nodes", "leaves", self.node_cols, self.node_notes))
        ctes += [substitute(stage, inlined) for stage in later]
        cols = [c for c in RESULT_COLUMNS if expand or c != "options"]
        outs = [f"{finals[c]} AS {c}" if c in finals else c for c in cols]
        head = (
            f"-- netcds cohort audit: {self.kb.id} {self.kb.release} (digest {self.kb.digest}),"
            f" dialect {self.d.name}\n"
        )
        return head + "WITH\n" + ",\n".join(ctes) + "\nSELECT\n  " + ",\n  ".join(outs) + "\nFROM missing"


def conditions_sql(
    conditions: dict[str, Condition],
    dialect: str = "duckdb",
    source: str = "decisions",
    explain: bool = False,
) -> str:
    """Any conditions as SQL: one row per decision point, one column per condition (TRUE/FALSE/NULL);
    with ``explain``, also ``<name>__why``: what decided it (cohort/verdict.py ``decisive``)."""
    cc = ConditionCompiler(get_dialect(dialect), SILENT_NULLS, AMONG)
    cols = [(name, cc.expr(c)) for name, c in conditions.items()]
    if explain:
        for name, c in conditions.items():
            v = cc.expr(c)
            cols.append(
                (
                    f"{name}__why",
                    f"CASE WHEN {v} IS TRUE THEN {cc.decisive_text(c, True, says_of)}"
                    f" WHEN {v} IS FALSE THEN {cc.decisive_text(c, False, says_of)} END",
                )
            )
    ctes, _ = fact_stages(cc, source)
    return (
        "WITH\n"
        + ",\n".join(ctes)
        + "\nSELECT row_id,\n  "
        + ",\n  ".join(f"{e} AS {n}" for n, e in cols)
        + "\nFROM leaves"
    )


def audit_sql(kb: Knowledge, dialect: str = "duckdb", source: str = "decisions", expand: bool = True) -> str:
    return AuditQuery(kb, dialect).sql(source, expand)


def option_entries(kb: Knowledge) -> list[dict[str, object]]:
    """The static side of the options: for each (table, column), its entries in order. Position ``i``
    matches element ``i`` of ``option_status`` / ``option_category``."""
    return [
        {
            "setting_table": t.id,
            "setting_column": c.id,
            "position": i,
            "entry_id": e.id,
            "regimen": e.regimen,
            "tier": e.tier,
            "label": e.label,
        }
        for t in kb.tables
        for c in t.columns
        for i, e in enumerate(c.entries, start=1)
    ]
