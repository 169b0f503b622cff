"""``netcds cohort audit|sql|diff`` and ``netcds synth``: registered on the main app by cli.py."""

from __future__ import annotations

import errno
import json
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable
from rich.text import Text

from netcds.cohort.synth import MAX_ROWS
from netcds.console import console
from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.io import first_problem, printable
from netcds.knowledge.load import DEFAULT_GUIDELINE, DEFAULT_VERSION, default_knowledge_dir, load_knowledge
from netcds.knowledge.schema import Knowledge

if TYPE_CHECKING:
    from netcds.cohort.audit import AuditRun

err = console(stderr=True)
out = console()


MAX_LIMIT = 1_000_000  # ``cohort diff --limit``: rows shown in a terminal
# ``cohort audit|diff --fail-on-rejects``: the command finished, every output written, and some rows were
# rejected (docs/cohort.md, exit codes); not 2 (a wrong invocation or input, nothing done) nor 1
EXIT_REJECTS = 3
FailOnRejects = Annotated[
    bool,
    typer.Option(
        "--fail-on-rejects",
        help=f"exit {EXIT_REJECTS} (after writing every output) when any row was rejected; default: exit 0",
    ),
]


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


Version = Annotated[str, typer.Option("--guideline-version", help="knowledge version")]
Root = Annotated[
    Path | None, typer.Option("--knowledge-root", help="knowledge root (default: the bundled one)")
]


def _kb(version: str, root: Path | None) -> Knowledge:
    """The knowledge an audit runs on, an input like the cohort: a version that is not under the root
    (naming the root and what it holds) or knowledge that does not load is one line, exit 2."""
    try:
        return load_knowledge(version, root=root)
    except UnknownVersionError as e:
        from netcds.cli import fail_knowledge  # the main CLI registers these commands: imported late

        raise fail_knowledge(e) from None
    except KnowledgeError as e:
        folder = (root or default_knowledge_dir()) / DEFAULT_GUIDELINE / version
        first = first_problem(e.problems)
        line = f"error: knowledge {folder}: {first} (netcds kb validate {folder} lists all)"
        sys.stderr.write(printable(line, 800) + "\n")
        raise typer.Exit(2) from None


# a file that cannot be written for a reason of the machine (a full disk, a quota, a device error): the
# command could not finish, exit 1 (README, exit codes), not a wrong input
_ENVIRONMENT = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def _fail(e: Exception, path: Path | None = None) -> typer.Exit:
    """One line naming the file (``path`` when the error does not) for an input/output problem, never a
    traceback: exit 2 for a wrong input, 1 for a full disk or a device error."""
    if isinstance(e, OSError) and (e.filename is not None or path is not None):
        reason = e.strerror or str(e)
        name = e.filename if e.filename is not None else path
        verb = "" if e.filename is not None else "cannot write: "
        sys.stderr.write(printable(f"error: {name}: {verb}{reason}", 800) + "\n")
    elif isinstance(e, OSError) and e.errno in _ENVIRONMENT:
        sys.stderr.write(f"error: cannot write: {e.strerror or e}\n")
    else:
        sys.stderr.write(f"error: {e}\n".replace("\n", " ").rstrip() + "\n")
    return typer.Exit(1 if isinstance(e, OSError) and e.errno in _ENVIRONMENT else 2)


def _refuse(line: str) -> typer.Exit:
    """A wrong option: one ``error:`` line, exit 2."""
    sys.stderr.write(printable(f"error: {line}", 800) + "\n")
    return typer.Exit(2)


def _not_stdin(cohort: str) -> None:
    if cohort == "-":
        raise _refuse(
            "COHORT -: standard input is not supported for cohorts; name a file or a folder of part files"
        )


def _bounded(value: int, option: str, most: int) -> None:
    if not 0 <= value <= most:
        raise _refuse(f"{option} must be a whole number from 0 to {most:_} (got {value})")


