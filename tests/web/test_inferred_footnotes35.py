"""Knowledge release 5.2024-r10 cites the pancreatic table's footnotes a and e-h as inferred (their page is not
in the source). Every place a person reads those footnotes says so: the evaluation page, the PDF, the text
report's SSA plan, the guideline page and the SSA plan line of a CDS card; the GI table's footnotes do not."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader

from netcds.fhir.option_cards import ssa_plan_lines
from tests.conftest import gi, pancreas, run
from tests.web.conftest import form_fields

INFERRED = "text inferred"


def _evaluate(client: TestClient, record: dict[str, Any]) -> str:
    r = client.post("/ui/patient", data={**form_fields(record), "action": "evaluate"})
    assert r.status_code == 200
    return r.text


def test_the_evaluation_page_says_the_pancreatic_footnotes_are_inferred(client: TestClient) -> None:
    assert INFERRED in _evaluate(client, pancreas())
    assert INFERRED not in _evaluate(client, gi())


def test_the_guideline_page_marks_the_inferred_letters(client: TestClient) -> None:
    assert INFERRED in client.get("/ui/guideline/pancreas_wd_g12").text
    assert INFERRED not in client.get("/ui/guideline/gi_wd_g12").text


def test_the_pdf_says_so(client: TestClient) -> None:
    from netcds.web.pdf import summary_pdf

    ev = run(pancreas())
    pdf = summary_pdf(ev.model_dump(mode="json"), pancreas(), [], None)
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
    assert INFERRED in " ".join(text.split())


def test_the_card_and_the_report_cite_the_ssa_plan_as_inferred() -> None:
    from rich.console import Console

    from netcds.report import render

    progressing = pancreas(
        treatments=[{"agent": "octreotide_lar", "start": "2023-01-01", "progressed": True}]
    )
    ev = run(progressing)
    assert ev.ssa_plan.source is not None and INFERRED in (ev.ssa_plan.source.section or "")
    lines = ssa_plan_lines(ev.ssa_plan)
    assert lines and INFERRED in lines[0]
    console = Console(record=True, width=200)
    for part in render(ev):
        console.print(part)
    assert INFERRED in console.export_text()
