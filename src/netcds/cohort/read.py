"""Reading a cohort: NDJSON, Parquet or CSV rows -> validated canonical rows, or rejects.

Row shapes (docs/cohort.md):

- **NDJSON** one decision point per line: the contract Patient's fields at the top level plus a
  ``decision`` object, ``{"tumor": {...}, ..., "decision": {"date": "2024-05-01", "regimen": "ssa"}}``.
  The wrapped form ``{"patient": {...}, "decision": {...}}`` is accepted too. The row number is the
  physical line number; blank lines are not rows.
- **Parquet** nested (struct columns named like the contract plus a ``decision`` struct, or
  ``patient`` + ``decision``), or flattened like CSV. The row number is the 1-based row index.
- **CSV** flattened: one column per dotted path (``tumor.primary_site``, ``decision.regimen``);
  ``treatments``, ``assessments`` and string lists (``tumor.syndromes``, ``medications``,
  ``comorbidities.other``) hold JSON text; numbers are plain decimals (``-1.5``, ``2e-3``: anything else
  rejects the row naming the column); bools are ``true``/``false`` in any letter case; an empty cell (or
  one of only spaces) is unknown; spaces around any other cell's value reject the row naming the column.
  The row number counts data rows (the header is row 0). A row with more or fewer cells than the
  header is rejected; a header naming a column twice, or one field in two columns (``tumor`` and
  ``tumor.ki67_percent``), stops the run (which cell is meant is unknown).

A directory of part files is one cohort (files in name order): the row number runs on across
the files (which format a cohort has and which files are its parts: ``parts.py``). In the
columnar formats a null is the same as an absent field (unknown). Every row ends as exactly one
canonical row or exactly one reject ``{row, file, line, field, message, errors, raw}`` (``file``
and ``line`` say where to fix it: see ``located``): nothing is dropped, so rows in = results +
rejects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from netcds.cohort.layout import Decision, canonical_row, json_default
from netcds.cohort.parts import (
    FORMATS,
    clash_message,
    clashing_columns,
    column_clash,
    detect_format,
    header_not_text,
    open_bytes,
    open_text,
    part_files,
    part_name,
    readable,
    repeated_column,
)
from netcds.cohort.textcells import csv_reader, damaged, damaged_cells, lone_surrogate, next_cells, spaced
from netcds.errors import InputError
from netcds.io import first_line, loads, printable
from netcds.patient import Patient
from netcds.vocabulary import fact_specs

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?)*$")
JSON_COLUMNS = ("treatments", "assessments")
# a number in a text cell (CSV, flattened Parquet): ASCII digits, an optional sign, decimal point and
# exponent; not what else Python's float() reads ("1_0", " 1e3", "inf", "nan", full-width digits)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class NotPlainNumber(str):
    """A text cell under a number column that is not a plain decimal: left as text, which the contract
    model refuses (numbers are strict), and worded by :func:`_errors`."""

    __slots__ = ()


class NotBool(str):
    """A text cell under a bool column that is not ``true``/``false`` (any letter case): left as text, which
    the contract model refuses (bools are strict), and worded by :func:`_errors`."""

    __slots__ = ()


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part.startswith("function-") or "[" in part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        path = _field_path(tuple(err["loc"]))
        msg = str(err["msg"]).removeprefix("Value error, ")
        head, sep, rest = msg.partition(": ")
        if sep and _FIELD.match(head):
            path, msg = (f"{path}.{head}" if path else head), rest
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not in the contract)"
        elif isinstance(err.get("input"), NotPlainNumber):
            msg = (
                f"not a plain decimal number ({printable(str(err['input']), 40)!r}): ASCII digits with an"
                " optional sign, decimal point and exponent (-1.5, .5, 2e-3)"
            )
        elif isinstance(err.get("input"), NotBool):
            msg = f"not true or false ({printable(str(err['input']), 40)!r}): a bool cell holds true or false"
            msg += " (any letter case: TRUE, True)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        out.append({"field": prefix + path if path else prefix.rstrip(".") or "<row>", "message": msg})
    return out


def reject(row: int, errors: list[dict[str, str]], raw: Any) -> dict[str, Any]:
    first = errors[0] if errors else {"field": "<row>", "message": "invalid row"}
    return {"row": row, "field": first["field"], "message": first["message"], "errors": errors, "raw": raw}


def located(
    result: tuple[dict[str, Any] | None, dict[str, Any] | None], file: str, line: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A reject told where its row is: ``file`` (the part file's path relative to the cohort
    directory, or the file's name) and ``line`` in it (NDJSON: the physical line; CSV: the data
    row, header = 0; Parquet: the 1-based row index). ``row`` stays the cohort-wide number."""
    canon, rej = result
    if rej is None:
        return result
    where = {"row": rej["row"], "file": file, "line": line}
    return canon, where | {k: v for k, v in rej.items() if k not in where}


