"""An Evaluation (as its JSON data) prepared for the page: options by tier, safety grouped, what-if choices.

Pages read the Evaluation as plain JSON data, the same for a fresh evaluation and
for one stored months ago with an older engine, so a stored output is shown as it
was returned then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netcds.engine import evaluate
from netcds.errors import InputError
from netcds.io import loads
from netcds.knowledge.load import load_knowledge
from netcds.knowledge.schema import TIER_ORDER, Knowledge
from netcds.patient import Patient
from netcds.report import cited_reasons
from netcds.sequencing.whatif import apply_assignments
from netcds.web.form_data import parse_number
from netcds.web.form_schema import FieldDef, form_schema
from netcds.web.labels import (
    COLUMN_LABELS,
    STATUS_SYMBOL,
    STATUS_WORDS,
    TIER_LABELS,
    field_label,
    value_label,
)

# facts a tumor board most often asks "what if" about, offered even when they are recorded
KEY_WHATIF: tuple[str, ...] = (
    "tumor.sstr_status",
    "disease.status",
    "disease.progression_clinically_significant",
    "tumor.functional",
    "tumor.grade",
    "disease.extent",
    "context.no_other_options_feasible",
)


@dataclass
class SafetyGroups:
    alerts: list[dict[str, Any]] = field(default_factory=list)  # critical / warning / dose adjustments
    monitoring: list[dict[str, Any]] = field(default_factory=list)
    not_assessed: list[dict[str, Any]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)


@dataclass
class OptionView:
    data: dict[str, Any]
    status_words: str
    status_symbol: str
    safety: SafetyGroups
    footnotes: list[dict[str, Any]]
    doses: list[dict[str, Any]]


@dataclass
class TierView:
    tier: str
    title: str
    options: list[OptionView]


@dataclass
class WhatIfChoice:
    value: str  # JSON text of the new value
    label: str


@dataclass
class WhatIfField:
    path: str
    label: str
    current: str
    kind: str
    choices: list[WhatIfChoice]
    needs_data: bool
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class SettingReason:
    """One of ``setting.reasons`` with where it comes from: its ``setting.reason_sources`` item (aligned with
    the reasons; None in an output stored before it was added), and whether it says the guideline handles
    the situation on pages the source does not contain (netcds.report.cited_reasons)."""

    text: str
    source: dict[str, Any] | None
    not_in_source: bool = False


@dataclass
class EvaluationView:
    ev: dict[str, Any]
    tiers: list[TierView]
    whatif: list[WhatIfField]
    column_label: str | None
    counts: dict[str, int]
    setting_reasons: list[SettingReason] = field(default_factory=list)


def knowledge_version(app_state: Any) -> str | None:
    ctx = getattr(app_state, "netcds", None)
    settings = getattr(ctx, "settings", None)
    version = getattr(settings, "guideline_version", None)
    return version if isinstance(version, str) else None


def current_knowledge(app_state: Any) -> Knowledge:
    version = knowledge_version(app_state)
    return load_knowledge(version) if version else load_knowledge()


def run(patient: Patient, kb: Knowledge) -> tuple[Any, dict[str, Any]]:
    """Evaluate and return the Evaluation with its JSON data."""
    ev = evaluate(patient, kb)
    return ev, json.loads(ev.model_dump_json())


def lines_for(ev: dict[str, Any], patient: dict[str, Any]) -> list[dict[str, Any]]:
    """Lines of therapy from the evaluation, or rebuilt from the record for an output that predates them."""
    if "lines_of_therapy" in ev:
        return list(ev.get("lines_of_therapy") or [])
    try:
        from netcds.sequencing.data import load_sequencing_data
        from netcds.sequencing.lines import build_lines

        lines = build_lines(Patient.model_validate(patient), load_sequencing_data())
    except Exception:  # an old record the current model rejects: no timeline rather than no page
        return []
    return [json.loads(ln.model_dump_json()) for ln in lines]


def _safety(items: list[dict[str, Any]]) -> SafetyGroups:
    g = SafetyGroups()
    for it in items:
        kind = it.get("kind")
        if it.get("severity") in ("critical", "warning") or kind == "adjustment":
            g.alerts.append(it)
        elif kind == "monitoring":
            g.monitoring.append(it)
        elif kind == "not_assessed":
            g.not_assessed.append(it)
            for f in it.get("fields") or []:
                if f not in g.missing_fields:
                    g.missing_fields.append(f)
        else:
            g.other.append(it)
    rank = {"critical": 0, "warning": 1, "info": 2}
    g.alerts.sort(key=lambda i: rank.get(str(i.get("severity")), 3))
    return g


def _doses(dose: Any) -> list[dict[str, Any]]:
    if not isinstance(dose, dict):
        return []
    agents = dose.get("agents")
    if isinstance(agents, list):
        return [a for a in agents if isinstance(a, dict)]
    return [dose] if dose.get("standard") else []


def _footnotes(o: dict[str, Any]) -> list[dict[str, Any]]:
    details = {f.get("letter"): f for f in o.get("footnote_details") or []}
    out = []
    for letter in o.get("footnotes") or []:
        f = details.get(letter) or {"letter": letter, "available": False, "text": None}
        out.append(f)
    return out


def option_view(o: dict[str, Any]) -> OptionView:
    status = str(o.get("status"))
    return OptionView(
        data=o,
        status_words=STATUS_WORDS.get(status, status),
        status_symbol=STATUS_SYMBOL.get(status, ""),
        safety=_safety(list(o.get("safety") or [])),
        footnotes=_footnotes(o),
        doses=_doses(o.get("dose")),
    )


def _row_def(path: str) -> FieldDef | None:
    schema = form_schema()
    if path in schema.fields:
        return schema.fields[path]
    generic = re.sub(r"\[\d+\]", "[]", path)
    for rows in schema.rows.values():
        for f in rows.fields:
            if f.path == generic:
                return f
    return None


def _current(patient: dict[str, Any], path: str) -> Any:
    node: Any = patient
    for part in re.findall(r"[a-z_0-9]+|\[\d+\]", path):
        if part.startswith("["):
            idx = int(part[1:-1])
            node = node[idx] if isinstance(node, list) and idx < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return node


def _fits(patient: dict[str, Any]) -> Callable[[str, str], bool]:
    """Whether a what-if choice (path, JSON value) leaves the record valid. A choice that contradicts another
    recorded fact (``disease.status`` stable while progression is recorded as clinically significant) would
    only answer 422, so it is not offered: the other fact is changed first."""
    try:
        base = Patient.model_validate(patient)
    except ValueError:
        return lambda _path, _value: True  # an invalid record shows every choice; its errors are shown

    def fits(path: str, value: str) -> bool:
        try:
            apply_assignments(base, {path: json.loads(value)})
        except InputError:
            return False
        return True

    return fits


def whatif_fields(patient: dict[str, Any], needs: list[str]) -> list[WhatIfField]:
    out: list[WhatIfField] = []
    fits = _fits(patient)
    for path in list(dict.fromkeys([*needs, *KEY_WHATIF])):
        f = _row_def(path)
        if f is None or f.kind not in ("enum", "bool", "number"):
            continue
        cur = _current(patient, path)
        choices: list[WhatIfChoice] = []
        if f.kind == "enum":
            choices = [WhatIfChoice(json.dumps(v), lbl) for v, lbl in f.choices if v != cur]
        elif f.kind == "bool":
            choices = [WhatIfChoice(json.dumps(v), value_label(v)) for v in (True, False) if v is not cur]
        if cur is not None and path != "tumor.primary_site":
            choices.append(WhatIfChoice("null", "not recorded"))
        choices = [c for c in choices if fits(path, c.value)]
        out.append(
            WhatIfField(
                path=path,
                label=field_label(path),
                current=value_label(cur),
                kind=f.kind,
                choices=choices,
                needs_data=path in needs,
                minimum=f.minimum,
                maximum=f.maximum,
            )
        )
    return out


def setting_reasons(ev: dict[str, Any]) -> list[SettingReason]:
    """The setting's reasons, each with its source and whether it says its pages are not in the source."""
    setting = ev.get("setting") or {}
    sources = [s if isinstance(s, dict) else None for s in setting.get("reason_sources") or []]
    refs = [
        (str(r.get("ref") or ""), str(r.get("title") or ""))
        for r in ev.get("unavailable_references") or []
        if isinstance(r, dict)
    ]
    reasons = [str(r) for r in setting.get("reasons") or []]
    return [
        SettingReason(text, src, src is not None and not_in_source)
        for text, src, not_in_source in cited_reasons(reasons, sources, refs)
    ]


