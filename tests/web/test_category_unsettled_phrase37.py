"""Every output says an unsettled category with one phrase (``field_labels.CATEGORY_UNSETTLED``).

A duodenal NET without its part recorded: Lu-177 shows the GI table's category 2A, and a rule would make it
category 1 for a midgut (beyond the papilla) tumor. Before session 37 the CLI said "Category depends on",
the web page "Category not settled", the options card "unsettled until recorded", the order-select/sign
guideline card "category could change once recorded" in its detail and a bare "category 2A" in its
summary, and the PDF merged the field into "Not assessed". Now all say "unsettled until recorded" and
name the field, and a settled category says nothing of the kind.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.cli import app
from netcds.fhir.guideline_cards import GuidelineFacts, guideline_order_card, tables_listing
from netcds.fhir.option_cards import options_card
from netcds.field_labels import CATEGORY_UNSETTLED, field_label
from tests.conftest import gi

BASE = "http://cds.example.test"
LABEL = field_label("tumor.duodenal_part")


def _record(**tumor: Any) -> dict[str, Any]:
    return gi(tumor={"primary_site": "duodenum", **tumor})


def _ev(**tumor: Any) -> Any:
    ev = evaluate(Patient.model_validate(_record(**tumor)), load_knowledge())
    [lu] = [o for o in ev.options if o.regimen == "lu177_dotatate"]
    assert lu.category_missing == ([] if tumor else ["tumor.duodenal_part"])
    return ev


def test_cli_names_the_field_with_the_phrase() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["evaluate", "-"], input=json.dumps(_record()), env={"COLUMNS": "220"}).stdout
    assert f"Category {CATEGORY_UNSETTLED}: tumor.duodenal_part" in out
    assert "Category rule waiting: would be category 1" in out
    settled = runner.invoke(
        app, ["evaluate", "-"], input=json.dumps(_record(duodenal_part="third")), env={"COLUMNS": "220"}
    ).stdout
    assert CATEGORY_UNSETTLED not in settled


def test_options_card_uses_the_phrase() -> None:
    assert f"category 2A, {CATEGORY_UNSETTLED}: {LABEL}" in options_card(_ev(), BASE, None)["detail"]
    assert CATEGORY_UNSETTLED not in options_card(_ev(duodenal_part="fourth"), BASE, None)["detail"]


def _guideline_card(ev: Any) -> dict[str, Any]:
    kb = load_knowledge()
    listing = tables_listing(kb, "lu177_dotatate")
    return guideline_order_card(
        GuidelineFacts.of(ev, b""), "lu177_dotatate", listing, base_url=BASE, seed="s"
    )


def test_guideline_card_summary_and_detail_say_it() -> None:
    card = _guideline_card(_ev())
    assert "category 2A (unsettled)" in card["summary"] or "cat 2A (unsettled)" in card["summary"]
    assert f"category {CATEGORY_UNSETTLED}: {LABEL}" in card["detail"]
    settled = _guideline_card(_ev(duodenal_part="third"))
    assert "unsettled" not in settled["summary"] + settled["detail"]
    assert "category 1" in settled["summary"] or "cat 1" in settled["summary"]


def test_web_page_and_pdf_use_the_phrase(client: TestClient) -> None:
    page = client.post("/ui/evaluate", data={"patient_json": json.dumps(_record())})
    assert page.status_code == 200
    start = page.text.find('data-regimen="lu177_dotatate"')
    lu = page.text[start : page.text.find("</article>", start)]
    assert f"Category {CATEGORY_UNSETTLED}:</strong> {LABEL}" in lu
    pdf = client.post("/ui/pdf", data={"patient_json": json.dumps(_record())})
    assert pdf.status_code == 200
    text = " ".join("".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages).split())
    assert f"Category {CATEGORY_UNSETTLED}: {' '.join(LABEL.split())}" in text
    assert f"Not assessed: {LABEL}" not in text  # the category waits; the option itself is assessed
