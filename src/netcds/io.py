"""Reading patient records: JSON text or file -> Patient, or one clear InputError naming the field."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from netcds.errors import InputError
from netcds.patient import Patient

MAX_DEPTH = 32
# The most one patient record (a file or standard input) may hold: the HTTP service's default body limit
# (settings ``server.max_body_bytes``), so a record the service takes is one the command line takes too.
MAX_RECORD_BYTES = 2 * 1024 * 1024
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
    elif typ == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length")
        msg = f"is longer than {limit} characters" if limit is not None else "is too long"
    elif typ == "string_too_short":
        least = (err.get("ctx") or {}).get("min_length")
        msg = "must not be empty" if least in (None, 1) else f"is shorter than {least} characters"
    elif typ == "literal_error":
        allowed = msg.removeprefix("Input should be ")
        shown = json.dumps(err.get("input"), default=str)[:40]
        msg = f"{shown} is not an allowed value" + (
            f"; must be {allowed}"
            if allowed.count(",") < 8
            else " (see docs/contract.md for the allowed ids)"
        )
    elif typ == "model_type":  # "a valid dictionary or instance of HookRequest": no Python class names
        msg = object_expected(err.get("input"))
    elif "input" in err and typ != "dict_type":
        shown = json.dumps(err["input"], default=str)
        if len(shown) <= 40:
            msg = f"{msg} (got {shown})"
    return path or "<patient>", printable(msg.replace("Input should be", "must be"), 300)


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words (not Python's type names)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def object_expected(value: Any) -> str:
    """The message for a value where a JSON object belongs, in JSON's words (never a model's class name)."""
    return f"wrong type: expected a JSON object (got {json_kind(value)})"


def and_more(count: int) -> str:
    """What follows the first of ``count`` problems in a one-line message: " (+2 more)", or "" for one."""
    return f" (+{count - 1} more)" if count > 1 else ""


def first_problem(problems: Sequence[tuple[str, str]]) -> str:
    """The first of (field, message) ``problems`` and how many follow: "field: message (+2 more)"."""
    where, message = problems[0]
    return f"{where}: {message}{and_more(len(problems))}"


def input_error(exc: ValidationError) -> InputError:
    errors = exc.errors()
    path, msg = _message(dict(errors[0]))
    return InputError(path, msg + and_more(len(errors)), tuple(_message(dict(e)) for e in errors[1:]))


SHOWN_OTHERS = 20  # further problems of one input a command lists under its first line


def other_problem_lines(e: InputError) -> list[str]:
    """The lines a command writes under an input error's first line: each further problem with its field
    (``  also <path>: <message>``, escaped and capped), at most SHOWN_OTHERS, then how many were left out."""
    lines = [printable(f"  also {p}: {m}", 400) for p, m in e.others[:SHOWN_OTHERS]]
    if len(e.others) > SHOWN_OTHERS:
        lines.append(f"  ... and {len(e.others) - SHOWN_OTHERS} more")
    return lines


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


def first_non_finite(data: Any, prefix: str = "") -> tuple[str, str] | None:
    """The path of the first number in parsed JSON that is no finite float, with how it reads: NaN or an
    infinity (Python's parser accepts ``NaN``, ``Infinity`` and decimals too large for a float, which no
    JSON reader downstream can write back), or an integer beyond the largest float (e.g. 10**309 written
    out: valid JSON that no float reading can compute with); None when every number is finite."""
    stack: list[tuple[str, Any]] = [(prefix, data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path or "<json>", "NaN" if math.isnan(node) else ("Infinity" if node > 0 else "-Infinity")
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) > sys.float_info.max:
            # counted, not printed: str() of a huge int may be refused (sys.set_int_max_str_digits)
            digits = int(math.log10(abs(node))) + 1
            return path or "<json>", f"an integer of {digits} digits, beyond the largest number"
        if isinstance(node, dict):
            stack += [(f"{path}.{k}" if path else str(k), v) for k, v in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(f"{path}[{i}]", v) for i, v in reversed(list(enumerate(node)))]
    return None


def first_line(exc: Exception) -> str:
    """An exception's first line (its type when it says nothing), for one-line errors."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _RepeatedKeyError(Exception):
    """Raised by the decoder's object hook: some object of the text has a key twice."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _RepeatedKeyError
    return obj


class _Marked(dict[str, Any]):
    """An object of the second, locating pass that has ``key`` ``times`` times."""

    key = ""
    times = 0


def _marking_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    keys = [k for k, _ in pairs]
    seen: set[str] = set()
    marked = _Marked(obj)
    for key in keys:  # the first key seen again (a set: a hostile object may hold thousands of keys)
        if key in seen:
            marked.key, marked.times = key, keys.count(key)
            break
        seen.add(key)
    return marked


# json's C scanner hands each object's (key, value) pairs to the hook, which makes the dict and compares
# the lengths: about 0.2 us per object (docs/api.md). Only a text with a key repeated is decoded a second
# time, to name where.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_object)
_LOCATOR = json.JSONDecoder(object_pairs_hook=_marking_object)


def _repeated_key(text: str) -> tuple[tuple[str | int, ...], int]:
    """The path of the first repeated key (depth first, in document order) and how often it appears."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(_LOCATOR.decode(text), ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, _Marked):
            return (*loc, node.key), node.times
        items = list(node.items() if isinstance(node, dict) else enumerate(node))
        stack += [(v, (*loc, k)) for k, v in reversed(items) if isinstance(v, dict | list)]
    raise AssertionError("a repeated key was reported but not found")  # pragma: no cover


