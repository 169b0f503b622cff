"""A rule's info-level finding about this patient is shown in the default text report and in the PDF
(session 42): before, the text report hid every info item but the unscreened ones (even with --verbose,
which showed only the not-assessed ones), so a clinician reading it never saw that cabozantinib is
labelled for previously treated disease when the record holds no prior systemic therapy."""

from __future__ import annotations

import re
from io import BytesIO

from pypdf import PdfReader
from rich.console import Console

from netcds.report import render
from netcds.web.pdf import summary_pdf
from tests.conftest import pancreas, run

NAIVE = pancreas(treatments=[])
INDICATION = "both US indications of cabozantinib (pNET, epNET) are for previously treated disease"


def _text(verbose: bool = False) -> str:
    console = Console(record=True, width=400, color_system=None)
    for part in render(run(NAIVE), verbose=verbose):
        console.print(part)
    return re.sub(r"\s+", " ", console.export_text())


def _item(item_id: str) -> str:
    ev = run(NAIVE)
    found = [s for o in ev.options for s in o.safety if s.id == item_id]
    assert found and found[0].severity == "info" and found[0].kind == "warning"  # the premise
    return found[0].finding


def test_the_default_text_report_shows_an_info_finding_about_the_patient() -> None:
    assert INDICATION in _item("indication_previously_treated")
    assert INDICATION in _text()


def test_monitoring_items_wait_for_verbose() -> None:
    ev = run(NAIVE)
    monitoring = {s.finding for o in ev.options for s in o.safety if s.kind == "monitoring"}
    assert monitoring
    default, verbose = _text(), _text(verbose=True)
    shown = {f for f in monitoring if re.sub(r"\s+", " ", f) in default}
    assert not shown
    assert all(re.sub(r"\s+", " ", f) in verbose for f in monitoring)
    assert "monitoring, not-assessed and screened info items shown with --verbose" in default


def test_the_pdf_prints_the_info_finding() -> None:
    ev = run(NAIVE)
    pdf = summary_pdf(ev.model_dump(mode="json"), NAIVE, [], None)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages).split())
    assert INDICATION in text


def test_the_text_report_and_the_pdf_name_the_knowledge_release() -> None:
    """A printed summary is traced to the knowledge release (and digest) that produced it."""
    ev = run(NAIVE)
    g = ev.guideline
    assert g.release and g.digest
    assert f"knowledge release {g.release}, digest {g.digest}" in _text()
    pdf = summary_pdf(ev.model_dump(mode="json"), NAIVE, [], None)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages).split())
    assert f"Knowledge release {g.release}" in text and f"knowledge release {g.release})" in text


def test_the_verbose_report_does_not_point_to_verbose() -> None:
    assert "shown with --verbose" not in _text(verbose=True)
