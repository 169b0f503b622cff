"""The audit query: one knowledge version compiled to one SQL statement over ``decisions``.

Stages (CTEs), each adding columns to the one before:

1. ``base``      the canonical columns the knowledge reads (enum words meaning "unknown" -> NULL),
                 the treatment history packed into bit flags (``tx0``...), and ``dmask``: which
                 entry regimens the decision matches (cohort/layout.py ``matching_decisions``)
2. ``derived1``  derived facts (facts.py) that read only raw fields
3. ``derived2``  derived facts that read other derived facts
4. ``leaves``    every distinct comparison / history predicate, once (``l0``, ``l1``, ...)
5. ``nodes``     table rows, columns, entry conditions, category rules, principles (3-valued)
6. ``setting``   which table/column applies (engine/setting.py); ``okey`` numbers the candidate
7. ``options``   each entry's status code (0 eligible, 1 needs_data, 2 not_eligible) and category
8. ``verdict``   the concordance verdict of the decision (cohort/verdict.py)

Keys and statuses are small integers until the last SELECT spells them out. The result has
one row per decision point (columns: :data:`RESULT_COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from netcds.cohort.derived_sql import DERIVED_SQL, SILENT_NULLS, derived_closure
from netcds.cohort.layout import NON_SYSTEMIC, NON_SYSTEMIC_BASIS, canonical_columns, matching_decisions
from netcds.knowledge.schema import Column, Entry, Knowledge, Table
from netcds.logic.ast import Condition
from netcds.logic.evaluate import says_of
from netcds.logic.sql import ConditionCompiler, Dialect, SqlCompileError, lit
from netcds.logic.sql import dialect as get_dialect
from netcds.vocabulary import fact_specs

RESULT_COLUMNS: tuple[str, ...] = (
    "row_id", "patient_id", "decision_date", "decision_regimen", "primary_site",
    "setting_table", "setting_column", "setting_status", "option_status", "option_category", "options",
    "verdict", "verdict_entry_id", "failing_condition", "chosen_tier", "chosen_category",
)  # fmt: skip
OPTION_FIELDS: tuple[str, ...] = ("entry_id", "regimen", "status", "tier", "category")
STATUS_WORDS = ("eligible", "needs_data", "not_eligible")


@dataclass(frozen=True)
class Candidate:
    key: int  # 1-based, in table then column order (engine/setting.py's candidate order)
    table: Table
    column: Column
    t: str  # table row value column
    c: str  # column value column


@dataclass(frozen=True)
class EntryRef:
    j: int  # 1-based over the whole knowledge version
    cand: Candidate
    entry: Entry
    ident: str


def _ident(prefix: str, text: str, taken: set[str]) -> str:
    base = prefix + "".join(ch if ch.isalnum() else "_" for ch in text)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _case(arms: list[tuple[str, str]], default: str | None = None, subject: str | None = None) -> str:
    if not arms:
        return default or "NULL"
    head = f"CASE {subject} " if subject else "CASE "
    body = " ".join(f"WHEN {w} THEN {t}" for w, t in arms)
    return head + body + (f" ELSE {default}" if default is not None else "") + " END"


def _select(name: str, prev: str, cols: list[tuple[str, str]], comments: dict[str, str] | None = None) -> str:
    if not cols:
        return f"{name} AS (SELECT * FROM {prev})"  # noqa: S608
    lines = []
    for alias, expr in cols:
        note = (comments or {}).get(alias)
        if note:
            lines.append(f"    -- {note}")
        lines.append(f"    {expr} AS {alias},")
    body = "\n".join(lines).rstrip(",")
    return f"{name} AS (\n  SELECT *,\n{body}\n  FROM {prev}\n)"  # noqa: S608


class AuditQuery:
    """Builds the audit SQL for one knowledge version and one dialect."""

    def __init__(self, kb: Knowledge, dialect: str | Dialect = "duckdb") -> None:
        self.kb = kb
        self.d = get_dialect(dialect) if isinstance(dialect, str) else dialect
        self.cc = ConditionCompiler(self.d, SILENT_NULLS)
        self.taken: set[str] = set()
        self.node_cols: list[tuple[str, str]] = []
        self.node_notes: dict[str, str] = {}
        self.candidates: list[Candidate] = []
        self.entries: list[EntryRef] = []
        self.regimens: list[str] = []  # distinct entry regimens; bit i of dmask
        self._compile_nodes()

    # -- nodes ----------------------------------------------------------------------------
    def _node(self, prefix: str, label: str, expr: str, note: str | None = None) -> str:
        name = _ident(prefix, label, self.taken)
        self.node_cols.append((name, expr))
        if note:
            self.node_notes[name] = note
        return name

    def _compile_nodes(self) -> None:
        seen: set[str] = set()
        for table in self.kb.tables:
            t = self._node("t_", table.id, self.cc.expr(table.applies_when), f"row criteria of {table.id}")
            for column in table.columns:
                label = f"{table.id}/{column.id or ''}"
                c = self._node("c_", label, self.cc.expr(column.when), f"column {label}")
                cand = Candidate(len(self.candidates) + 1, table, column, t, c)
                self.candidates.append(cand)
                for e in column.entries:
                    if e.id in seen:
                        raise SqlCompileError(f"entry id '{e.id}' is used twice; verdicts need unique ids")
                    seen.add(e.id)
                    ref = EntryRef(len(self.entries) + 1, cand, e, _ident("", e.id, self.taken))
                    self.entries.append(ref)
                    if e.regimen not in self.regimens:
                        self.regimens.append(e.regimen)
                    self.cc.expr(e.when)  # registers its leaves; evaluated inline in its column's branch
                    for rule in e.category_rules:
                        self.cc.expr(rule.when)
        if len(self.regimens) > 62:
            raise SqlCompileError("more than 62 distinct entry regimens: dmask needs a second column")
        for table in self.kb.tables:
            for pid in table.principles:
                if any(pid in basis for basis in NON_SYSTEMIC_BASIS.values()):
                    p = self.kb.principles[pid]
                    self._node(
                        "p_", f"{table.id}_{pid}", self.cc.expr(p.when), f"principle {pid} ({table.id})"
                    )

    # -- stages ---------------------------------------------------------------------------
    def _dmask(self) -> str:
        arms: dict[str, int] = {}
        for i, reg in enumerate(self.regimens):
            for dec in matching_decisions(reg):
                arms[dec] = arms.get(dec, 0) | (1 << i)
        return _case([(lit(dec), str(mask)) for dec, mask in arms.items()], "0", "decision_regimen")

    def _setting(self) -> list[str]:
        vals = [(k, f"({k.t} AND {k.c})") for k in self.candidates]
        n_sure = " + ".join(f"(CASE WHEN {v} IS TRUE THEN 1 ELSE 0 END)" for _, v in vals)
        n_cand = " + ".join(f"(CASE WHEN {v} IS NOT FALSE THEN 1 ELSE 0 END)" for _, v in vals)
        tables = list(dict.fromkeys(k.table.id for k in self.candidates))
        n_tables = " + ".join(
            "(CASE WHEN "
            + " OR ".join(f"{v} IS NOT FALSE" for k, v in vals if k.table.id == tid)
            + " THEN 1 ELSE 0 END)"
            for tid in tables
        )
        missing_arms = []
        for k in self.candidates:
            parts = []
            for node, cond in ((k.t, k.table.applies_when), (k.c, k.column.when)):
                m = self.cc.reports_missing(cond)
                parts.append(f"({node} IS NULL)" if m is None else f"({node} IS NULL AND {m})")
            missing_arms.append((str(k.key), "(" + " OR ".join(parts) + ")"))
        s1 = _select(
            "setting1",
            "nodes",
            [
                ("n_sure", f"({n_sure})"),
                ("n_cand", f"({n_cand})"),
                ("n_cand_tables", f"({n_tables})"),
                ("sure_key", _case([(f"{v} IS TRUE", str(k.key)) for k, v in vals])),
                ("cand_key", _case([(f"{v} IS NOT FALSE", str(k.key)) for k, v in vals])),
            ],
        )
        table_of = _case([(str(k.key), lit(k.table.id)) for k in self.candidates], subject="{}")
        col_of = _case([(str(k.key), lit(k.column.id)) for k in self.candidates if k.column.id], subject="{}")
        s2 = _select(
            "setting",
            "setting1",
            [
                (
                    "setting_status",
                    "CASE WHEN n_sure > 1 THEN 'ambiguous' WHEN n_sure = 1 THEN 'applies'"
                    " WHEN n_cand > 0 THEN 'needs_data' ELSE 'not_applicable' END",
                ),
                (
                    "setting_table",
                    f"CASE WHEN n_sure > 1 THEN NULL WHEN n_sure = 1 THEN {table_of.format('sure_key')}"
                    f" WHEN n_cand = 1 OR n_cand_tables = 1 THEN {table_of.format('cand_key')} END",
                ),
                (
                    "setting_column",
                    f"CASE WHEN n_sure > 1 THEN NULL WHEN n_sure = 1 THEN {col_of.format('sure_key')}"
                    f" WHEN n_cand = 1 THEN {col_of.format('cand_key')} END",
                ),
                (
                    "okey",
                    "CASE WHEN n_sure > 1 THEN NULL WHEN n_sure = 1 THEN sure_key"
                    " WHEN n_cand = 1 THEN cand_key END",
                ),
                (
                    "force_unknown",
                    f"(n_sure = 0 AND n_cand = 1 AND {_case(missing_arms, 'FALSE', 'cand_key')})",
                ),
            ],
        )
        return [s1, s2]

    def _status(self, ref: EntryRef) -> str:
        """0 eligible, 1 needs_data, 2 not_eligible (engine/options.py, with the setting's doubt)."""
        if ref.entry.when is None:
            return "(CASE WHEN force_unknown THEN 1 ELSE 0 END)"
        w = self.cc.expr(ref.entry.when)
        return f"(CASE WHEN {w} IS FALSE THEN 2 WHEN force_unknown OR {w} IS NULL THEN 1 ELSE 0 END)"

    def _category(self, ref: EntryRef) -> str:
        e = ref.entry
        default = lit(e.category or self.kb.manifest.default_category)
        arms = [(f"{self.cc.expr(r.when)} IS TRUE", lit(r.category)) for r in e.category_rules]
        return _case(arms, default)

    def _refs(self, cand: Candidate) -> list[EntryRef]:
        return [r for r in self.entries if r.cand is cand]

    def _codes(self) -> str:
        """Each entry's status code (and category when it has rules), evaluated only for the rows
        whose applicable column holds the entry; NULL elsewhere."""
        cols = []
        for r in self.entries:
            cols.append((f"s_{r.ident}", f"CASE WHEN okey = {r.cand.key} THEN {self._status(r)} END"))
            if r.entry.category_rules:
                cols.append((f"cat_{r.ident}", f"CASE WHEN okey = {r.cand.key} THEN {self._category(r)} END"))
        return _select("codes", "setting", cols)

    def _cat_ref(self, r: EntryRef) -> str:
        return (
            f"cat_{r.ident}"
            if r.entry.category_rules
            else lit(r.entry.category or self.kb.manifest.default_category)
        )

    def _per_key(self) -> str:
        """One branch per candidate setting: the column's status words, categories and the verdict pick."""
        d = self.d
        word = "(CASE {} WHEN 0 THEN 'eligible' WHEN 1 THEN 'needs_data' ELSE 'not_eligible' END)"
        st_arms, cat_arms, pick_arms = [], [], []
        for cand in self.candidates:
            refs = self._refs(cand)

            def match(r: EntryRef) -> str:
                return f"((dmask & {1 << self.regimens.index(r.entry.regimen)}) <> 0)"

            # 4 * position + (0 first eligible match, 1 first needs_data match, 2 first match)
            firsts = [
                _case(
                    [
                        (f"{match(r)} AND s_{r.ident} = {code}", str(4 * i + code))
                        for i, r in enumerate(refs, start=1)
                    ]
                )
                for code in (0, 1)
            ]
            firsts.append(_case([(match(r), str(4 * i + 2)) for i, r in enumerate(refs, start=1)]))
            # three separate expressions (not one struct), so a query that needs only the verdict
            # never builds the per-option lists
            st_arms.append((str(cand.key), d.array([word.format(f"s_{r.ident}") for r in refs])))
            cat_arms.append((str(cand.key), d.array([self._cat_ref(r) for r in refs])))
            pick_arms.append((str(cand.key), f"COALESCE({', '.join(firsts)})"))
        nonsys = []
        for cand in self.candidates:
            by_r = []
            for r in NON_SYSTEMIC:
                parts = [
                    f"p_{cand.table.id}_{pid}"
                    for pid in NON_SYSTEMIC_BASIS[r]
                    if pid in cand.table.principles
                ]
                if r == "surgery" and any(e.intent == "neoadjuvant" for e in cand.column.entries):
                    parts.append("TRUE")
                by_r.append((lit(r), "(" + " OR ".join(parts) + ")" if parts else "FALSE"))
            nonsys.append((str(cand.key), _case(by_r, subject="decision_regimen")))
        return _select(
            "per_key",
            "codes",
            [
                ("option_status", _case(st_arms, subject="okey")),
                ("option_category", _case(cat_arms, subject="okey")),
                ("pick", _case(pick_arms, subject="okey")),
                ("is_non_systemic", f"(decision_regimen IN ({', '.join(lit(r) for r in NON_SYSTEMIC)}))"),
                ("non_systemic_named", _case(nonsys, subject="okey")),
            ],
        )

    def _verdict(self) -> list[str]:
        d = self.d
        v1 = _select("verdict1", "per_key", [("vpos", d.int_div("pick", "4")), ("vcode", "pick % 4")])
        v2 = _select(
            "verdict",
            "verdict1",
            [
                (
                    "verdict",
                    "CASE WHEN setting_status = 'not_applicable' THEN (CASE WHEN is_non_systemic"
                    " THEN 'no_systemic_indicated' ELSE 'not_listed' END)"
                    " WHEN okey IS NULL THEN 'needs_data'"
                    " WHEN is_non_systemic THEN (CASE WHEN non_systemic_named IS TRUE THEN"
                    " 'no_systemic_indicated' WHEN non_systemic_named IS FALSE THEN 'not_listed'"
                    " ELSE 'needs_data' END)"
                    " WHEN vpos IS NULL THEN 'not_listed'"
                    " ELSE (CASE vcode WHEN 0 THEN 'concordant' WHEN 1 THEN 'needs_data'"
                    " ELSE 'listed_not_eligible' END) END",
                ),
            ],
        )
        return [v1, v2]

    def _by_key(self, f: str) -> str:
        """``CASE okey WHEN k THEN [value for each entry of k][vpos]``: a per-key constant list, indexed."""
        arms = []
        for cand in self.candidates:
            arms.append(
                (
                    str(cand.key),
                    self.d.list_at(
                        self.d.array([lit(getattr(r.entry, f)) for r in self._refs(cand)]), "vpos"
                    ),
                )
            )
        # never index with NULL: Spark 4.x mis-evaluates element_at(array literal, NULL)
        return f"CASE WHEN vpos IS NOT NULL THEN {_case(arms, subject='okey')} END"

    def _failing(self) -> str:
        arms = []
        for cand in self.candidates:
            inner = [
                (str(i), self.cc.decisive_text(r.entry.when, False, says_of))
                for i, r in enumerate(self._refs(cand), start=1)
                if r.entry.when is not None
            ]
            if inner:
                arms.append((str(cand.key), _case(inner, subject="vpos")))
        return f"CASE WHEN verdict = 'listed_not_eligible' THEN {_case(arms, subject='okey')} END"

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
                        ("status", d.list_at("option_status", str(i))),
                        ("tier", lit(r.entry.tier)),
                        ("category", d.list_at("option_category", str(i))),
                    ]
                )
                for i, r in enumerate(self._refs(cand), start=1)
            ]
            arms.append((str(cand.key), d.array(structs)))
        empty = d.typed_empty_array(d.struct_type([(f, "string") for f in OPTION_FIELDS]))  # type: ignore[attr-defined]
        return _case(arms, empty, subject="okey")

    def _finals(self, expand: bool) -> dict[str, str]:
        return {
            "primary_site": "tumor__primary_site",
            "options": self.options_expansion() if expand else "",
            "verdict_entry_id": self._by_key("id"),
            "failing_condition": self._failing(),
            "chosen_tier": self._by_key("tier"),
            "chosen_category": f"CASE WHEN vpos IS NOT NULL THEN {self.d.list_at('option_category', 'vpos')}"
            " END",
        }

    def sql(self, source: str = "decisions", expand: bool = True) -> str:
        """The full audit statement reading the canonical relation ``source``; ``expand`` adds the
        ``options`` list of structs (entry_id, regimen, status, tier, category) beside the compact
        ``option_status`` / ``option_category`` lists (aligned with the column's entries)."""
        later = [*self._setting(), self._codes(), self._per_key(), *self._verdict()]
        finals = self._finals(expand)  # every leaf and history bit is registered before the early stages
        ctes = fact_stages(self.cc, source, [f"CAST({self._dmask()} AS BIGINT) AS dmask"])
        ctes.append(_select("nodes", "leaves", self.node_cols, self.node_notes))
        ctes += later
        cols = [c for c in RESULT_COLUMNS if expand or c != "options"]
        outs = [f"{finals[c]} AS {c}" if c in finals else c for c in cols]
        head = (
            f"-- netcds cohort audit: {self.kb.id} {self.kb.version} (digest {self.kb.digest}),"
            f" dialect {self.d.name}\n"
        )
        return head + "WITH\n" + ",\n".join(ctes) + "\nSELECT\n  " + ",\n  ".join(outs) + "\nFROM verdict"