def validate_record(row: int, record: Any, raw: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One decision point -> (canonical row, None) or (None, reject)."""
    if not isinstance(record, dict):
        return None, reject(row, [{"field": "<row>", "message": "a row must be a JSON object"}], raw)
    if "patient" in record:
        extra = sorted(set(record) - {"patient", "decision"})
        if extra:
            return None, reject(
                row, [{"field": extra[0], "message": "unknown top-level key beside patient"}], raw
            )
        patient_obj, decision_obj = record["patient"], record.get("decision")
    else:
        patient_obj = {k: v for k, v in record.items() if k != "decision"}
        decision_obj = record.get("decision")
    errors: list[dict[str, str]] = []
    patient = decision = None
    try:
        patient = Patient.model_validate(patient_obj)
    except ValidationError as exc:
        errors += _errors(exc, "")
    if decision_obj is None:
        message = 'required: the regimen started at the decision point, e.g. {"regimen": "ssa"}'
        errors.append({"field": "decision", "message": message})
    else:
        try:
            decision = Decision.model_validate(decision_obj)
        except ValidationError as exc:
            errors += _errors(exc, "decision.")
    if errors or patient is None or decision is None:
        return None, reject(row, errors, raw)
    late = after_decision(patient, decision)
    if late:
        return None, reject(row, [{"field": f, "message": m} for f, m in late], raw)
    return canonical_row(row, patient, decision), None


def after_decision(patient: Patient, decision: Decision) -> list[tuple[str, str]]:
    """What the record holds from after its decision date, as ``(field, message)``: a decision point is
    the patient as of that decision, so a later line, progression, assessment or ``as_of`` would judge the
    choice by what came after it (e.g. progression on an SSA recorded years later making a first-line SSA
    look discordant). A line starting on the decision date is the choice itself (``decision.regimen``)."""
    d = decision.date
    if d is None:
        return []
    out: list[tuple[str, str]] = []
    if patient.as_of is not None and patient.as_of > d:
        out.append(
            ("as_of", f"is after decision.date ({d}): the record must describe the patient at the decision")
        )
    for i, t in enumerate(patient.treatments or []):
        if t.start is not None and t.start == d:
            out.append(
                (
                    f"treatments[{i}].start",
                    f"is decision.date ({d}): the line chosen there is decision.regimen, not history",
                )
            )
        for name in ("start", "end", "progression_date"):
            value: date | None = getattr(t, name)
            if value is not None and value > d:
                out.append((f"treatments[{i}].{name}", f"is after decision.date ({d})"))
    for i, a in enumerate(patient.assessments or []):
        if a.date > d:
            out.append((f"assessments[{i}].date", f"is after decision.date ({d})"))
    status_date = patient.disease.status_date
    if status_date is not None and status_date > d:
        out.append(("disease.status_date", f"is after decision.date ({d})"))
    return out


# what a blank NDJSON line may hold: JSON's whitespace (RFC 8259), not all that str.strip() removes (a form
# feed, U+00A0, U+2028 make a line that is not JSON: a reject)
JSON_SPACE = " \t\r\n"


def parse_ndjson_line(row: int, line: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One NDJSON line -> (canonical row, None) or (None, reject). A line holding U+FFFD is rejected: it
    is what bytes that are not UTF-8 become when decoded with replacement (as Spark's text reader
    does), so both backends reject the same lines with the same words."""
    why = damaged(line)
    if why is not None:
        return None, reject(row, [{"field": "<row>", "message": why}], line)
    try:
        record = loads(line)
    except json.JSONDecodeError as exc:
        return None, reject(
            row, [{"field": "<row>", "message": f"not valid JSON ({exc.msg}, column {exc.colno})"}], line
        )
    except InputError as exc:  # an object with a key twice: which value is meant is unknown
        return None, reject(row, [{"field": exc.field, "message": exc.message}], line)
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits; thousands of brackets
        why = "a number has too many digits" if isinstance(exc, ValueError) else "nested too deeply"
        return None, reject(row, [{"field": "<row>", "message": f"not valid JSON ({why})"}], line)
    if "\\u" in line and (lone := lone_surrogate(record)) is not None:
        return None, reject(row, [{"field": "<row>", "message": lone}], line)
    return validate_record(row, record, record)


def validate_columns(
    row: int, cells: dict[str, Any], raw: Any, nest: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A row of named cells (CSV, Parquet) -> (canonical row, None) or (None, reject), nested by ``nest``
    (default :func:`record_from_columns`); a JSON cell with a key twice is a reject naming the key."""
    try:
        record = (nest or record_from_columns)(cells)
    except InputError as exc:
        return None, reject(row, [{"field": exc.field, "message": exc.message}], raw)
    return validate_record(row, record, raw)


def validate_csv_cells(
    row: int, header: list[str], cells: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A CSV data row's cells under ``header`` -> (canonical row, None) or (None, reject). A row with more
    or fewer cells than the header names is rejected (field ``<row>``): which value belongs to which column
    is unknown, and a short row's missing cells are not unknowns anyone recorded. A cell that is not UTF-8
    text (the file's bytes decoded with replacement, U+FFFD) rejects the row naming its column. Both
    backends use it (Spark hands over the rows its CSV reader finds malformed or not UTF-8)."""
    named: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=False):
        if column in named and not cell:
            continue  # only unnamed columns repeat (parts.repeated_column): keep a cell under one
        named[column] = cell
    not_text = damaged_cells(header, cells)
    if not_text:
        raw = {**named, "<extra cells>": cells[len(header) :]} if len(cells) > len(header) else named
        return None, reject(row, not_text, raw)
    if len(cells) != len(header):
        n = len(cells) - len(header)
        message = f"{abs(n)} {'more' if n > 0 else 'fewer'} cell(s) than the header"
        raw = {**named, "<extra cells>": cells[len(header) :]} if n > 0 else named
        return None, reject(row, [{"field": "<row>", "message": message}], raw)
    return validate_columns(row, named, dict(named), flat_to_nested)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _convert(path: str, value: Any) -> Any:
    """A flattened cell -> the contract's JSON value (CSV cells are text, read as written: a bool is
    ``true``/``false`` in any letter case, a number a plain decimal, a cell of a known field with spaces
    around its value a reject naming the column; an unknown column is the model's to name)."""
    if not isinstance(value, str):
        return value
    spec = fact_specs().get(path) if not path.startswith("decision.") else None
    if path in JSON_COLUMNS or (spec is not None and spec.kind == "list"):
        try:
            parsed = loads(
                value, path
            )  # a key twice: InputError naming it (validate_columns rejects the row)
        except (ValueError, RecursionError):
            return value  # the model names the field: "must be a valid list"
        if "\\u" in value and (lone := lone_surrogate(parsed)) is not None:
            raise InputError(path, lone)
        return parsed
    if spec is not None and spec.kind == "number":
        if _NUMBER.fullmatch(value):
            return float(value)  # 1e999 is inf: the model says it must be finite
        return NotPlainNumber(value)  # " 12" too: not a plain decimal
    if (spec is not None or path.startswith("decision.")) and value != value.strip():
        raise InputError(path, spaced(value))
    if spec is not None and spec.kind == "bool":
        return value.lower() == "true" if value.lower() in ("true", "false") else NotBool(value)
    return value


@lru_cache(maxsize=64)
def _clash(columns: tuple[str, ...]) -> tuple[str, str] | None:
    found = column_clash(columns)
    return (found[0][1], found[1][1]) if found else None


def flat_to_nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"tumor.primary_site": "ileum", "decision.regimen": "ssa"}`` -> nested; empty cells dropped. Columns
    that give one field twice (``tumor`` beside ``tumor.ki67_percent``, whatever their cells hold) are an
    InputError naming both (the row's reject): one is never merged into or over the other. The readers
    refuse such a header or schema before any row (``parts.clashing_columns``); this catches the rest (a
    cohort Spark lists from a URI)."""
    clash = _clash(tuple(flat))
    if clash is not None:
        raise InputError(clash[1], clash_message(*clash))
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        *outer, leaf = key.split(".")
        node = out
        for part in outer:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # an unnamed column holding a value, beside ".x"
                raise InputError(key, clash_message(part, key))
        node[leaf] = _convert(key, value)
    return out


def record_from_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet/Spark row (nested or flattened) -> the NDJSON row shape."""
    if any("." in k for k in row):
        return flat_to_nested(row)
    return _drop_nulls(row)  # type: ignore[no-any-return]


def iter_rows(
    path: Path, fmt: str | None = None
) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Every row of a cohort file (or a directory of part files) validated, in order."""
    fmt = detect_format(path, fmt)
    row = 0
    if fmt == "ndjson":
        for f in part_files(path):
            name = part_name(path, f)
            with readable(f), open_bytes(f) as fh:
                for n_line, raw_line in enumerate(fh):
                    row += 1
                    # a row that is not UTF-8 is rejected (parse_ndjson_line), not the whole cohort; the
                    # line ending is not part of the row (a reject's raw text is Spark's text line)
                    line = raw_line.decode("utf-8-sig" if n_line == 0 else "utf-8", "replace")
                    line = line.removesuffix("\n").removesuffix("\r")
                    if line.strip(JSON_SPACE):
                        yield located(parse_ndjson_line(row, line), name, n_line + 1)
    elif fmt == "csv":
        for f in part_files(path):
            name = part_name(path, f)
            with readable(f), open_text(f) as fh:
                reader = csv_reader(fh)
                header = next_cells(reader, name, 0, row)
                if header is None:
                    continue
                header_not_text(f, header)  # detect_format refused it already; a reader stands alone
                repeated_column(f, header)
                clashing_columns(f, header, "the CSV header")
                n_rec = 0
                while (cells := next_cells(reader, name, n_rec + 1, row + 1)) is not None:
                    if not cells:  # a blank line is not a row
                        continue
                    row += 1
                    n_rec += 1
                    yield located(validate_csv_cells(row, header, cells), name, n_rec)
    elif fmt == "parquet":
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")  # a time-zoned timestamp is read as its UTC time (as on Spark)
        for f in part_files(path):
            name = part_name(path, f)
            try:
                cur = con.execute(parquet_select(con, f), [str(f)])
            except duckdb.Error as exc:
                raise ValueError(f"{f}: not a readable Parquet file ({first_line(exc)})") from None
            names = [d[0] for d in cur.description or []]
            n_rec = 0
            while batch := cur.fetchmany(4096):
                for values in batch:
                    row += 1
                    n_rec += 1
                    rec = dict(zip(names, values, strict=True))
                    yield located(validate_typed_columns(row, rec), name, n_rec)
    else:
        raise ValueError(f"unknown cohort format '{fmt}' (one of {list(FORMATS)})")


_ZONED = re.compile(r"TIMESTAMP WITH TIME ZONE")


def parquet_select(con: Any, f: Path) -> str:
    """The query reading a Parquet file's columns, a time-zoned timestamp at any depth (``as_of``,
    ``decision.date``, a struct's field, an unknown ``exported_at``) cast to the plain timestamp of its
    UTC time: Python would need ``pytz`` for the zoned value, and Spark reads it as its UTC time too
    (the session time zone). A date field then takes it when its time is midnight, as a date."""
    columns = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(f)]).fetchall()
    out = []
    for name, typ, *_ in columns:
        q = '"' + str(name).replace('"', '""') + '"'
        out.append(f"CAST({q} AS {_ZONED.sub('TIMESTAMP', typ)}) AS {q}" if _ZONED.search(typ) else q)
    return f"SELECT {', '.join(out) or '*'} FROM read_parquet(?)"  # noqa: S608 (names quoted)


def validate_typed_columns(
    row: int, rec: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A Parquet row of typed values (DuckDB's or Spark's) -> (canonical row, None) or (None, reject), never
    an exception: a DECIMAL is a number (an int when integral, as exports from JDBC, Spark or SAS write
    numbers), a UUID its text, an integer ``id`` its digits; a binary value, an interval or any other type
    the contract has no form for rejects the row naming the column and the type."""
    problems: list[dict[str, str]] = []
    values = _plain(rec, "", problems)
    ident = values.get("id") if isinstance(values, dict) else None
    if isinstance(ident, int) and not isinstance(ident, bool):
        values["id"] = str(ident)  # a numeric record number (a BIGINT MRN), as a CSV's id text reads it
    raw = json.loads(json.dumps(values, default=json_default))
    if problems:
        return None, reject(row, problems, raw)
    return validate_columns(row, values, raw)


def _plain(value: Any, field: str, problems: list[dict[str, str]]) -> Any:
    """A typed columnar value -> plain Python (dates stay dates); what has no contract form is noted in
    ``problems`` under its field and replaced by a description (the reject's ``raw``)."""
    if value is None or isinstance(value, str | bool | int | float | date | time):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{field}.{k}" if field else str(k), problems) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{field}[{i}]", problems) for i, v in enumerate(value)]
    if (isinstance(value, Decimal) and value.is_finite()) or isinstance(value, UUID):
        return json_default(value)  # a number, or the UUID's text
    if isinstance(value, bytes | bytearray | memoryview):
        n = len(bytes(value))
        why = f"binary value ({n} bytes, BLOB): the contract has no binary field; give text or a number"
        problems.append({"field": field or "<row>", "message": why})
        return f"<binary value, {n} bytes>"
    if isinstance(value, timedelta):
        why = "interval value (INTERVAL): the contract has no interval field; give a number or a date"
        problems.append({"field": field or "<row>", "message": why})
        return str(value)
    why = f"a value of type {type(value).__name__} ({printable(repr(value), 60)}): not a contract value"
    problems.append({"field": field or "<row>", "message": why})
    return printable(repr(value), 200)


def count_rows(path: Path, fmt: str | None = None) -> int | None:
    """Rows to expect (for a progress bar), when cheap to know; blank NDJSON lines are not counted."""
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        import duckdb

        total = 0
        for f in part_files(path):
            try:
                got = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(f)]).fetchone()
            except duckdb.Error as exc:
                raise ValueError(f"{f}: not a readable Parquet file ({first_line(exc)})") from None
            total += int(got[0]) if got else 0
        return total
    n = 0
    for f in part_files(path):
        with readable(f), open_bytes(f) as fh:
            lines = sum(1 for line in fh if line.strip(JSON_SPACE.encode()))
        n += max(lines - 1, 0) if fmt == "csv" else lines  # a CSV file's header, when it has one
    return n


def dump_json_line(obj: Any) -> str:
    """One JSON line as UTF-8 can hold it: a string that is not text (a lone surrogate) escaped as JSON
    writes it (``\\ud800``), never an error writing the file."""
    text = json.dumps(obj, default=json_default, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, default=json_default)
    return text + "\n"
