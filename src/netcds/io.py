"""Reading patient records: JSON text or file -> Patient, or one clear InputError naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netcds.errors import InputError
from netcds.patient import Patient

MAX_DEPTH = 32
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*(\[\d+\])?(\.[a-z_][a-z0-9_]*(\[\d+\])?)*$")


def printable(text: str, limit: int = 120) -> str:
    """Escape control and other non-printable characters; cap the length (errors are one line)."""
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('treatments', 0, 'end') -> 'treatments[0].end'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-plain", "constrained-str"):
            continue
        else:
            name = printable(str(part), 60)
            out += f".{name}" if out else name
    return out


def _message(err: dict[str, Any]) -> tuple[str, str]:
    """Field path and a one-line message for one pydantic error."""
    path = field_path(tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p and "]" in p)))
    msg = str(err["msg"])
    typ = err.get("type", "")
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
        # model validators name the sub-field first: "end: is before start"
        head, sep, rest = msg.partition(": ")
        if sep and _FIELD.match(head):
            path = f"{path}.{head}" if path else head
            msg = rest
    if typ == "extra_forbidden":
        msg = "unknown field (not in the contract)"
    elif typ == "missing":
        msg = "required field is missing"
    elif typ == "literal_error":
        allowed = msg.removeprefix("Input should be ")
        shown = json.dumps(err.get("input"), default=str)[:40]
        msg = f"{shown} is not an allowed value" + (
            f"; must be {allowed}"
            if allowed.count(",") < 8
            else " (see docs/contract.md for the allowed ids)"
        )
    elif "input" in err and typ not in ("model_type", "dict_type"):
        shown = json.dumps(err["input"], default=str)
        if len(shown) <= 40:
            msg = f"{msg} (got {shown})"
    return path or "<patient>", printable(msg.replace("Input should be", "must be"), 300)


def input_error(exc: ValidationError) -> InputError:
    errors = exc.errors()
    path, msg = _message(dict(errors[0]))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return InputError(path, msg + more)


def all_errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [_message(dict(e)) for e in exc.errors()]


def _depth(obj: Any, limit: int) -> int:
    """How deep ``obj`` nests (a scalar is 1, ``[1]`` is 2), counted until it passes ``limit``: level by
    level over the containers only, so a body's scalars are not visited one by one."""
    level = [obj] if isinstance(obj, dict | list) else []
    deepest = depth = 1
    while level and deepest <= limit:
        below: list[Any] = []
        for node in level:
            values = node.values() if isinstance(node, dict) else node
            if values:
                deepest = depth + 1
                below += [v for v in values if isinstance(v, dict | list)]
        level = below
        depth += 1
    return deepest


def parse_json(text: str | bytes) -> Any:
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError("<body>", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise InputError("<json>", f"not valid JSON{where}: {reason}") from None
    except ValueError:  # e.g. an integer longer than Python's 4300-digit conversion limit
        raise InputError("<json>", "not valid JSON: a number has too many digits") from None
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise InputError("<json>", f"JSON nested deeper than {MAX_DEPTH} levels")
    return data


def patient_from_obj(data: Any) -> Patient:
    if not isinstance(data, dict):
        raise InputError("<patient>", f"must be a JSON object, got {type(data).__name__}")
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


def read_patient_json(text: str | bytes) -> Patient:
    """Parse one contract Patient from JSON text."""
    return patient_from_obj(parse_json(text))


def read_patient(path: str | Path) -> Patient:
    """Read one contract Patient from a JSON file ('-' reads standard input)."""
    import sys

    if str(path) == "-":
        return read_patient_json(sys.stdin.buffer.read())
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("<file>", f"{p}: no such file") from None
    except OSError as exc:
        raise InputError("<file>", f"{p}: {exc.strerror}") from None
    return read_patient_json(raw)
