"""Patient form <-> contract record: parse the posted form, fill the form from a record, place errors.

A blank control means UNKNOWN and is left out of the record (never sent as ``false``). A list (a
multi-select, a "lines" text, a row group) is known to be empty (``[]``) only when its "none" box
(``<path>:none``) is ticked; ticked together with items it is an error at the list. Errors are keyed by
control name, which is the contract path, so a validation error on ``tumor.ki67_percent`` is shown next
to that input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from netcds.io import all_errors, printable
from netcds.patient import Patient
from netcds.web.bidi import form_text, read_form_text
from netcds.web.form_schema import FieldDef, FormSchema, form_schema

NONE_SUFFIX = ":none"
# a row index as the form writes it: "treatments[1].agent", never "treatments[01].agent" (which is no field)
_ROW = re.compile(r"^([a-z_]+)\[(0|[1-9][0-9]*)\]\.([a-z_0-9]+)$")
# Controls the patient form posts that are not patient fields: the submit buttons, the case being edited, the
# version of it the form started from and the form's one-time token (a repeated submission saves once).
FORM_CONTROLS = frozenset({"action", "case_id", "base_version", "form_token"})
# The form's hidden controls, read (and refused when sent as a file) by the routes (web.routes_patient).
CASE_CONTROLS = {"case_id": "Case id", "base_version": "Version", "form_token": "Form token"}
Value = str | list[str]


class FormLike(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...
    def __iter__(self) -> Iterator[str]: ...


@dataclass
class FormState:
    """What the form shows: the user's raw values, how many rows, and the messages at each control."""

    values: dict[str, Value] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    general_errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    case_id: str | None = None
    base_version: int | None = None  # the case version the form started from
    form_token: str | None = None  # this form's one-time token (a new one when the page is drawn)
    confirm_after: int | None = None  # a newer version was found: offer "save anyway" after it

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values()) + len(self.general_errors)

    def value(self, name: str) -> str:
        v = self.values.get(name, "")
        return v if isinstance(v, str) else ""

    def selected(self, name: str) -> list[str]:
        v = self.values.get(name, [])
        return v if isinstance(v, list) else []

    def none_ticked(self, path: str) -> bool:
        """Whether the known-none box of the "lines" field or row group ``path`` is ticked."""
        return self.values.get(path + NONE_SUFFIX) == "1"

    def rows_shown(self, group: str) -> int:
        """Rows drawn: the recorded ones, or one blank row to start from."""
        return max(self.row_counts.get(group, 0), 1)


def fmt_number(x: float | int) -> str:
    """``x`` as the form writes it, in a spelling :func:`parse_number` reads back as the same float: the
    shortest one, except that a dot before exactly three digits ("1.125", which would be ambiguous with a
    thousands separator) gets a trailing zero ("1.1250"), and a negative zero is "-0"."""
    if isinstance(x, bool):
        return str(x).lower()
    value = float(x)
    if value.is_integer() and abs(value) < 1e15:
        return "-0" if math.copysign(1.0, value) < 0 and value == 0 else str(int(value))
    text = repr(value)
    return text + "0" if _ambiguous(text) else text


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _get(data: Any, path: str) -> Any:
    node = data
    for p in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _parse_scalar(f: FieldDef, raw: str, name: str, state: FormState) -> tuple[bool, Any]:
    """(present, value) for one control's text; records a message at the control when it cannot be read.
    A text (the patient id) is kept exactly as given, spaces included (web.bidi: escapes read back)."""
    if f.kind == "text":
        return _parse_text(raw, name, state)
    raw = raw.strip()
    if raw == "":
        return False, None
    if f.kind == "bool":
        if raw in ("true", "false"):
            return True, raw == "true"
        state.add_error(name, "choose yes, no or unknown")
        return False, None
    if f.kind == "number":
        x, problem = parse_number(f, raw)
        if problem is not None:
            state.add_error(name, problem)
            return False, None
        return True, x
    return True, read_form_text(raw)


def _parse_text(raw: str, name: str, state: FormState) -> tuple[bool, Any]:
    """A free text: empty is unknown; only spaces is an error (neither unknown nor a text anyone means)."""
    if raw == "":
        return False, None
    value = read_form_text(raw)  # the page shows a control character as its escape (web.bidi)
    if not value.strip():
        state.add_error(name, "holds only spaces: clear it (unknown) or write the text")
        return False, None
    return True, value


