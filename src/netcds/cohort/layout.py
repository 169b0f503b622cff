"""The cohort's shapes: the decision vocabulary and the canonical flat relation the SQL reads.

A cohort row is one *decision point*: a contract Patient as of that decision plus
``decision: {date, regimen}``. After validation every row becomes one row of the
canonical relation ``decisions`` (documented in docs/cohort.md):

- ``row_id`` (1-based row number in the input), ``patient_id``, ``decision_date``, ``decision_regimen``;
- one column per scalar patient field, the dotted path with ``.`` -> ``__``
  (``tumor.primary_site`` -> ``tumor__primary_site``);
- string lists ``tumor__syndromes``, ``medications``, ``comorbidities__other``;
- ``treatments``: a list of structs (``start``/``end`` renamed ``start_date``/``end_date``).

- ``progression_assessed_on``: while the disease is progressive, the newest date progression was
  assessed (``disease.status_date`` or an assessment with RECIST ``PD``; history.progression_assessed_on):
  an ongoing line counts as progressing now only when progression was assessed after it began
  (facts.progressed_on). The assessments themselves are not carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from netcds.history import progression_assessed_on
from netcds.knowledge.schema import Exclusion, ExclusionScope, Knowledge
from netcds.logic.sql import PROGRESSION_ASSESSED
from netcds.patient import AGENT_IDS, REGIMEN_AGENTS, IsoDate, Patient
from netcds.vocabulary import fact_specs

NON_SYSTEMIC: tuple[str, ...] = ("observation", "surgery", "locoregional")
OTHER = "other"
DECISION_IDS: tuple[str, ...] = (
    *REGIMEN_AGENTS,
    *(a for a in AGENT_IDS if a not in REGIMEN_AGENTS),
    *NON_SYSTEMIC,
    OTHER,
)

# A decision recorded at agent level (or as a family member) that a table entry covers.
# Identity always matches; these are the additions (documented in docs/cohort.md).
AGENT_LEVEL_MATCHES: dict[str, tuple[str, ...]] = {
    "octreotide_lar": ("ssa",),
    "lanreotide": ("ssa",),
    "temozolomide": ("temozolomide_pm_capecitabine",),
    "capecitabine_temozolomide": ("temozolomide_pm_capecitabine",),
    "radiotherapy": ("rt_fluoropyrimidine",),
}
# The GI table's category-3 entry names these agents; a choice made only of them (leucovorin,
# a modulator, aside) is that entry.
CYTOTOXIC_ENTRY_AGENTS = frozenset(
    {"fluorouracil", "capecitabine", "dacarbazine", "oxaliplatin", "temozolomide"}
)

# Principles that name a non-systemic approach: the table must list the principle and its
# condition must hold. A column with neoadjuvant entries is organised around resection.
NON_SYSTEMIC_BASIS: dict[str, tuple[str, ...]] = {
    "observation": ("observation_this_patient",),
    "surgery": ("mdt_choice",),
    "locoregional": ("mdt_choice",),
}

VERDICTS: tuple[str, ...] = (
    "concordant", "listed_not_eligible", "needs_data", "not_listed", "no_systemic_indicated",
    "out_of_scope",
)  # fmt: skip
# An exclusion marked with this scope names a situation the guideline handles on pages the source does
# not contain: when one is TRUE for a patient no table applies, the decision gets ``out_of_scope``.
OUT_OF_SCOPE_MARK: ExclusionScope = "pages_not_in_source"
SCOPE_SEPARATOR = ", "  # between the exclusion ids of the result column ``scope_exclusions``


def scope_exclusions(kb: Knowledge) -> list[Exclusion]:
    """The knowledge's exclusions marked as covered on pages not in the source, in file order (none in
    the releases before 5.2024-r4)."""
    return [e for e in kb.exclusions if e.scope == OUT_OF_SCOPE_MARK]


def decision_agents(decision: str) -> tuple[str, ...]:
    return REGIMEN_AGENTS.get(decision, (decision,))


@cache
def matching_decisions(entry_regimen: str) -> tuple[str, ...]:
    """Every decision id that counts as choosing a table entry with regimen ``entry_regimen``."""
    out = [entry_regimen] if entry_regimen in DECISION_IDS else []
    for d in DECISION_IDS:
        if d != entry_regimen and entry_regimen in AGENT_LEVEL_MATCHES.get(d, ()):
            out.append(d)
    if entry_regimen == "cytotoxic_chemotherapy":
        for d in DECISION_IDS:
            if d in out or d in NON_SYSTEMIC or d == OTHER:
                continue
            core = set(decision_agents(d)) - {"leucovorin"}
            if core and core <= CYTOTOXIC_ENTRY_AGENTS:
                out.append(d)
    return tuple(out)


class Decision(BaseModel):
    """What was done at the decision point: a regimen or agent id, or a non-systemic approach."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: IsoDate | None = None
    regimen: str

    @field_validator("regimen")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in DECISION_IDS:
            raise ValueError(f"'{v}' is not a regimen or agent id, nor one of {[*NON_SYSTEMIC, OTHER]}")
        return v


