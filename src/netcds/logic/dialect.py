"""What differs between the SQL dialects the cohort audit runs on (DuckDB, Spark SQL), and the literals.

Every piece of SQL text netcds writes that is not the same on both engines is spelled by a
:class:`Dialect` (a lambda, a list lookup, a struct, integer division, ...); :func:`lit` writes a
condition value as a literal. The compiler (logic/sql.py) and the audit query (cohort/query.py)
write everything else once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar


class SqlCompileError(ValueError):
    """A condition form that has no SQL translation (named, never silently approximated)."""


def lit(v: Any) -> str:
    """A SQL literal for a condition value."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(float(v))
    if isinstance(v, date):
        return f"DATE '{v.isoformat()}'"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    raise SqlCompileError(f"no SQL literal for {v!r}")


def _key(v: Any) -> str:
    """A literal for a lookup key: integers stay integers (``lit`` writes numbers as doubles)."""
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else lit(v)


def in_expr(x: str, values: tuple[Any, ...] | list[Any] | frozenset[str], negate: bool = False) -> str:
    """``x IN (...)`` with the same three-valued result; longer lists as an OR chain, which keeps
    DuckDB from turning each list into a join (slow to plan and to run in a query this wide)."""
    vals = [lit(v) for v in (sorted(values) if isinstance(values, frozenset) else values)]
    if len(vals) <= 3:
        return f"({x} {'NOT IN' if negate else 'IN'} ({', '.join(vals)}))"
    chain = "(" + " OR ".join(f"{x} = {v}" for v in vals) + ")"
    return f"(NOT {chain})" if negate else chain


_MAX_CODE = 40  # code_at: '0' (48) .. 'X' (88), no quote (39) or backslash (92)
_CHUNK = 64  # code_at: characters per text