def parse_number(f: FieldDef, raw: str) -> tuple[float | None, str | None]:
    """A number typed for field ``f`` (the form's rules, also the what-if box's): ``(value, None)``, or
    ``(None, message)``. A cell count per µL takes grouped thousands; elsewhere a comma or dot before
    exactly three digits is ambiguous and refused; a decimal comma works."""
    raw = raw.strip()
    if "_" in raw:  # Python's float() takes digit separators ("1_0" is 10): never guess
        return None, f"must be a number (got {raw[:40]!r})"
    x, problem = _parse_count(raw) if is_count(f) else _parse_measure(raw)
    if problem:
        return None, problem
    if x is None or not math.isfinite(x):
        return None, "must be a finite number"
    return x, None


# A comma or dot followed by exactly three digits and nothing more ("150,000", "1.500"): a thousands
# separator or a decimal mark, which is unknown. A leading "0" ("0,125") can only be a decimal.
_AMBIGUOUS = re.compile(r"([+-]?)([0-9]{1,3})([.,])([0-9]{3})")
# Whole numbers with thousands grouped by commas or spaces (ordinary, no-break, narrow no-break), one kind.
_GROUPED = re.compile(r"[0-9]{1,3}(?P<sep>[, \u00a0\u202f])[0-9]{3}(?:(?P=sep)[0-9]{3})*")
COUNT_SUFFIX = "_per_ul"


def is_count(f: FieldDef) -> bool:
    """A cell count per µL (platelets, neutrophils): only whole numbers make sense, so "150,000" is 150000."""
    return f.kind == "number" and f.leaf.endswith(COUNT_SUFFIX)


def _ambiguous(raw: str) -> re.Match[str] | None:
    m = _AMBIGUOUS.fullmatch(raw)
    return m if m is not None and int(m.group(2)) != 0 else None


def _parse_measure(raw: str) -> tuple[float | None, str | None]:
    """A measured value: a decimal comma ("12,5") or dot; "1,500" / "1.500" is refused as ambiguous, with
    both readings written so that each is read as meant ("1.125": 1125 or 1.1250)."""
    m = _ambiguous(raw)
    if m is not None:
        sign, whole, _, frac = m.groups()
        decimals = frac.rstrip("0") or "0"
        decimal = f"{sign}{whole}.{decimals}{'0' if len(decimals) == 3 else ''}"
        return None, f"ambiguous: write {sign}{whole}{frac} or {decimal} (got {raw!r})"
    try:
        return (float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)), None
    except ValueError:
        return None, f"must be a number (got {raw[:40]!r})"


def _parse_count(raw: str) -> tuple[float | None, str | None]:
    """A count per µL: a whole number, thousands optionally grouped ("150,000", "150 000"); a dot before
    three digits ("150.000") is refused as ambiguous, a decimal ("1.5", "1,5") as no count."""
    m = _ambiguous(raw)
    if m is not None and m.group(3) == ".":
        sign, whole, _, frac = m.groups()
        if frac != "000":  # read as a decimal it is no whole number, so no count: one reading is left
            return None, (
                f"ambiguous: write {sign}{whole}{frac} if that is the count (a whole number per µL) "
                f"(got {raw!r})"
            )
        return None, f"ambiguous: write {sign}{whole}{frac} or {sign}{whole}.0 (got {raw!r})"
    if m is not None or _GROUPED.fullmatch(raw):
        return float(re.sub(r"[, \u00a0\u202f]", "", raw)), None
    whole_number = f"a count per µL is a whole number: write it as e.g. 150000 or 150,000 (got {raw[:40]!r})"
    try:
        x = float(raw)
    except ValueError:
        return None, whole_number
    if math.isfinite(x) and not x.is_integer():
        return None, whole_number
    return x, None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what a browser posts between the lines of a text area


def _lines(raw: str, name: str, state: FormState) -> list[str]:
    """One item per line, kept exactly as given (a comma is text; spaces are kept, so an item stored with
    them is saved unchanged); an empty line is no item. A line of only spaces, or one whose escapes hold a
    line break (:func:`_item_text` shows a stored item's that way), is no item the list can hold: an
    error at the field, never dropped or split silently."""
    items: list[str] = []
    for number, line in enumerate(_LINE_BREAK.split(raw), start=1):
        if line == "":
            continue
        item = read_form_text(line)
        if not item.strip():
            state.add_error(name, f"line {number} holds only spaces, so no item: delete it or write the item")
        elif "\n" in item or "\r" in item:
            state.add_error(
                name,
                f"line {number} holds a line break (shown as \\u000a or \\u000d), but each line is one item: "
                "remove it, or put the two parts on lines of their own",
            )
        else:
            items.append(item)
    return items


def _item_text(items: list[Any]) -> str:
    """A list's items as its text area shows them: one per line, each as :func:`form_text` writes it (a
    line break inside an item as its escape, so that it is not read as two items)."""
    return "\n".join(form_text(str(x)) for x in items)