def build_view(ev: dict[str, Any], patient: dict[str, Any]) -> EvaluationView:
    by_tier: dict[str, list[OptionView]] = {}
    for o in ev.get("options") or []:
        by_tier.setdefault(str(o.get("tier")), []).append(option_view(o))
    order = [t for t in TIER_ORDER if t in by_tier] + [t for t in by_tier if t not in TIER_ORDER]
    tiers = [TierView(t, TIER_LABELS.get(t, t), by_tier[t]) for t in order]
    counts = {s: sum(1 for o in ev.get("options") or [] if o.get("status") == s) for s in STATUS_WORDS}
    column = (ev.get("setting") or {}).get("column")
    return EvaluationView(
        ev=ev,
        tiers=tiers,
        whatif=whatif_fields(patient, list(ev.get("needs_data") or [])),
        column_label=COLUMN_LABELS.get(column) if column else None,
        counts=counts,
        setting_reasons=setting_reasons(ev),
    )


def parse_whatif_value(text: str, path: str = "") -> object:
    """The posted JSON value of a what-if choice for ``path``; a bare word is taken as a string, blank as
    unknown. An object with a key twice is an InputError naming it. For a numeric fact the text is read
    as the patient form reads it (web.form_data.parse_number): "1.500" or "1,500" is ambiguous, an
    InputError at ``path``, never 1.5; a count per µL takes "150,000"; ``null`` is unknown."""
    raw = text.strip()
    if raw == "":
        return None
    f = _row_def(path) if path else None
    if f is not None and f.kind == "number" and raw != "null":
        x, problem = parse_number(f, raw)
        if x is None:
            raise InputError(path, problem or "must be a number")
        return int(x) if x.is_integer() and abs(x) < 1e15 else x
    try:
        return loads(raw, path)
    except (ValueError, RecursionError):  # not JSON (or brackets nested thousands deep): the text itself
        return raw
