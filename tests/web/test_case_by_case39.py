"""The guideline's heading over an entry (``group``, e.g. WD G3 neoadjuvant chemotherapy "case by case") is shown
wherever a person reads the options: the CLI text report and the PDF printed only the intent, so a neoadjuvant
regimen read as plainly eligible without the "case by case" the source puts over it (QA, session 39). The web
page already showed it."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader
from rich.console import Console

from netcds.report import render
from netcds.web.pdf import summary_pdf
from tests.conftest import g3, run

RESECTABLE = g3(
    disease={"biology": "unfavorable", "extent": "locoregional", "resectable": True, "status": "stable"},
    tumor={"ki67_percent": 30},
)
CASE_BY_CASE = "Neoadjuvant chemotherapy, case by case"


def _neoadjuvant() -> list[str]:
    ev = run(RESECTABLE)
    ids = [o.entry_id for o in ev.options if o.intent == "neoadjuvant"]
    assert ids and all(o.group == CASE_BY_CASE for o in ev.options if o.intent == "neoadjuvant")
    return ids


def test_the_text_report_says_case_by_case() -> None:
    n = len(_neoadjuvant())
    console = Console(record=True, width=240)
    for part in render(run(RESECTABLE)):
        console.print(part)
    assert console.export_text().count(CASE_BY_CASE) == n


def test_the_pdf_says_case_by_case() -> None:
    n = len(_neoadjuvant())
    ev = run(RESECTABLE)
    pdf = summary_pdf(ev.model_dump(mode="json"), RESECTABLE, [], None)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages).split())
    assert text.count(CASE_BY_CASE) == n