def _row_indices(form: FormLike, group: str) -> list[int]:
    found: set[int] = set()
    for key in form:
        m = _ROW.match(key)
        if m and m.group(1) == group:
            found.add(int(m.group(2)))
    return sorted(found)


def _is_known(name: str, schema: FormSchema) -> bool:
    """Whether a posted name is a patient control (or a form control such as the submit button)."""
    if name in FORM_CONTROLS or name in schema.fields:
        return True
    if name.endswith(NONE_SUFFIX):
        base = name.removesuffix(NONE_SUFFIX)
        f = schema.fields.get(base)
        return (f is not None and f.kind in ("multi", "lines")) or base in schema.rows
    m = _ROW.match(name)
    rows = schema.rows.get(m.group(1)) if m else None
    return m is not None and rows is not None and any(f.leaf == m.group(3) for f in rows.fields)


def _reject_unknown(form: FormLike, schema: FormSchema, state: FormState) -> None:
    """A posted name that is no patient field is an error, as in a JSON import: never dropped silently."""
    seen: set[str] = set()
    for name in form:
        if name in seen or _is_known(name, schema):
            continue
        seen.add(name)
        state.general_errors.append(f"{printable(name, 80)}: unknown field (not in the contract); not used")


def _reject_repeated(form: FormLike, schema: FormSchema, state: FormState) -> None:
    """A one-value field posted twice is an error (which value is meant is unknown), as a key given twice
    in JSON is: never resolved silently by keeping one of them."""
    multi = {path for path, f in schema.fields.items() if f.kind == "multi"}
    for name in dict.fromkeys(form):
        if name in multi or name in FORM_CONTROLS or name.endswith(NONE_SUFFIX):
            continue
        if len(form.getlist(name)) > 1:
            state.general_errors.append(
                f"{printable(name, 80)}: sent more than once; which value is meant is unknown"
            )


def _sent_as_file(form: FormLike, name: str) -> bool:
    """Whether control ``name`` came as a file part of a multipart post (no text)."""
    return any(not isinstance(v, str) for v in form.getlist(name))


def _reject_files(form: FormLike, state: FormState) -> None:
    """A control sent as a file part of a multipart post holds no text: an error naming it, never read as
    blank (unknown) or as the file object's description."""
    for name in dict.fromkeys(form):
        if name not in CASE_CONTROLS and _sent_as_file(form, name):
            state.general_errors.append(f"{printable(name, 80)}: sent as a file, not as text; not used")


def refuse_case_files(form: FormLike, state: FormState) -> bool:
    """False, with a message naming each, when a case control (:data:`CASE_CONTROLS`) was sent as a file
    part: the form then refers to no case, as when its case id cannot be read (web.routes_patient)."""
    files = [key for key in CASE_CONTROLS if _sent_as_file(form, key)]
    for key in files:
        state.general_errors.append(
            f"{CASE_CONTROLS[key]} ({key}): sent as a file, not as text, so nothing was saved. The form no "
            "longer refers to a case: open the case again to save a new version of it."
        )
    if files:
        state.case_id = state.base_version = None
    return not files


