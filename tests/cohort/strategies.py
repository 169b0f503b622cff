"""Hypothesis strategies: valid decision points with many unknowns, biased to the rule boundaries."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, get_args

from hypothesis import strategies as st
from pydantic import ValidationError

from netcds.cohort.layout import DECISION_IDS
from netcds.logic.sql import TREATMENT_AGENT_VALUES
from netcds.patient import ColonSegment, DuodenalPart, Patient

SITES = [
    "stomach",
    "duodenum",
    "jejunum",
    "ileum",
    "small_bowel",
    "appendix",
    "cecum",
    "colon",
    "rectum",
    "pancreas",
    "lung",
    "thymus",
    "unknown_primary",
]
ENTRY_REGIMENS = [
    "cabozantinib",
    "everolimus",
    "sunitinib",
    "belzutifan",
    "pembrolizumab",
    "lu177_dotatate",
    "ssa",
    "ssa_above_label",
    "capecitabine_temozolomide",
    "temozolomide_pm_capecitabine",
    "folfox",
    "capeox",
    "folfiri",
    "folfirinox",
    "cisplatin_etoposide",
    "carboplatin_etoposide",
    "cisplatin_irinotecan",
    "nivolumab_ipilimumab",
    "rt_fluoropyrimidine",
    "cytotoxic_chemotherapy",
    "clinical_trial",
    "octreotide_lar",
    "lanreotide",
    "temozolomide",
    "radiotherapy",
    "capecitabine",
    "observation",
    "surgery",
    "locoregional",
    "other",
]
SSA_HEAVY = [
    "octreotide_lar",
    "lanreotide",
    "ssa",
    "ssa_above_label",
    "everolimus",
    "lu177_dotatate",
    "sunitinib",
]


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent/None (unknown) about a third of the time."""
    return st.one_of(st.none(), s, s)


