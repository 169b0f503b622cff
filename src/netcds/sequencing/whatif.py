"""What-if: change a few facts of a patient and show which options change status or category.

Assignments are dotted contract paths (``tumor.sstr_status``,
``preferences.priority``, ``treatments[0].progressed``) with JSON-ish values.
The changed record is validated by the Patient model itself, so an impossible
value is rejected exactly as it would be in a real input (``InputError`` naming
the field). The original patient is never modified.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from netcds.engine import evaluate
from netcds.errors import InputError
from netcds.evaluation import Evaluation
from netcds.io import all_errors, loads
from netcds.knowledge import Knowledge
from netcds.patient import Patient
from netcds.sequencing.models import Assignment, OptionChange, SettingSnapshot, WhatIfResult
from netcds.vocabulary import unwrap

_SEGMENT = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[(\d+)\])?$")
STATEMENT = (
    "What-if changes only the facts named; every other fact stays as recorded. It shows how the encoded "
    "guideline would read the changed record, not what will happen to the patient."
)


def parse_value(text: str, path: str = "") -> object:
    """JSON-ish: true/false/null, numbers, quoted strings, lists/objects; anything else is a bare string.
    An object with a key twice is an InputError naming it (under ``path``, the field being set)."""
    raw = text.strip()
    try:
        return loads(raw, path)
    except (ValueError, RecursionError):  # not JSON (or brackets nested thousands deep): the text itself
        return raw


def show_value(value: object) -> str:
    """A value as the contract's JSON writes it, for messages and the report: ``G2``, ``true``, ``8``,
    ``["insulinoma"]``; null is ``null (unknown)``. A string is bare unless it would read back as another
    value (``"true"``, ``"8"``, ``""``), so what is shown can be typed back as a ``--what-if`` value."""
    if value is None:
        return "null (unknown)"
    if isinstance(value, str):
        try:
            bare = bool(value) and value == value.strip() and parse_value(value) == value
        except InputError:  # JSON text with a key twice: not a bare word either
            bare = False
        return value if bare else json.dumps(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _invalid(exc: ValidationError) -> InputError:
    """The first validation error of the changed record, its values written as :func:`show_value` does."""
    err = exc.errors()[0]
    path, msg = all_errors(exc)[0]
    if err.get("type") == "literal_error":
        allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        words = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else "".join(allowed)
        msg = f"{show_value(err.get('input'))} is not an allowed value"
        msg += (
            f"; must be {words}"
            if allowed and len(allowed) < 9
            else " (see docs/contract.md for the allowed ids)"
        )
    elif "input" in err and not isinstance(err["input"], dict | list):
        shown = show_value(err["input"])
        msg = msg.rpartition(" (got ")[0] or msg
        msg += f" (got {shown})" if len(shown) <= 40 else ""
    return InputError(path, msg)


def parse_assignment(text: str) -> tuple[str, object]:
    """``"tumor.sstr_status=positive"`` -> ``("tumor.sstr_status", "positive")``."""
    if "=" not in text:
        raise InputError("assignment", f"'{text}' is not PATH=VALUE")
    path, _, value = text.partition("=")
    path = path.strip()
    if not path:
        raise InputError("assignment", f"'{text}' has no field path before '='")
    return path, parse_value(value, path)


def _set(data: dict[str, Any], path: str, value: object) -> object:
    """Set ``path`` in the dumped record after checking it against the Patient model; return the old value."""
    model: type[BaseModel] | None = Patient
    node: Any = data
    parts = path.split(".")
    for n, part in enumerate(parts):
        m = _SEGMENT.match(part)
        if m is None or model is None:
            raise InputError(path, f"'{part}' is not a field of the patient record")
        name, index = m.group(1), m.group(2)
        if name not in model.model_fields:
            raise InputError(path, f"unknown field '{name}'")
        tp = unwrap(model.model_fields[name].annotation)
        last = n == len(parts) - 1
        if index is not None:
            if get_origin(tp) is not list:
                raise InputError(path, f"'{name}' is not a list")
            items = node.get(name)
            if not isinstance(items, list) or int(index) >= len(items):
                raise InputError(path, f"'{name}' has no item {index}")
            tp = unwrap(get_args(tp)[0])
            if last:
                old = items[int(index)]
                items[int(index)] = value
                return old
            node = items[int(index)]
        elif last:
            old = node.get(name)
            node[name] = value
            return old
        else:
            if node.get(name) is None:
                node[name] = {}
            node = node[name]
        model = tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
    raise InputError(path, "empty path")  # pragma: no cover - split never yields no parts


def apply_assignments(patient: Patient, assignments: dict[str, object]) -> tuple[Patient, list[Assignment]]:
    data = copy.deepcopy(patient.model_dump(mode="json"))
    done: list[Assignment] = []
    for path, value in assignments.items():
        old = _set(data, path, value)
        done.append(Assignment(path=path, before=old, after=value))
    try:
        changed = Patient.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return changed, done


def _setting(ev: Evaluation) -> SettingSnapshot:
    return SettingSnapshot(table=ev.setting.table, column=ev.setting.column, status=ev.setting.status)


def compare(before: Evaluation, after: Evaluation) -> tuple[list[OptionChange], int]:
    b = {o.entry_id: o for o in before.options}
    a = {o.entry_id: o for o in after.options}
    changes: list[OptionChange] = []
    unchanged = 0
    for eid in list(dict.fromkeys([*b, *a])):
        ob, oa = b.get(eid), a.get(eid)
        what: list[str] = []
        if ob is None:
            what.append("added")
        elif oa is None:
            what.append("removed")
        else:
            if ob.status != oa.status:
                what.append("status")
            if ob.category != oa.category:
                what.append("category")
        if not what:
            unchanged += 1
            continue
        ref = oa or ob
        assert ref is not None
        changes.append(
            OptionChange(
                entry_id=eid,
                regimen=ref.regimen,
                label=ref.label,
                status_before=ob.status if ob else None,
                status_after=oa.status if oa else None,
                category_before=ob.category if ob else None,
                category_after=oa.category if oa else None,
                changed=what,
            )
        )
    return changes, unchanged


def what_if(patient: Patient, kb: Knowledge, assignments: dict[str, object]) -> WhatIfResult:
    """Evaluate ``patient`` and a copy with ``assignments`` applied; report what changed."""
    if not assignments:
        raise InputError("assignment", "no assignment given")
    changed, done = apply_assignments(patient, assignments)
    before, after = evaluate(patient, kb), evaluate(changed, kb)
    changes, unchanged = compare(before, after)
    sb, sa = _setting(before), _setting(after)
    return WhatIfResult(
        assignments=done,
        setting_before=sb,
        setting_after=sa,
        setting_changed=sb != sa,
        ssa_plan_before=before.ssa_plan.action,
        ssa_plan_after=after.ssa_plan.action,
        changes=changes,
        unchanged=unchanged,
        statement=STATEMENT,
    )
