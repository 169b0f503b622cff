"""The files of a cohort: its format (by name, or as told), its part files, opening them, and the
checks a directory of part files passes before either backend reads it (docs/cohort.md).

A directory of part files is one cohort, read in name order; files (and folders) whose names start with
``_`` or ``.`` (Spark's ``_SUCCESS``, checksum files) are not part of it. Any other folder inside it is
refused, never skipped: its rows would vanish from the count.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from netcds.io import first_line, printable

FORMATS = ("ndjson", "parquet", "csv")

# name ending -> format; NDJSON and CSV may be gzipped (``.ndjson.gz``). Parquet compresses inside the file:
# a ``.parquet.gz`` is neither read nor written.
_EXTENSIONS = (
    (".ndjson", "ndjson"),
    (".jsonl", "ndjson"),
    (".json", "ndjson"),
    (".csv", "csv"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)
EXTENSIONS_TEXT = ".ndjson, .jsonl, .json or .csv (each optionally .gz), .parquet or .pq"


def format_of(name: str) -> str | None:
    """The format a file name says (``c.ndjson.gz`` -> ``ndjson``), or None."""
    name = name.lower()
    for ext, fmt in _EXTENSIONS:
        if name.endswith(ext) or (fmt != "parquet" and name.endswith(ext + ".gz")):
            return fmt
    return None


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The cohort's format: ``fmt`` when given, else what the file's name says, or for a directory what
    the names of all its part files say: one format, or a ValueError naming the part files of each
    (mixed or unknown part files are never read as whichever format the first one has). Either way a
    directory's part files are checked to be readable as that format: CSV part files share one header
    (the reader takes each file's first line as its header; Spark applies one file's to all), Parquet part
    files start as Parquet files do. A CSV header (a file's or a directory's) naming a column twice is
    refused, and so is an NDJSON file that is a JSON array (:func:`_not_json_array`). Both backends read the
    same checked file or directory."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"--input-format: unknown cohort format '{fmt}' (one of {', '.join(FORMATS)})")
    if not path.is_dir():
        found = fmt or format_of(path.name)
        if found is None:
            raise ValueError(
                f"{path}: unknown cohort format (name it {EXTENSIONS_TEXT}, or give --input-format)"
            )
        if found == "parquet" and path.is_file():
            _parquet_magic([path])
            _parquet_columns([path])
        elif found == "csv" and path.is_file():
            _one_header(path, [path])
        elif found == "ndjson" and path.is_file():
            _not_json_array([path])
        return found
    files = part_files(path)
    if not files:
        raise ValueError(f"{path}: empty directory")
    found = fmt or _one_format(path, files)
    if found == "csv":
        _one_header(path, files)
    elif found == "parquet":
        _parquet_magic(files)
        _parquet_columns(files)
    else:
        _not_json_array(files)
    return found


def _names(cohort: Path, files: list[Path]) -> str:
    shown = [part_name(cohort, f) for f in files[:5]]
    return ", ".join(shown) + (f" and {len(files) - 5} more" if len(files) > 5 else "")


def _one_format(cohort: Path, files: list[Path]) -> str:
    kinds = {f: format_of(f.name) for f in files}
    unknown = [f for f, k in kinds.items() if k is None]
    if unknown:
        raise ValueError(
            f"{cohort}: cannot tell the format of the part file(s) {_names(cohort, unknown)} (a cohort's "
            f"part files are named {EXTENSIONS_TEXT}); give --input-format to read every part file as one"
        )
    found = sorted({k for k in kinds.values() if k is not None})
    if len(found) > 1:
        each = "; ".join(f"{k}: {_names(cohort, [f for f in files if kinds[f] == k])}" for k in found)
        raise ValueError(
            f"{cohort}: part files of more than one format ({each}); a cohort directory holds one "
            "format (or give --input-format to read every part file as one)"
        )
    return found[0]


def repeated_column(f: Path, header: list[str]) -> None:
    """A ValueError naming the first column a CSV header names twice (a repeated JSON key is refused the
    same way): which of the two cells holds the value is unknown. Unnamed (empty) columns may repeat: a
    cell under one is an unknown field of its row."""
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen and name:
            raise ValueError(
                f"{f}: the CSV header names the column {printable(name, 60)!r} twice (columns {seen[name]}"
                f" and {i}): which of the two cells is meant is unknown"
            )
        seen.setdefault(name, i)


def header_not_text(f: Path, header: list[str]) -> None:
    """A ValueError naming the first column of a CSV header that is not UTF-8 text (U+FFFD,
    :func:`open_text`): the header is no row to reject, and a column so named would make every row
    a reject."""
    for i, name in enumerate(header, start=1):
        if "\ufffd" in name:
            raise ValueError(
                f"{f}: the CSV header is not UTF-8 text (column {i}, {printable(name, 60)!r}, holds U+FFFD, "
                "what bytes that are not UTF-8 are read as): save the file as UTF-8"
            )


def column_clash(names: list[str] | tuple[str, ...]) -> tuple[tuple[int, str], tuple[int, str]] | None:
    """The first two columns (1-based position, name) that give one field in two places: a column named
    like the dotted path of another's enclosing object (``tumor``, a nested or JSON column, beside
    ``tumor.ki67_percent``; ``decision`` beside ``decision.regimen``), or None. Unnamed columns name
    nothing."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name:
            seen.setdefault(name, i)
    for j, name in enumerate(names, start=1):
        parts = name.split(".")
        for k in range(1, len(parts)):
            outer = ".".join(parts[:k])
            if outer in seen:
                return (seen[outer], outer), (j, name)
    return None