def _share(value: float, option: str) -> None:
    if not 0 <= value <= 1:  # also NaN, which compares false
        raise _refuse(f"{option} must be a number from 0 to 1 (got {value})")


@contextmanager
def _interrupts() -> Iterator[list[int]]:
    """Within the block Ctrl-C and SIGTERM stop the command with a KeyboardInterrupt (so that what it had
    begun to write is removed), and the list receives the signal's number: a library that turns the
    interrupt into an error of its own (DuckDB's "Query interrupted") is still known to be interrupted."""
    got: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        got.append(signum)
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    caught = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, stop) for s in caught} if main else {}
    try:
        yield got
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


def _interrupted(got: list[int], what: str = "nothing written") -> typer.Exit:
    """Ctrl-C (exit 130) or SIGTERM (exit 143): one line saying what is left."""
    sys.stderr.write(f"interrupted: {what}\n")
    return typer.Exit(128 + (got[0] if got else signal.SIGINT))


def _writable_file(path: Path, option: str) -> None:
    """A file option checked before any work: not a directory, in a folder that exists."""
    problem = ""
    if path.is_dir():
        problem = "is a directory; name a file"
    elif not path.parent.is_dir():
        problem = f"the folder {path.parent} does not exist"
    if problem:
        sys.stderr.write(printable(f"error: {option} {path}: {problem}", 600) + "\n")
        raise typer.Exit(2)


def _not_the_input(cohort: Path, out_file: Path, option: str = "--out") -> None:
    """``cohort diff --out`` (``--rejects``) is neither the cohort, nor inside its folder, nor one of its
    files (through a link): one line, exit 2, before any work (it would overwrite the input, or be read back
    next time)."""
    from netcds.cohort.parts import is_part, refuse_overlap

    try:
        refuse_overlap(cohort, out_file, option)
        if is_part(cohort, out_file):
            raise ValueError(f"{option} {out_file} is a file of the cohort {cohort}; name a file outside it")
    except ValueError as e:
        raise _fail(e) from None


def _diff_outputs(cohort: Path, out_file: Path | None, rejects_file: Path | None) -> None:
    """``cohort diff --out`` and ``--rejects``: each a writable file outside the cohort, and not the same
    file (the one would overwrite the other); else one line, exit 2, before any work."""
    for path, option in ((out_file, "--out"), (rejects_file, "--rejects")):
        if path is not None:
            _writable_file(path, option)
            _not_the_input(cohort, path, option)
    if out_file is not None and rejects_file is not None and out_file.resolve() == rejects_file.resolve():
        sys.stderr.write(printable(f"error: --rejects {rejects_file} is the --out file; name another", 600))
        sys.stderr.write("\n")
        raise typer.Exit(2)


def _need_spark(engine: Engine) -> None:
    if engine is Engine.spark:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            sys.stderr.write("error: --engine spark needs PySpark (pip install pyspark) and Java 17+\n")
            raise typer.Exit(2) from None


