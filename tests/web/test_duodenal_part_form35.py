"""The patient form offers the duodenal part in words, and what it decides reaches the evaluation page:
the third part is midgut, so a progressive SSTR-positive duodenal NET after an SSA gets Lu-177 category 1;
with no part entered the category stays open and the page names the field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import gi
from tests.web.conftest import field_block, form_fields


def _lu177(html: str) -> str:
    start = html.find('data-regimen="lu177_dotatate"')
    assert start >= 0, "no Lu-177 option card"
    return html[start : html.find("</article>", start)]


def test_the_form_offers_each_part_in_words(client: TestClient) -> None:
    block = field_block(client.get("/ui/patient").text, "tumor.duodenal_part")
    for words in ("first part (bulb)", "second part, below the major papilla", "ampulla (major papilla)"):
        assert words in block


def test_the_part_decides_the_category_on_the_page(client: TestClient) -> None:
    duodenal = gi(tumor={"primary_site": "duodenum"})
    third = client.post(
        "/ui/patient",
        data={**form_fields(duodenal), "tumor.duodenal_part": "third", "action": "evaluate"},
    )
    unknown = client.post("/ui/patient", data={**form_fields(duodenal), "action": "evaluate"})
    assert third.status_code == unknown.status_code == 200
    assert 'data-category="1"' in _lu177(third.text)
    assert 'data-category="2A"' in _lu177(unknown.text)
    assert "Duodenal part" in _lu177(unknown.text)
