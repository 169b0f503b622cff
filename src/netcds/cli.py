"""The netcds command line: a thin layer over the engine, knowledge and services.

Bad input exits 2 with one line naming the field (or the file or option); knowledge errors exit 1
listing every problem with its path; output that cannot be written (standard output on a full disk)
exits 1 with one line. No tracebacks for any of them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import RenderableType

from netcds import __version__
from netcds.cli_options import refuse_repeated_options
from netcds.console import console
from netcds.engine import evaluate as run_evaluate
from netcds.errors import InputError, KnowledgeError, UnknownVersionError
from netcds.evaluation import Evaluation
from netcds.io import other_problem_lines, printable, read_patient
from netcds.knowledge.load import (
    DEFAULT_VERSION,
    ReleaseIdError,
    available_versions,
    default_knowledge_dir,
    load_folder,
)
from netcds.knowledge.load import load_knowledge as load_kb
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient

app = typer.Typer(
    name="netcds",
    help="Decision support for systemic therapy in neuroendocrine tumors (NCCN NET V.5.2024), as data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
kb_app = typer.Typer(help="Inspect and validate the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

out = console()


class Format(StrEnum):
    text = "text"
    json = "json"


def fail_input(e: InputError) -> typer.Exit:
    """One plain line on stderr (never wrapped) naming the first field at fault, then one indented line
    per further problem of the same input (io.other_problem_lines), exit 2."""
    lines = ["error: " + printable(str(e), 400), *other_problem_lines(e)]
    sys.stderr.write("\n".join(lines) + "\n")
    return typer.Exit(2)


def unknown_version(e: UnknownVersionError) -> str:
    """The one line for a version that is not there: the knowledge root looked in and what it holds (or,
    for text that is not a release id at all, that and the releases installed)."""
    if isinstance(e, ReleaseIdError):
        return e.message
    where, message = e.problems[0]
    guideline_dir = Path(where).parent
    root = guideline_dir.parent
    if not root.exists():
        return f"{message}: the knowledge root {root} does not exist"
    if not root.is_dir():
        return f"{message}: the knowledge root {root} is not a directory"
    held = available_versions(guideline_dir.name, root)
    if not held:
        return f"{message}: the knowledge root {root} holds no {guideline_dir.name} version"
    return f"{message} in {root} (available: {', '.join(held)})"


def fail_knowledge(e: KnowledgeError) -> typer.Exit:
    if isinstance(e, UnknownVersionError):  # a wrong option, not broken knowledge: one line, exit 2
        option = f"{_option_of(e)}: " if isinstance(e, ReleaseIdError) else ""
        sys.stderr.write(f"error: {option}{printable(unknown_version(e), 600)}\n")
        return typer.Exit(2)
    where = f" in {printable(e.where, 300)}" if e.where else ""
    sys.stderr.write(f"knowledge error{where} ({len(e.problems)}):\n")
    for path, msg in e.problems:
        sys.stderr.write(f"  {path}: {msg}\n")
    return typer.Exit(1)


def _option_of(e: ReleaseIdError) -> str:
    """The option of the running command that gave the text refused as a release id (``--guideline-version``,
    ``cohort diff``'s ``--from`` / ``--to``), found in the command's parsed options."""
    ctx: Any = None
    try:  # typer carries its own copy of click; its current context is not click's
        from typer._click.globals import get_current_context

        ctx = get_current_context(silent=True)
    except ImportError:  # pragma: no cover - another typer: the option is not named
        pass
    for param in getattr(getattr(ctx, "command", None), "params", []):
        opts = [str(o) for o in getattr(param, "opts", []) if str(o).startswith("--")]
        if opts and param.name and ctx.params.get(param.name) == e.value:
            return opts[0]
    return "--guideline-version" if e.field == "version" else "guideline"


def dump(ev: Evaluation) -> str:
    return ev.model_dump_json(indent=2)


@app.command()
def evaluate(
    patient_file: Annotated[
        Path, typer.Argument(metavar="PATIENT.json", help="contract Patient JSON ('-' = stdin)")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text report or contract JSON")] = Format.text,
    version: Annotated[str, typer.Option("--guideline-version", help="knowledge version")] = DEFAULT_VERSION,
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", metavar="PATH=VALUE", help="e.g. tumor.sstr_status=negative (repeatable)"),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="also show info-level safety items")
    ] = False,
) -> None:
    """Evaluate one patient: setting, every option with status, category, reasons, safety and sources."""
    try:
        patient = read_patient(patient_file)
        kb = load_kb(version)
        if what_if:
            show_what_if(patient, kb, what_if, fmt)
            return
        ev = run_evaluate(patient, kb)
    except InputError as e:
        raise fail_input(e) from None
    except KnowledgeError as e:
        raise fail_knowledge(e) from None
    if fmt is Format.json:
        sys.stdout.write(dump(ev) + "\n")
        return
    from netcds.report import render
    from netcds.sequencing.timeline import render_timeline

    extra: list[RenderableType] = [render_timeline(ev.lines_of_therapy)] if ev.lines_of_therapy else []
    for block in render(ev, extra=extra, verbose=verbose):
        out.print(block)


def show_what_if(patient: Patient, kb: Knowledge, assignments: list[str], fmt: Format) -> None:
    """Which options change status or category if the given fields had these values."""
    from rich.markup import escape
    from rich.table import Table

    from netcds.sequencing.whatif import parse_assignment, show_value
    from netcds.sequencing.whatif import what_if as run_what_if

    pairs: dict[str, object] = {}
    for text in assignments:
        path, value = parse_assignment(text)
        if path in pairs:  # the last would silently win: which one was meant is not known
            raise InputError("--what-if", f"{path} given twice")
        pairs[path] = value
    res = run_what_if(patient, kb, pairs)
    if fmt is Format.json:
        sys.stdout.write(res.model_dump_json(indent=2) + "\n")
        return
    # values as the contract's JSON writes them (G2, true, null), never Python reprs ('G2', True, None)
    said = [f"{a.path}: {show_value(a.before)} -> {show_value(a.after)}" for a in res.assignments]
    out.print("[bold]What if[/] " + escape(", ".join(said)))
    b, a = res.setting_before, res.setting_after
    before, after = f"{b.table or 'none'}/{b.column or '-'}", f"{a.table or 'none'}/{a.column or '-'}"
    out.print(f"Setting: {before} {b.status} -> {after} {a.status}")
    t = Table(title="Options that change", title_justify="left")
    for col in ("option", "status", "category", "changed"):
        t.add_column(col)
    for c in res.changes:
        t.add_row(
            escape(c.label),
            f"{c.status_before or 'absent'} -> {c.status_after or 'absent'}",
            f"{c.category_before or '-'} -> {c.category_after or '-'}",
            ", ".join(c.changed),
        )
    out.print(t if res.changes else "No option changes status or category.")
    out.print(
        f"SSA plan: {res.ssa_plan_before} -> {res.ssa_plan_after}; {res.unchanged} option(s) unchanged."
    )
    out.print(res.statement, style="italic")


@kb_app.command("validate")
def kb_validate(
    path: Annotated[
        Path | None, typer.Argument(help="a guideline version folder (default: every bundled one)")
    ] = None,
) -> None:
    """Validate knowledge files; every error is reported with its file and path."""
    if path is not None:
        _need_version_folder(path)
    folders = [path] if path else [default_knowledge_dir() / "nccn-net" / v for v in available_versions()]
    problems: list[tuple[str, str]] = []
    for folder in folders:
        try:
            kb = load_folder(folder)
            n = sum(len(c.entries) for t in kb.tables for c in t.columns)
            out.print(
                f"[green]ok[/] {kb.id} {kb.release}: {len(kb.tables)} tables, {n} entries, "
                f"{len(kb.footnotes)} footnotes, digest {kb.digest}"
            )
        except KnowledgeError as e:
            problems += [(f"{folder}/{p}", m) for p, m in e.problems]
    for extra in ("netcds.safety", "netcds.sequencing"):
        problems += _validate_extra(extra)
    if problems:
        raise fail_knowledge(KnowledgeError(problems))


def _need_version_folder(path: Path) -> None:
    """A path that is not a guideline version folder at all is a wrong argument (one line, exit 2), not
    invalid knowledge (exit 1, every problem listed)."""
    why = ""
    if not path.exists():
        why = "no such folder"
    elif not path.is_dir():
        why = "not a folder"
    elif not (path / "manifest.yaml").exists():
        why = "no manifest.yaml in it"
    if why:
        sys.stderr.write(
            f"error: {printable(str(path), 300)}: {why}: give a guideline version folder "
            "(one holding manifest.yaml, e.g. knowledge/nccn-net/5.2024)\n"
        )
        raise typer.Exit(2)


def _validate_extra(module: str) -> list[tuple[str, str]]:
    """Knowledge owned by other layers (agent monographs, sequencing rules), when installed."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return []
    validate = getattr(mod, "validate_knowledge", None)
    if not callable(validate):
        return []
    try:
        summary = validate()
        if summary:
            out.print(f"[green]ok[/] {summary}")
    except KnowledgeError as e:
        return list(e.problems)
    return []


@kb_app.command("show")
def kb_show(
    table: Annotated[
        str | None, typer.Argument(help="gi_wd_g12 | lung_thymus | pancreas_wd_g12 | wd_g3")
    ] = None,
    version: Annotated[str, typer.Option("--guideline-version")] = DEFAULT_VERSION,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
) -> None:
    """Print a table as the guideline lays it out, from the data."""
    from netcds.kb_view import render_table

    try:
        kb = load_kb(version)
    except KnowledgeError as e:
        raise fail_knowledge(e) from None
    ids = [t.id for t in kb.tables]
    if table is not None and table not in ids:
        sys.stderr.write(f"error: table: unknown table '{printable(table, 80)}'; one of {', '.join(ids)}\n")
        raise typer.Exit(2)
    tables = [kb.table(table)] if table else kb.tables
    if fmt is Format.json:
        data = [t.model_dump(mode="json", exclude={"applies_when"}) for t in tables]
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    for t in tables:
        for block in render_table(kb, t):
            out.print(block)
        out.print()


@app.command()
def schema(
    which: Annotated[str, typer.Argument(help="patient | evaluation | all")] = "all",
) -> None:
    """Print the JSON Schema of the contract's Patient and/or Evaluation."""
    schemas = {"patient": Patient.model_json_schema(), "evaluation": Evaluation.model_json_schema()}
    if which not in (*schemas, "all"):
        sys.stderr.write("error: which: must be patient, evaluation or all\n")
        raise typer.Exit(2)
    data = schemas if which == "all" else schemas[which]
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@app.command()
def version() -> None:
    """Print the engine version and the bundled knowledge versions."""
    out.print(f"netcds {__version__}; knowledge nccn-net: {', '.join(available_versions())}")


def _register_optional() -> None:
    """Commands contributed by the other layers (safety, service, store, cohort), when present."""
    for module in ("netcds.safety.cli", "netcds.api.cli", "netcds.store.cli", "netcds.cohort.cli"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        register = getattr(mod, "register", None)
        if callable(register):
            register(app)


_register_optional()
refuse_repeated_options(app)  # every command, at any depth: a single-valued option given twice is refused


def main() -> None:
    """The ``netcds`` command. Output that cannot be written (a full disk, ``> /dev/full``) ends the
    command with one line on stderr and exit 1, never a traceback (a closed pipe, ``| head``, exits 1
    quietly, as click handles it)."""
    try:
        try:
            app()
        finally:  # what is still buffered is written now, where a failure can be reported
            sys.stdout.flush()
    except OSError as exc:
        output_failed(exc)


def output_failed(exc: OSError) -> NoReturn:
    """One line for an input/output failure of the environment (exit 1); standard output is then pointed
    at the null device so the interpreter's last flush of the unwritten rest cannot fail again."""
    reason = exc.strerror or type(exc).__name__
    line = (
        f"error: cannot write standard output: {reason}"
        if exc.filename is None
        else f"error: {printable(str(exc.filename), 300)}: {reason}"
    )
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(1)


if __name__ == "__main__":
    main()