class Dialect:
    """SQL spelled for one engine. Only what differs between DuckDB and Spark lives here."""

    name = "generic"
    types: ClassVar[dict[str, str]] = {}
    index_base = 1  # the index a two-parameter transform lambda (element, index) gives the first element

    def lam(self, params: tuple[str, ...], body: str) -> str:
        raise NotImplementedError

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        raise NotImplementedError

    def list_len(self, lst: str) -> str:
        raise NotImplementedError

    def contains(self, lst: str, value: str) -> str:
        raise NotImplementedError

    def struct(self, fields: list[tuple[str, str]]) -> str:
        raise NotImplementedError

    def array(self, items: list[str]) -> str:
        raise NotImplementedError

    def list_type(self, element_type: str) -> str:
        raise NotImplementedError

    def struct_type(self, fields: list[tuple[str, str]]) -> str:
        """A struct type of (name, logical type) fields."""
        raise NotImplementedError

    def typed_empty_array(self, element_type: str) -> str:
        return f"CAST({self.array([])} AS {self.list_type(element_type)})"

    def list_bit_or(self, lst: str) -> str:
        """Bitwise OR of a BIGINT list; NULL for an empty list."""
        raise NotImplementedError

    def sorted_distinct(self, lst: str) -> str:
        """The list sorted ascending, each value once."""
        raise NotImplementedError

    def split_nonempty(self, s: str, sep: str) -> str:
        """The text ``s`` split at the one-character ``sep`` (not a regex character), empty parts left out."""
        raise NotImplementedError

    def filter_indexed(self, lst: str, params: tuple[str, str], cond: str) -> str:
        """The elements of a list for which ``cond`` holds, over (element, index from ``index_base``)."""
        raise NotImplementedError

    def shift_right(self, a: str, k: str) -> str:
        """The BIGINT ``a`` shifted right by ``k`` bits."""
        raise NotImplementedError

    def list_concat(self, a: str, b: str) -> str:
        raise NotImplementedError

    def join(self, lst: str, sep: str) -> str:
        """The strings of a list joined by ``sep``."""
        raise NotImplementedError

    def int_div(self, a: str, b: str) -> str:
        raise NotImplementedError

    def list_at(self, lst: str, i: str) -> str:
        """Element ``i`` (1-based, always in range) of a list."""
        raise NotImplementedError

    def list_at_or_null(self, lst: str, i: str, known: str) -> str:
        """Element ``i`` of a list, NULL when ``known`` (the column ``i`` is NULL with) is NULL.
        Spark 4.x mis-evaluates ``element_at(array literal, NULL)``: never index with NULL there; on
        DuckDB indexing with NULLs present costs more than the CASE (measured)."""
        return f"CASE WHEN {known} IS NOT NULL THEN {self.list_at(lst, i)} END"

    position_function = ""  # the engine's 1-based position of a value in a list (NULL when absent)

    def position(self, values: Sequence[str], x: str, quoted: bool = False) -> str:
        """The 1-based position of ``x`` in the constant ``values`` (SQL literals when ``quoted``);
        0 when absent or NULL."""
        items = list(values) if quoted else [lit(v) for v in values]
        return f"COALESCE({self.position_function}({self.array(items)}, {x}), 0)"

    def bigint_array(self, values: Sequence[int]) -> str:
        return self.array([str(v) for v in values])

    def code_at(self, codes: Sequence[int], i: str) -> str:
        """Element ``i`` (1-based, always in range) of a constant table of small codes (0-40), kept as
        texts of 64 characters, one per code (``'0'`` + code; no quote or backslash can occur). For a
        lambda over the lines of every row, DuckDB pays for a 2,592-entry constant list per vector (the
        list lookups of three tables ~200 ms per 10^6 rows of the benchmark cohort, for the ~900 that
        used them) and for one long text per lookup (a character's position is counted from the start:
        ~2.5 s for 10^6 rows that each used them); 41 short texts keep both costs low (measured)."""
        if any(not 0 <= c <= _MAX_CODE for c in codes):
            raise ValueError(f"code_at holds codes 0-{_MAX_CODE}")
        text = "".join(chr(48 + c) for c in codes)
        chunks = self.array([f"'{text[k : k + _CHUNK]}'" for k in range(0, len(text), _CHUNK)])
        chunk = self.list_at(chunks, f"{self.int_div(f'({i} - 1)', str(_CHUNK))} + 1")
        return f"(ascii(substring({chunk}, ({i} - 1) % {_CHUNK} + 1, 1)) - 48)"

    def lookup(self, x: str, keys: Sequence[Any], values: Sequence[Any]) -> str:
        """``CASE x WHEN keys[0] THEN values[0] ... END`` (NULL otherwise) as one constant-list lookup."""
        at = f"{self.position([_key(k) for k in keys], x, quoted=True)} + 1"
        return self.list_at(self.array(["NULL", *(lit(v) for v in values)]), at)

    def type_of(self, logical: str) -> str:
        return self.types[logical]

    def treatments_type(self, fields: tuple[tuple[str, str, str], ...]) -> str:
        """The treatments column: a list of structs of (name, source, logical type) fields."""
        return self.list_type(self.struct_type([(n, t) for n, _, t in fields]))