def clash_message(outer: str, inner: str, at: tuple[int, int] | None = None) -> str:
    """Why two columns giving one field (:func:`column_clash`) are refused; ``at``: their positions."""
    i, j = (f" (column {at[0]})", f" (column {at[1]})") if at else ("", "")
    a, b = printable(outer, 60), printable(inner, 60)
    return (
        f"the columns {a!r}{i} and {b!r}{j} both give {b} ({a!r} gives the whole of {a}): which value is"
        " meant is unknown; give each field in one column, nested or flattened"
    )


def clashing_columns(f: Path, names: list[str], what: str) -> None:
    """A ValueError naming the file and the two columns when ``names`` give one field twice
    (:func:`column_clash`): refused before any row is read, like a column named twice."""
    clash = column_clash(names)
    if clash is not None:
        (i, outer), (j, inner) = clash
        raise ValueError(f"{f}: {what}: {clash_message(outer, inner, (i, j))}")


def _one_header(cohort: Path, files: list[Path]) -> None:
    """Every CSV part file (but empty ones) starts with the first one's header, which names no column twice
    (:func:`repeated_column`) and no field twice (:func:`clashing_columns`); else a ValueError naming the
    file and the first column that differs (e.g. an NDJSON file read as CSV: its first record would be taken
    as a header and vanish from the count), is repeated or clashes."""
    first: tuple[Path, list[str]] | None = None
    for f in files:
        with readable(f), open_text(f) as fh:
            header = next(csv.reader(fh), None)
        if header is None:
            continue
        if first is None:
            header_not_text(f, header)
            repeated_column(f, header)
            clashing_columns(f, header, "the CSV header")
            first = (f, header)
            continue
        if header != first[1]:
            at = next((i for i, (a, b) in enumerate(zip(header, first[1], strict=False)) if a != b), None)
            where = (
                f"column {at + 1} is {printable(header[at], 40)!r}, not {printable(first[1][at], 40)!r}"
                if at is not None
                else f"{len(header)} columns, not {len(first[1])}"
            )
            raise ValueError(
                f"{cohort}: the CSV header of {part_name(cohort, f)} differs from that of "
                f"{part_name(cohort, first[0])} ({where}): the part files of a CSV cohort share one header"
            )


_JSON_SPACE = b" \t\r\n"


def _not_json_array(files: list[Path]) -> None:
    """A ValueError naming the first file whose text starts with ``[`` (after a byte-order mark and JSON
    whitespace): a JSON array (``[{...}, {...}]``, as ``.json`` exports often are), not NDJSON. Read line by
    line, each of its lines would be a reject; read as one array, one malformed element would make the rest
    of the file unreadable, not one row's reject, so rows in = results + rejects could not hold. Refused
    before any row, naming the format and how to convert it."""
    for f in files:
        with readable(f), open_bytes(f) as fh:
            head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
            while head and not head.lstrip(_JSON_SPACE):
                head = fh.read(1 << 16)
        if head.lstrip(_JSON_SPACE).startswith(b"["):
            raise ValueError(
                f"{f}: a JSON array (the file starts with '['), not NDJSON: a cohort's .ndjson, .jsonl or"
                " .json file holds one JSON object per line; write one decision point per line (e.g. jq -c"
                f" '.[]' {printable(f.name, 80)} > cohort.ndjson)"
            )


def _parquet_magic(files: list[Path]) -> None:
    """Each file starts as a Parquet file does (``PAR1``; ``PARE`` encrypted): anything else is named
    here, before a backend reads it (Spark would fail deep inside a job)."""
    for f in files:
        with f.open("rb") as fh:
            head = fh.read(4)
        if head not in (b"PAR1", b"PARE"):
            raise ValueError(f"{f}: not a readable Parquet file (it does not start with Parquet's header)")