def loads(text: str, at: str = "") -> Any:
    """``json.loads`` that refuses an object with the same key twice (RFC 8259 leaves its meaning open:
    json keeps the last value, silently choosing between two stated facts). That is an InputError naming
    the key's path (under ``at``, the field the text is the value of); broken JSON raises json's own
    errors (ValueError) as json.loads does."""
    try:
        return _DECODER.decode(text)
    except _RepeatedKeyError:
        loc, times = _repeated_key(text)
    path = field_path(tuple('""' if part == "" else part for part in loc))
    if at:
        path = f"{at}{path}" if path.startswith("[") else f"{at}.{path}"
    often = "twice" if times == 2 else f"{times} times"
    raise InputError(path, f"appears {often} in the same JSON object (each key may be given once)")


def _utf8(raw: bytes) -> str:
    """JSON bytes -> text. RFC 8259 §8.1: JSON exchanged between systems is UTF-8 (json.loads would
    also take UTF-16 and UTF-32); a UTF-8 byte-order mark is skipped."""
    encoding = json.detect_encoding(raw)
    if encoding not in ("utf-8", "utf-8-sig"):
        name = encoding.upper()
        raise InputError("<json>", f"not valid JSON: the text is {name}, not UTF-8 (JSON must be UTF-8)")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError("<json>", f"not valid JSON: not UTF-8 (byte {exc.start + 1})") from None


def parse_json(text: str | bytes) -> Any:
    """JSON text (bytes must be UTF-8) -> value, or one InputError: ``<json>`` for the text as a whole
    (broken, not UTF-8, nested too deep), the key's path for a key given twice."""
    if isinstance(text, bytes):
        text = _utf8(text)
    try:
        data = loads(text)
    except RecursionError:
        raise InputError("<json>", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            "<json>", f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
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


def read_limited(stream: BinaryIO, name: str, limit: int = MAX_RECORD_BYTES) -> bytes:
    """At most ``limit`` bytes of ``stream``; more is an InputError naming ``name`` and the limit (an
    endless input such as /dev/zero is never read whole)."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        size = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
        raise InputError("<file>", f"{name}: larger than {size}, the limit for one patient record")
    return raw


def read_patient(path: str | Path) -> Patient:
    """Read one contract Patient from a JSON file ('-' reads standard input), at most
    :data:`MAX_RECORD_BYTES` of it."""
    import sys

    if str(path) == "-":
        return read_patient_json(read_limited(sys.stdin.buffer, "standard input"))
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = read_limited(fh, printable(str(p), 200))
    except FileNotFoundError:
        raise InputError("<file>", f"{p}: no such file") from None
    except OSError as exc:
        raise InputError("<file>", f"{p}: {exc.strerror}") from None
    return read_patient_json(raw)
