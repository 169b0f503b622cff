"""What a ``needs_data`` verdict waits for (``missing_fields``), as SQL: the mirror of the ``missing``
lists of logic/evaluate.py (``Outcome.missing``) and facts.py (``Derived.missing``).

An unknown comparison names the fields that would settle its fact: a recorded field its own path, a
derived fact the fields facts.py names for it (worked out here from the same columns); a history
predicate ``treatments`` when the history is unknown, else, for each line that counts and leaves the
progression unknown, ``treatments[i].progressed`` (or ``treatments[i].dose_mg`` and
``treatments[i].interval_days`` where only an SSA line's dose level is unknown). An unknown
``all``/``any``/``not`` names what its unknown children name; a known node names nothing. The audit
sorts the list and names each field once (cohort/verdict.py does the same with the engine's lists).
A change of a ``missing`` list in facts.py must be mirrored here: the equivalence tests compare them.

Every path a condition can name is known when the SQL is compiled, so each gets one bit of a BIGINT
(bits in the sorted order of the paths) and a node's missing fields are the bitwise OR of its
children's: integer operations only, where a text per node (concatenated, then split, sorted and
made distinct) had cost ~2.4 µs per needs_data row on DuckDB. The treatment-line paths
(``treatments[i].progressed``) depend on the row's lines: a history predicate sets a flag bit for its
agents and dose level, and the lines' paths are written as text at the end, only for rows whose flags
are set. :meth:`MissingSql.settled` decodes the bits once per row: the constant sorted list of the
paths filtered by the row's bits is already sorted and distinct; only a row with line paths is sorted.
The bit positions come from a first pass over the same conditions (:meth:`MissingSql.probe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netcds.cohort.derived_sql import GRADE_OFF, SUBTYPE_OFF
from netcds.cohort.layout import DECISION_IDS, NON_SYSTEMIC, NON_SYSTEMIC_BASIS, VERDICTS, scope_exclusions
from netcds.cohort.setting_sql import Candidate
from netcds.cohort.sqltext import case, in_ints
from netcds.facts import SSA_AGENTS, THORACIC_GRADE_FIELDS, THORACIC_SITES
from netcds.grading import THORACIC_AMONG_FIELDS
from netcds.history import (
    SSA_READINGS,
)
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.logic.sql import (
    LEVEL_CODES,
    TREATMENT_AGENT_VALUES,
    ConditionCompiler,
    SqlCompileError,
    in_expr,
    lit,
    matching_treatment_agents,
    ssa_level_code,
)

_GRADE_FIELDS = ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2")


SEP = ","  # between the treatment-line paths of the text; no field path holds it
_BITS = 62  # bits a BIGINT holds for the paths and the flags (the sign bit left alone)
# a treatment line's paths, one bit each in a line's mask (MissingSql._line_text)
_LINE_FIELDS = ("agent", "dose_mg", "interval_days", "progressed")
_AGENT, _DOSE, _PROGRESSED = 1, 2 | 4, 8


class MissingSql:
    """Field paths over the audit's stages (the leaves of ``cc`` and the canonical columns the derived
    facts read) as the bits of a BIGINT (0 for none); :meth:`settled` makes the sorted list.

    Built twice over the same conditions: a probe (no ``known``) records the paths and the line flags
    it is asked for and writes placeholders; the second instance, given the probe, writes the bits."""

    def __init__(self, cc: ConditionCompiler, known: MissingSql | None = None) -> None:
        self.cc = cc
        self.d = cc.d
        self.none = "0"
        self.names: set[str] = set()
        self.flags: dict[tuple[tuple[str, ...], str | None], int] = {}  # (agents, level) -> flag number
        self.bit: dict[str, int] = {}
        self.probing = known is None
        if known is not None:
            self.names, self.flags = known.names, known.flags
            self.bit = {name: k for k, name in enumerate(sorted(known.names))}
            if len(self.bit) + len(self.flags) > _BITS:
                raise SqlCompileError(
                    f"{len(self.bit)} field paths and {len(self.flags)} line flags do not fit"
                    f" the {_BITS} bits of missing_fields (cohort/missing_sql.py)"
                )

    @classmethod
    def probe(cls, cc: ConditionCompiler) -> MissingSql:
        return cls(cc)

    def _int(self, value: int) -> str:
        return str(value) if value < 2**31 else f"CAST({value} AS {self.d.type_of('bigint')})"

    def paths(self, names: Sequence[str]) -> str:
        """Constant field paths."""
        if not names:
            return self.none
        if self.probing:
            self.names.update(names)
            return "1"
        return self._int(sum(1 << self.bit[n] for n in set(names)))

    def unrecorded(self, *names: str) -> str:
        """Each of the field paths ``names`` while its canonical column (``tumor.grade``: ``tumor__grade``)
        is NULL (``facts.missing_for`` of a recorded field: it names itself)."""
        return self.concat(
            [f"CASE WHEN {n.replace('.', '__')} IS NULL THEN {self.paths([n])} ELSE 0 END" for n in names]
        )

    def concat(self, parts: Sequence[str]) -> str:
        """The paths of all ``parts`` (each 0 for none)."""
        kept = [p for p in parts if p != self.none]
        if not kept:
            return self.none
        return kept[0] if len(kept) == 1 else "(" + " | ".join(kept) + ")"

    def settled(self, bits: str) -> str:
        """The list of the paths of the column ``bits`` (NULL for NULL), sorted, each once
        (``sorted(set(...))`` in Python)."""
        d, names = self.d, sorted(self.bit)
        if not self.flags:
            return f"CASE WHEN {bits} IS NOT NULL THEN {self._decoded(bits, names)} END"
        lines = self._line_text(bits, len(names))
        static = self._decoded(f"({bits} & {self._int((1 << len(names)) - 1)})", names)
        merged = d.sorted_distinct(
            d.list_concat(static, d.split_nonempty(f"COALESCE({lines}, '')", lit(SEP)))
        )
        return (
            f"CASE WHEN {bits} IS NULL THEN NULL WHEN {bits} < {self._int(1 << len(names))}"
            f" THEN {self._decoded(bits, names)} ELSE {merged} END"
        )

    def _decoded(self, bits: str, names: list[str]) -> str:
        """The ``names`` whose bits ``bits`` sets (no flag bit set), in their (sorted) order. Most rows
        name one field: its bit's position is its index (log2, rounded: Spark's log2 is a quotient of
        logarithms), without a lambda over every path."""
        d = self.d
        empty = d.typed_empty_array(d.type_of("string"))
        if not names:
            return empty
        paths = d.array([lit(n) for n in names])
        one = d.array([d.list_at(paths, f"CAST(round(log2({bits})) AS INTEGER) + 1")])
        many = d.filter_indexed(paths, ("x", "k"), f"{d.shift_right(bits, f'(k - {d.index_base})')} % 2 = 1")
        return (
            f"CASE WHEN {bits} = 0 THEN {empty} WHEN ({bits} & ({bits} - 1)) = 0 THEN {one} ELSE {many} END"
        )

    @staticmethod
    def concat_text(parts: Sequence[str]) -> str:
        return parts[0] if len(parts) == 1 else f"concat_ws({lit(SEP)}, {', '.join(parts)})"

    def node(self, c: Condition | None, value: str | None = None) -> str:
        """What ``c`` names as missing: its ``Outcome.missing`` when unknown, none when known. ``value``:
        SQL for ``c``'s value if a column holds it (cheaper than the condition), or ``"NULL"`` where ``c``
        is known to be unknown (no test)."""
        if c is None:
            return self.none
        if isinstance(c, Not):
            return self.node(c.item, value)
        if isinstance(c, Compare | History):
            what = self._leaf(c)
        elif isinstance(c, All | AnyOf):
            what = self.concat([self.node(k) for k in c.items])
        else:  # pragma: no cover
            raise SqlCompileError(f"no missing-field mirror for {type(c).__name__}")
        if value == "NULL" or what == self.none:
            return what
        return f"CASE WHEN {value or self.cc.expr(c)} IS NULL THEN {what} ELSE 0 END"

    def _leaf(self, c: Compare | History) -> str:
        """The leaf's missing fields where it is unknown (its fact is NULL)."""
        if isinstance(c, History):
            if c.op == "received":
                return self.paths(["treatments"])
            return self._progressed_on(c.agents, None)
        if not c.fact.startswith("derived."):
            return self.paths([c.fact])  # facts.missing_for: a recorded field names itself
        return self._derived(c.fact)

    def _derived(self, fact: str) -> str:
        """facts.py's ``Derived.missing`` of an unknown derived fact, from the columns it is derived from."""
        p = self.paths
        thoracic = in_expr("tumor__primary_site", tuple(sorted(THORACIC_SITES)))
        extent = (
            f"CASE WHEN disease__extent IS NULL THEN {p(['disease.extent'])}"
            f" ELSE {p(['disease.resectable'])} END"
        )
        one = {
            "derived.differentiation": "tumor.differentiation",
            "derived.progressive": "disease.status",
            "derived.significant_progression": "disease.progression_clinically_significant",
            "derived.burden_significant": "disease.tumor_burden",
            "derived.small_bowel_mesenteric": "disease.small_bowel_mesenteric",
            "derived.sstr_status": "tumor.sstr_status",
        }
        if fact in one:
            return p([one[fact]])
        if fact == "derived.grade":
            # grading._thoracic_grade: a count below 2 with the grade unknown leaves only the necrosis
            # unrecorded (grading._typical_or_atypical_grade: G1 or G2)
            # grading._thoracic_grade_disagreement: the recorded grade (else subtype) and the morphology
            recorded = (
                f"CASE WHEN tumor__grade IS NOT NULL THEN {p(['tumor.grade'])}"
                f" ELSE {p(['tumor.lung_subtype'])} END"
            )
            by_count = (
                f"CASE WHEN {GRADE_OFF} THEN ({recorded} | {self._morphology()})"
                f" WHEN tumor__mitoses_per_2mm2 < 2.0 THEN {p(THORACIC_AMONG_FIELDS)}"
                f" ELSE {p(THORACIC_GRADE_FIELDS)} END"
            )
            # grading._crossing: a recorded grade across the G1/2 | G3 line from its measures names itself
            # and the measures that disagree (G1/G2: those above 20; G3: both)
            high = self.concat(
                [
                    f"CASE WHEN {f.replace('.', '__')} > 20.0 THEN {p([f])} ELSE 0 END"
                    for f in _GRADE_FIELDS[1:]
                ]
            )
            crossing = (
                f"CASE WHEN tumor__grade IS NULL OR tumor__grade = 'G3' THEN {p(_GRADE_FIELDS)}"
                f" ELSE ({p(['tumor.grade'])} | {high}) END"
            )
            return f"CASE WHEN {thoracic} THEN {by_count} ELSE {crossing} END"
        if fact == "derived.lung_subtype":  # unknown without naming a field for another primary
            m = "tumor__mitoses_per_2mm2"
            unrecorded = self.unrecorded("tumor.grade", "tumor.necrosis")
            # grading.derive_lung_subtype: unknown with < 2 mitoses only while necrosis is unrecorded
            no_count = f"({p(['tumor.lung_subtype', 'tumor.mitoses_per_2mm2'])} | {unrecorded})"
            # grading.thoracic_disagreement: the recorded subtype (else grade) and the morphology
            recorded = (
                f"CASE WHEN tumor__lung_subtype IS NOT NULL THEN {p(['tumor.lung_subtype'])}"
                f" ELSE {p(['tumor.grade'])} END"
            )
            by_count = (
                f"CASE WHEN {SUBTYPE_OFF} THEN ({recorded} | {self._morphology()})"
                f" WHEN {m} IS NULL THEN {no_count}"
                f" WHEN {m} < 2.0 THEN {p(['tumor.lung_subtype', 'tumor.necrosis'])}"
                f" ELSE {p(['tumor.lung_subtype'])} END"
            )
            return f"CASE WHEN {thoracic} THEN {by_count} ELSE 0 END"
        if fact == "derived.functional":  # facts._functional: the hormonal flag would settle it too
            return self.concat([p(["tumor.functional"]), self.unrecorded("tumor.hormonal_symptoms")])
        if fact == "derived.gut":
            return (
                f"CASE WHEN tumor__primary_site = 'colon' THEN {p(['tumor.colon_segment'])}"
                f" WHEN tumor__primary_site = 'duodenum' THEN {p(['tumor.duodenal_part'])}"
                f" ELSE {p(['tumor.primary_site'])} END"
            )
        if fact in ("derived.locoregional_advanced", "derived.advanced"):
            return extent
        if fact in ("derived.pregnant", "derived.breastfeeding"):  # facts._reproductive: the sex too
            return self.concat([self.unrecorded("sex"), p([fact.removeprefix("derived.")])])
        if fact == "derived.symptomatic":
            return self.unrecorded("disease.tumor_symptoms", "tumor.hormonal_symptoms")
        if fact == "derived.progressed_after_prior_therapy":  # every line of unrecorded progression
            lines = self._progressed_on(TREATMENT_AGENT_VALUES, None)
            known = self.concat([lines, self.unrecorded("disease.status")])
            return f"CASE WHEN treatments IS NULL THEN {p(['treatments'])} ELSE {known} END"
        if fact == "derived.on_ssa":  # facts._on_ssa: unknown only without a treatment history
            return p(["treatments"])
        if fact == "derived.progressed_on_ssa":
            return self._progressed_on(tuple(SSA_AGENTS), None)
        if fact == "derived.progressed_on_standard_ssa":
            return self._progressed_on(tuple(SSA_AGENTS), "standard")
        raise SqlCompileError(f"no missing-field mirror for {fact} (cohort/missing_sql.py)")

    def _morphology(self) -> str:
        """grading._morphology_fields: the recorded mitotic count and necrosis."""
        p = self.paths
        return self.concat(
            [
                f"CASE WHEN {n.replace('.', '__')} IS NOT NULL THEN {p([n])} ELSE 0 END"
                for n in ("tumor.mitoses_per_2mm2", "tumor.necrosis")
            ]
        )

    def _progressed_on(self, agents: Sequence[str], level: str | None) -> str:
        """facts.progressed_on's missing fields where it is unknown: ``treatments`` without a history, else
        the flag of ``agents`` at ``level``, which :meth:`settled` turns into the paths of each line of
        those agents whose progression (or dose level) is unknown (:meth:`_lines`)."""
        hits = matching_treatment_agents(tuple(agents))
        if not hits:  # no line can count: never unknown but for an unknown history
            return self.paths(["treatments"])
        key = (hits, level)
        if self.probing:
            self.flags.setdefault(key, len(self.flags))
            told = _told(hits)
            self.cc.bits.need_lines(("pt", *(("agent",) if told else ()), *(("lv",) if level else ())), told)
            return f"CASE WHEN treatments IS NULL THEN {self.paths(['treatments'])} ELSE 1 END"
        flag = self._int(1 << (len(self.bit) + self.flags[key]))
        return f"CASE WHEN treatments IS NULL THEN {self.paths(['treatments'])} ELSE {flag} END"

    def _line_text(self, bits: str, first_flag: int) -> str:
        """The paths (text, ``SEP``-separated) of the lines behind the row's set line flags (bit
        ``first_flag + k`` for flag ``k``), in two passes over the line table ``tl``: each line's paths
        as the bits of a small mask (OR over the set flags of the flag's mask at the line's position),
        then the mask's paths, the masks read from constant texts (``Dialect.code_at``). One pass per
        flag, each with a four-arm ``CASE`` over a constant list inside the lambda, had cost DuckDB
        ~260 ms per 10^6 benchmark rows for the ~900 that needed them."""
        d = self.d
        parts = []
        for key, k in self.flags.items():
            masks = self._line_masks(*key)
            if any(masks):
                flag = f"{d.shift_right(bits, str(first_flag + k))} % 2 = 1"
                parts.append(f"CASE WHEN {flag} THEN {d.code_at(masks, 'x')} ELSE 0 END")
        if not parts:
            return "''"
        at = f"CAST((i - {d.index_base}) AS {d.type_of('string')})"
        paths = ", ".join(
            f"CASE WHEN (lm & {1 << j}) <> 0 THEN ('treatments[' || {at} || '].{field}') END"
            for j, field in enumerate(_LINE_FIELDS)
        )
        per_line = d.transform(
            d.transform("tl", ("x",), parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"),
            ("lm", "i"),
            f"concat_ws({lit(SEP)}, {paths})",
        )
        return d.join(per_line, lit(SEP))

    def _line_masks(self, hits: tuple[str, ...], level: str | None) -> list[int]:
        """Per position of the line table (``tl``, :meth:`HistoryBits.need_lines`), the paths (bits of
        ``_LINE_FIELDS``) a line of the agents ``hits`` (at ``level``) names when it leaves
        facts.progressed_on unknown: its progression, or an SSA line's dose and interval (and its agent
        where the regimen id ``ssa``'s readings differ)."""
        want = LEVEL_CODES[level] if level else None
        # a line's agent meets ``hits``: told by name when they are the ones told apart (need_lines, in the
        # probe), else by not being one of the others (an agent not told apart, None, is one of ``hits``)
        fewer = _told(hits) == hits

        def mask(x: dict[str, Any]) -> int:
            if (x.get("agent") in hits) != fewer:
                return 0
            lv, pt = x["lv"], x["pt"]
            if want is not None and lv not in (0, want):
                return 0
            if pt == 1:  # progression unknown (no sign, not an ongoing line assessed since it began)
                return _PROGRESSED
            if want is None or pt not in (2, 3) or lv != 0:
                return 0
            ds, iv = x.get("ds", 0), x.get("is", 0)
            readings = [ssa_level_code(a, ds, iv) for a in SSA_READINGS]
            if x.get("agent") == "ssa" and (ds or iv) and len(set(readings)) > 1:
                # the agent path (and the dose's where a reading is unknown)
                return _AGENT | (_DOSE if 0 in readings else 0)
            return _DOSE

        return self.cc.bits.line_table(mask)


def _told(hits: tuple[str, ...]) -> tuple[str, ...]:
    """The agents the line table must tell apart to know whether a line's agent is one of ``hits``:
    ``hits``, or the others where they are fewer (none when ``hits`` are every agent)."""
    others = tuple(a for a in TREATMENT_AGENT_VALUES if a not in hits)
    return hits if len(hits) <= len(others) else others


def missing_columns(
    cc: ConditionCompiler,
    kb: Knowledge,
    candidates: Sequence[Candidate],
    entries: dict[int, list[tuple[int, Condition | None]]],
) -> tuple[str, str]:
    """``missing_fields`` of a needs_data verdict (cohort/verdict.py ``missing_fields``), sorted, each
    once: under an undetermined setting (``sst`` 1) what the candidate settings wait for
    (engine/setting.py ``SettingResult.missing``); where no table applies (``sst`` 2) what the unknown
    marked exclusions wait for; for a non-systemic decision what the table's
    principles for it wait for; else what the picked entry's condition waits for; none for an
    ``ambiguous`` record. NULL for every other verdict. ``entries``: each candidate's (position, condition)
    of its column's entries. Gives (the ``missing_bits`` stage's column, the list decoded from it).
    Written twice: a probe finds the paths and line flags the conditions name, which fix the bits."""

    def column(ms: MissingSql) -> str:
        # a candidate's table row is a column of ``nodes``; where the setting applies, the picked needs_data
        # entry's condition is unknown (no test needed)
        setting = ms.concat(
            [
                f"CASE WHEN v{k.key} IS NULL THEN"
                f" {ms.concat([ms.node(k.table.applies_when, k.t), ms.node(k.column.when)])} ELSE 0 END"
                for k in candidates
            ]
        )
        by_entry, nonsys = [], []
        for cand in candidates:
            inner = [(str(pos), ms.node(when, "NULL")) for pos, when in entries[cand.key] if when is not None]
            if inner:
                by_entry.append((str(cand.key), case(inner, "0", subject="vpos")))
            by_r = []
            for r in NON_SYSTEMIC:
                parts = [
                    ms.node(kb.principles[pid].when)
                    for pid in NON_SYSTEMIC_BASIS[r]
                    if pid in cand.table.principles
                ]
                if parts:
                    by_r.append((lit(r), ms.concat(parts)))
            if by_r:
                nonsys.append((str(cand.key), case(by_r, "0", subject="decision_regimen")))
        is_ns = in_ints("di", {DECISION_IDS.index(r) + 1 for r in NON_SYSTEMIC})
        # no table applies (sst 2, a systemic decision): what the unknown marked exclusions wait for
        scope = ms.concat([ms.node(e.when) for e in scope_exclusions(kb)])
        bits = (
            f"CASE WHEN sst = 1 THEN {setting} WHEN sst = 3 THEN 0 WHEN sst = 2 THEN {scope} WHEN {is_ns}"
            f" THEN {case(nonsys, '0', subject='okey')} ELSE {case(by_entry, '0', subject='okey')} END"
        )
        return f"CASE WHEN vc = {VERDICTS.index('needs_data')} THEN {bits} END"

    probe = MissingSql.probe(cc)
    column(probe)
    ms = MissingSql(cc, probe)
    return column(ms), ms.settled("missing_bits")
