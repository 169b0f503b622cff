"""The derived facts of facts.py and grading.py as SQL over the canonical columns (cohort/layout.py).

Each function mirrors its namesake there line by line (``_grade`` <-> ``grading.derive_grade``
...); the history-based facts use the one-pass treatment coding of
:class:`netcds.logic.sql.HistoryBits`. Stage 1 reads raw columns only, stage 2 reads stage 1.
A change in facts.py or grading.py must be mirrored here: tests/cohort compare both on thousands of
generated patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netcds.facts import (
    GUT_BY_COLON_SEGMENT,
    GUT_BY_DUODENAL_PART,
    GUT_BY_SITE,
    SMALL_BOWEL_SITES,
    SSA_AGENTS,
    THORACIC_SITES,
)
from netcds.logic.sql import (
    PROGRESSION_ASSESSED,
    Dialect,
    HistoryBits,
    in_expr,
    matching_treatment_agents,
)
from netcds.vocabulary import fact_specs

_NOT_PROGRESSIVE = ("stable", "no_evidence_of_disease")  # facts._progressive: False


def _rank(x: str, g1_below: float, g2_upto: float) -> str:
    # 1 below g1_below, 2 up to g2_upto, else 3; NULL when x is (arithmetic on NULL is NULL)
    return f"(1 + CAST({x} >= {g1_below!r} AS INTEGER) + CAST({x} > {g2_upto!r} AS INTEGER))"


# a lung/thymus primary with no subtype or grade recorded, < 2 mitoses/2 mm² and necrosis not recorded:
# typical or atypical carcinoid (grading.derive_lung_subtype), G1 or G2 (grading._typical_or_atypical_grade)
_CARCINOID_UNSETTLED = (
    "tumor__primary_site IN ('lung', 'thymus') AND tumor__lung_subtype IS NULL"
    " AND tumor__mitoses_per_2mm2 < 2.0 AND tumor__necrosis IS NULL AND tumor__grade IS NULL"
)


_M, _N = "tumor__mitoses_per_2mm2", "tumor__necrosis"
_THORACIC = f"COALESCE({in_expr('tumor__primary_site', THORACIC_SITES)}, FALSE)"
_BEYOND = f"COALESCE({_M} > 10.0, FALSE)"  # above the carcinoid range by the WHO thoracic criteria


def _subtype_off(sub: str) -> str:
    # grading._subtype_conflict: the carcinoid subtype ``sub`` (SQL) against the recorded morphology
    return (
        f"(({sub} = 'typical_carcinoid' AND (COALESCE({_M} >= 2.0, FALSE) OR COALESCE({_N}, FALSE)))"
        f" OR ({sub} = 'atypical_carcinoid' AND ({_BEYOND}"
        f" OR (COALESCE({_M} < 2.0, FALSE) AND COALESCE(NOT {_N}, FALSE)))))"
    )


# grading.derive_lung_subtype / thoracic_disagreement: the subtype recorded, else read from a recorded G1/G2
_RECORDED_SUBTYPE = (
    "COALESCE(tumor__lung_subtype, CASE WHEN tumor__grade = 'G1' THEN 'typical_carcinoid'"
    " WHEN tumor__grade = 'G2' THEN 'atypical_carcinoid' END)"
)
# grading._thoracic_grade_disagreement: the recorded grade's carcinoid, else (no grade) the recorded subtype
_GRADE_SUBTYPE = (
    "CASE WHEN tumor__grade = 'G1' THEN 'typical_carcinoid'"
    " WHEN tumor__grade = 'G2' THEN 'atypical_carcinoid'"
    " WHEN tumor__grade IS NULL THEN tumor__lung_subtype END"
)
# a lung/thymus subtype or grade the record contradicts (session 38): unknown; typical against atypical is
# a carcinoid either way (the ``among`` below), beyond the carcinoid range is not
SUBTYPE_OFF = f"({_THORACIC} AND COALESCE({_subtype_off(_RECORDED_SUBTYPE)}, FALSE))"
_GRADE_SUBTYPE_OFF = f"({_THORACIC} AND COALESCE({_subtype_off(_GRADE_SUBTYPE)}, FALSE))"
GRADE_OFF = (
    f"({_GRADE_SUBTYPE_OFF} OR ({_THORACIC} AND tumor__grade = 'G3' AND COALESCE({_M} <= 10.0, FALSE)))"
)
_SUBTYPE_AMONG = f"({SUBTYPE_OFF} AND NOT {_BEYOND})"
_GRADE_AMONG = f"({_GRADE_SUBTYPE_OFF} AND NOT {_BEYOND})"


def _grade(d: Dialect) -> str:
    # grading.derive_grade: a lung or thymus primary (grading._thoracic_grade) is graded by the recorded
    # grade, else the recorded carcinoid subtype, else the mitotic count by the thoracic cut-points (2-10);
    # Ki-67 never grades it, so with only Ki-67 the grade is NULL (naming fields, so no silent null);
    # with < 2 mitoses and necrosis unrecorded it is NULL too, known to be G1 or G2 (the ``among`` below)
    m = "tumor__mitoses_per_2mm2"
    thoracic = in_expr("tumor__primary_site", THORACIC_SITES)
    grades = [1, 2, 3], ["G1", "G2", "G3"]
    # the other primaries: the higher of the Ki-67 and mitotic ranks by the digestive cut-points, either
    # alone when the other is unknown (greatest skips NULLs in DuckDB and Spark)
    rk = _rank("tumor__ki67_percent", 3.0, 20.0)
    return (
        f"CASE WHEN {thoracic} THEN {_thoracic_grade(d)}"
        f" WHEN {_CROSSING} THEN NULL"
        " WHEN tumor__grade IS NOT NULL THEN tumor__grade"
        f" ELSE {d.lookup(f'greatest({rk}, {_rank(m, 2.0, 20.0)})', *grades)} END"
    )


def _thoracic_grade(d: Dialect) -> str:
    # grading._thoracic_grade
    m = _M
    grades = [1, 2, 3], ["G1", "G2", "G3"]
    return (
        f"(CASE WHEN {GRADE_OFF} THEN NULL WHEN tumor__grade IS NOT NULL THEN tumor__grade"
        " WHEN tumor__lung_subtype IS NOT NULL"
        " THEN (CASE WHEN tumor__lung_subtype = 'typical_carcinoid' THEN 'G1' ELSE 'G2' END)"
        # necrosis with fewer than 2 mitoses (or no count) makes a carcinoid atypical: G2
        f" WHEN tumor__necrosis AND ({m} IS NULL OR {m} < 2.0) THEN 'G2'"
        # < 2 mitoses with necrosis unrecorded: G1 or G2, NULL (no ELSE)
        f" WHEN NOT (tumor__necrosis IS NULL AND {m} < 2.0)"
        f" THEN {d.lookup(_rank(m, 2.0, 10.0), *grades)} END)"
    )


# grading._crossing (a digestive or other non-thoracic primary; the thoracic test comes first): G1 or G2
# recorded with Ki-67 > 20 % or > 20 mitoses/2 mm², or G3 recorded with both measures recorded at G1/G2;
# the grade is then unknown (NULL where a measure is NULL: the comparison is not TRUE)
_CROSSING = (
    "(tumor__grade IN ('G1', 'G2') AND (tumor__ki67_percent > 20.0 OR tumor__mitoses_per_2mm2 > 20.0))"
    " OR (tumor__grade = 'G3' AND tumor__ki67_percent <= 20.0 AND tumor__mitoses_per_2mm2 <= 20.0)"
)


def _lung_subtype() -> str:
    m, n = "tumor__mitoses_per_2mm2", "tumor__necrosis"
    return (
        "CASE WHEN tumor__primary_site NOT IN ('lung', 'thymus') THEN NULL"
        f" WHEN {SUBTYPE_OFF} THEN NULL"
        " WHEN tumor__lung_subtype IS NOT NULL THEN tumor__lung_subtype"
        " WHEN tumor__grade = 'G1' THEN 'typical_carcinoid'"
        " WHEN tumor__grade = 'G2' THEN 'atypical_carcinoid'"
        f" WHEN {m} >= 2.0 AND {m} <= 10.0 THEN 'atypical_carcinoid'"
        f" WHEN {n} = TRUE AND ({m} IS NULL OR {m} <= 10.0) THEN 'atypical_carcinoid'"
        f" WHEN {m} < 2.0 AND {n} = FALSE THEN 'typical_carcinoid' END"
    )


def _differentiation() -> str:
    # a grade unknown but G1 or G2 implies well-differentiated either way (grading.derive_differentiation)
    return (
        "CASE WHEN tumor__differentiation IS NOT NULL THEN tumor__differentiation"
        f" WHEN tumor__lung_subtype IS NOT NULL AND NOT ({_THORACIC} AND {_BEYOND}) THEN 'well'"
        f" WHEN derived__grade IN ('G1', 'G2') OR ({_CARCINOID_UNSETTLED}) OR {_GRADE_AMONG} THEN 'well' END"
    )


def _gut(d: Dialect) -> str:
    by_seg = sorted(GUT_BY_COLON_SEGMENT.items())
    by_part = sorted(GUT_BY_DUODENAL_PART.items())
    by_site = sorted(GUT_BY_SITE.items())
    return (
        f"CASE WHEN tumor__primary_site = 'colon'"
        f" THEN {d.lookup('tumor__colon_segment', [s for s, _ in by_seg], [g for _, g in by_seg])}"
        f" WHEN tumor__primary_site = 'duodenum'"
        f" THEN {d.lookup('tumor__duodenal_part', [s for s, _ in by_part], [g for _, g in by_part])}"
        f" ELSE {d.lookup('tumor__primary_site', [s for s, _ in by_site], [g for _, g in by_site])} END"
    )


def _locoregional_advanced() -> str:
    return (
        "CASE WHEN disease__extent = 'distant_metastatic' THEN FALSE WHEN disease__extent IS NULL THEN NULL"
        " WHEN disease__resectable = FALSE THEN TRUE WHEN disease__resectable = TRUE THEN FALSE END"
    )


def _advanced() -> str:
    # not resectable: locoregional advanced or distant metastatic, whatever the (unrecorded) extent
    return (
        "CASE WHEN disease__extent = 'distant_metastatic' THEN TRUE"
        " WHEN derived__locoregional_advanced = TRUE THEN TRUE"
        " WHEN derived__locoregional_advanced = FALSE THEN FALSE"
        " WHEN disease__resectable = FALSE THEN TRUE END"
    )


def _progressive() -> str:
    if set(fact_specs()["disease.status"].values or ()) == {"progressive", *_NOT_PROGRESSIVE}:
        # every recorded status is one of these: a plain comparison (NULL when unrecorded), which
        # DuckDB evaluates once per distinct value of the column
        return "(disease__status = 'progressive')"
    return (
        "CASE WHEN disease__status = 'progressive' THEN TRUE"
        f" WHEN {in_expr('disease__status', _NOT_PROGRESSIVE)} THEN FALSE END"
    )


def _functional(d: Dialect) -> str:
    return (
        "CASE WHEN tumor__functional IS NOT NULL THEN tumor__functional"
        " WHEN tumor__hormonal_symptoms THEN TRUE"
        " WHEN tumor__syndromes IS NULL THEN NULL"
        f" WHEN {d.list_len('tumor__syndromes')} > 0 THEN TRUE ELSE FALSE END"
    )


def _on_ssa(d: Dialect) -> str:
    # facts._on_ssa: a recorded octreotide LAR / lanreotide line (the regimen ids standing for them too)
    # with no end and no stop reason; FALSE for a recorded history without one (an empty list included),
    # NULL without a history.
    # A pass of its own over the lines, not a HistoryBits flag (whose line features do not hold the end):
    # only the 5.2024-r12 SSA entries read it, so only their audits pay for it
    ssa = in_expr("t.agent", matching_treatment_agents(SSA_AGENTS))
    going = f"({ssa} AND t.end_date IS NULL AND t.stop_reason IS NULL)"
    return f"({d.contains(d.transform('treatments', ('t',), going), 'TRUE')})"


def _reproductive(column: str) -> str:
    return f"(CASE WHEN {column} IS NOT NULL THEN {column} WHEN sex = 'male' THEN FALSE END)"


def _mesenteric() -> str:
    # as recorded; unrecorded, false outside the small bowel (facts._mesenteric)
    return (
        "CASE WHEN disease__small_bowel_mesenteric IS NOT NULL THEN disease__small_bowel_mesenteric"
        f" WHEN {in_expr('tumor__primary_site', SMALL_BOWEL_SITES, negate=True)} THEN FALSE END"
    )


@dataclass(frozen=True)
class DerivedSql:
    name: str  # the fact path, e.g. derived.grade
    stage: int
    expr: Callable[[Dialect, HistoryBits], str]
    reads: tuple[str, ...]  # canonical columns it needs
    # TRUE when the fact is unknown yet names no missing field (facts.py: Derived(None, why) with ())
    silent_null: str | None = None
    # (SQL TRUE where the fact is unknown yet known to lie among values, those values): Derived.among
    among: tuple[str, tuple[str, ...]] | None = None


_T = ("treatments", "disease__status", PROGRESSION_ASSESSED)
DERIVED_SQL: dict[str, DerivedSql] = {
    d.name: d
    for d in (
        DerivedSql(
            "derived.grade",
            1,
            lambda d, _: _grade(d),
            (
                "tumor__grade",
                "tumor__primary_site",
                "tumor__lung_subtype",
                "tumor__ki67_percent",
                "tumor__mitoses_per_2mm2",
                "tumor__necrosis",
            ),
            # grading._typical_or_atypical_grade: no grade or subtype recorded, < 2 mitoses, no necrosis
            among=(f"({_CARCINOID_UNSETTLED}) OR {_GRADE_AMONG}", ("G1", "G2")),
        ),
        DerivedSql(
            "derived.lung_subtype",
            1,
            lambda _, __: _lung_subtype(),
            (
                "tumor__primary_site",
                "tumor__lung_subtype",
                "tumor__grade",
                "tumor__mitoses_per_2mm2",
                "tumor__necrosis",
            ),
            silent_null="tumor__primary_site NOT IN ('lung', 'thymus')",
            # grading.derive_lung_subtype: no subtype recorded, < 2 mitoses, necrosis and grade not recorded
            among=(
                f"({_CARCINOID_UNSETTLED}) OR {_SUBTYPE_AMONG}",
                ("typical_carcinoid", "atypical_carcinoid"),
            ),
        ),
        DerivedSql(
            "derived.gut",
            1,
            lambda d, _: _gut(d),
            ("tumor__primary_site", "tumor__colon_segment", "tumor__duodenal_part"),
        ),
        DerivedSql(
            "derived.locoregional_advanced",
            1,
            lambda _, __: _locoregional_advanced(),
            ("disease__extent", "disease__resectable"),
        ),
        DerivedSql("derived.progressive", 1, lambda _, __: _progressive(), ("disease__status",)),
        DerivedSql(
            "derived.significant_progression",
            1,
            lambda _, __: (
                "(CASE WHEN disease__progression_clinically_significant IS NOT NULL"
                " THEN disease__progression_clinically_significant"
                f" WHEN {_progressive()} IS FALSE THEN FALSE END)"
            ),
            ("disease__progression_clinically_significant", "disease__status"),
        ),
        DerivedSql(
            "derived.functional",
            1,
            lambda d, _: _functional(d),
            ("tumor__functional", "tumor__syndromes", "tumor__hormonal_symptoms"),
        ),
        DerivedSql(
            "derived.symptomatic",
            1,
            lambda _, __: "(disease__tumor_symptoms OR tumor__hormonal_symptoms)",
            ("disease__tumor_symptoms", "tumor__hormonal_symptoms"),
        ),
        DerivedSql(
            "derived.burden_significant",
            1,
            lambda _, __: "(disease__tumor_burden <> 'mild')",
            ("disease__tumor_burden",),
        ),
        DerivedSql(
            "derived.small_bowel_mesenteric",
            1,
            lambda _, __: _mesenteric(),
            ("tumor__primary_site", "disease__small_bowel_mesenteric"),
        ),
        DerivedSql("derived.sstr_status", 1, lambda _, __: "tumor__sstr_status", ("tumor__sstr_status",)),
        DerivedSql("derived.progressed_on_ssa", 1, lambda _, h: h.progressed_on(SSA_AGENTS), _T),
        DerivedSql(
            "derived.progressed_on_standard_ssa",
            1,
            lambda _, h: h.progressed_on(SSA_AGENTS, level="standard"),
            _T,
        ),
        DerivedSql("derived.progressed_after_prior_therapy", 1, lambda _, h: h.progressed_after_prior(), _T),
        DerivedSql("derived.on_ssa", 1, lambda d, _: _on_ssa(d), ("treatments",)),
        # facts._reproductive: as recorded; unrecorded, false for a male patient
        DerivedSql("derived.pregnant", 1, lambda _, __: _reproductive("pregnant"), ("pregnant", "sex")),
        DerivedSql(
            "derived.breastfeeding", 1, lambda _, __: _reproductive("breastfeeding"), ("breastfeeding", "sex")
        ),
        DerivedSql(
            "derived.differentiation",
            2,
            lambda _, __: _differentiation(),
            (
                "tumor__differentiation",
                "tumor__lung_subtype",
                "derived__grade",
                "tumor__primary_site",
                "tumor__mitoses_per_2mm2",
                "tumor__necrosis",
                "tumor__grade",
            ),
        ),
        DerivedSql(
            "derived.advanced",
            2,
            lambda _, __: _advanced(),
            ("disease__extent", "derived__locoregional_advanced", "disease__resectable"),
        ),
    )
}
DERIVED_DEPENDS: dict[str, tuple[str, ...]] = {
    "derived.differentiation": ("derived.grade",),
    "derived.advanced": ("derived.locoregional_advanced",),
}


def derived_closure(names: set[str]) -> list[str]:
    """``names`` plus the derived facts they read, in DERIVED_SQL order."""
    want = set(names)
    for n in list(want):
        want.update(DERIVED_DEPENDS.get(n, ()))
    return [n for n in DERIVED_SQL if n in want]


# derived fact -> SQL that is TRUE when it is unknown without naming a missing field
SILENT_NULLS: dict[str, str] = {n: d.silent_null for n, d in DERIVED_SQL.items() if d.silent_null}
# derived fact -> (SQL TRUE where it is unknown but known to lie among values, the values)
AMONG: dict[str, tuple[str, tuple[str, ...]]] = {n: d.among for n, d in DERIVED_SQL.items() if d.among}
