"""Safety conditions: the project's condition language plus two leaves of its own.

A safety condition is a mapping. ``all`` / ``any`` / ``not`` combine conditions
(three-valued, like :mod:`netcds.logic`). A leaf is one of:

- any leaf of the project language (``{fact: PATH, op: VALUE}``, ``received``,
  ``progressed_on``), evaluated by :func:`netcds.logic.evaluate`, so an unknown
  fact stays unknown and names the field to record;
- ``{medication: {classes: [CLASS, ...], names: [GENERIC, ...]}}``: one of the
  recorded medications belongs to a listed interaction class or is one of the
  named generics (``medication: [CLASS, ...]`` is short for classes only);
- ``{date: PATH, within_next_days: N}`` (0 <= date - as_of <= N),
  ``{date: PATH, beyond_next_days: N}`` (date - as_of > N) or
  ``{date: PATH, within_past_days: N}`` (0 <= as_of - date < N). Dates are
  compared with ``patient.as_of``, never the clock; without ``as_of`` the leaf
  is unknown and names ``as_of``; a planned date before ``as_of`` or a past date
  after it is unknown and names the field (the item says why). An absent date is
  false, not unknown, where the record says there is none
  (``comorbidities.surgery_planned`` / ``dental_procedure_planned`` false for
  the planned dates; ``recent_major_surgery`` false for a look-back of at most
  28 days, see ``condition_eval.NONE_FLAGS``);
- ``{ongoing: [AGENT, ...]}``: a recorded treatment line of one of the agents has
  no ``end`` (the contract's "ongoing"); with ``ended_within_days: N`` a line
  that ended fewer than N days before ``as_of`` counts too. An unrecorded
  treatment history is unknown and names ``treatments``.

Every leaf may carry ``says`` (clinician wording).

This module parses, walks and describes conditions; :mod:`netcds.safety.condition_eval` evaluates them
for one patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netcds.field_labels import agent_name
from netcds.logic.ast import Compare, Condition, ConditionSyntaxError, History, parse_condition
from netcds.logic.evaluate import show
from netcds.patient import AGENT_IDS
from netcds.vocabulary import fact_specs, label

DATE_OPS = ("within_next_days", "beyond_next_days", "within_past_days")
OP_WORDS = {"eq": "is", "ne": "is not", "gt": ">", "ge": "≥", "lt": "<", "le": "≤",
            "in": "is one of", "not_in": "is none of", "contains": "includes"}  # fmt: skip


@dataclass(frozen=True)
class SAll:
    items: tuple[SafetyCondition, ...]
    says: str | None = None


@dataclass(frozen=True)
class SAny:
    items: tuple[SafetyCondition, ...]
    says: str | None = None


@dataclass(frozen=True)
class SNot:
    item: SafetyCondition
    says: str | None = None


@dataclass(frozen=True)
class Leaf:
    """A leaf of the project's condition language."""

    cond: Condition
    says: str | None = None


@dataclass(frozen=True)
class MedLeaf:
    classes: tuple[str, ...]
    names: tuple[str, ...]
    says: str | None = None


@dataclass(frozen=True)
class DateLeaf:
    fact: str
    op: str
    days: int
    says: str | None = None


@dataclass(frozen=True)
class OngoingLeaf:
    agents: tuple[str, ...]
    ended_within_days: int | None = None
    says: str | None = None


SafetyCondition = SAll | SAny | SNot | Leaf | MedLeaf | DateLeaf | OngoingLeaf


class SafetyConditionError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p or '<root>'}: {m}" for p, m in problems))


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def parse_safety_condition(obj: Any, path: str = "") -> SafetyCondition:
    problems: list[tuple[str, str]] = []
    node = _parse(obj, path, problems)
    if problems or node is None:
        raise SafetyConditionError(problems or [(path, "empty condition")])
    return node