def _posted(form: FormLike, name: str) -> str:
    """The text posted for control ``name``; "" when none (a file part is reported by _reject_files)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def read_form(form: FormLike, remove: tuple[str, int] | None = None) -> tuple[dict[str, Any], FormState]:
    """The record the form describes and the form state to redraw it (values renumbered, rows compacted).

    ``remove`` drops one row (group, posted index) before anything else: the no-JavaScript remove button.
    A posted name that is neither a patient field nor a form control is reported, never dropped silently.
    """
    schema = form_schema()
    state = FormState()
    data: dict[str, Any] = {}
    _reject_unknown(form, schema, state)
    _reject_repeated(form, schema, state)
    _reject_files(form, state)
    for path, f in schema.fields.items():
        if f.kind == "multi":
            chosen = [v for v in form.getlist(path) if isinstance(v, str) and v]
            none = bool(form.get(path + NONE_SUFFIX))
            state.values[path] = chosen + ([NONE_SUFFIX] if none else [])
            if none and chosen:
                state.add_error(path, "'none' is ticked together with named items; untick one")
            elif none:
                _set(data, path, [])
            elif chosen:
                _set(data, path, chosen)
            continue
        raw = _posted(form, path)
        state.values[path] = raw
        if f.kind == "lines":
            items = _lines(raw, path, state)
            if _none_box(form, path, f.none_label, state, len(items), "item"):
                _set(data, path, [])
            elif items:
                _set(data, path, items)
            continue
        present, value = _parse_scalar(f, raw, path, state)
        if present:
            _set(data, path, value)
    for group, rows in schema.rows.items():
        out_rows: list[dict[str, Any]] = []
        for idx in _row_indices(form, group):
            if remove is not None and remove == (group, idx):
                continue
            raws = {f.leaf: _posted(form, f.name(idx)) for f in rows.fields}
            if not any(v.strip() for v in raws.values()):
                continue  # a blank row is no row
            new = len(out_rows)
            row: dict[str, Any] = {}
            for f in rows.fields:
                name = f.name(new)
                state.values[name] = raws[f.leaf]
                present, value = _parse_scalar(f, raws[f.leaf], name, state)
                if present:
                    row[f.leaf] = value
            out_rows.append(row)
        state.row_counts[group] = len(out_rows)
        if _none_box(form, group, rows.none_label, state, len(out_rows), "row"):
            data[group] = []
        elif out_rows:
            data[group] = out_rows
    return data, state


def _none_box(form: FormLike, path: str, label: str, state: FormState, count: int, noun: str) -> bool:
    """Whether the known-none box of list ``path`` records the list as empty: ticked with no item. Ticked
    together with ``count`` items, which of the two is meant is unknown: an error at the list."""
    if not form.get(path + NONE_SUFFIX):
        return False
    state.values[path + NONE_SUFFIX] = "1"
    if count:
        state.add_error(
            path,
            f"'{label}' is ticked together with {count} {noun}{'s' if count != 1 else ''} entered; "
            f"untick it or clear the {noun}s",
        )
        return False
    return True


def state_from_record(record: dict[str, Any]) -> FormState:
    """Fill the form from a contract record (valid or not: an imported file is shown as it was given)."""
    schema = form_schema()
    state = FormState()
    for path, f in schema.fields.items():
        v = _get(record, path)
        if v is None:
            continue
        if f.kind == "multi" and isinstance(v, list):
            state.values[path] = [str(x) for x in v] if v else [NONE_SUFFIX]
        elif f.kind == "lines" and isinstance(v, list):
            state.values[path] = _item_text(v)
            if not v:
                state.values[path + NONE_SUFFIX] = "1"  # known to be none, not unknown
        else:
            state.values[path] = _text(v)
    for group, rows in schema.rows.items():
        items = record.get(group)
        if not isinstance(items, list):
            continue
        if not items:
            state.values[group + NONE_SUFFIX] = "1"  # known to be none, not unknown
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for f in rows.fields:
                if item.get(f.leaf) is not None:
                    state.values[f.name(i)] = _text(item[f.leaf])
        state.row_counts[group] = len(items)
    return state


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return fmt_number(v)
    if isinstance(v, list):
        return _item_text(v)
    return form_text(str(v))


def control_for(path: str, state: FormState, schema: FormSchema | None = None) -> str | None:
    """The control (or row) an error path belongs to: exact name, else the nearest enclosing one."""
    schema = schema or form_schema()
    names = set(schema.fields) | {k for k in state.values if "[" in k}
    for group, rows in schema.rows.items():
        names |= {f.name(i) for i in range(state.rows_shown(group)) for f in rows.fields}
    candidate = path
    while candidate:
        if candidate in names:
            return candidate
        row = re.match(r"^([a-z_]+)\[(\d+)\]$", candidate)
        if row and row.group(1) in schema.rows:
            return candidate
        if candidate.endswith("]"):
            candidate = candidate[: candidate.rfind("[")]
        elif "." in candidate:
            candidate = candidate[: candidate.rfind(".")]
        else:
            return None
    return None


def place_errors(errors: list[tuple[str, str]], state: FormState) -> None:
    for path, message in errors:
        if (
            path == "tumor" and "missing" in message
        ):  # nothing about the tumor given: the one required control
            path, message = "tumor.primary_site", "required: choose the primary site (or 'unknown primary')"
        message = re.sub(r"\(got (-?\d+)\.0\)", r"(got \1)", message)
        name = control_for(path, state)
        if name is None:
            where = "" if path.startswith("<") else f"{path}: "
            state.general_errors.append(where + message)
        else:
            state.add_error(name, message if name == path else f"{path}: {message}")


def validate(data: dict[str, Any], state: FormState) -> Patient | None:
    """The Patient, or None with every problem placed at its control."""
    if state.error_count:
        # still run the model to report the other fields' problems in the same pass
        try:
            Patient.model_validate(data)
        except ValidationError as exc:
            place_errors([e for e in all_errors(exc) if e[0] not in state.errors], state)
        return None
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        place_errors(all_errors(exc), state)
        return None