class DuckDBDialect(Dialect):
    name = "duckdb"
    position_function = "list_position"
    types: ClassVar[dict[str, str]] = {
        "bigint": "BIGINT", "string": "VARCHAR", "bool": "BOOLEAN", "double": "DOUBLE", "date": "DATE",
        "string_list": "VARCHAR[]",
    }  # fmt: skip

    def lam(self, params: tuple[str, ...], body: str) -> str:
        return f"lambda {', '.join(params)}: {body}"

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        return f"list_transform({lst}, {self.lam(params, expr)})"

    def list_len(self, lst: str) -> str:
        return f"len({lst})"

    def contains(self, lst: str, value: str) -> str:
        return f"list_contains({lst}, {value})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"

    def array(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def list_type(self, element_type: str) -> str:
        return f"{element_type}[]"

    def list_bit_or(self, lst: str) -> str:
        return f"list_bit_or({lst})"

    def sorted_distinct(self, lst: str) -> str:
        return f"list_sort(list_distinct({lst}))"

    def split_nonempty(self, s: str, sep: str) -> str:
        return f"list_filter(string_split({s}, {sep}), lambda x: x <> '')"

    def filter_indexed(self, lst: str, params: tuple[str, str], cond: str) -> str:
        return f"list_filter({lst}, {self.lam(params, cond)})"

    def shift_right(self, a: str, k: str) -> str:
        return f"({a} >> {k})"

    def list_concat(self, a: str, b: str) -> str:
        return f"list_concat({a}, {b})"

    def join(self, lst: str, sep: str) -> str:
        return f"array_to_string({lst}, {sep})"

    def int_div(self, a: str, b: str) -> str:
        return f"({a} // {b})"

    def list_at(self, lst: str, i: str) -> str:
        return f"list_extract({lst}, {i})"

    def bigint_array(self, values: Sequence[int]) -> str:
        return f"CAST({self.array([str(v) for v in values])} AS BIGINT[])"

    def lookup(self, x: str, keys: Sequence[Any], values: Sequence[Any]) -> str:
        # the position is NULL when x is NULL or absent, and so is the element at a NULL index
        at = f"{self.position_function}({self.array([_key(k) for k in keys])}, {x})"
        return self.list_at(self.array([lit(v) for v in values]), at)

    def struct_type(self, fields: list[tuple[str, str]]) -> str:
        return "STRUCT(" + ", ".join(f"{n} {self.types[t]}" for n, t in fields) + ")"


class SparkDialect(Dialect):
    name = "spark"
    index_base = 0
    position_function = "array_position"
    types: ClassVar[dict[str, str]] = {
        "bigint": "BIGINT", "string": "STRING", "bool": "BOOLEAN", "double": "DOUBLE", "date": "DATE",
        "string_list": "ARRAY<STRING>",
    }  # fmt: skip

    def lam(self, params: tuple[str, ...], body: str) -> str:
        head = params[0] if len(params) == 1 else "(" + ", ".join(params) + ")"
        return f"{head} -> {body}"

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        return f"transform({lst}, {self.lam(params, expr)})"

    def list_len(self, lst: str) -> str:
        return f"size({lst})"

    def contains(self, lst: str, value: str) -> str:
        return f"array_contains({lst}, {value})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"'{k}', {v}" for k, v in fields) + ")"

    def array(self, items: list[str]) -> str:
        return "array(" + ", ".join(items) + ")"

    def list_type(self, element_type: str) -> str:
        return f"ARRAY<{element_type}>"

    def list_bit_or(self, lst: str) -> str:
        return f"aggregate({lst}, CAST(0 AS BIGINT), (acc, x) -> acc | x)"

    def sorted_distinct(self, lst: str) -> str:
        return f"array_sort(array_distinct({lst}))"

    def split_nonempty(self, s: str, sep: str) -> str:
        return f"filter(split({s}, {sep}), x -> x <> '')"

    def filter_indexed(self, lst: str, params: tuple[str, str], cond: str) -> str:
        return f"filter({lst}, {self.lam(params, cond)})"

    def shift_right(self, a: str, k: str) -> str:
        return f"shiftright({a}, {k})"

    def list_concat(self, a: str, b: str) -> str:
        return f"concat({a}, {b})"

    def join(self, lst: str, sep: str) -> str:
        return f"array_join({lst}, {sep})"

    def bigint_array(self, values: Sequence[int]) -> str:
        return self.array([f"CAST({v} AS BIGINT)" if i == 0 else str(v) for i, v in enumerate(values)])

    def int_div(self, a: str, b: str) -> str:
        return f"({a} DIV {b})"

    def list_at(self, lst: str, i: str) -> str:
        return f"element_at({lst}, CAST({i} AS INT))"

    def struct_type(self, fields: list[tuple[str, str]]) -> str:
        return "STRUCT<" + ", ".join(f"{n}: {self.types[t]}" for n, t in fields) + ">"


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "spark": SparkDialect()}


def dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown SQL dialect '{name}' (one of {sorted(DIALECTS)})") from None
