"""``setting.reason_sources`` shown to people: on the evaluation page each reason of the setting carries its
citation (document, page, table, section, in the page's source style) and, for a reason that says the
guideline handles the situation on pages not in the source, says so; the PDF prints the same under each
reason. An output stored before reasons carried sources shows the reasons alone."""

from __future__ import annotations

import html as h
import json
import re
from io import BytesIO
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from netcds import Patient, evaluate, load_knowledge
from netcds.web.evaluation_view import setting_reasons
from netcds.web.pdf import cite, latin1, summary_pdf
from netcds.web.templating import CSP
from tests.web.conftest import example

BASE: dict[str, Any] = {"age_years": 60, "sex": "male", "weight_kg": 75, "as_of": "2025-06-16"}
PROGRESSIVE = {"extent": "distant_metastatic", "resectable": False, "status": "progressive"}
# no table applies: a poorly differentiated carcinoma (its pages are not in the source)
NEC = {**BASE, "id": "nec-35", "treatments": [], "disease": PROGRESSIVE,
       "tumor": {"primary_site": "colon", "differentiation": "poor", "grade": "G3", "ki67_percent": 80}}  # fmt: skip
# no table applies: resected, no evidence of disease (a principle on NE-H, not a page outside the source)
NED = {**BASE, "id": "ned-35", "treatments": [],
       "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2"},
       "disease": {"extent": "distant_metastatic", "resectable": True, "status": "no_evidence_of_disease"}}  # fmt: skip
# no table applies, with netcds's own "check the record" remark (sourced to its derived facts)
CHECK = {**BASE, "id": "check-35", "disease": PROGRESSIVE,
         "tumor": {"primary_site": "ileum", "differentiation": "poor", "ki67_percent": 2}}  # fmt: skip
NOT_IN_SOURCE = "handled on guideline pages not in the source (not encoded)"


def records() -> dict[str, dict[str, Any]]:
    return {"nec": NEC, "ned": NED, "check": CHECK, "table": example("small_bowel_after_ssa")}


def expected(record: dict[str, Any]) -> dict[str, Any]:
    ev = evaluate(Patient.model_validate(record), load_knowledge())
    data: dict[str, Any] = json.loads(ev.model_dump_json())
    s = data["setting"]
    assert s["reasons"] and len(s["reason_sources"]) == len(s["reasons"])
    return data


def page_items(html: str) -> list[str]:
    """The text of each reason of the page's setting (its ``<li>``, tags dropped, entities read)."""
    section = html.split('<section id="setting"', 1)[1].split("</section>", 1)[0]
    ul = re.search(r'<ul class="reasons setting-reasons">(.*?)</ul>', section, re.S)
    assert ul, "no reasons list in the setting"
    return [
        " ".join(h.unescape(re.sub(r"<[^>]+>", " ", li)).split())
        for li in re.findall(r"<li>(.*?)</li>", ul[1], re.S)
    ]


def pdf_setting(body: bytes) -> str:
    """The PDF's setting section as text (whitespace collapsed), as the other web tests read a PDF."""
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(body)).pages).split())
    return text.split(" Setting ", 1)[1].split(" Lines of therapy ", 1)[0]


def web_cite(src: dict[str, Any]) -> list[str]:
    """What a clinician must see of a source, in order: document, page, table and section."""
    return [str(src[k]) for k in ("document", "page", "table", "section") if src.get(k)]


# ---------------------------------------------------------------- the evaluation page


@pytest.mark.parametrize("name", ["nec", "ned", "check", "table"])
def test_each_setting_reason_on_the_page_carries_its_source(client: TestClient, name: str) -> None:
    record = records()[name]
    data = expected(record)
    r = client.post("/ui/evaluate", data={"patient_json": json.dumps(record)})
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP and not re.search(r"\sstyle\s*=", r.text, re.I)
    items = page_items(r.text)
    s = data["setting"]
    assert len(items) == len(s["reasons"])
    for item, reason, src in zip(items, s["reasons"], s["reason_sources"], strict=True):
        head, _, cited = item.partition(" Source: ")
        assert head == " ".join(reason.split())
        assert cited.startswith(" · ".join(web_cite(src))), (cited, src)


