"""Knowledge release 5.2024-r9: the no-adjuvant-role reason is for well-differentiated tumors only.

The source states that systemic therapy has no known adjuvant role on the well-differentiated G1/2 pages, for
NETs. Up to r8 the no_evidence_of_disease reason was also shown for a resected poorly differentiated carcinoma,
beside the reason saying NEC management is on pages the source does not contain: a claim about adjuvant
treatment of NEC that the source does not make. Tested against r8, so a later release that loses the fix, or an
edit of a released folder, fails here.
"""

from __future__ import annotations

import pytest

from netcds import load_knowledge
from tests.conftest import g3, gi, lung, pancreas, run

R8, R9 = load_knowledge("5.2024-r8"), load_knowledge("5.2024-r9")
NO_ADJUVANT = "No evidence of disease"
NEC = "Poorly differentiated neuroendocrine carcinoma"
RESECTED = {"extent": "locoregional", "resectable": True, "status": "no_evidence_of_disease"}


def nec(**disease: object) -> dict[str, object]:
    return gi(
        tumor={"differentiation": "poor", "grade": "G3", "ki67_percent": 70},
        disease={**RESECTED, **disease},
    )


def starts(reasons: list[str]) -> list[str]:
    return [r.split(":")[0] for r in reasons]


@pytest.mark.parametrize("extent", ["locoregional", "distant_metastatic"])
def test_a_resected_nec_gets_the_pages_not_in_source_reason_alone(extent: str) -> None:
    record = nec(extent=extent)
    ev = run(record, R9)
    assert (ev.setting.status, ev.options) == ("not_applicable", [])
    assert starts(ev.setting.reasons) == [NEC]
    assert starts(run(record, R8).setting.reasons) == [NEC, NO_ADJUVANT]  # r8 claimed no adjuvant role


@pytest.mark.parametrize(
    "record",
    [
        gi(disease=RESECTED),
        pancreas(disease=RESECTED),
        g3(disease={"resectable": True, "status": "no_evidence_of_disease"}),
        lung(disease={"status": "no_evidence_of_disease"}),
    ],
    ids=["gi-g2", "pancreas-g12", "wd-g3", "lung"],
)
def test_well_differentiated_tumors_keep_the_reason_as_in_r8(record: dict[str, object]) -> None:
    now, before = run(record, R9), run(record, R8)
    assert now.setting.reasons == before.setting.reasons
    assert (now.setting.status, now.setting.missing) == (before.setting.status, before.setting.missing)
    assert NO_ADJUVANT in starts(now.setting.reasons)


def test_a_g3_record_of_unknown_differentiation_no_longer_claims_it() -> None:
    """A G3 tumor whose differentiation is not recorded may be a carcinoma: the reason, true only for a
    well-differentiated tumor, is not shown; the tables' own reasons are."""
    record = gi(tumor={"differentiation": ..., "grade": ..., "ki67_percent": 70}, disease=RESECTED)
    assert starts(run(record, R8).setting.reasons) == [NO_ADJUVANT]
    reasons = run(record, R9).setting.reasons
    assert NO_ADJUVANT not in starts(reasons) and all("does not apply" in r for r in reasons)


def test_r9_changes_only_the_no_evidence_of_disease_condition() -> None:
    assert R9.tables == R8.tables and R9.footnotes == R8.footnotes and R9.principles == R8.principles
    assert R9.manifest.references == R8.manifest.references
    assert [e.id for e in R9.exclusions] == [e.id for e in R8.exclusions]
    changed = [(e9, e8) for e9, e8 in zip(R9.exclusions, R8.exclusions, strict=True) if e9 != e8]
    assert [e9.id for e9, _ in changed] == ["no_evidence_of_disease"]
    ((e9, e8),) = changed
    assert (e9.text, e9.source, e9.scope) == (e8.text, e8.source, e8.scope)  # the words and the citation kept
