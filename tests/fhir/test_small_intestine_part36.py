"""A primary coded as the small intestine without its part (session 36, L2 of the session-35 review).

netcds reads the contract's ``small_bowel`` as jejunum or ileum (midgut): "small-bowel NET" means a
jejunoileal tumor in common use, and the duodenum has its own site and codes. A code that names the small
intestine without excluding the duodenum (ICD-10-CM C7A.019, C17.9, SNOMED CT 30315005) is mapped so, and
the mapping report says how it was read; SNOMED CT 90228003 (jejunum and ileum) needs no such word.
"""

from __future__ import annotations

import pytest

from tests.fhir.test_review_conditions import ICD, SCT, coded, mapped, net

NOTE = "the code names the small intestine without its part"


def _site_note(report: object) -> str:
    items = [m for m in report.mapped if m.field == "tumor.primary_site"]  # type: ignore[attr-defined]
    assert len(items) == 1
    return items[0].note or ""


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (coded(ICD, "C7A.019"), None),
        (coded(ICD, "C17.9"), None),
        (coded(ICD, "C17.8"), None),
        (coded(ICD, "C7A.019"), coded(SCT, "30315005")),
    ],
)
def test_small_intestine_without_its_part_is_read_as_jejunoileal_and_said(
    code: dict, body: dict | None
) -> None:
    p, report = mapped(net(code=code, bodySite=[body] if body else []))
    assert p.tumor.primary_site == "small_bowel"
    note = _site_note(report)
    assert NOTE in note and "midgut" in note and "duodenum" in note


@pytest.mark.parametrize(
    ("code", "body", "site"),
    [
        (coded(ICD, "C7A.019"), coded(SCT, "90228003"), "small_bowel"),  # jejunum and ileum: no word needed
        (coded(ICD, "C7A.012"), None, "ileum"),
        (coded(ICD, "C7A.010"), None, "duodenum"),
    ],
)
def test_a_code_that_gives_the_part_adds_no_word(code: dict, body: dict | None, site: str) -> None:
    p, report = mapped(net(code=code, bodySite=[body] if body else []))
    assert p.tumor.primary_site == site
    assert NOTE not in _site_note(report)