def audit(
    cohort: Annotated[
        str, typer.Argument(metavar="COHORT", help="NDJSON, Parquet or CSV (a path or, with Spark, a URI)")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="output directory")],
    engine: Annotated[Engine, typer.Option("--engine", help="SQL backend")] = Engine.duckdb,
    version: Version = DEFAULT_VERSION,
    root: Root = None,
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master URL (default: spark-submit's)")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--input-format", help="ndjson | parquet | csv (default: by name)")
    ] = None,
    results_uri: Annotated[
        str | None, typer.Option("--results-uri", help="Spark: where executors write decisions.parquet")
    ] = None,
    fail_on_rejects: FailOnRejects = False,
) -> None:
    """Audit a cohort of decision points: per-decision results, summary and an HTML report."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from netcds.cohort.audit import prepare, run_audit

    _need_spark(engine)
    _not_stdin(cohort)
    if master is not None and engine is not Engine.spark:
        raise _refuse(
            "--master applies to --engine spark (the Spark master URL); DuckDB runs in this process"
        )
    try:  # run_audit checks too; here before the progress bars
        fmt = prepare(cohort, out_dir, engine.value, fmt, results_uri)
    except (ValueError, OSError) as e:
        raise _fail(e) from None
    kb = _kb(version, root)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _interrupts() as got:
        try:
            with _bars()(*columns, console=err, transient=False) as progress:
                run = run_audit(cohort, out_dir, kb, engine.value, master, fmt, progress, results_uri)
        except (KeyboardInterrupt, Exception) as e:
            if got or isinstance(e, KeyboardInterrupt):
                raise _interrupted(got, f"nothing written ({out_dir} is as it was)") from None
            if isinstance(e, (ValueError, OSError, EOFError)):
                raise _fail(e) from None
            raise
        try:
            _print_run(run, out_dir, kb)
        except KeyboardInterrupt:
            raise _interrupted(got, f"the outputs in {out_dir} are complete") from None
    _warn_rows(cohort, run.rows_in, run.rejects, f"{out_dir}/rejects.ndjson")
    _rejected(fail_on_rejects, run.rejects, run.rows_in, f"{out_dir}/rejects.ndjson")


def _rejects_line(count: int, where: str | None, done: str = "audited") -> str:
    """The closing line every run prints: how many rows were rejected and where their reasons are."""
    if not count:
        return "rejects: none (every row read was valid)"
    if where is None:
        return f"rejects: {count} rows not {done} (--rejects FILE writes each with its reasons)"
    return f"rejects: {count} rows not {done}, each with its row, file, line and reason in {where}"


def _rejected(fail: bool, count: int, rows_in: int, where: str | None) -> None:
    """``--fail-on-rejects``: after every output is written, exit :data:`EXIT_REJECTS` with one line on
    stderr when any row was rejected."""
    if fail and count:
        line = f"error: {count} of {rows_in} rows rejected (--fail-on-rejects); see {where or 'above'}"
        sys.stderr.write(printable(line, 800) + "\n")
        raise typer.Exit(EXIT_REJECTS)


def _bars() -> Any:
    """rich's Progress, shown from its first bar on: a run that stops before (a file found damaged while
    its rows are counted) prints its one error line with nothing, not even a blank line, before it."""
    from rich.progress import Progress, TaskID

    class Bars(Progress):
        def start(self) -> None:
            pass

        def add_task(self, *args: Any, **kwargs: Any) -> TaskID:
            if not self.live.is_started:
                super().start()
            return super().add_task(*args, **kwargs)

        def stop(self) -> None:
            if self.live.is_started:
                super().stop()

    return Bars


def _print_run(run: AuditRun, out_dir: Path, kb: Knowledge) -> None:
    counts = run.summary["verdict_counts"]
    out.print(
        f"[bold]{run.rows_in}[/] rows in = {run.results} results + {run.rejects} rejects "
        f"({kb.id} {kb.release}, {run.engine})"
    )
    for verdict, n in counts.items():
        out.print(f"  {verdict:<24} {n}")
    dup = run.summary["duplicates"]
    out.print(
        f"{dup['repeats']} duplicate decision points (the same patient id, decision date and regimen as an"
        f" earlier row: {dup['rows']} rows in {dup['groups']} groups; each audited and counted)"
    )
    out.print(f"wrote {out_dir}/decisions.parquet, rejects.ndjson, summary.json, summary.csv, report.html")
    out.print(Text(_rejects_line(run.rejects, f"{out_dir}/rejects.ndjson")))


def _warn_rows(cohort: str, rows_in: int, rejects: int, where: str | None, done: str = "audited") -> None:
    """A cohort without rows, or whose every row was rejected, is not a failure of the command (exit 0,
    the outputs say so) but rarely what was meant: one ``warning:`` line on stderr."""
    if rows_in == 0:
        line = f"warning: {cohort} holds no rows: nothing was {done}"
    elif rejects == rows_in:
        reasons = f"the reasons are in {where}" if where else "--rejects FILE writes the reasons"
        line = (
            f"warning: every row of {cohort} ({rows_in}) was rejected, none {done} (not a cohort file, or"
            f" a wrong --input-format?): {reasons}"
        )
    else:
        return
    sys.stderr.write(printable(line, 800) + "\n")


def sql(
    engine: Annotated[Engine, typer.Option("--engine", help="SQL dialect")] = Engine.duckdb,
    version: Version = DEFAULT_VERSION,
    root: Root = None,
    source: Annotated[
        str, typer.Option("--source", help="relation holding the canonical rows")
    ] = "decisions",
) -> None:
    """Print the audit SQL that the knowledge version compiles to."""
    from netcds.cohort.query import audit_sql

    source = source.strip()
    if not _SOURCE.fullmatch(source):
        got = f" (got {source!r})" if source else ""
        raise _refuse(
            "--source must name the relation (table or view) holding the canonical rows: a name, dotted for a"
            " schema (each part plain or \"quoted\"), or a 'quoted' file path" + got
        )
    sys.stdout.write(audit_sql(_kb(version, root), engine.value, source) + "\n")


# what ``cohort sql --source`` takes: a plain or quoted identifier, dotted (``db.schema.table``; Spark's
# ``parquet.`/path```), or a single-quoted path (DuckDB reads the file); never SQL text
_PART = r'(?:[^\W\d]\w*|"(?:[^"\x00-\x1f]|"")+"|`(?:[^`\x00-\x1f]|``)+`)'
_SOURCE = re.compile(rf"{_PART}(?:\.{_PART})*|'(?:[^'\x00-\x1f]|'')+'")


def diff(
    cohort: Annotated[Path, typer.Argument(metavar="COHORT")],
    from_version: Annotated[str, typer.Option("--from", help="knowledge version before")],
    to_version: Annotated[str, typer.Option("--to", help="knowledge version after")],
    root: Root = None,
    from_root: Annotated[Path | None, typer.Option("--from-root", help="knowledge root of --from")] = None,
    to_root: Annotated[Path | None, typer.Option("--to-root", help="knowledge root of --to")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write every change as NDJSON")] = None,
    limit: Annotated[
        int, typer.Option("--limit", help=f"rows shown in the terminal (at most {MAX_LIMIT})")
    ] = 20,
    rejects_file: Annotated[
        Path | None, typer.Option("--rejects", help="write every rejected row as NDJSON (as an audit's)")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--input-format", help="ndjson | parquet | csv (default: by name)")
    ] = None,
    fail_on_rejects: FailOnRejects = False,
) -> None:
    """List the decision points whose options change between two knowledge versions."""
    from netcds.cohort.diff import diff_versions
    from netcds.cohort.parts import detect_format

    _not_stdin(str(cohort))
    _bounded(limit, "--limit", MAX_LIMIT)
    _diff_outputs(cohort, out_file, rejects_file)
    try:
        fmt = detect_format(cohort, fmt) if cohort.exists() else fmt  # a missing one: named by the reader
        kbs = _kb(from_version, from_root or root), _kb(to_version, to_root or root)
        result = diff_versions(cohort, *kbs, fmt=fmt, rejects_file=rejects_file, keep=limit)
    except (ValueError, OSError, EOFError) as e:
        raise _fail(e) from None
    out.print(
        f"{len(result.changed)} of {result.compared} decision points change from {result.version_from} "
        f"to {result.version_to} ({result.rows_in} rows in = {result.compared} compared + {result.rejects}"
        " rejects)"
    )
    if result.changed:
        t = RichTable("row", "patient", "setting", "verdict", "changes")
        for c in result.changed[:limit]:
            setting = (
                c.setting_from if c.setting_from == c.setting_to else f"{c.setting_from} -> {c.setting_to}"
            )
            verdict = (
                c.verdict_from if c.verdict_from == c.verdict_to else f"{c.verdict_from} -> {c.verdict_to}"
            )
            t.add_row(str(c.row_id), c.patient_id or "", setting, verdict, "\n".join(c.changes))
        out.print(t)
    _print_rejects(result.rejects, result.first_rejects, rejects_file)
    if out_file is not None:
        try:
            with out_file.open("w", encoding="utf-8") as fh:
                for c in result.changed:
                    fh.write(json.dumps(c.as_dict()) + "\n")
        except OSError as e:  # e.g. a full disk (/dev/full): the file named, exit 1
            raise _fail(e, out_file) from None
    where = str(rejects_file) if rejects_file else None
    if not result.rejects:  # else _print_rejects said how many and where
        out.print(Text(_rejects_line(0, where, "compared")))
    _warn_rows(str(cohort), result.rows_in, result.rejects, where, "compared")
    _rejected(fail_on_rejects, result.rejects, result.rows_in, where)


def _print_rejects(count: int, first: list[dict[str, Any]], rejects_file: Path | None) -> None:
    """A diff's rejects in the terminal: the first ones, and where all of them are (or how to get them)."""
    if not count:
        return
    t = RichTable("row", "file", "line", "field", "message")
    for r in first:
        cells = (r["row"], r.get("file", ""), r.get("line", ""), r["field"], r["message"])
        t.add_row(*(Text(str(c)) for c in cells))  # the row's own text, never read as markup
    if first:
        out.print(t)
    if rejects_file is not None:
        out.print(Text(f"wrote {count} rejects to {rejects_file}"))
    else:
        out.print(f"{count} rows rejected, not compared: --rejects FILE writes every one, with its reasons")


