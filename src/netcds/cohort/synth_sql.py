"""SYNTHETIC canonical decision points generated inside DuckDB, for benchmarks at 1e7-1e8 rows.

The Python generator (synth.py) validates every record through the Patient model, which is
the right path for files but too slow for a hundred million rows. This one writes canonical
rows directly with SQL, in chunks, from a hash of (seed, row, field): the same seed and
row give the same values. The mix follows synth.py in broad strokes (site, grade, SSTR,
functional share, prior lines, SSA lines recorded as the regimen id ``ssa`` with or without a dose
and an interval, choices with an off-guideline share, missing values); the duodenal part by synth.py's
very mix (``DUODENAL_PART_MIX``: every part, and none). Every generated row is a valid contract record
by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

from netcds.cohort.layout import canonical_columns
from netcds.cohort.run_duckdb import column_types
from netcds.cohort.synth import DUODENAL_PART_MIX


def _u(field: str, seed: int) -> str:
    """A uniform [0, 1) value per (seed, row, field)."""
    return f"((hash(i, {seed}, '{field}') % 1000003) / 1000003.0)"


def _pick(field: str, seed: int, mix: Sequence[tuple[str | None, float]]) -> str:
    """One value of ``mix`` by its weight (None: NULL)."""
    u, acc, arms = _u(field, seed), 0.0, []

    def text(value: str | None) -> str:
        return "NULL" if value is None else f"'{value}'"

    for value, w in mix[:-1]:
        acc += w
        arms.append(f"WHEN {u} < {acc:.4f} THEN {text(value)}")
    return f"(CASE {' '.join(arms)} ELSE {text(mix[-1][0])} END)"


def _drop(expr: str, field: str, seed: int, missing: float) -> str:
    return f"(CASE WHEN {_u('miss_' + field, seed)} < {missing} THEN NULL ELSE {expr} END)"


# SYNTHETIC: the share of first (SSA) lines recorded as the regimen id ``ssa`` (as synth.py), of those the
# share without a dose and an interval, and the doses one may carry by the agent given (synth.py)
SSA_REGIMEN_SHARE = 0.18
SSA_REGIMEN_BARE = 0.35
SSA_REGIMEN_DOSES = {"octreotide_lar": (10.0, 20.0, 30.0, 60.0), "lanreotide": (60.0, 90.0, 120.0, 120.0)}


def _ssa_regimen(k: int, seed: int) -> tuple[str, str, str]:
    """SQL of line ``k`` (the SSA line) for (recorded as the regimen id ``ssa``, its dose, its interval):
    the dose and interval of an octreotide LAR / lanreotide line, or of an ``ssa`` one (none, or a usual
    dose of the agent given, every 4 or 8 weeks, either of the two sometimes unrecorded). Fields of their
    own (``r``, ``rb``, ``rd``, ``ri``, ``rs``): every other value is the one the generator gave before."""

    def u(field: str) -> str:
        return _u(f"{field}{k}", seed)

    oct_ = f"{u('a')} < 0.5"
    regimen = f"({u('r')} < {SSA_REGIMEN_SHARE})"
    above = f"{u('d')} < 0.1"
    n = len(SSA_REGIMEN_DOSES["octreotide_lar"])
    pick = f"CAST(floor({u('rd')} * {n}) AS INTEGER)"
    doses = " ".join(
        f"WHEN {pick} = {j} THEN (CASE WHEN {oct_} THEN {o!r} ELSE {lan!r} END)"
        for j, (o, lan) in enumerate(
            zip(SSA_REGIMEN_DOSES["octreotide_lar"], SSA_REGIMEN_DOSES["lanreotide"], strict=True)
        )
    )
    plain_dose = f"(CASE WHEN {oct_} THEN 30.0 ELSE 120.0 END)"
    plain_interval = f"(CASE WHEN {above} THEN 14.0 ELSE 28.0 END)"
    bare, shape = f"{u('rb')} < {SSA_REGIMEN_BARE}", u("rs")
    dose = (
        f"(CASE WHEN NOT {regimen} THEN {plain_dose} WHEN {bare} OR ({shape} >= 0.3 AND {shape} < 0.45)"
        f" THEN NULL WHEN {above} THEN {plain_dose} ELSE (CASE {doses} END) END)"
    )
    interval = (
        f"(CASE WHEN NOT {regimen} THEN {plain_interval} WHEN {bare} OR {shape} < 0.3 THEN NULL"
        f" WHEN {above} THEN 14.0 WHEN {u('ri')} < 0.15 THEN 56.0 ELSE 28.0 END)"
    )
    return regimen, dose, interval


def _line(k: int, seed: int) -> str:

    def u(field: str) -> str:
        return _u(f"{field}{k}", seed)

    regimen, dose, interval = _ssa_regimen(k, seed)
    agent = (
        f"(CASE WHEN {k} = 1 THEN (CASE WHEN {regimen} THEN 'ssa' WHEN {u('a')} < 0.5 THEN 'octreotide_lar'"
        " ELSE 'lanreotide' END)"
        f" WHEN g = 'G3' OR diff = 'poor' THEN (CASE WHEN {u('a')} < 0.5 THEN 'capecitabine_temozolomide'"
        f" ELSE 'cisplatin_etoposide' END)"
        f" WHEN {k} = 2 THEN (CASE WHEN {u('a')} < 0.5 THEN 'lu177_dotatate' ELSE 'everolimus' END)"
        f" ELSE (CASE WHEN {u('a')} < 0.5 THEN 'cabozantinib' ELSE 'sunitinib' END) END)"
    )
    start = f"(decision_date - INTERVAL ({(4 - k) * 800} + CAST(floor({u('s')} * 200) AS INTEGER)) DAY)::DATE"
    shift = f"CAST(floor({u('s')} * 200) AS INTEGER)"
    end = f"(decision_date - INTERVAL ({(4 - k) * 800 - 500} + {shift}) DAY)::DATE"
    progressed = f"({u('p')} < 0.85)"
    return (
        f"CASE WHEN n_lines >= {k} THEN struct_pack(agent := {agent}, start_date := {start},"
        f" end_date := {end},"
        f" dose_mg := CASE WHEN {k} = 1 THEN {dose} END,"
        f" interval_days := CASE WHEN {k} = 1 THEN {interval} END,"
        f" best_response := NULL::VARCHAR, progressed := {progressed},"
        f" progression_date := CASE WHEN {progressed} THEN {end} END,"
        f" stop_reason := CASE WHEN {progressed} THEN 'progression' ELSE 'toxicity' END,"
        f" progression_type := NULL::VARCHAR) END"
    )


def generate_sql(start: int, count: int, seed: int = 0, missing: float = 0.08) -> str:
    """SELECT producing canonical rows ``start`` .. ``start + count - 1`` (row_id = i + 1)."""
    s = seed
    site = _pick(
        "site",
        s,
        [
            ("pancreas", 0.32),
            ("ileum", 0.17),
            ("jejunum", 0.04),
            ("small_bowel", 0.05),
            ("duodenum", 0.03),
            ("lung", 0.15),
            ("thymus", 0.02),
            ("stomach", 0.03),
            ("rectum", 0.04),
            ("appendix", 0.02),
            ("cecum", 0.02),
            ("colon", 0.05),
            ("unknown_primary", 0.06),
        ],
    )
    choice_mix = [
        "ssa",
        "octreotide_lar",
        "lanreotide",
        "everolimus",
        "lu177_dotatate",
        "observation",
        "observation",
        "cabozantinib",
        "capecitabine_temozolomide",
        "sunitinib",
        "surgery",
        "ssa_above_label",
        "cisplatin_etoposide",
        "folfox",
        "temozolomide",
        "locoregional",
        "other",
        "clinical_trial",
        "pembrolizumab",
        "carboplatin_etoposide",
    ]
    choices = "[" + ", ".join(f"'{c}'" for c in choice_mix) + "]"
    stage1 = (
        f"SELECT i, {site} AS site, {_u('poor', s)} < 0.06 AS is_poor,"  # noqa: S608
        f" (DATE '2016-01-01' + INTERVAL (CAST(floor({_u('date', s)} * 3650) AS INTEGER)) DAY)::DATE"
        " AS decision_date,"
        f" CAST(floor({_u('lines', s)} * 3) AS INTEGER) AS n_lines"
        f" FROM range({int(start)}, {int(start) + int(count)}) t(i)"
    )
    grade = (
        "CASE WHEN is_poor THEN 'G3' WHEN site = 'pancreas' THEN "
        f"{_pick('g', s, [('G1', 0.3), ('G2', 0.5), ('G3', 0.2)])}"
        f" ELSE {_pick('g', s, [('G1', 0.42), ('G2', 0.45), ('G3', 0.13)])} END"
    )
    stage2 = f"SELECT *, {grade} AS g, CASE WHEN is_poor THEN 'poor' ELSE 'well' END AS diff FROM s1"  # noqa: S608
    lung = "site IN ('lung', 'thymus') AND NOT is_poor AND g <> 'G3'"
    ki67 = (
        f"round(CASE WHEN is_poor THEN 30 + 60 * {_u('k', s)} WHEN g = 'G1' THEN 0.5 + 2.4 * {_u('k', s)}"
        f" WHEN g = 'G2' THEN 3 + 17 * {_u('k', s)} ELSE 21 + 39 * {_u('k', s)} END, 1)"
    )
    functional = (
        f"({_u('f', s)} < CASE WHEN site IN ('ileum', 'jejunum', 'small_bowel', 'duodenum') THEN 0.3"
        " WHEN site = 'pancreas' THEN 0.12 ELSE 0.05 END)"
    )
    extent = _pick("ext", s, [("distant_metastatic", 0.7), ("locoregional", 0.18), ("localized", 0.12)])
    tested, ctx = f"g = 'G3' AND {_u('msi', s)} < 0.4", f"{_u('ctx', s)} < 0.25"
    cols: dict[str, str] = {
        "row_id": "i + 1",
        "patient_id": f"'synth-sql-{s}-' || i",
        "decision_date": "decision_date",
        "decision_regimen": (
            f"CASE WHEN {_u('off', s)} < 0.15 THEN 'other' ELSE "
            f"{choices}[1 + CAST(floor({_u('choice', s)} * {len(choice_mix)}) AS INTEGER)] END"
        ),
        "tumor__primary_site": "site",
        "tumor__differentiation": _drop("diff", "diff", s, missing),
        "tumor__grade": f"CASE WHEN {lung} THEN NULL ELSE {_drop('g', 'grade', s, missing)} END",
        "tumor__lung_subtype": (
            f"CASE WHEN {lung} THEN (CASE WHEN g = 'G1' THEN 'typical_carcinoid'"
            " ELSE 'atypical_carcinoid' END) END"
        ),
        "tumor__ki67_percent": _drop(ki67, "ki67", s, missing),
        "tumor__functional": _drop(functional, "func", s, missing),
        "tumor__hormonal_symptoms": f"{functional} AND {_u('hs', s)} < 0.7",
        "tumor__sstr_status": _pick("sstr", s, [("positive", 0.78), ("negative", 0.17), ("unknown", 0.05)]),
        "tumor__colon_segment": "CASE WHEN site = 'colon' THEN "
        f"{_pick('seg', s, [('ascending', 0.5), ('sigmoid', 0.5)])} END",
        # every part, and none, by synth.py's mix
        "tumor__duodenal_part": f"CASE WHEN site = 'duodenum' THEN {_pick('dpart', s, DUODENAL_PART_MIX)}"
        " END",
        "tumor__proliferation_high_end": f"CASE WHEN {lung} THEN {_u('phe', s)} < 0.2 END",
        "disease__extent": _drop(extent, "extent", s, missing),
        "disease__resectable": f"{_u('res', s)} < 0.5",
        "disease__small_bowel_mesenteric": "CASE WHEN site IN ('ileum', 'jejunum', 'small_bowel', 'duodenum')"
        f" THEN {_u('mes', s)} < 0.5 END",
        "disease__tumor_burden": _drop(
            _pick("burden", s, [("mild", 0.35), ("clinically_significant", 0.45), ("bulky", 0.2)]),
            "burden",
            s,
            missing,
        ),
        "disease__tumor_symptoms": f"{_u('ts', s)} < 0.3",
        "disease__status": _drop(
            _pick("status", s, [("progressive", 0.5), ("stable", 0.44), ("no_evidence_of_disease", 0.06)]),
            "status",
            s,
            missing,
        ),
        "disease__biology": "CASE WHEN g = 'G3' AND NOT is_poor THEN "
        f"{_pick('bio', s, [('favorable', 0.5), ('unfavorable', 0.5)])} END",
        "biomarkers__msi": f"CASE WHEN {tested} THEN (CASE WHEN {_u('msih', s)} < 0.05 THEN 'high'"
        " ELSE 'stable' END) END",
        "biomarkers__tmb_mut_per_mb": f"CASE WHEN {tested} THEN round(14 * {_u('tmb', s)}, 1) END",
        "context__no_other_options_feasible": f"CASE WHEN {ctx} THEN {_u('nof', s)} < 0.3 END",
        "context__no_satisfactory_alternative": f"CASE WHEN {ctx} THEN {_u('nsa', s)} < 0.3 END",
        "treatments": (
            f"CASE WHEN {_u('miss_tx', s)} < {missing} THEN NULL ELSE list_filter([{_line(1, s)},"
            f" {_line(2, s)}], lambda x: x IS NOT NULL) END"
        ),
    }
    types = column_types()
    select = ", ".join(
        f"CAST({cols[c.name]} AS {types[c.name]}) AS {c.name}"
        if c.name in cols
        else f"CAST(NULL AS {types[c.name]}) AS {c.name}"
        for c in canonical_columns()
    )
    return f"WITH s1 AS ({stage1}), s2 AS ({stage2}) SELECT {select} FROM s2"  # noqa: S608


def create_table_sql(table: str = "decisions") -> str:
    types = column_types()
    return f"CREATE OR REPLACE TABLE {table} (" + ", ".join(f"{c} {t}" for c, t in types.items()) + ")"