def mostly(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent/None (unknown) about one time in eight: records that reach the eligibility rules."""
    return st.one_of(st.none(), s, s, s, s, s, s, s)


def boundary(values: list[float], lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from(values), st.floats(lo, hi, allow_nan=False))


BOOL = st.booleans()
KI67 = boundary([0, 1, 2.9, 3, 3.1, 10, 20, 20.01, 21, 35, 54.9, 55, 80, 100], 0, 100)
MITOSES = boundary([0, 1, 1.99, 2, 5, 10, 10.01, 15, 20, 20.5, 40], 0, 60)
DATES = st.dates(min_value=date(2016, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def treatment(draw: st.DrawFn) -> dict[str, Any]:
    t: dict[str, Any] = {
        "agent": draw(st.one_of(st.sampled_from(SSA_HEAVY), st.sampled_from(TREATMENT_AGENT_VALUES)))
    }
    start = draw(maybe(DATES))
    if start is not None:
        t["start"] = start
    if draw(BOOL):
        t["dose_mg"] = draw(st.sampled_from([10.0, 20.0, 30.0, 30.5, 60.0, 90.0, 120.0, 120.5, 180.0]))
    if draw(BOOL):
        t["interval_days"] = draw(
            st.sampled_from([7.0, 14.0, 21.0, 25.9, 26.0, 28.0, 30.0, 35.0, 35.1, 42.0, 56.0])
        )
    progressed = draw(maybe(BOOL))
    end = draw(maybe(st.integers(0, 900)))
    if end is not None and start is not None:
        t["end"] = start + timedelta(days=end)
    elif end is not None and draw(BOOL):
        t["end"] = draw(DATES)
        if start is not None and t["end"] < start:
            t["end"] = start
    if progressed is not None:
        t["progressed"] = progressed
    if progressed is not False:
        if draw(st.integers(0, 3)) == 0:
            t["stop_reason"] = "progression"
        elif draw(st.integers(0, 3)) == 0:
            t["stop_reason"] = draw(st.sampled_from(["toxicity", "completed", "patient_choice", "other"]))
        if draw(st.integers(0, 3)) == 0:
            base = start or t.get("end") or date(2020, 1, 1)
            pd = base + timedelta(days=draw(st.integers(0, 400)))
            if t.get("end") and t.get("stop_reason") == "progression" and pd > t["end"]:
                pd = t["end"]
            if start and pd < start:
                pd = start
            t["progression_date"] = pd
    else:
        t["stop_reason"] = draw(maybe(st.sampled_from(["toxicity", "completed", "patient_choice", "other"])))
    if draw(st.integers(0, 3)) == 0:  # PD is a sign of progression on the line (never with progressed false)
        t["best_response"] = draw(
            st.sampled_from(["SD", "PR", "CR"] if progressed is False else ["PD", "SD", "PR"])
        )
    if draw(st.integers(0, 5)) == 0:
        t["progression_type"] = draw(st.sampled_from(["radiographic", "clinical", "symptomatic"]))
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in t.items() if v is not None}


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


@st.composite
def patient_record(draw: st.DrawFn) -> dict[str, Any]:
    maybe = draw(st.sampled_from([globals()["maybe"], mostly, mostly]))
    site = draw(st.sampled_from(SITES))
    tumor: dict[str, Any] = {"primary_site": site}
    diff = draw(maybe(st.sampled_from(["well", "well", "poor"])))
    _put(tumor, "differentiation", diff)
    grades = ["G3"] if diff == "poor" else ["G1", "G2", "G3"]
    _put(tumor, "grade", draw(maybe(st.sampled_from(grades))))
    if site in ("lung", "thymus") and diff != "poor" and tumor.get("grade") != "G3":
        sub = draw(maybe(st.sampled_from(["typical_carcinoid", "atypical_carcinoid"])))
        _put(tumor, "lung_subtype", sub)
        if sub is not None and "grade" in tumor:  # the record's grade agrees with the subtype
            tumor["grade"] = "G1" if sub == "typical_carcinoid" else "G2"
    _put(tumor, "ki67_percent", draw(maybe(KI67)))
    _put(tumor, "mitoses_per_2mm2", draw(maybe(MITOSES)))
    _put(tumor, "necrosis", draw(maybe(BOOL)))
    functional = draw(maybe(BOOL))
    syndromes = draw(
        maybe(
            st.lists(
                st.sampled_from(["carcinoid_syndrome", "insulinoma", "gastrinoma", "vipoma", "other"]),
                max_size=2,
                unique=True,
            )
        )
    )
    if functional is False and syndromes:
        syndromes = None
    if functional is True and syndromes == []:
        syndromes = None
    _put(tumor, "functional", functional)
    _put(tumor, "syndromes", syndromes)
    hormonal_symptoms = draw(maybe(BOOL))
    if hormonal_symptoms is True and (functional is False or syndromes == []):  # rejected: left unknown
        hormonal_symptoms = None
    _put(tumor, "hormonal_symptoms", hormonal_symptoms)
    _put(tumor, "sstr_status", draw(maybe(st.sampled_from(["positive", "positive", "negative", "unknown"]))))
    _put(tumor, "fdg_avid", draw(maybe(BOOL)))
    if site == "colon":
        _put(
            tumor,
            "colon_segment",
            draw(maybe(st.sampled_from(get_args(ColonSegment)))),
        )
    if site == "duodenum":
        _put(tumor, "duodenal_part", draw(maybe(st.sampled_from(get_args(DuodenalPart)))))
    _put(tumor, "proliferation_high_end", draw(maybe(BOOL)))
    disease: dict[str, Any] = {}
    _put(
        disease,
        "extent",
        draw(
            maybe(st.sampled_from(["localized", "locoregional", "distant_metastatic", "distant_metastatic"]))
        ),
    )
    _put(disease, "resectable", draw(maybe(BOOL)))
    _put(disease, "small_bowel_mesenteric", draw(maybe(BOOL)))
    _put(disease, "tumor_burden", draw(maybe(st.sampled_from(["mild", "clinically_significant", "bulky"]))))
    _put(disease, "tumor_symptoms", draw(maybe(BOOL)))
    status = draw(maybe(st.sampled_from(["stable", "progressive", "progressive", "no_evidence_of_disease"])))
    _put(disease, "status", status)
    significant = draw(maybe(BOOL))
    if significant is True and status in ("stable", "no_evidence_of_disease"):  # rejected: left unknown
        significant = None
    _put(disease, "progression_clinically_significant", significant)
    _put(disease, "biology", draw(maybe(st.sampled_from(["favorable", "unfavorable"]))))
    biomarkers: dict[str, Any] = {}
    _put(biomarkers, "msi", draw(maybe(st.sampled_from(["high", "stable"]))))
    _put(biomarkers, "mmr", draw(maybe(st.sampled_from(["deficient", "proficient"]))))
    _put(biomarkers, "tmb_mut_per_mb", draw(maybe(st.sampled_from([0.0, 4.0, 9.99, 10.0, 25.0]))))
    _put(biomarkers, "germline_vhl", draw(maybe(BOOL)))
    rec: dict[str, Any] = {"tumor": tumor, "disease": disease, "biomarkers": biomarkers}
    treatments = draw(maybe(st.lists(treatment(), max_size=4)))
    _put(rec, "treatments", treatments)
    starts = [t["start"] for t in treatments or [] if "start" in t]
    iso = DATES.map(date.isoformat)
    when = st.one_of(iso, st.sampled_from(starts)) if starts else iso
    # the status's own date: drawn freely, sometimes on a line's start (not after it)
    _put(disease, "status_date", draw(maybe(when)))
    # assessments: only the newest PD date is read (an ongoing line progressing since it began); dates
    # are drawn freely and sometimes on a line's start (a baseline scan: not after it)
    scans = draw(maybe(st.lists(when, max_size=3, unique=True)))
    if scans is not None:
        response = st.sampled_from(["PD", "PD", "SD", "PR", "CR", None])
        rec["assessments"] = [
            {"date": d, **({"recist_response": r} if (r := draw(response)) else {})} for d in scans
        ]
    context: dict[str, Any] = {}
    _put(context, "no_other_options_feasible", draw(maybe(BOOL)))
    _put(context, "no_satisfactory_alternative", draw(maybe(BOOL)))
    rec["context"] = context
    if draw(st.integers(0, 3)) == 0:
        rec["preferences"] = {"priority": draw(st.sampled_from(["response", "long_term_control"]))}
    if draw(st.integers(0, 9)) == 0:
        rec["sex"] = draw(st.sampled_from(["female", "male", "unknown"]))
    return rec


def _valid(rec: dict[str, Any]) -> bool:
    try:
        Patient.model_validate(rec)
    except ValidationError:
        return False
    return True


@st.composite
def decision_point(draw: st.DrawFn) -> dict[str, Any]:
    rec = draw(patient_record().filter(_valid))
    regimen = draw(st.one_of(st.sampled_from(ENTRY_REGIMENS), st.sampled_from(DECISION_IDS)))
    when = draw(DATES)
    latest = _latest_history_date(rec)
    if latest is not None and when <= latest:  # a decision point holds only history from before it
        when = latest + timedelta(days=draw(st.integers(1, 90)))
    rec["decision"] = {"date": when.isoformat(), "regimen": regimen}
    return rec


def _latest_history_date(rec: dict[str, Any]) -> date | None:
    """The latest date of the record's treatment history (read.py rejects history after decision.date)."""
    dates = [
        date.fromisoformat(t[k])
        for t in rec.get("treatments") or []
        for k in ("start", "end", "progression_date")
        if k in t
    ] + [date.fromisoformat(a["date"]) for a in rec.get("assessments") or []]
    if "status_date" in rec.get("disease", {}):
        dates.append(date.fromisoformat(rec["disease"]["status_date"]))
    return max(dates, default=None)