def _parse(obj: Any, path: str, problems: list[tuple[str, str]]) -> SafetyCondition | None:
    if not isinstance(obj, dict):
        problems.append((path, f"a condition must be a mapping, got {type(obj).__name__}"))
        return None
    says = obj.get("says")
    if says is not None and not (isinstance(says, str) and says.strip()):
        problems.append((_join(path, "says"), "must be non-empty text"))
        says = None
    keys = set(obj) - {"says"}
    for combo in ("all", "any"):
        if combo in keys:
            if keys != {combo}:
                problems.append((path, f"'{combo}' cannot be mixed with {sorted(keys - {combo})}"))
            items = obj[combo]
            if not isinstance(items, list) or not items:
                problems.append((_join(path, combo), "must be a non-empty list of conditions"))
                return None
            kids = [_parse(c, _join(_join(path, combo), i), problems) for i, c in enumerate(items)]
            good = tuple(k for k in kids if k is not None)
            return SAll(good, says) if combo == "all" else SAny(good, says)
    if "not" in keys:
        if keys != {"not"}:
            problems.append((path, f"'not' cannot be mixed with {sorted(keys - {'not'})}"))
        inner = _parse(obj["not"], _join(path, "not"), problems)
        return SNot(inner, says) if inner is not None else None
    if "medication" in keys:
        return _parse_medication(obj, keys, says, path, problems)
    if "date" in keys:
        return _parse_date(obj, keys, says, path, problems)
    if "ongoing" in keys:
        return _parse_ongoing(obj, keys, says, path, problems)
    try:
        return Leaf(parse_condition(obj, path), says)
    except ConditionSyntaxError as exc:
        problems.extend(exc.problems)
        return None


