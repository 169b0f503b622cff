"""CLI commands of the safety layer: ``netcds drug AGENT`` and ``netcds check PATIENT.json --agent AGENT``.

``register(app)`` adds them to the main Typer app. Invalid input exits 2 with one
line naming the field; invalid knowledge exits 1 listing every problem.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from netcds.console import console as make_console
from netcds.errors import InputError, KnowledgeError
from netcds.io import other_problem_lines, printable
from netcds.patient import REGIMEN_AGENTS, Patient
from netcds.safety.conditions import describe
from netcds.safety.load import AgentKnowledge, load_agents, resolve
from netcds.safety.models import AgentScreen, DoseResult, RegimenScreen, SafetyItem, SourceOut
from netcds.safety.schema import Checked, Cite, Monograph
from netcds.safety.screen import scope_item, screen_agent, screen_regimen

console = make_console()
STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


class Format(StrEnum):
    text = "text"
    json = "json"


# Contract agent ids that are not drugs: accepted by ``drug`` and ``check``, with why no monograph applies.
NON_DRUG_AGENTS: dict[str, str] = {
    "radiotherapy": (
        "radiotherapy is not a drug: there is no dose, dose adjustment or label warning to screen; "
        "the radiation plan is set and screened by radiation oncology"
    ),
}
NON_DRUG_HINT = (
    "For RT with concurrent fluoropyrimidine, screen the chemotherapy: "
    "netcds check PATIENT.json --regimen rt_fluoropyrimidine"
)


def _unknown_agent(agent: str, kb: AgentKnowledge) -> typer.Exit:
    known = ", ".join(sorted({*kb.agents, *NON_DRUG_AGENTS}))
    return _input_error("agent", f"unknown agent '{printable(agent, 80)}'; one of {known}")


def _non_drug_item(agent: str) -> SafetyItem:
    """The one item ``check --agent`` gives for a non-drug agent: why there is nothing to screen."""
    return scope_item(
        agent,
        f"{agent}_no_monograph",
        f"no drug monograph applies: {NON_DRUG_AGENTS[agent]}",
        f"Screen the radiation plan with radiation oncology. {NON_DRUG_HINT}.",
    )


def _input_error(field: str, message: str) -> typer.Exit:
    """One line on stderr, exit 2: control characters (ESC, bidi controls, line breaks) of text the user
    gave are shown escaped, never sent to the terminal, and the line is capped."""
    sys.stderr.write(printable(f"error: {field}: {message}", 1000) + "\n")
    return typer.Exit(2)


def _knowledge_error(e: KnowledgeError) -> typer.Exit:
    sys.stderr.write(f"knowledge error ({len(e.problems)}):\n")
    for path, msg in e.problems:
        sys.stderr.write(f"  {path}: {msg}\n")
    return typer.Exit(1)


def _kb() -> AgentKnowledge:
    try:
        return load_agents()
    except KnowledgeError as e:
        raise _knowledge_error(e) from None


def _read_patient(path: Path) -> Patient:
    try:
        from netcds.io import read_patient
    except ImportError:  # pragma: no cover - io.py is part of the core
        from pydantic import ValidationError

        try:
            return Patient.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise InputError("<patient>", str(exc).splitlines()[0]) from None
    return read_patient(path)


def _cite(src: SourceOut) -> str:
    where = src.url or (f"seed {src.seed}" if src.seed else "")
    also = "".join(f"; also {a.document} ({a.section})" for a in src.also)
    return escape(f"{src.document}, {src.section}" + (f" <{where}>" if where else "") + also)


def _short(mono: Monograph, cite: Cite) -> str:
    src = resolve(mono.sources, cite)
    extra = f" +{len(src.also)}" if src.also else ""
    return escape(f"[{cite.ref}] {cite.section}{extra}")


def _flag(item: Checked, text: str) -> str:
    """The text of a monograph item, marked when it is not confirmed against the label."""
    if item.verified:
        return escape(text)
    return f"[bold magenta]UNVERIFIED[/] ({escape(item.verification or '')}) {escape(text)}"


def render_monograph(kb: AgentKnowledge, mono: Monograph) -> list[object]:
    labels = kb.class_labels
    d = mono.dose
    head = f"[bold]{escape(mono.name)}[/]\n{escape(mono.drug_class)}; {mono.route}"
    if mono.brands:
        head += f"; brands: {escape(', '.join(mono.brands))}"
    if mono.summary:
        head += f"\n\n{escape(mono.summary)}"
    blocks: list[object] = [Panel(head, title=mono.id, box=box.ROUNDED)]
    dose = Table(title="Dose", box=box.SIMPLE, show_header=False, expand=True)
    dose.add_column("what", style="bold", no_wrap=True)
    dose.add_column("value")
    dose.add_row("NET dose", _flag(d, d.standard))
    dose.add_row("US label gives a NET dose", "yes" if d.net_label else "no (regimen protocol / guideline)")
    for step in d.reduction_steps:
        dose.add_row("reductions", escape(step))
    for key, var in d.variants.items():
        dose.add_row(f"in {key}", escape(var.standard))
    dose.add_row("source", _short(mono, d.source))
    blocks.append(dose)
    if mono.adjustments:
        t = Table(title="Dose adjustments", box=box.SIMPLE_HEAD, expand=True)
        for col in ("when", "adjusted dose", "action", "source"):
            t.add_column(col)
        for a in mono.adjustments:
            t.add_row(
                escape(describe(a.when, labels)),
                _flag(a, a.effect.text),
                escape(a.action),
                _short(mono, a.source),
            )
        blocks.append(t)
    if mono.warnings:
        t = Table(title="Warnings mapped to patient facts", box=box.SIMPLE_HEAD, expand=True)
        for col in ("severity", "when", "finding", "action", "source"):
            t.add_column(col)
        for w in mono.warnings:
            sev = f"[{STYLE[w.severity]}]{w.severity}[/]"
            t.add_row(
                sev,
                escape(describe(w.when, labels)),
                _flag(w, w.finding),
                escape(w.action + (f" Dose: avoid: {w.no_dose}." if w.no_dose else "")),
                _short(mono, w.source),
            )
        blocks.append(t)
    if mono.monitoring:
        t = Table(title="Monitoring", box=box.SIMPLE_HEAD, expand=True)
        t.add_column("when")
        t.add_column("what")
        t.add_column("source")
        for m in mono.monitoring:
            t.add_row(escape(describe(m.when, labels)), _flag(m, m.what), _short(mono, m.source))
        blocks.append(t)
    if mono.unrecorded:
        t = Table(title="Checks the record has no field for (always reported as not assessed)",
                  box=box.SIMPLE_HEAD, expand=True)  # fmt: skip
        for col in ("severity", "fact", "finding", "action", "source"):
            t.add_column(col)
        for u in mono.unrecorded:
            t.add_row(
                f"[{STYLE[u.severity]}]{u.severity}[/]",
                escape(u.fact),
                _flag(u, u.finding),
                escape(u.action),
                _short(mono, u.source),
            )
        blocks.append(t)
    src = Table(title="Sources", box=box.SIMPLE_HEAD, expand=True)
    src.add_column("ref", no_wrap=True)
    src.add_column("document")
    src.add_column("where")
    for key, doc in mono.sources.items():
        src.add_row(
            key, escape(doc.document + (f" ({doc.date})" if doc.date else "")), doc.url or f"seed {doc.seed}"
        )
    blocks.append(src)
    return blocks


def _item_lines(items: list[SafetyItem]) -> list[str]:
    lines: list[str] = []
    for it in items:
        lines.append(f"[{STYLE[it.severity]}]{it.severity:<8}[/] [bold]{it.agent}[/] {escape(it.finding)}")
        lines.append(f"         [dim]->[/] {escape(it.action)}")
        if not it.verified:
            lines.append(f"         [magenta]unverified: {escape(it.verification or '')}[/]")
        lines.append(f"         [dim]source: {_cite(it.source)}[/]")
    return lines


def _dose_panel(d: DoseResult) -> Panel:
    lines = [f"standard: {escape(d.standard)}"]
    lines.append(f"adjusted: {escape(d.adjusted)}" if d.adjusted else "adjusted: none (no dose rule applies)")
    lines += [f"  applied {escape(r)}" for r in d.rules_applied]
    lines += [f"  pending {escape(p)}" for p in d.pending]
    lines += [f"  [magenta]UNVERIFIED {escape(u)}[/]" for u in d.unverified]
    lines.append(f"source: {_cite(d.source)}")
    return Panel("\n".join(lines), title=f"dose: {d.agent}", box=box.ROUNDED)


def render_screen(s: AgentScreen | RegimenScreen) -> list[object]:
    what = s.agent if isinstance(s, AgentScreen) else f"{s.regimen} ({', '.join(s.agents) or 'no agents'})"
    c = s.counts
    head = f"safety screen: {what} — {c['critical']} critical, {c['warning']} warning, {c['info']} info"
    doses = [s.dose] if isinstance(s, AgentScreen) else s.doses
    note = "[dim]Beside guideline eligibility; never changes it. Unknown facts are 'not assessed'.[/]"
    return [f"[bold]{head}[/]", note, *[_dose_panel(d) for d in doses], *_item_lines(s.safety)]


def register(app: typer.Typer) -> None:
    """Add the ``drug`` and ``check`` commands to the main CLI."""

    @app.command("drug")
    def drug(
        agent: Annotated[str, typer.Argument(help="agent id, e.g. cabozantinib")],
        fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    ) -> None:
        """Print an agent monograph: dose, adjustments, warnings, monitoring, sources."""
        kb = _kb()
        if agent in NON_DRUG_AGENTS:
            if fmt is Format.json:
                out = {"id": agent, "monograph": None, "note": NON_DRUG_AGENTS[agent], "see": NON_DRUG_HINT}
                sys.stdout.write(json.dumps(out, indent=2) + "\n")
            else:
                text = f"[bold]{agent}[/]: no drug monograph applies\n\n{escape(NON_DRUG_AGENTS[agent])}."
                console.print(Panel(f"{text}\n{escape(NON_DRUG_HINT)}", title=agent, box=box.ROUNDED))
            return
        if agent not in kb.agents:
            raise _unknown_agent(agent, kb)
        if fmt is Format.json:
            sys.stdout.write(json.dumps(kb.raw[agent], indent=2, ensure_ascii=False, default=str) + "\n")
            return
        for block in render_monograph(kb, kb.agents[agent]):
            console.print(block)

    @app.command("check")
    def check(
        patient: Annotated[Path, typer.Argument(help="patient JSON file ('-' for stdin)")],
        agent: Annotated[str | None, typer.Option("--agent", "-a", help="agent id")] = None,
        regimen: Annotated[
            str | None, typer.Option("--regimen", "-r", help="regimen id (all its agents)")
        ] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    ) -> None:
        """Screen one agent (or one regimen) for one patient: safety items and dose."""
        if (agent is None) == (regimen is None):
            raise _input_error("--agent", "give exactly one of --agent or --regimen")
        kb = _kb()
        if agent is not None and agent not in kb.agents and agent not in NON_DRUG_AGENTS:
            raise _unknown_agent(agent, kb)
        if regimen is not None and regimen not in REGIMEN_AGENTS:  # the id shown capped and escaped
            raise _input_error("regimen", f"unknown regimen id '{printable(regimen, 80)}'")
        try:
            p = _read_patient(patient)
        except InputError as e:
            error = _input_error(e.field, e.message)
            for line in other_problem_lines(e):
                sys.stderr.write(line + "\n")
            raise error from None
        if agent in NON_DRUG_AGENTS:  # AgentScreen's shape with no dose: there is no drug to dose
            item = _non_drug_item(agent)
            if fmt is Format.json:
                counts = {"critical": 0, "warning": 0, "info": 1}
                out = {"agent": agent, "name": agent, "safety": [item.model_dump(mode="json")],
                       "dose": None, "counts": counts}  # fmt: skip
                sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
                return
            console.print(f"[bold]safety screen: {agent} — no drug monograph applies[/]")
            for line in _item_lines([item]):
                console.print(line)
            return
        try:
            result: AgentScreen | RegimenScreen = (
                screen_agent(agent, p, kb) if agent is not None else screen_regimen(str(regimen), p, kb)
            )
        except KeyError as e:
            raise _input_error("regimen", printable(str(e.args[0]), 200)) from None
        if fmt is Format.json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
            return
        for block in render_screen(result):
            console.print(block)
