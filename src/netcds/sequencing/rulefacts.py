"""The extra facts the sequencing rules may name, and a parser that accepts them.

The project's condition language validates fact paths against the patient
vocabulary (``netcds.vocabulary``). Sequencing rules also need facts that only
the sequencing layer computes: ``seq.*`` (the patient's lines of therapy and
pace) and ``opt.*`` (the option being annotated, held against that history).
:func:`parse_rule_condition` builds the project's own AST nodes, so the
project's three-valued evaluator explains them like any other condition.
"""

from __future__ import annotations

from typing import Any

from netcds.logic.ast import All, AnyOf, Compare, Condition, ConditionSyntaxError, Not, parse_condition
from netcds.vocabulary import FactSpec

ROUTES = ("oral", "infusion", "injection")

SEQ_FACTS: dict[str, FactSpec] = {
    s.path: s
    for s in (
        FactSpec("seq.pace", "enum", ("slow", "moderate", "rapid"), "pace of progression"),
        FactSpec("seq.line_count", "number", (), "number of lines of therapy"),
        FactSpec("seq.prior_myelosuppressive", "bool", (), "prior PRRT, alkylating or platinum therapy"),
        FactSpec("seq.prior_myelosuppressive_chemotherapy", "bool", (), "prior alkylator or platinum"),
        FactSpec("seq.prior_prrt", "bool", (), "prior PRRT"),
        FactSpec("seq.prior_tki", "bool", (), "prior VEGFR TKI"),
        FactSpec("seq.progressed_on_prrt", "bool", (), "progression after PRRT"),
        FactSpec("seq.progressed_on_above_label_ssa", "bool", (),
                 "progression on octreotide LAR or lanreotide at an above-label dose"),
        FactSpec("seq.last_progression_type", "enum", ("radiographic", "clinical", "symptomatic"),
                 "how the latest progression was established"),
        FactSpec("seq.latest_progression_on_ssa", "bool", (),
                 "the latest progression on a systemic line was on an SSA line (none after it)"),
        FactSpec("seq.ssa_stopped_for_toxicity", "bool", (),
                 "an octreotide LAR or lanreotide course stopped for toxicity"),
        FactSpec("opt.received", "bool", (), "regimen received before"),
        FactSpec("opt.progressed_on", "bool", (), "progression on this regimen before"),
        FactSpec("opt.progressed_without_durable_control", "bool", (),
                 "progression on this regimen other than after a finished course of durable control"),
        FactSpec("opt.progressed_on_variant", "bool", (),
                 "progression on a regimen the guideline offers as one choice with this one"),
        FactSpec("opt.stopped_for_toxicity", "bool", (), "regimen stopped for toxicity before"),
        FactSpec("opt.short_durability", "bool", (), "short benefit from this regimen before"),
        FactSpec("opt.durable_control", "bool", (), "durable control from this regimen before"),
        FactSpec("opt.same_class_short_durability", "bool", (), "short benefit from a same-class drug"),
        FactSpec("opt.same_class_stopped_for_toxicity", "bool", (), "same-class drug stopped for toxicity"),
        FactSpec("opt.route", "enum", ROUTES, "route of administration"),
        FactSpec("opt.route_matches_preference", "bool", (), "route matches the patient's preference"),
        FactSpec("opt.lab_monitoring", "bool", (), "regular monitoring during treatment"),
        FactSpec("opt.comorbidity_safety_findings", "bool", (),
                 "a recorded comorbidity raises a warning or critical safety item for this regimen"),
    )
}  # fmt: skip


def _check(spec: FactSpec, op: str, value: Any, where: str, problems: list[tuple[str, str]]) -> None:
    values = value if op in ("in", "not_in") else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        problems.append((where, "must be a non-empty list"))
        return
    for v in values:
        if spec.kind == "enum" and v not in spec.values:
            problems.append((where, f"'{v}' is not one of {list(spec.values)}"))
        elif spec.kind == "bool" and not isinstance(v, bool):
            problems.append((where, f"'{v}' is not true/false"))
        elif spec.kind == "number" and (isinstance(v, bool) or not isinstance(v, int | float)):
            problems.append((where, f"'{v}' is not a number"))
    if op in ("gt", "ge", "lt", "le") and spec.kind != "number":
        problems.append((where, f"'{op}' needs a number fact ({spec.path} is {spec.kind})"))
    if op == "is" and spec.kind != "bool":
        problems.append((where, f"'is' needs a bool fact ({spec.path} is {spec.kind})"))


def _parse(obj: Any, path: str, problems: list[tuple[str, str]]) -> Condition | None:
    if not isinstance(obj, dict):
        problems.append((path, f"a condition must be a mapping, got {type(obj).__name__}"))
        return None
    says = obj.get("says")
    combo_key = next((c for c in ("all", "any", "not") if c in obj), None)
    own = combo_key is not None or str(obj.get("fact", "")).split(".", 1)[0] in ("seq", "opt")
    if own and "says" in obj and not (isinstance(says, str) and says.strip()):
        problems.append((f"{path}.says", "must be non-empty text"))
    if combo_key is not None and (extra := set(obj) - {"says", combo_key}):
        # {all: [...], fact: x} would read only the all: refused, not half read
        problems.append((path, f"'{combo_key}' cannot be mixed with {sorted(map(str, extra))}"))
    for combo in ("all", "any"):
        if combo in obj:
            items = obj[combo]
            if not isinstance(items, list) or not items:
                problems.append((f"{path}.{combo}", "must be a non-empty list of conditions"))
                return None
            kids = [_parse(c, f"{path}.{combo}[{i}]", problems) for i, c in enumerate(items)]
            good = tuple(k for k in kids if k is not None)
            return All(good, says) if combo == "all" else AnyOf(good, says)
    if "not" in obj:
        inner = _parse(obj["not"], f"{path}.not", problems)
        return Not(inner, says) if inner is not None else None
    fact = obj.get("fact")
    if isinstance(fact, str) and fact.split(".", 1)[0] in ("seq", "opt"):
        spec = SEQ_FACTS.get(fact)
        if spec is None:
            problems.append((f"{path}.fact", f"unknown sequencing fact '{fact}'"))
            return None
        ops = set(obj) - {"fact", "says"}
        if len(ops) != 1:
            problems.append((path, f"needs exactly one operator, got {sorted(ops)}"))
            return None
        op = ops.pop()
        if op not in ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "is"):
            problems.append((path, f"unknown operator '{op}'"))
            return None
        value = obj[op]
        _check(spec, op, value, f"{path}.{op}", problems)
        return Compare(
            fact, "eq" if op == "is" else op, tuple(value) if isinstance(value, list) else value, says
        )
    try:
        return parse_condition(obj, path)
    except ConditionSyntaxError as exc:
        problems.extend(exc.problems)
        return None


def parse_rule_condition(obj: Any, path: str = "when") -> Condition:
    """Parse a rule condition that may name ``seq.*``/``opt.*`` facts; errors carry their path."""
    problems: list[tuple[str, str]] = []
    node = _parse(obj, path, problems)
    if problems or node is None:
        raise ConditionSyntaxError(problems or [(path, "empty condition")])
    return node
