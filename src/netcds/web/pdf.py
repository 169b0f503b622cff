"""The tumor-board summary of one evaluation as a PDF, made server-side with fpdf2 (pure Python).

Contents: patient summary, guideline version and date, the setting, a
line-of-therapy timeline, the SSA plan, every option by tier with its status,
reasons, footnotes, history, considerations, dose and safety alerts, the data
that would change the result, the notes, the sequencing statement and the
disclaimer. The built-in PDF fonts cover Latin-1 only, so text is transliterated
(``≥`` -> ``>=``) rather than dropped, and a character with no such spelling is printed as its escape
(``\\u0639``), never as ``?``. The record id is printed whole (wrapped, each broken line ending in ``¬``)
and so that two ids never print alike (:func:`id_text`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from starlette.responses import Response

from netcds import __version__
from netcds.field_labels import CATEGORY_UNSETTLED
from netcds.report import NOT_IN_SOURCE_WORDS
from netcds.safety.models import SHOWN_INFO_KINDS
from netcds.web.bidi import visible
from netcds.web.cases import EvaluationSummary
from netcds.web.evaluation_view import setting_reasons
from netcds.web.labels import (
    SSA_ACTION_WORDS,
    STATUS_WORDS,
    TIER_LABELS,
    field_label,
    value_label,
)
from netcds.web.pages import patient_summary
from netcds.web.timeline_svg import build_timeline

_TRANSLIT = {
    "≥": ">=", "≤": "<=", "–": "-", "—": "-", "‑": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
    "→": "->", "←": "<-", "•": "-", "…": "...", "✓": "yes", "✕": "x", "±": "+/-", "≈": "~",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}  # fmt: skip
STATUS_RGB = {"eligible": (26, 127, 55), "needs_data": (154, 103, 0), "not_eligible": (180, 35, 24)}
KIND_RGB = {
    "ssa": (37, 99, 235), "prrt": (124, 58, 237), "targeted": (13, 148, 136), "chemo": (234, 88, 12),
    "immuno": (190, 24, 93), "radiation": (100, 116, 139), "other": (100, 116, 139),
}  # fmt: skip
INK = (17, 24, 39)
MUTED = (75, 85, 99)


def latin1(text: Any) -> str:
    s = visible("" if text is None else str(text))  # bidirectional controls as escapes, as on the pages
    for k, v in _TRANSLIT.items():
        s = s.replace(k, v)
    return s.encode("latin-1", "backslashreplace").decode("latin-1")


WRAP_MARK = "\u00ac"  # "¬" ends a line of the record id that goes on on the next line
ID_LINE = 70  # characters of the record id per line (Courier: each character as wide as the next)


def _id_escaped(value: str, i: int) -> bool:
    """Whether character ``i`` of an id is printed as its escape: beyond Latin-1, a control character, a
    no-break space or soft hyphen (printed like a space or not at all), the wrap mark, a space at an end."""
    c = value[i]
    return (
        ord(c) > 0xFF
        or ord(c) < 0x20
        or 0x7F <= ord(c) <= 0xA0
        or c in ("\u00ad", WRAP_MARK)
        or (c == " " and i in (0, len(value) - 1))
    )


def id_text(value: str) -> list[str]:
    """The record id as printed, in pieces that are never split across lines: what :func:`_id_escaped`
    names as its escape (``\\u0639``, ``\\U0001f600``), and a backslash before ``u``, ``U``, a backslash or an
    escape doubled, so that the printed text reads back as exactly one id. Nothing is transliterated."""
    pieces: list[str] = []
    for i, c in enumerate(value):
        if _id_escaped(value, i):
            pieces.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        elif c == "\\" and i + 1 < len(value) and (value[i + 1] in "uU\\" or _id_escaped(value, i + 1)):
            pieces.append("\\\\")
        else:
            pieces.append(c)
    return pieces


def id_lines(value: str) -> list[str]:
    """The printed record id in lines of at most :data:`ID_LINE` characters, each but the last ending in
    :data:`WRAP_MARK` (so a space at a line's end shows)."""
    lines = [""]
    for piece in id_text(value):
        if lines[-1] and len(lines[-1]) + len(piece) > ID_LINE:
            lines.append("")
        lines[-1] += piece
    return [line + WRAP_MARK for line in lines[:-1]] + lines[-1:]


class SummaryPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, latin1(self.footer_text), align="L")
        self.cell(0, 5, f"page {self.page_no()}/{{nb}}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


class Writer:
    def __init__(self) -> None:
        self.pdf = SummaryPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_margins(15, 14, 15)
        self.pdf.set_auto_page_break(auto=True, margin=16)
        self.pdf.add_page()
        self.w = self.pdf.epw

    def heading(self, text: str, size: float = 12.5) -> None:
        p = self.pdf
        if p.get_y() > p.h - 40:
            p.add_page()
        p.ln(2.5)
        p.set_font("Helvetica", "B", size)
        p.set_text_color(*INK)
        p.multi_cell(self.w, 6.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        p.set_draw_color(203, 213, 225)
        p.line(p.l_margin, p.get_y(), p.l_margin + self.w, p.get_y())
        p.ln(1.5)

    def text(
        self, text: str, size: float = 9, style: str = "", rgb: tuple[int, int, int] = INK, indent: float = 0
    ) -> None:
        p = self.pdf
        p.set_font("Helvetica", style, size)
        p.set_text_color(*rgb)
        p.set_x(p.l_margin + indent)
        p.multi_cell(self.w - indent, size * 0.48, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bullets(
        self,
        items: list[str],
        indent: float = 4,
        size: float = 8.5,
        rgb: tuple[int, int, int] = INK,
    ) -> None:
        for it in items:
            self.text(f"- {it}", size=size, indent=indent, rgb=rgb)

    def record_id(self, value: Any) -> None:
        """The record id, whole: in Courier (one width for every character), wrapped by :func:`id_lines`."""
        p = self.pdf
        p.set_font("Helvetica", "B", 8.5)
        p.set_text_color(*MUTED)
        p.cell(38, 5, "Patient / record")
        p.set_text_color(*INK)
        if not isinstance(value, str) or value == "":
            p.set_font("Helvetica", "I", 8.5)
            p.cell(self.w - 38, 5, "no id recorded" if value is None else "empty id", new_x=XPos.LMARGIN)
            p.ln(5)
            return
        p.set_font("Courier", "", 8.5)
        for line in id_lines(value):
            p.set_x(p.l_margin + 38)
            p.cell(self.w - 38, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, items: list[tuple[str, str]]) -> None:
        p = self.pdf
        col = self.w / 2
        for i, (k, v) in enumerate(items):
            if i % 2 == 0:
                y = p.get_y()
                p.set_x(p.l_margin)
            else:
                p.set_xy(p.l_margin + col, y)
            p.set_font("Helvetica", "B", 8.5)
            p.set_text_color(*MUTED)
            p.cell(38, 5, latin1(k))
            p.set_font("Helvetica", "", 8.5)
            p.set_text_color(*INK)
            p.cell(col - 40, 5, latin1(v)[:60])
            if i % 2 == 1 or i == len(items) - 1:
                p.ln(5)


def _timeline(w: Writer, lines: list[dict[str, Any]], as_of: Any) -> None:
    p = w.pdf
    if not lines:
        w.text("No systemic treatment recorded.", rgb=MUTED)
        return
    tl = build_timeline(lines, as_of)
    scale = w.w / tl.width
    if p.get_y() + len(tl.bars) * 11 + 8 > p.h - 20:
        p.add_page()
    top = p.get_y()
    for i, bar in enumerate(tl.bars):
        y = top + i * 11
        p.set_font("Helvetica", "B", 7.5)
        p.set_text_color(*INK)
        p.set_xy(p.l_margin, y)
        p.cell(w.w, 3.6, latin1(bar.heading))
        p.set_font("Helvetica", "", 7)
        p.set_text_color(*MUTED)
        p.set_xy(p.l_margin, y + 3.4)
        p.cell(w.w, 3.2, latin1(bar.detail))
        p.set_fill_color(*KIND_RGB.get(bar.kind, KIND_RGB["other"]))
        bx = p.l_margin + bar.x * scale
        p.rect(bx, y + 6.8, max(bar.w * scale, 0.8), 2.6, style="F")
        for m in bar.markers:
            mx = p.l_margin + m.x * scale
            p.set_fill_color(180, 35, 24)
            p.polygon([(mx, y + 6.2), (mx - 1.3, y + 10.2), (mx + 1.3, y + 10.2)], style="F")
    p.set_y(top + len(tl.bars) * 11 + 1)
    p.set_font("Helvetica", "", 7)
    p.set_text_color(*MUTED)
    axis = (
        f"Axis {tl.start} to {tl.end}; red triangles mark progression." if tl.start else "Dates not recorded."
    )
    p.cell(w.w, 4, latin1(axis), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def cite(src: Any) -> str:
    """A source as the PDF cites it: document | page | table | section | footnote (those it names)."""
    if not isinstance(src, dict):
        return ""
    where = [src.get("document"), src.get("page"), src.get("table"), src.get("section")]
    if src.get("footnote"):
        where.append(f"footnote {src['footnote']}")
    return " | ".join(str(x) for x in where if x)


def _setting_reasons(w: Writer, ev: dict[str, Any]) -> None:
    """Each reason of the setting, with where it comes from (an output stored before reasons carried their
    sources: the reasons alone)."""
    for r in setting_reasons(ev):
        w.text(f"- {r.text}", size=8.5, indent=4)
        if r.source:
            pages = f" | {NOT_IN_SOURCE_WORDS}" if r.not_in_source else ""
            w.text("Source: " + cite(r.source) + pages, size=7.5, indent=8, rgb=MUTED)


def _option(w: Writer, o: dict[str, Any]) -> None:
    p = w.pdf
    if p.get_y() > p.h - 45:
        p.add_page()
    status = str(o.get("status"))
    p.ln(1.2)
    p.set_font("Helvetica", "B", 10)
    p.set_text_color(*INK)
    head = f"{o.get('label') or o.get('regimen')}  |  category {o.get('category')}"
    if o.get("intent"):
        head += f"  |  {o['intent']}"
    if o.get("group"):  # the guideline's heading over the entry (e.g. neoadjuvant chemotherapy, case by case)
        head += f"  |  {o['group']}"
    p.multi_cell(w.w - 38, 5.2, latin1(head), new_x=XPos.RIGHT, new_y=YPos.TOP)
    p.set_font("Helvetica", "B", 9)
    p.set_text_color(*STATUS_RGB.get(status, MUTED))
    p.cell(
        38,
        5.2,
        latin1(STATUS_WORDS.get(status, status).upper()),
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    w.bullets([str(r) for r in o.get("reasons") or []])
    for lead, fields in (
        ("Not assessed", o.get("missing") or []),
        (f"Category {CATEGORY_UNSETTLED}", o.get("category_missing") or []),
    ):
        if fields:
            w.text(
                f"{lead}: " + ", ".join(field_label(m) for m in dict.fromkeys(fields)),
                size=8.5,
                indent=4,
                rgb=STATUS_RGB["needs_data"],
            )
    for f in o.get("footnote_details") or []:
        txt = f.get("text") if f.get("available") else "footnote not in the source document"
        section = (f.get("source") or {}).get("section") if f.get("available") else None
        w.text(
            f"({f.get('letter')}) {txt}" + (f" ({section})" if section else ""), size=8, indent=4, rgb=MUTED
        )
    hist = o.get("history") or {}
    if hist.get("summary"):
        w.text("History: " + str(hist["summary"]), size=8.5, indent=4)
    for c in o.get("considerations") or []:
        w.text(f"{str(c.get('direction', '')).capitalize()}: {c.get('text')}", size=8.5, indent=4)
    dose = o.get("dose") or {}
    for d in dose.get("agents") or []:
        line = f"Dose ({value_label(d.get('agent'))}): {d.get('standard')}"
        if d.get("adjusted"):
            line += f"  ->  adjusted: {d['adjusted']}"
        w.text(line, size=8, indent=4, rgb=MUTED)
    # a rule's finding about this patient is printed even at info level (as the text report shows it)
    alerts = [
        s for s in o.get("safety") or [] if s.get("severity") != "info" or s.get("kind") in SHOWN_INFO_KINDS
    ]
    for s in alerts:
        w.text(
            f"{str(s.get('severity')).upper()} ({value_label(s.get('agent'))}): {s.get('finding')} "
            f"Action: {s.get('action')}",
            size=8.5,
            indent=4,
            rgb={"critical": (180, 35, 24), "warning": (154, 103, 0)}.get(str(s.get("severity")), MUTED),
        )
    info = [s for s in o.get("safety") or [] if s.get("severity") == "info"]
    if info:
        na = sorted({f for s in info if s.get("kind") == "not_assessed" for f in s.get("fields") or []})
        mon = sum(1 for s in info if s.get("kind") == "monitoring")
        extra = f"Safety: {mon} monitoring item(s)"
        if na:
            extra += "; not assessed for lack of: " + ", ".join(field_label(f) for f in na)
        w.text(extra, size=8, indent=4, rgb=MUTED)
    w.text("Source: " + cite(o.get("source")), size=7.5, indent=4, rgb=MUTED)


def summary_pdf(
    ev: dict[str, Any],
    patient: dict[str, Any],
    lines: list[dict[str, Any]],
    stored: EvaluationSummary | None,
    today: date | None = None,
) -> bytes:
    g = ev.get("guideline") or {}
    w = Writer()
    p = w.pdf
    guideline = f"{g.get('title') or g.get('id')} V.{g.get('version')}"
    release = f" (knowledge release {g['release']})" if g.get("release") else ""
    p.footer_text = (
        f"netcds {ev.get('engine_version', __version__)} - {guideline}{release} - decision support only"
    )
    record_id = patient.get("id")
    p.set_title(f"Tumor-board summary {''.join(id_text(record_id))}" if record_id else "Tumor-board summary")
    p.set_creator("netcds")
    p.set_font("Helvetica", "B", 17)
    p.set_text_color(*INK)
    p.cell(w.w, 9, "Tumor-board summary", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    w.text(
        "Decision support: the options the encoded guideline lists for the recorded facts. Not a "
        "treatment order.",
        size=8.5,
        rgb=MUTED,
    )
    when = (
        f"stored evaluation {stored.evaluation_id[:8]} of {stored.created_at.date().isoformat()}"
        if stored
        else f"evaluated on request, {(today or datetime.now(UTC).date()).isoformat()}"
    )
    p.ln(1)
    w.record_id(record_id)
    w.pairs(
        [
            ("Guideline", f"{g.get('id')} {g.get('version')} ({g.get('version_date') or 'date n/a'})"),
            ("Evaluation", when),
            ("Knowledge release", str(g.get("release") or "n/a")),
            ("Knowledge digest", str(g.get("digest") or "n/a")),
        ]
    )
    w.heading("Patient")
    w.pairs(patient_summary(patient))
    setting = ev.get("setting") or {}
    w.heading("Setting")
    title = setting.get("title") or "No guideline table applies"
    if setting.get("row"):
        title += f" - {setting['row']}"
    w.text(title, size=9.5, style="B")
    _setting_reasons(w, ev)
    w.heading("Lines of therapy")
    _timeline(w, lines, patient.get("as_of"))
    plan = ev.get("ssa_plan") or {}
    w.heading("SSA plan: " + SSA_ACTION_WORDS.get(str(plan.get("action")), str(plan.get("action"))))
    w.bullets([str(r) for r in plan.get("reasons") or []])
    if plan.get("source"):
        w.text("Source: " + cite(plan["source"]), size=8, indent=4, rgb=MUTED)
    tiers: dict[str, list[dict[str, Any]]] = {}
    for o in ev.get("options") or []:
        tiers.setdefault(str(o.get("tier")), []).append(o)
    w.heading("Options (grouped by tier as the guideline lists them; not a ranking)")
    for tier, opts in tiers.items():
        w.text(TIER_LABELS.get(tier, tier), size=10.5, style="B", rgb=(30, 58, 138))
        for o in opts:
            _option(w, o)
        p.ln(1)
    possible = ev.get("possible_settings") or []
    if not tiers and not possible:
        w.text("No options: no table of the guideline applies to the recorded facts.", rgb=MUTED)
    for ps in possible:  # a setting the record leaves open: what it lists, none eligible until confirmed
        w.text(
            f"If the setting is: {ps.get('title')} - {ps.get('row')}", size=10, style="B", rgb=(146, 64, 14)
        )
        decided = ", ".join(field_label(str(m)) for m in ps.get("missing") or [])
        w.text(f"Not confirmed: {decided} decides whether it applies.", size=8.5, rgb=MUTED)
        w.bullets(
            [
                f"{o.get('label')}: {STATUS_WORDS.get(str(o.get('status')), str(o.get('status')))}"
                f" (category {o.get('category')})"
                for o in ps.get("options") or []
            ]
        )
    needs = list(ev.get("needs_data") or [])
    w.heading("Data that would change this")
    w.bullets(
        [f"{field_label(n)} ({n})" for n in needs] or ["Nothing: every fact the options read is recorded."]
    )
    notes = ev.get("notes") or []
    if notes:
        w.heading("General notes")
        w.bullets([str(n.get("text")) for n in notes])
    w.heading("Sequencing and disclaimer")
    w.text(str(ev.get("sequencing_statement") or ""), size=8.5)
    p.ln(1)
    w.text(str(ev.get("disclaimer") or ""), size=8.5, style="B")
    return bytes(p.output())


def _safe_name(text: Any) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text or "evaluation")).strip("-")[:60]
    return s or "evaluation"


def response(body: bytes, patient_id: Any) -> Response:
    name = f"tumor-board-{_safe_name(patient_id)}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
