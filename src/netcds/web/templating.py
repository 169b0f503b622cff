"""Jinja2 environment (autoescape on; bidirectional controls shown as escapes), shared filters, and the HTML
response with its security headers."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from netcds import __version__
from netcds.engine.options import failed_conditions
from netcds.engine.possible import beyond_setting
from netcds.field_labels import CATEGORY_UNSETTLED, applied_rule_words, pending_rule_words
from netcds.report import NOT_IN_SOURCE_WORDS
from netcds.web import labels
from netcds.web.bidi import BIDI_CONTROLS, visible

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/ui"

# Every script and style comes from /ui/static: no inline code, no CDN.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _source(src: Any) -> str:
    """A SourceRef (guideline) or SourceOut (label) as one line."""
    if not isinstance(src, dict):
        return ""
    parts = [src.get("document")]
    if src.get("version") and str(src["version"]) not in str(src.get("document")):
        parts.append(f"V.{src['version']}")
    for key in ("page", "table", "section"):
        if src.get(key):
            parts.append(str(src[key]))
    if src.get("footnote"):
        parts.append(f"footnote {src['footnote']}")
    if src.get("date"):
        parts.append(str(src["date"]))
    return " · ".join(str(p) for p in parts if p)


def _labels(paths: list[str]) -> str:
    return "; ".join(labels.field_label(p) for p in dict.fromkeys(paths))


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return labels.value_label(value)


def _finalize(value: Any) -> Any:
    """Every rendered expression: bidirectional controls in text shown as escapes (netcds.web.bidi), also
    in text already marked safe (a macro's output, a joined list), where the escape adds no markup."""
    if isinstance(value, Markup):  # Markup.replace keeps it Markup (and would escape the new text)
        for c in BIDI_CONTROLS:
            if c in value:
                value = value.replace(c, visible(c))
        return value
    if isinstance(value, str):
        return visible(value)
    return value


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.globals.update(
        category_unsettled=CATEGORY_UNSETTLED,
        prefix=PREFIX,
        signed=MappingProxyType({}),  # a page opened by a signed link: the queries signing its links
        version=__version__,
        static=lambda p: f"{PREFIX}/static/{p}?v={__version__}",
        TIER_LABELS=labels.TIER_LABELS,
        TIER_SHORT=labels.TIER_SHORT,
        beyond_setting=beyond_setting,
        failed_conditions=failed_conditions,
        applied_rule_words=applied_rule_words,
        pending_rule_words=lambda pending, names: pending_rule_words(pending, names or {}, _labels),
        STATUS_WORDS=labels.STATUS_WORDS,
        SEVERITY_WORDS=labels.SEVERITY_WORDS,
        DIRECTION_WORDS=labels.DIRECTION_WORDS,
        SETTING_STATUS_WORDS=labels.SETTING_STATUS_WORDS,
        SSA_ACTION_WORDS=labels.SSA_ACTION_WORDS,
        NOT_IN_SOURCE_WORDS=NOT_IN_SOURCE_WORDS,
        TABLE_LABELS=labels.TABLE_LABELS,
        COLUMN_LABELS=labels.COLUMN_LABELS,
    )
    env.filters.update(
        field_label=labels.field_label,
        value_label=labels.value_label,
        source=_source,
        fmt=_fmt,
        compact_json=compact_json,
    )
    return env


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
