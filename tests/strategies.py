"""Hypothesis strategies for valid contract patients, with many unknowns (None) on purpose."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, get_args

from hypothesis import strategies as st

from netcds.patient import AGENT_IDS, ColonSegment, DuodenalPart

SITES = ["stomach", "duodenum", "jejunum", "ileum", "small_bowel", "appendix", "cecum", "colon", "rectum",
         "pancreas", "lung", "thymus", "unknown_primary"]  # fmt: skip


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


BOOL = maybe(st.booleans())


@st.composite
def treatments(draw: st.DrawFn) -> list[dict[str, Any]] | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    out = []
    day = date(2018, 1, 1)
    n = draw(st.integers(0, 4))
    for k in range(n):
        agent = draw(
            st.sampled_from(
                [
                    *AGENT_IDS,
                    "ssa",
                    "capecitabine_temozolomide",
                    "folfox",
                    "octreotide_lar",
                    "lanreotide",
                    "lanreotide",
                    "everolimus",
                    "lu177_dotatate",
                ]
            )
        )
        start = day + timedelta(days=draw(st.integers(0, 200)))
        length = draw(maybe(st.integers(10, 700))) if k == n - 1 else draw(st.integers(10, 700))
        end = start + timedelta(days=length) if length is not None else None
        progressed = draw(BOOL)
        t: dict[str, Any] = {
            "agent": agent,
            "start": start.isoformat(),
            "end": end.isoformat() if end else None,
            "progressed": progressed,
        }
        if agent in ("octreotide_lar", "lanreotide", "ssa"):
            t["dose_mg"] = draw(maybe(st.sampled_from([20.0, 30.0, 60.0, 90.0, 120.0])))
            t["interval_days"] = draw(maybe(st.sampled_from([14.0, 21.0, 28.0])))
        if progressed and end is not None and draw(st.booleans()):
            t["stop_reason"] = "progression"
            t["progression_date"] = end.isoformat()
        elif progressed is not True:
            t["stop_reason"] = draw(
                maybe(st.sampled_from(["toxicity", "completed", "patient_choice", "other"]))
            )
        out.append(t)
        day = (end or start) + timedelta(days=1)
    return out


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    site = draw(st.sampled_from(SITES))
    thoracic = site in ("lung", "thymus")
    differentiation = draw(maybe(st.sampled_from(["well", "poor"])))
    grade = draw(maybe(st.sampled_from(["G3"] if differentiation == "poor" else ["G1", "G2", "G3"])))
    syndromes = draw(
        maybe(
            st.lists(st.sampled_from(["carcinoid_syndrome", "insulinoma", "other"]), max_size=2, unique=True)
        )
    )
    functional = draw(BOOL)
    if (syndromes == [] and functional is True) or (syndromes and functional is False):
        functional = None
    hormonal_symptoms = draw(BOOL)
    if hormonal_symptoms is True and (functional is False or syndromes == []):  # rejected: left unknown
        hormonal_symptoms = None
    status = draw(maybe(st.sampled_from(["stable", "progressive", "no_evidence_of_disease"])))
    significant = draw(BOOL)
    if significant is True and status in ("stable", "no_evidence_of_disease"):  # rejected: left unknown
        significant = None
    tumor: dict[str, Any] = {
        "primary_site": site,
        "differentiation": differentiation,
        "grade": grade,
        "ki67_percent": draw(maybe(st.floats(0, 100, allow_nan=False))),
        "mitoses_per_2mm2": draw(maybe(st.floats(0, 60, allow_nan=False))),
        "necrosis": draw(BOOL),
        "functional": functional,
        "syndromes": syndromes,
        "hormonal_symptoms": hormonal_symptoms,
        "sstr_status": draw(maybe(st.sampled_from(["positive", "negative", "unknown"]))),
        "fdg_avid": draw(BOOL),
        "proliferation_high_end": draw(BOOL),
    }
    if thoracic and differentiation != "poor" and grade in (None, "G1", "G2"):
        allowed = {
            None: ["typical_carcinoid", "atypical_carcinoid"],
            "G1": ["typical_carcinoid"],
            "G2": ["atypical_carcinoid"],
        }[grade]
        tumor["lung_subtype"] = draw(maybe(st.sampled_from(allowed)))
    if site == "colon":
        tumor["colon_segment"] = draw(maybe(st.sampled_from(get_args(ColonSegment))))
    if site == "duodenum":
        tumor["duodenal_part"] = draw(maybe(st.sampled_from(get_args(DuodenalPart))))
    return {
        "id": draw(maybe(st.text(min_size=1, max_size=8))),
        "age_years": draw(maybe(st.floats(12, 95, allow_nan=False))),
        "tumor": tumor,
        "disease": {
            "extent": draw(maybe(st.sampled_from(["localized", "locoregional", "distant_metastatic"]))),
            "resectable": draw(BOOL),
            "small_bowel_mesenteric": draw(BOOL),
            "tumor_burden": draw(maybe(st.sampled_from(["mild", "clinically_significant", "bulky"]))),
            "tumor_symptoms": draw(BOOL),
            "status": status,
            "progression_clinically_significant": significant,
            "biology": draw(maybe(st.sampled_from(["favorable", "unfavorable"]))),
        },
        "biomarkers": {
            "msi": draw(maybe(st.sampled_from(["high", "stable"]))),
            "mmr": draw(maybe(st.sampled_from(["deficient", "proficient"]))),
            "tmb_mut_per_mb": draw(maybe(st.sampled_from([1.0, 9.9, 10.0, 25.0]))),
            "germline_vhl": draw(BOOL),
        },
        "treatments": draw(treatments()),
        "context": {"no_other_options_feasible": draw(BOOL), "no_satisfactory_alternative": draw(BOOL)},
        "preferences": {
            "priority": draw(
                maybe(st.sampled_from(["long_term_control", "response", "fewest_visits", "lowest_toxicity"]))
            )
        },
    }


# raw fields that refine monotonically (no derived override), with their possible values; fill_values
# leaves out a value that would contradict the record (a contradiction is rejected, not a refinement)
FILLABLE: dict[str, list[Any]] = {
    "tumor.sstr_status": ["positive", "negative"],
    "tumor.hormonal_symptoms": [True, False],
    "tumor.fdg_avid": [True, False],
    "tumor.proliferation_high_end": [True, False],
    "disease.extent": ["localized", "locoregional", "distant_metastatic"],
    "disease.resectable": [True, False],
    "disease.small_bowel_mesenteric": [True, False],
    "disease.tumor_burden": ["mild", "clinically_significant", "bulky"],
    "disease.tumor_symptoms": [True, False],
    "disease.status": ["stable", "progressive", "no_evidence_of_disease"],
    "disease.progression_clinically_significant": [True, False],
    "disease.biology": ["favorable", "unfavorable"],
    "biomarkers.msi": ["high", "stable"],
    "biomarkers.mmr": ["deficient", "proficient"],
    "biomarkers.tmb_mut_per_mb": [1.0, 10.0],
    "biomarkers.germline_vhl": [True, False],
    "context.no_other_options_feasible": [True, False],
    "context.no_satisfactory_alternative": [True, False],
}


def fill_values(record: dict[str, Any], field: str) -> list[Any]:
    """The FILLABLE values of ``field`` that keep ``record`` valid (docs/contract.md, contradictions)."""
    tumor, disease = record.get("tumor") or {}, record.get("disease") or {}
    values = FILLABLE[field]
    if field == "tumor.hormonal_symptoms" and (
        tumor.get("functional") is False or tumor.get("syndromes") == []
    ):
        return [v for v in values if v is not True]
    if field == "disease.progression_clinically_significant" and disease.get("status") in (
        "stable",
        "no_evidence_of_disease",
    ):
        return [v for v in values if v is not True]
    if field == "disease.status" and disease.get("progression_clinically_significant") is True:
        return [v for v in values if v == "progressive"]
    return values