LogicalType = Literal["bigint", "string", "bool", "double", "date", "string_list", "treatments"]

TREATMENT_FIELDS: tuple[tuple[str, str, LogicalType], ...] = (
    # (canonical name, Treatment attribute, type)
    ("agent", "agent", "string"),
    ("start_date", "start", "date"),
    ("end_date", "end", "date"),
    ("dose_mg", "dose_mg", "double"),
    ("interval_days", "interval_days", "double"),
    ("best_response", "best_response", "string"),
    ("progressed", "progressed", "bool"),
    ("progression_date", "progression_date", "date"),
    ("stop_reason", "stop_reason", "string"),
    ("progression_type", "progression_type", "string"),
)
_KIND_TYPE: dict[str, LogicalType] = {
    "enum": "string", "text": "string", "bool": "bool", "number": "double", "date": "date",
}  # fmt: skip
NOT_CARRIED = frozenset({"id", "treatments", "assessments"})


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    path: str | None = None  # the patient fact path, for patient columns


def column_name(path: str) -> str:
    return path.replace(".", "__")


@cache
def canonical_columns() -> tuple[Column, ...]:
    """The canonical relation's columns, in order."""
    cols = [
        Column("row_id", "bigint"),
        Column("patient_id", "string", "id"),
        Column("decision_date", "date"),
        Column("decision_regimen", "string"),
    ]
    for spec in fact_specs().values():
        if spec.path.startswith("derived.") or spec.path in NOT_CARRIED:
            continue
        if spec.kind == "list":
            cols.append(Column(column_name(spec.path), "string_list", spec.path))
        else:
            cols.append(Column(column_name(spec.path), _KIND_TYPE[spec.kind], spec.path))
    cols.append(Column("treatments", "treatments", "treatments"))
    # the one date a condition reads of ``assessments`` and ``disease.status_date`` (facts.progressed_on)
    cols.append(Column(PROGRESSION_ASSESSED, "date", "assessments"))
    return tuple(cols)


def _get(model: BaseModel, path: str) -> Any:
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part)
    return value


def json_default(v: Any) -> Any:
    """``json.dumps(default=...)`` for canonical rows and columnar values: dates as ISO text, a DECIMAL as
    a number (an int when integral, else a float), a UUID as its text. Anything else (bytes, an interval)
    is a TypeError: the readers reject such a value naming its column (``read.validate_typed_columns``)."""
    from decimal import Decimal
    from uuid import UUID

    if isinstance(v, Decimal) and v.is_finite():
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, UUID):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def canonical_row(row_id: int, patient: Patient, decision: Decision) -> dict[str, Any]:
    """One validated decision point as a canonical row (Python values; dates stay dates)."""
    out: dict[str, Any] = {
        "row_id": row_id,
        "patient_id": patient.id,
        "decision_date": decision.date,
        "decision_regimen": decision.regimen,
    }
    for col in canonical_columns()[4:]:
        if col.type == "treatments":
            ts = patient.treatments
            out["treatments"] = (
                None
                if ts is None
                else [{name: getattr(t, attr) for name, attr, _ in TREATMENT_FIELDS} for t in ts]
            )
        elif col.name == PROGRESSION_ASSESSED:
            out[col.name] = progression_assessed_on(patient)
        else:
            assert col.path is not None
            value = _get(patient, col.path)
            out[col.name] = list(value) if isinstance(value, list) else value
    return out


def record_from_canonical(row: dict[str, Any]) -> dict[str, Any]:
    """A canonical row back to the NDJSON row shape (contract Patient fields + ``decision``)."""
    rec: dict[str, Any] = {}
    for col in canonical_columns():
        value = row.get(col.name)
        if value is None or col.path is None:
            continue
        if col.type == "treatments":
            value = [
                {attr: (v.isoformat() if hasattr(v, "isoformat") else v) for name, attr, _ in TREATMENT_FIELDS
                 if (v := t.get(name)) is not None}
                for t in value
            ]  # fmt: skip
        elif col.name == PROGRESSION_ASSESSED:  # the newest progression assessment stands for them all
            rec["assessments"] = [{"date": value.isoformat(), "recist_response": "PD"}]
            continue
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        node = rec
        parts = col.path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    date = row.get("decision_date")
    rec["decision"] = {"regimen": row["decision_regimen"], **({"date": date.isoformat()} if date else {})}
    return rec


def canonical_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
    """A canonical row as a tuple in column order (treatments as tuples), for Spark."""
    out: list[Any] = []
    for col in canonical_columns():
        v = row.get(col.name)
        if col.type == "treatments" and v is not None:
            v = [tuple(t.get(name) for name, _, _ in TREATMENT_FIELDS) for t in v]
        out.append(v)
    return tuple(out)
