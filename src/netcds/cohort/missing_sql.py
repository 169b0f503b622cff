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

The paths are put together as text (comma-separated; NULL or empty for none) and split into the list
once, at the end: building a list at every node costs more (measured on DuckDB).
"""

from __future__ import annotations

from collections.abc import Sequence

from netcds.cohort.sqltext import case
from netcds.facts import SSA_AGENTS, THORACIC_GRADE_FIELDS, THORACIC_SITES
from netcds.history import (
    STANDARD_DOSE_CEILING_MG,
    STANDARD_DOSE_FLOOR_MG,
    STANDARD_MAX_INTERVAL_DAYS,
    STANDARD_MIN_INTERVAL_DAYS,
)
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.logic.sql import ConditionCompiler, SqlCompileError, in_expr, lit, matching_treatment_agents

_GRADE_FIELDS = ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2")
_SUBTYPE_FIELDS = ("tumor.lung_subtype", "tumor.grade", "tumor.mitoses_per_2mm2", "tumor.necrosis")


SEP = ","  # between the paths of the text; no field path holds it


class MissingSql:
    """Field paths over the audit's stages (the leaves of ``cc`` and the canonical columns the derived
    facts read) as text: ``SEP``-separated, NULL or empty for none; :meth:`settled` makes the list."""

    def __init__(self, cc: ConditionCompiler) -> None:
        self.cc = cc
        self.d = cc.d
        self.none = "NULL"

    def paths(self, names: Sequence[str]) -> str:
        """Constant field paths."""
        return lit(SEP.join(names)) if names else self.none

    def concat(self, parts: Sequence[str]) -> str:
        """The paths of ``parts`` one after the other (a NULL part names none)."""
        if not parts:
            return self.none
        return parts[0] if len(parts) == 1 else f"concat_ws({lit(SEP)}, {', '.join(parts)})"

    def settled(self, text: str) -> str:
        """The list of the paths, sorted, each once (``sorted(set(...))`` in Python)."""
        return self.d.sorted_distinct(self.d.split_nonempty(f"COALESCE({text}, '')", lit(SEP)))

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
        if value == "NULL":
            return what
        return f"CASE WHEN {value or self.cc.expr(c)} IS NULL THEN {what} END"

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
            "derived.functional": "tumor.functional",
            "derived.burden_significant": "disease.tumor_burden",
            "derived.small_bowel_mesenteric": "disease.small_bowel_mesenteric",
            "derived.sstr_status": "tumor.sstr_status",
        }
        if fact in one:
            return p([one[fact]])
        if fact == "derived.grade":
            return f"CASE WHEN {thoracic} THEN {p(THORACIC_GRADE_FIELDS)} ELSE {p(_GRADE_FIELDS)} END"
        if fact == "derived.lung_subtype":  # unknown without naming a field for another primary
            return f"CASE WHEN {thoracic} THEN {p(_SUBTYPE_FIELDS)} END"
        if fact == "derived.gut":
            return (
                f"CASE WHEN tumor__primary_site = 'colon' THEN {p(['tumor.colon_segment'])}"
                f" ELSE {p(['tumor.primary_site'])} END"
            )
        if fact in ("derived.locoregional_advanced", "derived.advanced"):
            return extent
        if fact == "derived.symptomatic":
            return self.concat(
                [
                    f"CASE WHEN {column} IS NULL THEN {p([path])} END"
                    for column, path in (
                        ("disease__tumor_symptoms", "disease.tumor_symptoms"),
                        ("tumor__hormonal_symptoms", "tumor.hormonal_symptoms"),
                    )
                ]
            )
        if fact == "derived.progressed_after_prior_therapy":
            return f"CASE WHEN treatments IS NULL THEN {p(['treatments'])} ELSE {p(['disease.status'])} END"
        if fact == "derived.progressed_on_ssa":
            return self._progressed_on(tuple(SSA_AGENTS), None)
        if fact == "derived.progressed_on_standard_ssa":
            return self._progressed_on(tuple(SSA_AGENTS), "standard")
        raise SqlCompileError(f"no missing-field mirror for {fact} (cohort/missing_sql.py)")

    def _progressed_on(self, agents: Sequence[str], level: str | None) -> str:
        """facts.progressed_on's missing fields where it is unknown: ``treatments`` without a history, else
        those of each line of ``agents`` (at ``level``) whose progression is unknown."""
        d, t, i = self.d, "t", "i"
        hits = matching_treatment_agents(tuple(agents))
        if not hits:  # no line can count: never unknown but for an unknown history
            return self.paths(["treatments"])
        at = f"CAST(({i} - {d.index_base}) AS {d.type_of('string')})"

        def line_path(field: str) -> str:
            return f"('treatments[' || {at} || '].{field}')"

        # the line's progression as facts.progressed_on infers it (a sign of it, or ongoing while progressing)
        prog = (
            f"COALESCE({t}.progressed,"
            f" CASE WHEN {t}.stop_reason = 'progression' OR {t}.progression_date IS NOT NULL THEN TRUE END,"
            f" CASE WHEN {t}.end_date IS NULL AND disease__status = 'progressive' THEN TRUE END)"
        )
        arms = [(f"NOT COALESCE({in_expr(f'{t}.agent', hits)}, FALSE)", "''")]
        lv = _ssa_level(t)
        if level is not None:
            arms.append((f"({lv}) IS NOT NULL AND ({lv}) <> {lit(level)}", "''"))
        arms.append((f"{prog} IS NULL", line_path("progressed")))
        if level is not None:
            dose = f"{line_path('dose_mg')} || {lit(SEP)} || {line_path('interval_days')}"
            arms.append((f"{prog} AND ({lv}) IS NULL", dose))
        per_line = case(arms, "''")
        lines = d.join(d.transform("treatments", (t, i), per_line), lit(SEP))
        return f"CASE WHEN treatments IS NULL THEN {self.paths(['treatments'])} ELSE {lines} END"


def _ssa_level(t: str) -> str:
    """history.ssa_dose_level of the line ``t``: 'standard', 'above_label', 'below_standard' or NULL."""
    ceiling = case([(f"{t}.agent = {lit(a)}", repr(float(v))) for a, v in STANDARD_DOSE_CEILING_MG.items()])
    floor = case([(f"{t}.agent = {lit(a)}", repr(float(v))) for a, v in STANDARD_DOSE_FLOOR_MG.items()])
    long_acting = in_expr(f"{t}.agent", tuple(STANDARD_DOSE_CEILING_MG))
    return (
        f"CASE WHEN {t}.agent = 'ssa' THEN 'standard' WHEN {t}.agent = 'ssa_above_label' THEN 'above_label'"
        f" WHEN NOT COALESCE({long_acting}, FALSE) THEN NULL"
        f" WHEN {t}.dose_mg > {ceiling} THEN 'above_label'"
        f" WHEN {t}.interval_days < {float(STANDARD_MIN_INTERVAL_DAYS)!r} THEN 'above_label'"
        f" WHEN {t}.dose_mg < {floor} THEN 'below_standard'"
        f" WHEN {t}.interval_days > {float(STANDARD_MAX_INTERVAL_DAYS)!r} THEN 'below_standard'"
        f" WHEN {t}.dose_mg IS NOT NULL AND {t}.interval_days IS NOT NULL THEN 'standard' END"
    )
