"""``netcds cohort audit|sql|diff`` and ``netcds synth``: registered on the main app by cli.py."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.io import printable
from netcds.knowledge.load import DEFAULT_GUIDELINE, DEFAULT_VERSION, default_knowledge_dir, load_knowledge
from netcds.knowledge.schema import Knowledge

err = Console(stderr=True)
out = Console()


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
        where, message = e.problems[0]
        more = f" (+{len(e.problems) - 1} more)" if len(e.problems) > 1 else ""
        line = f"error: knowledge {folder}: {where}: {message}{more} (netcds kb validate {folder} lists all)"
        sys.stderr.write(printable(line, 800) + "\n")
        raise typer.Exit(2) from None


def _fail(e: Exception) -> typer.Exit:
    """One line naming the file for an input/output problem (exit 2), never a traceback."""
    if isinstance(e, OSError) and e.filename is not None:
        reason = e.strerror or str(e)
        sys.stderr.write(f"error: {e.filename}: {reason}\n")
    else:
        sys.stderr.write(f"error: {e}\n".replace("\n", " ").rstrip() + "\n")
    return typer.Exit(2)


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
) -> None:
    """Audit a cohort of decision points: per-decision results, summary and an HTML report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from netcds.cohort.audit import check_outputs, run_audit

    _need_spark(engine)
    try:
        check_outputs(cohort, out_dir, results_uri)  # run_audit checks too; here before the progress bars
    except ValueError as e:
        raise _fail(e) from None
    kb = _kb(version, root)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            run = run_audit(cohort, out_dir, kb, engine.value, master, fmt, progress, results_uri)
    except (ValueError, OSError, EOFError) as e:
        raise _fail(e) from None
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

    if not source.strip():
        sys.stderr.write(
            "error: --source must name the relation (table or view) holding the canonical rows\n"
        )
        raise typer.Exit(2)
    sys.stdout.write(audit_sql(_kb(version, root), engine.value, source) + "\n")


def diff(
    cohort: Annotated[Path, typer.Argument(metavar="COHORT")],
    from_version: Annotated[str, typer.Option("--from", help="knowledge version before")],
    to_version: Annotated[str, typer.Option("--to", help="knowledge version after")],
    root: Root = None,
    from_root: Annotated[Path | None, typer.Option("--from-root", help="knowledge root of --from")] = None,
    to_root: Annotated[Path | None, typer.Option("--to-root", help="knowledge root of --to")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write every change as NDJSON")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="rows shown in the terminal")] = 20,
    rejects_file: Annotated[
        Path | None, typer.Option("--rejects", help="write every rejected row as NDJSON (as an audit's)")
    ] = None,
) -> None:
    """List the decision points whose options change between two knowledge versions."""
    from netcds.cohort.diff import diff_versions

    _diff_outputs(cohort, out_file, rejects_file)
    try:
        kbs = _kb(from_version, from_root or root), _kb(to_version, to_root or root)
        result = diff_versions(cohort, *kbs, rejects_file=rejects_file, keep=limit)
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
        except OSError as e:
            raise _fail(e) from None


def _print_rejects(count: int, first: list[dict[str, Any]], rejects_file: Path | None) -> None:
    """A diff's rejects in the terminal: the first ones, and where all of them are (or how to get them)."""
    if not count:
        return
    from rich.text import Text

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
    n: Annotated[int, typer.Option("--n", min=0, help="decision points")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    off_guideline: Annotated[
        float, typer.Option("--off-guideline", min=0, max=1, help="share of off-guideline choices")
    ] = 0.15,
    missing: Annotated[
        float, typer.Option("--missing", min=0, max=1, help="chance a field is unrecorded")
    ] = 0.08,
) -> None:
    """Write a SYNTHETIC cohort of decision points (no real patient), reproducible by seed."""
    from netcds.cohort.synth import synth_records, write_cohort

    try:
        count = write_cohort(synth_records(n, seed, off_guideline, missing), out_file)
    except (ValueError, OSError, EOFError) as e:
        raise _fail(e) from None
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
    main_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(main_app)
    main_app(prog_name="netcds")
