"""Condition AST and its parser from knowledge data.

Forms (YAML/JSON mappings), each may carry ``says`` (clinician wording):

- ``{all: [c, ...]}``, ``{any: [c, ...]}``, ``{not: c}``
- ``{fact: PATH, eq|ne|gt|ge|lt|le: VALUE}``, ``{fact: PATH, in|not_in: [VALUES]}``,
  ``{fact: PATH, is: true|false}`` (bool facts), ``{fact: PATH, contains: VALUE}`` (list facts)
- ``{received: [AGENT|REGIMEN, ...]}``: any recorded line used one of them
- ``{progressed_on: [AGENT|REGIMEN, ...]}``: the disease progressed on one of them

Every problem is reported with its path inside the condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from netcds.patient import REGIMEN_AGENTS
from netcds.vocabulary import KNOWN_AGENTS, fact_specs

COMPARE_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "is", "contains")
HISTORY_OPS = ("received", "progressed_on")


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]
    says: str | None = None


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]
    says: str | None = None


@dataclass(frozen=True)
class Not:
    item: Condition
    says: str | None = None


@dataclass(frozen=True)
class Compare:
    fact: str
    op: str
    value: Any
    says: str | None = None


@dataclass(frozen=True)
class History:
    op: str  # received | progressed_on
    agents: tuple[str, ...]  # expanded to agent ids
    named: tuple[str, ...]  # as written (agent or regimen ids)
    says: str | None = None


Condition = All | AnyOf | Not | Compare | History


class ConditionSyntaxError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p or '<root>'}: {m}" for p, m in problems))


def parse_condition(obj: Any, path: str = "") -> Condition:
    problems: list[tuple[str, str]] = []
    node = _parse(obj, path, problems)
    if problems or node is None:
        raise ConditionSyntaxError(problems or [(path, "empty condition")])
    return node


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def _parse(obj: Any, path: str, problems: list[tuple[str, str]]) -> Condition | None:
    if not isinstance(obj, dict):
        problems.append((path, f"a condition must be a mapping, got {type(obj).__name__}"))
        return None
    says = obj.get("says")
    if says is not None and not (isinstance(says, str) and says.strip()):
        problems.append((_join(path, "says"), "must be non-empty text"))
    keys = set(obj) - {"says"}
    for combo in ("all", "any"):
        if combo in obj:
            if keys != {combo}:
                problems.append((path, f"'{combo}' cannot be mixed with {sorted(keys - {combo})}"))
            items = obj[combo]
            if not isinstance(items, list) or not items:
                problems.append((_join(path, combo), "must be a non-empty list of conditions"))
                return None
            parsed = [_parse(c, _join(_join(path, combo), i), problems) for i, c in enumerate(items)]
            kids = tuple(p for p in parsed if p is not None)
            return All(kids, says) if combo == "all" else AnyOf(kids, says)
    if "not" in obj:
        if keys != {"not"}:
            problems.append((path, f"'not' cannot be mixed with {sorted(keys - {'not'})}"))
        inner = _parse(obj["not"], _join(path, "not"), problems)
        return Not(inner, says) if inner is not None else None
    for op in HISTORY_OPS:
        if op in obj:
            return _parse_history(obj, op, keys, says, path, problems)
    if "fact" in obj:
        return _parse_compare(obj, keys, says, path, problems)
    problems.append((path, f"unknown condition form with keys {sorted(keys)}"))
    return None


def _parse_history(
    obj: dict[str, Any], op: str, keys: set[str], says: str | None, path: str, problems: list[tuple[str, str]]
) -> History | None:
    if keys != {op}:
        problems.append((path, f"'{op}' cannot be mixed with {sorted(keys - {op})}"))
    names = obj[op]
    if not isinstance(names, list) or not names:
        problems.append((_join(path, op), "must be a non-empty list of agent or regimen ids"))
        return None
    agents: list[str] = []
    for i, n in enumerate(names):
        if n in REGIMEN_AGENTS:
            agents.extend(REGIMEN_AGENTS[n])
        elif n in KNOWN_AGENTS:
            agents.append(n)
        else:
            problems.append((_join(_join(path, op), i), f"unknown agent or regimen id '{n}'"))
    return History(op, tuple(dict.fromkeys(agents)), tuple(names), says)


def _parse_compare(
    obj: dict[str, Any], keys: set[str], says: str | None, path: str, problems: list[tuple[str, str]]
) -> Compare | None:
    fact = obj["fact"]
    spec = fact_specs().get(fact) if isinstance(fact, str) else None
    if spec is None:
        problems.append((_join(path, "fact"), f"unknown fact '{fact}'"))
        return None
    ops = keys - {"fact"}
    if len(ops) != 1 or not ops <= set(COMPARE_OPS):
        problems.append((path, f"needs exactly one operator of {list(COMPARE_OPS)}, got {sorted(ops)}"))
        return None
    op = ops.pop()
    value = obj[op]
    where = _join(path, op)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            problems.append((where, "must be a non-empty list"))
            return None
        for i, v in enumerate(value):
            _check_value(spec.kind, spec.values, v, _join(where, i), problems)
        value = tuple(value)
    elif op == "is":
        if spec.kind != "bool" or not isinstance(value, bool):
            problems.append((where, f"'is' takes true/false on a bool fact ({fact} is {spec.kind})"))
    elif op in ("gt", "ge", "lt", "le"):
        if spec.kind != "number" or isinstance(value, bool) or not isinstance(value, int | float):
            problems.append((where, f"'{op}' needs a number fact and a number ({fact} is {spec.kind})"))
    elif op == "contains":
        if spec.kind != "list":
            problems.append((where, f"'contains' needs a list fact ({fact} is {spec.kind})"))
        else:
            _check_value("enum" if spec.values else "text", spec.values, value, where, problems)
    else:
        _check_value(spec.kind, spec.values, value, where, problems)
    return Compare(fact, "eq" if op == "is" else op, value, says)


def _check_value(
    kind: str, allowed: tuple[str, ...], v: Any, where: str, problems: list[tuple[str, str]]
) -> None:
    if kind == "enum" and v not in allowed:
        problems.append((where, f"'{v}' is not one of {list(allowed)}"))
    elif kind == "bool" and not isinstance(v, bool):
        problems.append((where, f"'{v}' is not true/false"))
    elif kind == "number" and (isinstance(v, bool) or not isinstance(v, int | float)):
        problems.append((where, f"'{v}' is not a number"))


def facts_of(c: Condition) -> set[str]:
    """Every fact path a condition reads (history predicates read 'treatments')."""
    if isinstance(c, All | AnyOf):
        return set().union(*(facts_of(i) for i in c.items))
    if isinstance(c, Not):
        return facts_of(c.item)
    if isinstance(c, Compare):
        return {c.fact}
    return {"treatments"}


@cache
def facts_read(c: Condition) -> frozenset[str]:
    """:func:`facts_of`, worked out once per condition (conditions are immutable)."""
    return frozenset(facts_of(c))