def synth(
    out_file: Annotated[Path, typer.Option("--out", help=".ndjson, .csv or .parquet")],
    n: Annotated[int, typer.Option("--n", help=f"decision points (at most {MAX_ROWS:_})")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    off_guideline: Annotated[
        float, typer.Option("--off-guideline", help="share of off-guideline choices (0 to 1)")
    ] = 0.15,
    missing: Annotated[float, typer.Option("--missing", help="chance a field is unrecorded (0 to 1)")] = 0.08,
) -> None:
    """Write a SYNTHETIC cohort of decision points (no real patient), reproducible by seed."""
    from netcds.cohort.synth import synth_records, write_cohort

    _bounded(n, "--n", MAX_ROWS)
    _share(off_guideline, "--off-guideline")
    _share(missing, "--missing")
    with _interrupts() as got:
        try:
            count = write_cohort(synth_records(n, seed, off_guideline, missing), out_file)
        except (KeyboardInterrupt, Exception) as e:
            if got or isinstance(e, KeyboardInterrupt):
                raise _interrupted(got, f"nothing written ({out_file} is as it was)") from None
            if isinstance(e, (ValueError, OSError, EOFError)):
                raise _fail(e, out_file) from None
            raise
    out.print(f"wrote {count} synthetic decision points to {out_file}")


def register(app: typer.Typer) -> None:
    """Add the ``cohort`` sub-app (audit, sql, diff) and the ``synth`` command to ``app``."""
    cohort_app = typer.Typer(
        help="Cohort concordance audits: the knowledge compiled to SQL.", no_args_is_help=True
    )
    cohort_app.command("audit")(audit)
    cohort_app.command("sql")(sql)
    cohort_app.command("diff")(diff)
    app.add_typer(cohort_app, name="cohort")
    app.command("synth")(synth)


if __name__ == "__main__":  # spark-submit .../netcds/cohort/cli.py cohort audit ... (see docs/cohort.md)
    from netcds.cli_options import refuse_repeated_options

    main_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(main_app)
    refuse_repeated_options(main_app)
    main_app(prog_name="netcds")
