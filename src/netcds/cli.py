"""The netcds command line: a thin layer over the engine, knowledge and services.

Bad input exits 2 with one line naming the field; knowledge errors exit 1
listing every problem with its path. No tracebacks for either.
"""

from __future__ import annotations

import importlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, RenderableType

from netcds import __version__
from netcds.engine import evaluate as run_evaluate
from netcds.errors import InputError, KnowledgeError
from netcds.evaluation import Evaluation
from netcds.io import read_patient
from netcds.knowledge.load import DEFAULT_VERSION, available_versions, default_knowledge_dir, load_folder
from netcds.knowledge.load import load_knowledge as load_kb
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

out = Console(soft_wrap=False)


class Format(StrEnum):
    text = "text"
    json = "json"


def fail_input(e: InputError) -> typer.Exit:
    """One plain line on stderr (never wrapped), exit 2."""
    sys.stderr.write(f"error: {e}\n".replace("\n", " ").rstrip() + "\n")
    return typer.Exit(2)


def fail_knowledge(e: KnowledgeError) -> typer.Exit:
    sys.stderr.write(f"knowledge error ({len(e.problems)}):\n")
    for path, msg in e.problems:
        sys.stderr.write(f"  {path}: {msg}\n")
    return typer.Exit(1)


def dump(ev: Evaluation) -> str:
    return ev.model_dump_json(indent=2)


@app.command()
def evaluate(
    patient_file: Annotated[
        Path, typer.Argument(metavar="PATIENT.json", help="contract Patient JSON ('-' = stdin)")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text report or contract JSON")] = Format.text,
    version: Annotated[str, typer.Option("--guideline-version", help="knowledge version")] = DEFAULT_VERSION,
) -> None:
    """Evaluate one patient: setting, every option with status, category, reasons and sources."""
    try:
        patient = read_patient(patient_file)
        kb = load_kb(version)
        ev = run_evaluate(patient, kb)
    except InputError as e:
        raise fail_input(e) from None
    except KnowledgeError as e:
        raise fail_knowledge(e) from None
    if fmt is Format.json:
        sys.stdout.write(dump(ev) + "\n")
        return
    from netcds.report import render

    for block in render(ev, extra=_extras(patient, ev)):
        out.print(block)


def _extras(patient: Patient, ev: Evaluation) -> list[RenderableType]:
    """Optional report sections contributed by the sequencing layer, when present."""
    try:
        mod = importlib.import_module("netcds.sequencing.report")
    except ImportError:
        return []
    blocks = getattr(mod, "report_blocks", None)
    return list(blocks(patient, ev)) if callable(blocks) else []


@kb_app.command("validate")
def kb_validate(
    path: Annotated[
        Path | None, typer.Argument(help="a guideline version folder (default: every bundled one)")
    ] = None,
) -> None:
    """Validate knowledge files; every error is reported with its file and path."""
    folders = [path] if path else [default_knowledge_dir() / "nccn-net" / v for v in available_versions()]
    problems: list[tuple[str, str]] = []
    for folder in folders:
        try:
            kb = load_folder(folder)
            n = sum(len(c.entries) for t in kb.tables for c in t.columns)
            out.print(
                f"[green]ok[/] {kb.id} {kb.version}: {len(kb.tables)} tables, {n} entries, "
                f"{len(kb.footnotes)} footnotes, digest {kb.digest}"
            )
        except KnowledgeError as e:
            problems += [(f"{folder}/{p}", m) for p, m in e.problems]
    for extra in ("netcds.safety", "netcds.sequencing"):
        problems += _validate_extra(extra)
    if problems:
        raise fail_knowledge(KnowledgeError(problems))


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
        sys.stderr.write(f"error: table: unknown table '{table}'; one of {', '.join(ids)}\n")
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