def fact_stages(cc: ConditionCompiler, source: str, extra: list[str] | None = None) -> list[str]:
    """The ``base``, ``derived1``, ``derived2`` and ``leaves`` CTEs for everything ``cc`` compiled."""
    derived = derived_closure({f for f in cc.facts if f.startswith("derived.")})
    stages = {}
    for stage in (1, 2):
        cols = [
            (n.replace(".", "__"), DERIVED_SQL[n].expr(cc.d, cc.bits))
            for n in derived
            if DERIVED_SQL[n].stage == stage
        ]
        stages[stage] = _select(f"derived{stage}", "base" if stage == 1 else "derived1", cols)
    reads = {c for n in derived for c in DERIVED_SQL[n].reads if not c.startswith("derived__")}
    raw = {f.replace(".", "__") for f in cc.facts if not f.startswith("derived.")}
    need = reads | raw | {"tumor__primary_site"}
    specs = fact_specs()
    lines: list[str] = []
    for column in canonical_columns():
        if column.name in ("row_id", "patient_id", "decision_date", "decision_regimen"):
            lines.append(f"    {column.name}")
        elif column.name in need:
            spec = specs.get(column.path or "")
            if spec is not None and (spec.kind == "text" or "unknown" in spec.values):
                # facts.flatten: the word 'unknown' is UNKNOWN
                lines.append(
                    f"    CASE WHEN {column.name} = 'unknown' THEN NULL ELSE {column.name} END"
                    f" AS {column.name}"
                )
            else:
                lines.append(f"    {column.name}")
    lines += [f"    {expr} AS {name}" for name, expr in cc.bits.columns()]
    lines += [f"    {e}" for e in extra or []]
    base = "base AS (\n  SELECT\n" + ",\n".join(lines) + f"\n  FROM {source}\n)"
    leaves = _select("leaves", "derived2", [(name, sql) for sql, name in cc.leaves.items()])
    return [base, stages[1], stages[2], leaves]


def conditions_sql(
    conditions: dict[str, Condition],
    dialect: str = "duckdb",
    source: str = "decisions",
    explain: bool = False,
) -> str:
    """Any conditions as SQL: one row per decision point, one column per condition (TRUE/FALSE/NULL);
    with ``explain``, also ``<name>__why``: what decided it (cohort/verdict.py ``decisive``)."""
    cc = ConditionCompiler(get_dialect(dialect), SILENT_NULLS)
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
    ctes = fact_stages(cc, source)
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
