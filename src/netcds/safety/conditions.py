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
  28 days, see ``NONE_FLAGS``);
- ``{ongoing: [AGENT, ...]}``: a recorded treatment line of one of the agents has
  no ``end`` (the contract's "ongoing"); with ``ended_within_days: N`` a line
  that ended fewer than N days before ``as_of`` counts too. An unrecorded
  treatment history is unknown and names ``treatments``.

Every leaf may carry ``says`` (clinician wording).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netcds.facts import Facts, treatment_agents
from netcds.field_labels import agent_name
from netcds.logic.ast import Compare, Condition, ConditionSyntaxError, History, parse_condition
from netcds.logic.evaluate import evaluate as evaluate_leaf
from netcds.logic.evaluate import show
from netcds.patient import AGENT_IDS, RECENT_SURGERY_DAYS
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


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class MedMatch:
    """One recorded medication as screened: the generic it was recognised as, if any. A topical or local
    form of a listed drug (a shampoo, an eye drop) is not matched (``generic`` None) and names the drug in
    ``local``: it is not screened as a systemic interaction."""

    index: int
    raw: str
    generic: str | None
    classes: frozenset[str] = frozenset()
    local: str | None = None


@dataclass
class Context:
    facts: Facts
    meds: list[MedMatch] | None  # None: the medication list was not recorded
    as_of: date | None
    class_labels: dict[str, str] = field(default_factory=dict)
    unverified_meds: dict[str, dict[str, str]] = field(default_factory=dict)  # generic -> class -> note
    # results of fact leaves for this patient: monographs share many (pregnancy, renal, hepatic, ...)
    leaf_memo: dict[Condition, Result] = field(default_factory=dict)
    # True: a recorded name that was not screened makes a medication leaf without a match unknown (what a
    # dose rule would be if that name were one of the listed drugs); False: such a leaf is false and the
    # name is reported once as "not screened"
    unscreened_unknown: bool = False


@dataclass(frozen=True)
class Hit:
    """One judged fact: the words, its truth, and the patient fields it read."""

    text: str
    value: bool | None
    fields: tuple[str, ...]
    unverified: str | None = None  # set when the hit rests on an unconfirmed class membership
    # why a fact is unknown although recorded (a name not screened, a date on the wrong side of as_of):
    # a "not assessed" item says it beside the field
    note: bool = False


@dataclass
class Result:
    value: bool | None
    hits: list[Hit] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def evaluate(c: SafetyCondition, ctx: Context) -> Result:
    """Three-valued evaluation; ``hits`` are the facts that decided the value."""
    if isinstance(c, Leaf):
        hit = ctx.leaf_memo.get(c.cond)
        if hit is None:
            out = evaluate_leaf(c.cond, ctx.facts)
            found = {True: out.positives, False: out.negatives, None: out.unknowns}[out.value]
            hits = [
                Hit(_detail(c.cond, ctx.facts) or f.detail or f.says, f.value, tuple(f.fields)) for f in found
            ]
            hit = Result(out.value, hits, list(out.missing) if out.value is None else [])
            ctx.leaf_memo[c.cond] = hit
        return hit
    if isinstance(c, MedLeaf):
        return _medication(c, ctx)
    if isinstance(c, DateLeaf):
        return _date(c, ctx)
    if isinstance(c, OngoingLeaf):
        return _ongoing(c, ctx)
    if isinstance(c, SNot):
        inner = evaluate(c.item, ctx)
        flip = {True: False, False: True, None: None}[inner.value]
        return Result(flip, inner.hits, inner.missing)
    kids = [evaluate(i, ctx) for i in c.items]
    decisive = isinstance(c, SAny)  # any: a True decides; all: a False decides
    if any(k.value is decisive for k in kids):
        chosen = [k for k in kids if k.value is decisive]
        return Result(decisive, [h for k in chosen for h in k.hits])
    if any(k.value is None for k in kids):
        unknown = [k for k in kids if k.value is None]
        missing = list(dict.fromkeys(m for k in unknown for m in k.missing))
        return Result(None, [h for k in unknown for h in k.hits], missing)
    return Result(not decisive, [h for k in kids for h in k.hits])


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


def _detail(cond: Condition, facts: Facts) -> str | None:
    """'platelets (/µL) = 60000' for a raw fact; derived facts keep their own explanation."""
    if not isinstance(cond, Compare) or cond.fact.startswith("derived."):
        return None
    value = facts.get(cond.fact)
    return None if value is None else f"{fact_words(cond.fact)} = {show(value)}"


def _medication(c: MedLeaf, ctx: Context) -> Result:
    wanted = " or ".join([ctx.class_labels.get(k, k.replace("_", " ")) for k in c.classes] + list(c.names))
    if ctx.meds is None:
        return Result(
            None,
            [Hit(f"medication list not recorded (checking for {wanted})", None, ("medications",))],
            ["medications"],
        )
    hits: list[Hit] = []
    for m in ctx.meds:
        if m.generic is None:
            continue
        matched = sorted(m.classes.intersection(c.classes))
        if not matched and m.generic not in c.names:
            continue
        shown = (
            m.generic
            if m.raw.strip().lower() == m.generic
            else f"{m.generic} (recorded as '{m.raw.strip()}')"
        )
        why = ", ".join(ctx.class_labels.get(k, k) for k in matched) if matched else "named in the label"
        doubts = ctx.unverified_meds.get(m.generic, {})
        doubt = "; ".join(dict.fromkeys(doubts[k] for k in matched if k in doubts)) or None
        if doubt:
            why += " (class membership UNVERIFIED)"
        hits.append(Hit(f"{shown}: {why}", True, (f"medications[{m.index}]",), doubt))
    if hits:
        return Result(True, hits)
    unscreened = [m for m in ctx.meds if m.generic is None] if ctx.unscreened_unknown else []
    if unscreened:  # a name outside the lists may be one of them: unknown, never "none recorded"
        where = list(dict.fromkeys(f"medications[{m.index}]" for m in unscreened))
        names = ", ".join(dict.fromkeys(f"'{m.raw.strip()}'" for m in unscreened))
        text = f"{names} not screened"
        return Result(None, [Hit(text, None, tuple(where), note=True)], where)
    return Result(False, [Hit(f"no recorded medication is listed as {wanted}", False, ("medications",))])


#: A date fact and the yes/no fact that can say there is none: (flag, days back a "no" covers; None for a
#: planned date, where "no" covers every future day). See ``patient.RECENT_SURGERY_DAYS``.
NONE_FLAGS: dict[str, tuple[str, int | None]] = {
    "comorbidities.planned_surgery_date": ("comorbidities.surgery_planned", None),
    "comorbidities.planned_dental_procedure_date": ("comorbidities.dental_procedure_planned", None),
    "comorbidities.recent_major_surgery_date": ("comorbidities.recent_major_surgery", RECENT_SURGERY_DAYS),
}


def _flag_for(c: DateLeaf) -> str | None:
    """The flag whose "no" would settle ``c`` (its look-back covered), if any."""
    flag = NONE_FLAGS.get(c.fact)
    if flag is None:
        return None
    back = flag[1]
    covered = c.op != "within_past_days" if back is None else c.op == "within_past_days" and c.days <= back
    return flag[0] if covered else None


def none_recorded(c: DateLeaf, facts: Facts) -> str | None:
    """The flag path when the record says there is no such date for what ``c`` looks at, else None."""
    flag = _flag_for(c)
    if flag is None or facts.get(c.fact) is not None or facts.get(flag) is not False:
        return None
    return flag


def _date(c: DateLeaf, ctx: Context) -> Result:
    value = ctx.facts.get(c.fact)
    flag = _flag_for(c) if value is None else None
    said = ctx.facts.get(flag) if flag is not None else None
    if flag is not None and said is False:  # the record says there is none (none_recorded)
        return Result(False, [Hit(f"no {fact_words(flag)} (recorded)", False, (flag,))])
    either = [flag] if flag is not None and said is None else []  # "none" would settle it too
    missing = ([c.fact, *either] if value is None else []) + (["as_of"] if ctx.as_of is None else [])
    name = fact_words(c.fact)
    if missing or ctx.as_of is None or not isinstance(value, date):
        why = " and ".join(f"{m} not recorded" for m in missing)
        return Result(None, [Hit(f"{name}: {why}", None, tuple(missing))], missing)
    delta = (value - ctx.as_of).days
    rel = f"{delta} days after" if delta >= 0 else f"{-delta} days before"
    text = f"{name} {value.isoformat()} is {rel} as_of {ctx.as_of.isoformat()}"
    planned = c.op != "within_past_days"
    if (planned and delta < 0) or (not planned and delta > 0):  # a planned date past, a recent one ahead
        wrong = "a planned date already past" if planned else "a past date after as_of"
        return Result(None, [Hit(f"{text}: {wrong}", None, (c.fact, "as_of"), note=True)], [c.fact])
    if c.op == "within_next_days":
        ok = 0 <= delta <= c.days
    elif c.op == "beyond_next_days":
        ok = delta > c.days
    else:
        ok = delta <= 0 and -delta < c.days
    return Result(ok, [Hit(text, ok, (c.fact, "as_of"))])


def _ongoing(c: OngoingLeaf, ctx: Context) -> Result:
    wanted = " or ".join(agent_name(a) for a in c.agents)
    p = ctx.facts.patient
    if p.treatments is None:
        text = f"treatment history not recorded (checking for an ongoing {wanted} course)"
        return Result(None, [Hit(text, None, ("treatments",))], ["treatments"])
    hits: list[Hit] = []
    unknown: list[Hit] = []
    for i, t in enumerate(p.treatments):
        named = [a for a in treatment_agents(t) if a in c.agents]
        if not named:
            continue
        where = f"treatments[{i}]"
        since = f" since {t.start.isoformat()}" if t.start else ""
        if t.end is None:
            hits.append(Hit(f"{where}: {agent_name(named[0])}{since}, no end recorded (ongoing)", True,
                            (f"{where}.end",)))  # fmt: skip
        elif c.ended_within_days is not None:
            if ctx.as_of is None:
                unknown.append(Hit(f"{where}: {agent_name(named[0])} ended {t.end.isoformat()}; as_of not "
                                   "recorded", None, (f"{where}.end", "as_of")))  # fmt: skip
                continue
            days = (ctx.as_of - t.end).days
            if 0 <= days < c.ended_within_days:
                text = f"{where}: {agent_name(named[0])} ended {t.end.isoformat()}, {days} days before as_of"
                hits.append(Hit(text, True, (f"{where}.end", "as_of")))
    if hits:
        return Result(True, hits)
    if unknown:
        return Result(None, unknown, ["as_of"])
    recent = f" or ended in the last {c.ended_within_days} days" if c.ended_within_days else ""
    return Result(False, [Hit(f"no {wanted} course recorded as ongoing{recent}", False, ("treatments",))])


# --------------------------------------------------------------------------- words


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
        names = " or ".join(n.replace("_", " ") for n in c.agents)
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
        names = " or ".join(n.replace("_", " ") for n in inner.named)
        return f"prior {names}" if inner.op == "received" else f"progression on {names}"
    return "condition"
