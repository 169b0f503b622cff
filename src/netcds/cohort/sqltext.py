"""Small helpers that spell SQL text for the audit query (cohort/query.py and its parts).

Words of a closed vocabulary (statuses, verdicts, table ids, ...) are ENUM values on DuckDB: one
byte each instead of a string, the same text when read back or written to Parquet/CSV, and (the
ENUM declared in text order) sorting and comparing like the text. Spark keeps them as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from netcds.logic.dialect import Dialect, lit


def typed(d: Dialect) -> bool:
    """Words are ENUMs (DuckDB), not text (Spark)."""
    return d.name == "duckdb"


def enum_type(vocab: Sequence[str]) -> str:
    """A DuckDB ENUM over ``vocab``, in text order."""
    return "ENUM(" + ", ".join(lit(v) for v in sorted(set(vocab))) + ")"


def words(d: Dialect, values: Sequence[str | None], vocab: Sequence[str]) -> str:
    """A constant list of words (NULL allowed) drawn from ``vocab``."""
    items = d.array([lit(v) for v in values])
    return f"CAST({items} AS {enum_type(vocab)}[])" if typed(d) else items


def word(d: Dialect, value: str, vocab: Sequence[str]) -> str:
    """One word of ``vocab``, typed like :func:`words`."""
    return f"CAST({lit(value)} AS {enum_type(vocab)})" if typed(d) else lit(value)


def as_text(d: Dialect, x: str) -> str:
    """A word as plain text."""
    return f"CAST({x} AS VARCHAR)" if typed(d) else x


def word_index(d: Dialect, x: str, vocab: Sequence[str]) -> str:
    """The 0-based index in ``vocab`` of the word ``x``."""
    if typed(d) and list(vocab) == sorted(set(vocab)):
        return f"enum_code({x})"  # the ENUM's own order
    return f"({d.position(vocab, as_text(d, x))} - 1)"


def ident(prefix: str, text: str, taken: set[str]) -> str:
    """A fresh column name ``prefix`` + ``text`` (non-alphanumerics as ``_``), unique within ``taken``."""
    base = prefix + "".join(ch if ch.isalnum() else "_" for ch in text)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def case(arms: list[tuple[str, str]], default: str | None = None, subject: str | None = None) -> str:
    """``CASE [subject] WHEN .. THEN .. [ELSE default] END``; no arms gives ``default`` (or NULL)."""
    if not arms:
        return default or "NULL"
    head = f"CASE {subject} " if subject else "CASE "
    body = " ".join(f"WHEN {w} THEN {t}" for w, t in arms)
    return head + body + (f" ELSE {default}" if default is not None else "") + " END"


def cte(name: str, prev: str, cols: list[tuple[str, str]], comments: dict[str, str] | None = None) -> str:
    """``name AS (SELECT *, <cols> FROM prev)``: a stage that adds columns to the one before."""
    if not cols:
        return f"{name} AS (SELECT * FROM {prev})"  # noqa: S608
    lines = []
    for alias, expr in cols:
        note = (comments or {}).get(alias)
        if note:
            lines.append(f"    -- {note}")
        lines.append(f"    {expr} AS {alias},")
    body = "\n".join(lines).rstrip(",")
    return f"{name} AS (\n  SELECT *,\n{body}\n  FROM {prev}\n)"  # noqa: S608


def in_ints(x: str, values: list[int] | set[int]) -> str:
    """``x`` is one of the integer constants ``values`` (NULL when ``x`` is), as an OR chain: DuckDB
    may plan an IN list of several values as a join."""
    return "(" + " OR ".join(f"{x} = {v}" for v in sorted(values)) + ")"
