"""The text report (the CLI's) cites under each reason of the setting where it comes from
(``setting.reason_sources``), as it cites an option's source, and says where a reason's situation is
handled on guideline pages not in the source."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.panel import Panel

from netcds import Patient, evaluate, load_knowledge
from netcds.evaluation import Evaluation
from netcds.report import cite, render
from tests.web.test_reason_sources35 import CHECK, NEC, NED, NOT_IN_SOURCE  # the same patients as the pages

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "patients"


def small_bowel() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "small_bowel_after_ssa.json").read_text())
    return data


def run(record: dict[str, Any]) -> Evaluation:
    return evaluate(Patient.model_validate(record), load_knowledge())


def text_of(*blocks: Any) -> str:
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    for b in blocks:
        console.print(b)
    return re.sub(r"\s+", " ", console.export_text().replace("│", " "))


def setting_panel(ev: Evaluation) -> str:
    panels = [b for b in render(ev) if isinstance(b, Panel) and b.title == "Setting"]
    assert len(panels) == 1
    return text_of(panels[0])


@pytest.mark.parametrize("record", [NEC, NED, CHECK, small_bowel()], ids=["nec", "ned", "check", "table"])
def test_each_setting_reason_is_followed_by_its_source(record: dict[str, Any]) -> None:
    ev = run(record)
    s = ev.setting
    assert s.reasons and len(s.reason_sources) == len(s.reasons)
    text = setting_panel(ev)
    at = 0
    for reason, src in zip(s.reasons, s.reason_sources, strict=True):
        for want in ("document", "page", "table", "section"):
            value = getattr(src, want)
            assert value is None or value in cite(src), (want, value)
        line = " ".join(f"• {reason} Source: {cite(src)}".split())
        found = text.find(line, at)
        assert found >= 0, (line, text)
        at = found + len(line)


def test_no_table_reasons_name_page_section_and_pages_not_in_the_source() -> None:
    nec = run(NEC)
    assert (nec.setting.reason_sources[0].page, nec.setting.reason_sources[0].section) == (
        "NE-H",
        "scope of the tables",
    )
    assert f"Source: NCCN NET V.5.2024 NE-H, scope of the tables; {NOT_IN_SOURCE}" in setting_panel(nec)
    ned = setting_panel(run(NED))
    assert "Source: NCCN NET V.5.2024 NE-H, general principles (adjuvant)" in ned and NOT_IN_SOURCE not in ned
    check = setting_panel(run(CHECK))
    assert (
        "Source: netcds derived facts (docs/contract.md, Derived facts), not a guideline statement, "
        "derived.differentiation" in check
    )


def test_an_applicable_tables_reasons_cite_its_page_table_and_section() -> None:
    ev = run(small_bowel())
    assert ev.setting.status == "applies" and len(ev.setting.reasons) == 3
    text = setting_panel(ev)
    cited = "Source: NCCN NET V.5.2024 NE-H, NETs of the GI tract (WD G1/2), Principles of systemic anti-tumor therapy"
    assert text.count(cited) == 3 and NOT_IN_SOURCE not in text


def test_option_sources_keep_their_citation_with_footnotes() -> None:
    ev = run(small_bowel())
    o = next(o for o in ev.options if o.footnotes)
    assert cite(o.source).startswith("NCCN NET V.5.2024 NE-H, NETs of the GI tract (WD G1/2)")
    assert cite(o.source).endswith("; footnotes " + ", ".join(o.footnotes))
    assert " ".join(f"Source: {cite(o.source)}".split()) in text_of(*render(ev))


def test_an_output_stored_without_reason_sources_shows_the_reasons_alone() -> None:
    ev = run(NEC)
    old = ev.model_copy(update={"setting": ev.setting.model_copy(update={"reason_sources": []})})
    text = setting_panel(old)
    assert " ".join(ev.setting.reasons[0].split()) in text and "Source:" not in text
