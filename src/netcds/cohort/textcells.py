"""Text as hostile files give it: CSV cells of any length, bytes that are not UTF-8, JSON strings that are
not text.

Both cohort readers (DuckDB's ``read.py``, Spark's ``run_spark.py``) read with these, so a file ends as
the same rows, rejects or stop on both.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

from netcds.io import MAX_RECORD_BYTES, printable

# the longest CSV cell read (characters): the longest record the tool takes; Python's csv module stops at
# 131,072, Spark's reader has no limit
MAX_CELL = MAX_RECORD_BYTES


def csv_reader(lines: Iterable[str]) -> Iterator[list[str]]:
    """``csv.reader`` allowing cells up to :data:`MAX_CELL` characters (both backends read with it)."""
    csv.field_size_limit(MAX_CELL)
    return csv.reader(lines)


def long_cell(name: str, line: int, row: int) -> str:
    """Why a CSV file stops the run: a cell longer than :data:`MAX_CELL`, most often a quote opened and
    never closed, which makes the rest of the file one cell (the rows in it cannot be told apart)."""
    return (
        f"{name}: line {line} (data row; cohort row {row}): a cell is longer than {MAX_CELL} characters"
        " (a quote opened and never closed makes the rest of the file one cell); fix the file"
    )


def next_cells(reader: Iterator[list[str]], name: str, line: int, row: int) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error:  # the only error of a non-strict reader: a cell over the limit
        raise ValueError(long_cell(name, line, row)) from None


# what bytes that are not UTF-8 become once decoded with replacement (the DuckDB reader decodes a file so,
# as Spark's readers do): a row holding it is rejected, on both backends, never the whole cohort stopped
REPLACEMENT = "\ufffd"


def damaged(text: str, where: str = "") -> str | None:
    """Why ``text`` is no row: it holds U+FFFD (with the 1-based character position of the first, ``where``
    saying of what), or None."""
    if REPLACEMENT not in text:
        return None
    at = text.index(REPLACEMENT) + 1
    return f"not UTF-8 text, or text damaged by an earlier decoding (U+FFFD at character {at}{where})"


def damaged_cells(header: list[str], cells: list[str]) -> list[dict[str, str]]:
    """The CSV cells that are not UTF-8 text (:func:`damaged`), each ``{field, message}`` under its column
    (an unnamed column, or a cell beyond the header: ``<row>``)."""
    out = []
    for i, cell in enumerate(cells):
        named = i < len(header) and header[i]
        why = damaged(cell, " of the cell" if named else f" of cell {i + 1}, which the header does not name")
        if why is not None:
            out.append({"field": header[i] if named else "<row>", "message": why})
    return out


def spaced(value: str) -> str:
    """Why a text cell of a known field is refused: spaces (any whitespace) before or after its value. A
    cell is read as written, never trimmed (``" ileum"`` is not ``ileum``, ``"p1 "`` not the id ``p1``); a
    cell of only spaces is empty: unknown."""
    shown = printable(value, 40)
    return f"leading or trailing whitespace ({shown!r}): a cell is read as written, never trimmed; remove it"


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: Any) -> str | None:
    """Why a parsed JSON value cannot be text: a string (or key) holding a lone surrogate escape
    (``"\\ud800"``), which JSON's grammar admits but no Unicode text holds (nothing could write it
    as UTF-8); None when it has none."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is None:
            return None
        code = f"\\u{ord(found.group()):04x}"
        return f"not text: a string holds the lone surrogate escape {code} (not a character)"
    if isinstance(value, dict):
        return next((w for k, v in value.items() if (w := lone_surrogate(k) or lone_surrogate(v))), None)
    if isinstance(value, list):
        return next((w for v in value if (w := lone_surrogate(v))), None)
    return None