def _names(value: Any, where: str, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append((where, "must be a list of names"))
        return ()
    return tuple(value)


def _parse_medication(
    obj: dict[str, Any], keys: set[str], says: str | None, path: str, problems: list[tuple[str, str]]
) -> MedLeaf | None:
    if keys != {"medication"}:
        problems.append((path, f"'medication' cannot be mixed with {sorted(keys - {'medication'})}"))
    spec = obj["medication"]
    where = _join(path, "medication")
    if isinstance(spec, list):
        spec = {"classes": spec}
    if not isinstance(spec, dict) or not spec or set(spec) - {"classes", "names"}:
        problems.append((where, "must be a list of classes or a mapping with 'classes' and/or 'names'"))
        return None
    classes = _names(spec.get("classes", []), _join(where, "classes"), problems)
    names = _names(spec.get("names", []), _join(where, "names"), problems)
    if not classes and not names:
        problems.append((where, "needs at least one class or name"))
        return None
    return MedLeaf(classes, names, says)


def _parse_date(
    obj: dict[str, Any], keys: set[str], says: str | None, path: str, problems: list[tuple[str, str]]
) -> DateLeaf | None:
    fact = obj["date"]
    spec = fact_specs().get(fact) if isinstance(fact, str) else None
    if spec is None or spec.kind != "date":
        problems.append((_join(path, "date"), f"'{fact}' is not a date fact of the patient record"))
        return None
    ops = keys - {"date"}
    if len(ops) != 1 or not ops <= set(DATE_OPS):
        problems.append((path, f"needs exactly one of {list(DATE_OPS)}, got {sorted(ops)}"))
        return None
    op = ops.pop()
    days = obj[op]
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        problems.append((_join(path, op), "must be a whole number of days >= 0"))
        return None
    return DateLeaf(fact, op, days, says)


def _parse_ongoing(
    obj: dict[str, Any], keys: set[str], says: str | None, path: str, problems: list[tuple[str, str]]
) -> OngoingLeaf | None:
    extra = sorted(keys - {"ongoing", "ended_within_days"})
    if extra:
        problems.append((path, f"'ongoing' cannot be mixed with {extra}"))
        return None
    agents = _names(obj["ongoing"], _join(path, "ongoing"), problems)
    unknown = [a for a in agents if a not in AGENT_IDS]
    if unknown:
        problems.append((_join(path, "ongoing"), f"not agent ids of the contract: {unknown}"))
        return None
    days = obj.get("ended_within_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        problems.append((_join(path, "ended_within_days"), "must be a whole number of days >= 1"))
        return None
    return OngoingLeaf(agents, days, says) if agents else None


def walk(c: SafetyCondition) -> list[SafetyCondition]:
    """Every node of a condition, depth first."""
    if isinstance(c, SAll | SAny):
        return [c, *(n for i in c.items for n in walk(i))]
    if isinstance(c, SNot):
        return [c, *walk(c.item)]
    return [c]


# --------------------------------------------------------------------------- words


# clinician wording for the raw facts the monographs read (the shared vocabulary's labels are generic)
FACT_WORDS: dict[str, str] = {
    "age_years": "age (years)", "weight_kg": "weight (kg)", "sex": "sex", "pregnant": "pregnant",
    "breastfeeding": "breastfeeding", "disease.liver_metastases": "liver metastases",
    "tumor.fdg_avid": "FDG-avid", "tumor.syndromes": "hormone syndromes",
    "comorbidities.creatinine_clearance_ml_min": "creatinine clearance (mL/min)",
    "comorbidities.platelets_per_ul": "platelets (/µL)",
    "comorbidities.neutrophils_per_ul": "neutrophils (/µL)",
    "comorbidities.hemoglobin_g_dl": "hemoglobin (g/dL)", "comorbidities.alt_x_uln": "ALT (x ULN)",
    "comorbidities.ast_x_uln": "AST (x ULN)", "comorbidities.bilirubin_x_uln": "bilirubin (x ULN)",
    "comorbidities.lvef_percent": "LVEF (%)",
    "comorbidities.hepatic_impairment": "hepatic impairment (Child-Pugh)",
    "comorbidities.gi_perforation_or_fistula_history": "history of GI perforation or fistula",
    "comorbidities.qt_prolongation": "QT prolongation", "comorbidities.wound_healed": "wound healed",
    "comorbidities.surgery_planned": "elective surgery planned",
    "comorbidities.dental_procedure_planned": "invasive dental procedure planned",
    "comorbidities.recent_major_surgery": "major surgery in the 4 weeks before as_of",
}  # fmt: skip


def fact_words(path: str) -> str:
    return FACT_WORDS.get(path) or label(path)


def describe(c: SafetyCondition | None, class_labels: dict[str, str] | None = None) -> str:
    """A condition in words, for printing a monograph."""
    if c is None:
        return "always"
    labels = class_labels or {}
    if c.says:
        return c.says
    if isinstance(c, SAll | SAny):
        joiner = " and " if isinstance(c, SAll) else " or "
        parts = [describe(i, labels) for i in c.items]
        return "(" + joiner.join(parts) + ")" if len(parts) > 1 else parts[0]
    if isinstance(c, SNot):
        return f"not {describe(c.item, labels)}"
    if isinstance(c, MedLeaf):
        wanted = [labels.get(k, k.replace("_", " ")) for k in c.classes] + list(c.names)
        return "taking " + " or ".join(wanted)
    if isinstance(c, OngoingLeaf):
        names = " or ".join(agent_name(n) for n in c.agents)
        recent = f" (or ended in the last {c.ended_within_days} days)" if c.ended_within_days else ""
        return f"ongoing {names}{recent}"
    if isinstance(c, DateLeaf):
        word = {"within_next_days": "within the next", "beyond_next_days": "more than",
                "within_past_days": "within the past"}[c.op]  # fmt: skip
        tail = " from as_of" if c.op == "beyond_next_days" else ""
        return f"{fact_words(c.fact)} {word} {c.days} days{tail}"
    inner = c.cond
    if isinstance(inner, Compare):
        if inner.op == "eq" and isinstance(inner.value, bool):
            return fact_words(inner.fact) if inner.value else f"no {fact_words(inner.fact)}"
        return f"{fact_words(inner.fact)} {OP_WORDS[inner.op]} {show(inner.value)}"
    if isinstance(inner, History):
        names = " or ".join(agent_name(n) for n in inner.named)
        return f"prior {names}" if inner.op == "received" else f"progression on {names}"
    return "condition"