def test_the_page_cites_the_no_table_reasons_page_and_section(client: TestClient) -> None:
    nec = page_items(client.post("/ui/evaluate", data={"patient_json": json.dumps(NEC)}).text)
    src = expected(NEC)["setting"]["reason_sources"][0]
    assert (src["page"], src["section"]) == ("NE-H", "scope of the tables")
    assert nec[0].endswith(f"Source: NCCN NET V.5.2024 · NE-H · scope of the tables · {NOT_IN_SOURCE}")
    ned = page_items(client.post("/ui/evaluate", data={"patient_json": json.dumps(NED)}).text)
    src = expected(NED)["setting"]["reason_sources"][0]
    assert (src["page"], src["section"]) == ("NE-H", "general principles (adjuvant)")
    # restating NE-H's own principle: its pages are in the source, so the page does not say otherwise
    assert ned[0].endswith("Source: NCCN NET V.5.2024 · NE-H · general principles (adjuvant)")
    check = page_items(client.post("/ui/evaluate", data={"patient_json": json.dumps(CHECK)}).text)
    assert check[1].endswith(
        "Source: netcds derived facts (docs/contract.md, Derived facts), not a guideline statement · "
        "derived.differentiation"
    )


def test_the_page_cites_each_reason_of_an_applicable_table(client: TestClient) -> None:
    record = example("small_bowel_after_ssa")
    src = expected(record)["setting"]["reason_sources"][0]
    assert (src["page"], src["table"]) == ("NE-H", "NETs of the GI tract (WD G1/2)")
    items = page_items(client.post("/ui/evaluate", data={"patient_json": json.dumps(record)}).text)
    cited = "Source: NCCN NET V.5.2024 · NE-H · NETs of the GI tract (WD G1/2) · Principles of systemic anti-tumor therapy"
    assert len(items) == 3 and all(i.endswith(cited) for i in items)
    assert not any(NOT_IN_SOURCE in i for i in items)


# ---------------------------------------------------------------- the PDF


@pytest.mark.parametrize("name", ["nec", "ned", "check", "table"])
def test_each_setting_reason_in_the_pdf_carries_its_source(client: TestClient, name: str) -> None:
    record = records()[name]
    data = expected(record)
    r = client.post("/ui/pdf", data={"patient_json": json.dumps(record)})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_setting(r.content)
    s = data["setting"]
    at = 0
    for reason, src in zip(s["reasons"], s["reason_sources"], strict=True):
        line = " ".join(latin1(f"- {reason} Source: {' | '.join(web_cite(src))}").split())
        found = text.find(line, at)
        assert found >= 0, (line, text)
        at = found + len(line)


def test_the_pdf_cites_the_page_and_section_and_pages_not_in_the_source(client: TestClient) -> None:
    nec = pdf_setting(client.post("/ui/pdf", data={"patient_json": json.dumps(NEC)}).content)
    assert f"Source: NCCN NET V.5.2024 | NE-H | scope of the tables | {NOT_IN_SOURCE}" in nec
    ned = pdf_setting(client.post("/ui/pdf", data={"patient_json": json.dumps(NED)}).content)
    assert (
        "Source: NCCN NET V.5.2024 | NE-H | general principles (adjuvant)" in ned and NOT_IN_SOURCE not in ned
    )
    table = pdf_setting(
        client.post("/ui/pdf", data={"patient_json": json.dumps(example("small_bowel_after_ssa"))}).content
    )
    cited = "Source: NCCN NET V.5.2024 | NE-H | NETs of the GI tract (WD G1/2) | Principles of systemic anti-tumor therapy"
    assert table.count(cited) == 3


def test_option_sources_in_the_pdf_use_the_same_citation() -> None:
    data = expected(example("small_bowel_after_ssa"))
    o = data["options"][0]["source"]
    assert cite(o) == " | ".join(web_cite(o))


# ---------------------------------------------------------------- outputs stored before reason_sources


def test_an_output_stored_without_reason_sources_shows_the_reasons_alone() -> None:
    data = expected(NEC)
    data["setting"].pop("reason_sources")
    reasons = setting_reasons(data)
    assert [r.text for r in reasons] == data["setting"]["reasons"]
    assert all(r.source is None and not r.not_in_source for r in reasons)
    text = pdf_setting(summary_pdf(data, NEC, [], None))
    assert latin1(data["setting"]["reasons"][0]).split()[0] in text and "Source:" not in text