def _parquet_columns(files: list[Path]) -> None:
    """No Parquet file gives a field both nested and flattened (:func:`clashing_columns`), checked from
    each file's schema before either backend reads a row. A file DuckDB cannot open is left to the reader,
    which names it."""
    import duckdb

    con = duckdb.connect()
    try:
        for f in files:
            try:
                cur = con.execute("SELECT * FROM read_parquet(?) LIMIT 0", [str(f)])
            except duckdb.Error:
                continue
            clashing_columns(f, [d[0] for d in cur.description or []], "the Parquet columns")
    finally:
        con.close()


def part_files(path: Path) -> list[Path]:
    """A cohort directory's part files in name order (``_`` and ``.`` entries are not parts), or the file.
    A folder inside the directory (a Hive-style ``year=2024/`` partition, say) or an entry that is not a
    regular file (a broken link) is refused, naming it: its rows would otherwise vanish from the count."""
    if not path.is_dir():
        return [path]
    entries = sorted(p for p in path.iterdir() if not p.name.startswith(("_", ".")))
    folders = [p for p in entries if p.is_dir()]
    if folders:
        raise ValueError(
            f"{path}: the cohort folder holds the folder(s) {_names(path, folders)}: a cohort folder's part "
            "files are the files directly in it, and a folder inside it (e.g. a Hive-style year=2024/) is "
            "not read; move its files up, or give each folder as a cohort of its own"
        )
    odd = [p for p in entries if not p.is_file()]
    if odd:
        raise ValueError(
            f"{path}: {_names(path, odd)} in the cohort folder is not a regular file (a broken link?): "
            "remove it, or name it with a leading _ or ."
        )
    return entries


def part_name(cohort: Path, f: Path) -> str:
    """How a reject names its file: relative to the cohort directory, or the file's name."""
    return f.relative_to(cohort).as_posix() if cohort.is_dir() else f.name


def open_text(f: Path) -> Any:
    """A CSV cohort file as text for the csv module (gzip by name; newlines as written, as csv needs
    them, whatever the file is named); a UTF-8 byte-order mark, as spreadsheets write, is skipped. Bytes
    that are not UTF-8 become U+FFFD, as Spark's CSV reader decodes them: the row holding them is a reject
    naming the column (``read.validate_csv_cells``), a header holding them stops the run
    (:func:`header_not_text`), never an error at a position in some block of the file."""
    if f.name.endswith(".gz"):
        import gzip

        return gzip.open(f, "rt", encoding="utf-8-sig", errors="replace", newline="")
    return f.open(encoding="utf-8-sig", errors="replace", newline="")


def open_bytes(f: Path) -> Any:
    if f.name.endswith(".gz"):
        import gzip

        return gzip.open(f, "rb")
    return f.open("rb")


@contextmanager
def readable(f: Path) -> Iterator[None]:
    """Name the file when it cannot be read to the end: a damaged gzip stream, text that is not UTF-8."""
    try:
        yield
    except (EOFError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise  # names its own file (missing, not readable): the command line reports it
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "damaged or not gzip"
        raise ValueError(f"{f}: {what} ({first_line(exc)})") from None


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def refuse_overlap(cohort: Path, out: Path, option: str, outputs: tuple[str, ...] = ()) -> None:
    """A ValueError when an output would be, or be among, the input: ``out`` is the cohort or lies inside
    the cohort folder (what is written there is read back as cohort rows by the next run, or by this one),
    or one of the ``outputs`` written in the folder ``out`` (``out`` itself when none are named) is the
    cohort or holds it (opening it for writing empties the input before it is read). Paths are compared
    resolved (symbolic links followed); :func:`is_part` catches a hard-linked part file."""
    c, o = cohort.resolve(), out.resolve()
    if o == c and not c.is_dir():
        raise ValueError(
            f"{option} {out} is the cohort file: writing it would destroy the input; name another"
        )
    if _within(o, c):
        where = "is the cohort folder" if o == c else f"lies inside the cohort folder {cohort}"
        raise ValueError(
            f"{option} {out} {where}: what the command writes there would be read back as cohort rows; "
            f"name an {option} outside the cohort"
        )
    for name in outputs or ("",):
        target = o / name if name else o
        if _within(c, target):
            what = f"its output {name}" if name else "the output"
            raise ValueError(
                f"{option} {out}: {what} would overwrite the cohort {cohort}; name another {option} "
                "or move the cohort"
            )


def is_part(cohort: Path, target: Path) -> bool:
    """Whether ``target`` (a file about to be opened for writing) is one of the cohort's part files, also
    through a link: opening it for writing would empty, or endlessly grow, the input being read."""
    if not target.exists() or not cohort.exists():
        return False
    return any(target.samefile(f) for f in part_files(cohort))
