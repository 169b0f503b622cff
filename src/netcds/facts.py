"""Facts: the patient flattened to named values, plus the derived facts computed once.

A fact is a dotted path (``tumor.sstr_status``) or a derived name
(``derived.grade``). ``None`` is UNKNOWN. Each derived fact carries the reason
in words (``why``) and, when unknown, the raw fields that would settle it
(``missing``), so an explanation always names what to look up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netcds.field_labels import agent_name
from netcds.history import progressed_value, progressing_on_ongoing, ssa_dose_fields, ssa_dose_level
from netcds.patient import REGIMEN_AGENTS, Patient, Treatment, Tumor

GI_SITES = frozenset(
    {"stomach", "duodenum", "jejunum", "ileum", "small_bowel", "appendix", "cecum", "colon", "rectum"}
)
SMALL_BOWEL_SITES = frozenset({"duodenum", "jejunum", "ileum", "small_bowel"})
SSA_AGENTS = frozenset({"octreotide_lar", "lanreotide"})
THORACIC_SITES = frozenset({"lung", "thymus"})  # graded by the WHO thoracic criteria
# embryologic origin of each primary site; colon depends on the segment
GUT_BY_SITE: dict[str, str] = {
    "stomach": "foregut", "duodenum": "foregut", "pancreas": "foregut", "lung": "foregut",
    "thymus": "foregut", "jejunum": "midgut", "ileum": "midgut", "small_bowel": "midgut",
    "appendix": "midgut", "cecum": "midgut", "rectum": "hindgut",
}  # fmt: skip
# the transverse colon is midgut in its proximal two-thirds and hindgut in its distal third: "transverse"
# alone does not say which (transverse_proximal / transverse_distal do)
GUT_BY_COLON_SEGMENT = {
    "ascending": "midgut", "transverse_proximal": "midgut", "transverse_distal": "hindgut",
    "descending": "hindgut", "sigmoid": "hindgut",
}  # fmt: skip
SEGMENT_WORDS = {
    "transverse_proximal": "transverse (proximal part)",
    "transverse_distal": "transverse (distal part)",
}
GRADE_RANK = {"G1": 1, "G2": 2, "G3": 3}
UNKNOWN_WORDS = frozenset({"unknown"})  # enum values that mean "not known"


@dataclass(frozen=True)
class Derived:
    value: Any
    why: str
    missing: tuple[str, ...] = ()


@dataclass
class Facts:
    """Flat fact values for one patient; built once by :func:`build_facts`."""

    patient: Patient
    values: dict[str, Any] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)

    def get(self, path: str) -> Any:
        return self.values.get(path)

    def missing_for(self, path: str) -> tuple[str, ...]:
        d = self.derived.get(path)
        return d.missing if d is not None else (path,)

    def why(self, path: str) -> str | None:
        d = self.derived.get(path)
        return d.why if d is not None else None


SECTIONS = ("tumor", "disease", "biomarkers", "comorbidities", "context", "preferences")


def flatten(p: Patient) -> dict[str, Any]:
    """The record as dotted paths; enum words meaning 'unknown' become None."""
    data = p.model_dump(exclude={"treatments", "assessments", *SECTIONS})
    out: dict[str, Any] = {}
    for k, v in data.items():
        out[k] = None if isinstance(v, str) and v in UNKNOWN_WORDS else v
    for section in SECTIONS:
        sub = getattr(p, section)
        for k, v in sub.model_dump().items():
            out[f"{section}.{k}"] = None if isinstance(v, str) and v in UNKNOWN_WORDS else v
    out["treatments"] = p.treatments
    out["assessments"] = p.assessments
    return out


def treatment_agents(t: Treatment) -> tuple[str, ...]:
    return REGIMEN_AGENTS.get(t.agent, (t.agent,))


def any3(values: list[bool | None]) -> bool | None:
    """Kleene 'or' over three-valued facts: any True wins; else any unknown is unknown."""
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _mitotic_grade(m: float, thoracic: bool) -> str:
    """The grade a mitotic count per 2 mm² gives: WHO digestive cut-points (< 2, 2-20, > 20), or for a
    lung or thymus primary the WHO thoracic ones (< 2 typical, 2-10 atypical carcinoid; above 10 is beyond
    the carcinoid range, read as high grade)."""
    return "G1" if m < 2 else "G2" if m <= (10 if thoracic else 20) else "G3"


def _subtype_conflict(t: Tumor, subtype: str | None) -> str | None:
    """Why a lung/thymus carcinoid subtype (recorded, or read from the recorded grade) disagrees with the
    recorded mitoses and necrosis by the WHO thoracic criteria (typical: < 2 mitoses/2 mm² and no necrosis;
    atypical: 2-10 or necrosis), else None."""
    m, n = t.mitoses_per_2mm2, t.necrosis
    if subtype == "typical_carcinoid":
        bits = ([f"{m:g} mitoses/2 mm²"] if m is not None and m >= 2 else []) + (["necrosis"] if n else [])
        return " and ".join(bits) + " point to an atypical carcinoid or higher" if bits else None
    if subtype == "atypical_carcinoid":
        if m is not None and m > 10:
            return f"{m:g} mitoses/2 mm² is above the atypical carcinoid range (2-10)"
        if m is not None and m < 2 and n is False:
            return f"{m:g} mitoses/2 mm² without necrosis fits a typical carcinoid"
    return None


def _checked(notes: list[str | None]) -> str:
    """The "check the record" remark for the disagreements in ``notes`` (None: no disagreement)."""
    said = [n for n in notes if n]
    return f" (check the record: {'; '.join(said)})" if said else ""


def _check(t: Tumor, subtype: str | None, *more: str | None) -> str:
    conflict = _subtype_conflict(t, subtype)
    return _checked([f"{conflict} by the WHO thoracic criteria" if conflict else None, *more])


# Ki-67 above this is high for a lung/thymus carcinoid (typical or atypical); it never grades one
THORACIC_KI67_CARCINOID_MAX = 20.0
_KI67_NOT_THORACIC = "the WHO thoracic criteria grade by mitoses and necrosis, not by Ki-67"
# what settles the grade of a lung/thymus primary (Ki-67 cannot, so it is never named)
THORACIC_GRADE_FIELDS = ("tumor.grade", "tumor.mitoses_per_2mm2", "tumor.lung_subtype")


def _thoracic_ki67_conflict(t: Tumor, grade: str) -> str | None:
    """Why the Ki-67 of a lung/thymus primary disagrees with the grade its morphology gives (the recorded
    grade, the carcinoid subtype or the mitotic count), else None. The WHO thoracic criteria grade a
    carcinoid by mitoses and necrosis; Ki-67 only supports them, chiefly in telling a carcinoid (G1/G2)
    from a high-grade tumor, not typical from atypical, so only that disagreement is pointed out."""
    k = t.ki67_percent
    if k is None:
        return None
    if grade in ("G1", "G2") and k > THORACIC_KI67_CARCINOID_MAX:
        return f"Ki-67 {k:g}% is high for a carcinoid, but {_KI67_NOT_THORACIC}"
    if grade == "G3" and k <= THORACIC_KI67_CARCINOID_MAX:
        return f"Ki-67 {k:g}% is low for a tumor beyond the carcinoid range, but {_KI67_NOT_THORACIC}"
    return None


def _thoracic_grade(t: Tumor) -> Derived:
    """The grade of a lung or thymus primary: the recorded grade, else the recorded carcinoid subtype,
    else the mitotic count by the thoracic cut-points. Ki-67 never sets it (nor, through it, the
    differentiation); a Ki-67 that disagrees with the morphology is pointed out for checking."""
    m, k = t.mitoses_per_2mm2, t.ki67_percent
    if t.grade is not None:
        recorded = t.grade
        by_m = _mitotic_grade(m, True) if m is not None else recorded
        off = (
            f"{m:g} mitoses/2 mm² is {by_m} by the WHO cut-points"
            " (mitoses: thoracic, 2-10 atypical carcinoid)"
            if m is not None and by_m != recorded
            else None
        )
        check = _checked([off, _thoracic_ki67_conflict(t, recorded)])
        return Derived(recorded, f"grade {recorded} as recorded{check}")
    if t.lung_subtype is not None:
        g = "G1" if t.lung_subtype == "typical_carcinoid" else "G2"
        word = "low" if g == "G1" else "intermediate"
        check = _check(t, t.lung_subtype, _thoracic_ki67_conflict(t, g))
        return Derived(g, f"{t.lung_subtype.replace('_', ' ')} is {word} grade{check}")
    if m is None and t.necrosis is True:  # as _lung_subtype reads it: necrosis makes a carcinoid atypical
        check = _checked([_thoracic_ki67_conflict(t, "G2")])
        return Derived("G2", f"necrosis present -> atypical carcinoid, intermediate grade{check}")
    if m is None:
        # Only Ki-67 (or nothing): the grade stays unknown. Ki-67 does not grade a lung/thymus
        # carcinoid, and no cut-point of it can stand in for the mitotic count: a low value does not
        # tell typical from atypical, and a high one does not tell a carcinoid with a high
        # proliferation index from a large-cell or small-cell carcinoma. Assuming a grade from it would
        # make the lung/thymus table apply or not on a measure the WHO thoracic criteria do not grade
        # by; unknown names the fields that would settle it instead (never tumor.ki67_percent).
        said = f"; Ki-67 {k:g}% does not grade a lung/thymus carcinoid" if k is not None else ""
        return Derived(
            None,
            f"grade not recorded and no carcinoid subtype or mitotic count{said} ({_KI67_NOT_THORACIC})",
            THORACIC_GRADE_FIELDS,
        )
    g = _mitotic_grade(m, True)
    necrosis = g == "G1" and t.necrosis is True  # < 2 mitoses with necrosis: atypical (WHO thoracic)
    g = "G2" if necrosis else g
    conflict = _thoracic_ki67_conflict(t, g)
    measure = (
        "single measure available"
        if k is None
        else "Ki-67 set aside"
        if conflict
        else f"Ki-67 {k:g}% does not grade a lung/thymus carcinoid"
    )
    rule = f"{measure}; mitoses by the WHO thoracic cut-points: 2-10 atypical carcinoid, above 10 beyond it"
    basis = (
        f"{m:g} mitoses/2 mm² with necrosis -> atypical carcinoid, G2"
        if necrosis
        else f"{m:g} mitoses/2 mm² -> {g}"
    )
    return Derived(g, f"WHO grade {g} derived ({basis}; {rule}){_checked([conflict])}")


def _grade(p: Patient) -> Derived:
    t = p.tumor
    if t.primary_site in THORACIC_SITES:
        return _thoracic_grade(t)
    # digestive and other primaries: Ki-67 and mitoses by the WHO digestive cut-points
    by: list[tuple[str, str]] = []
    if t.ki67_percent is not None:
        k = t.ki67_percent
        by.append(("G1" if k < 3 else "G2" if k <= 20 else "G3", f"Ki-67 {k:g}%"))
    if t.mitoses_per_2mm2 is not None:
        m = t.mitoses_per_2mm2
        by.append((_mitotic_grade(m, False), f"{m:g} mitoses/2 mm²"))
    if t.grade is not None:
        off = [f"{txt} is {g}" for g, txt in by if g != t.grade]
        if off:  # the recorded grade decides; the disagreement is shown wherever the grade is cited
            return Derived(
                t.grade,
                f"grade {t.grade} as recorded (check the record: {' and '.join(off)} by the WHO cut-points)",
            )
        return Derived(t.grade, f"grade {t.grade} as recorded")
    if not by:
        return Derived(
            None,
            "grade not recorded and no Ki-67 or mitotic count",
            ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"),
        )
    grade, _ = max(by, key=lambda b: GRADE_RANK[b[0]])
    basis = " and ".join(f"{txt} -> {g}" for g, txt in by)
    rule = "the higher of the two decides" if len(by) == 2 else "single measure available"
    return Derived(grade, f"WHO grade {grade} derived ({basis}; {rule})")


def _lung_subtype(p: Patient) -> Derived:
    t = p.tumor
    if t.primary_site not in THORACIC_SITES:
        return Derived(None, "not a lung/thymus primary")
    if t.lung_subtype is not None:
        return Derived(
            t.lung_subtype, f"{t.lung_subtype.replace('_', ' ')} as recorded{_check(t, t.lung_subtype)}"
        )
    if t.grade in ("G1", "G2"):
        sub = "typical_carcinoid" if t.grade == "G1" else "atypical_carcinoid"
        return Derived(
            sub, f"grade {t.grade} read as {sub.replace('_', ' ')} (low/intermediate grade){_check(t, sub)}"
        )
    m, n = t.mitoses_per_2mm2, t.necrosis
    if m is not None and m >= 2 and m <= 10:
        return Derived("atypical_carcinoid", f"{m:g} mitoses/2 mm² (2-10) -> atypical carcinoid")
    if n is True and (m is None or m <= 10):
        return Derived("atypical_carcinoid", "necrosis present -> atypical carcinoid")
    if m is not None and m < 2 and n is False:
        return Derived("typical_carcinoid", f"{m:g} mitoses/2 mm² and no necrosis -> typical carcinoid")
    return Derived(
        None,
        "carcinoid subtype not recorded and not derivable",
        ("tumor.lung_subtype", "tumor.grade", "tumor.mitoses_per_2mm2", "tumor.necrosis"),
    )


def _differentiation(p: Patient, grade: Derived) -> Derived:
    t = p.tumor
    if t.differentiation is not None:
        m = t.mitoses_per_2mm2
        beyond = t.differentiation == "well" and t.primary_site in THORACIC_SITES and m is not None and m > 10
        note = (
            f"{m:g} mitoses/2 mm² is beyond the carcinoid range by the WHO thoracic criteria"
            if beyond
            else None
        )
        check = _checked([note])
        return Derived(t.differentiation, f"{t.differentiation}-differentiated as recorded{check}")
    if t.lung_subtype is not None:
        return Derived("well", "carcinoid tumors are well-differentiated")
    if grade.value in ("G1", "G2"):
        return Derived("well", f"grade {grade.value} implies a well-differentiated tumor")
    m = t.mitoses_per_2mm2
    if t.primary_site in THORACIC_SITES and m is not None and m > 10:
        return Derived(
            None,
            f"differentiation not recorded ({m:g} mitoses/2 mm² is beyond the carcinoid range by the WHO"
            " thoracic criteria: a large-cell or small-cell carcinoma must be excluded)",
            ("tumor.differentiation",),
        )
    if t.primary_site in THORACIC_SITES and grade.value is None:  # Ki-67 does not stand in for the grade
        return Derived(
            None,
            f"differentiation not recorded and the grade unknown ({_KI67_NOT_THORACIC})",
            ("tumor.differentiation",),
        )
    return Derived(
        None,
        "differentiation not recorded (G3 may be a WD NET or a poorly differentiated NEC)",
        ("tumor.differentiation",),
    )


def _gut(p: Patient) -> Derived:
    site = p.tumor.primary_site
    if site in GUT_BY_SITE:
        return Derived(GUT_BY_SITE[site], f"{site.replace('_', ' ')} is {GUT_BY_SITE[site]}")
    if site == "colon":
        seg = p.tumor.colon_segment
        if seg in GUT_BY_COLON_SEGMENT:
            words = SEGMENT_WORDS.get(seg, seg)
            return Derived(GUT_BY_COLON_SEGMENT[seg], f"{words} colon is {GUT_BY_COLON_SEGMENT[seg]}")
        if seg == "transverse":
            return Derived(
                None,
                "the transverse colon is midgut in its proximal two-thirds and hindgut in its distal third; "
                "which part is not recorded (colon segment transverse_proximal or transverse_distal)",
                ("tumor.colon_segment",),
            )
        return Derived(
            None, "colon origin spans midgut and hindgut; segment not recorded", ("tumor.colon_segment",)
        )
    return Derived(None, "primary site unknown", ("tumor.primary_site",))


def _locoregional_advanced(p: Patient) -> Derived:
    d = p.disease
    if d.extent == "distant_metastatic":
        return Derived(False, "distant metastatic disease (not locoregional only)")
    if d.extent is None:
        return Derived(None, "extent not recorded", ("disease.extent",))
    if d.resectable is False:
        return Derived(True, f"{d.extent} disease that is not resectable")
    if d.resectable is True:
        return Derived(False, f"{d.extent} disease that is resectable")
    return Derived(None, f"{d.extent} disease with resectability not recorded", ("disease.resectable",))


def _advanced(p: Patient, lra: Derived) -> Derived:
    if p.disease.extent == "distant_metastatic":
        return Derived(True, "distant metastatic disease")
    if lra.value is True:
        return Derived(True, "locoregional advanced (unresectable) disease")
    if lra.value is False:
        return Derived(False, "localized/locoregional resectable disease")
    return Derived(None, lra.why, lra.missing)


def _progressive(p: Patient) -> Derived:
    s = p.disease.status
    if s == "progressive":
        return Derived(True, "disease status progressive")
    if s in ("stable", "no_evidence_of_disease"):
        return Derived(False, f"disease status {s.replace('_', ' ')}")
    return Derived(None, "disease status not recorded", ("disease.status",))


def _significant_progression(p: Patient, progressive: Derived) -> Derived:
    """Clinically significant progression (footnote a), read as the SSA plan reads it."""
    s = p.disease.progression_clinically_significant
    if s is not None:
        return Derived(s, f"progression recorded as {'' if s else 'not '}clinically significant")
    if progressive.value is False:
        return Derived(False, f"no progression ({progressive.why})")
    return Derived(
        None,
        "whether progression is clinically significant is not recorded",
        ("disease.progression_clinically_significant",),
    )


def progressed_on(p: Patient, agents: frozenset[str], what: str, level: str | None = None) -> Derived:
    """Three-valued: did the disease progress on one of ``agents`` (at dose ``level``)?"""
    if p.treatments is None:
        return Derived(None, "treatment history not recorded", ("treatments",))
    found: list[bool | None] = []
    missing: list[str] = []
    hits: list[str] = []
    for i, t in enumerate(p.treatments):
        if not agents.intersection(treatment_agents(t)):
            continue
        lv: str | None = None
        if level is not None:
            lv, _ = ssa_dose_level(t)
            if lv is not None and lv != level:
                continue
        prog = progressed_value(t)
        if prog is None and progressing_on_ongoing(p, t):
            prog = True  # progressing now: a progression assessed after this ongoing line began
        if prog is True and level is not None and lv is None:
            prog = None
            missing += [f"treatments[{i}].{f}" for f in ssa_dose_fields(t)]
        elif prog is None:
            missing.append(f"treatments[{i}].progressed")
        found.append(prog)
        if prog:
            how = f", {t.progression_type}" if t.progression_type else ""
            hits.append(f"{agent_name(t.agent)} from {t.start or 'unknown date'}{how}")
    value = any3(found)
    if value is True:
        return Derived(True, f"progressed on {what}: " + "; ".join(hits))
    if value is None:
        return Derived(
            None,
            f"{what} received but progression on it (or its dose) not recorded",
            tuple(dict.fromkeys(missing)),
        )
    return Derived(False, f"no progression on {what} in the recorded history")


def _progressed_after_prior(p: Patient) -> Derived:
    if p.treatments is None:
        return Derived(None, "treatment history not recorded", ("treatments",))
    if not p.treatments:
        return Derived(False, "no prior systemic treatment recorded")
    if any(progressed_value(t) for t in p.treatments):
        return Derived(True, "progressed after prior treatment (recorded in history)")
    if p.disease.status == "progressive":
        return Derived(True, "progressive disease after prior treatment")
    # unknown is not false: a line whose progression is not recorded may have progressed
    missing = [f"treatments[{i}].progressed" for i, t in enumerate(p.treatments) if t.progressed is None]
    if p.disease.status is None:
        missing.append("disease.status")
    if missing:
        why = "prior treatment recorded, but whether the disease progressed is not"
        return Derived(None, why, tuple(missing))
    return Derived(False, "prior treatment recorded, each line without progression")


def _functional(p: Patient) -> Derived:
    t = p.tumor
    if t.functional is not None:
        return Derived(t.functional, "functional" if t.functional else "non-functional as recorded")
    if t.syndromes:
        return Derived(True, "hormone syndrome recorded: " + ", ".join(t.syndromes))
    if t.syndromes == []:
        return Derived(False, "no hormone syndrome recorded (empty list)")
    return Derived(None, "functional status not recorded", ("tumor.functional",))


def _symptomatic(p: Patient) -> Derived:
    vals = [p.disease.tumor_symptoms, p.tumor.hormonal_symptoms]
    v = any3(vals)
    if v is True:
        which = [n for n, x in zip(("tumor bulk", "hormone excess"), vals, strict=True) if x]
        return Derived(True, "symptoms from " + " and ".join(which))
    if v is False:
        return Derived(False, "no tumor or hormonal symptoms")
    missing = tuple(
        f
        for f, x in zip(("disease.tumor_symptoms", "tumor.hormonal_symptoms"), vals, strict=True)
        if x is None
    )
    return Derived(None, "symptom status not fully recorded", missing)


def _burden_significant(p: Patient) -> Derived:
    b = p.disease.tumor_burden
    if b is None:
        return Derived(None, "tumor burden not recorded", ("disease.tumor_burden",))
    return Derived(b != "mild", f"tumor burden {b.replace('_', ' ')}")


def _mesenteric(p: Patient) -> Derived:
    if p.tumor.primary_site not in SMALL_BOWEL_SITES:
        return Derived(False, "not a small-bowel primary")
    v = p.disease.small_bowel_mesenteric
    if v is None:
        return Derived(None, "mesenteric involvement not recorded", ("disease.small_bowel_mesenteric",))
    return Derived(v, "mesenteric small-bowel disease" if v else "no mesenteric small-bowel disease")


def _sstr(p: Patient) -> Derived:
    s = p.tumor.sstr_status
    if s in (None, "unknown"):
        return Derived(None, "SSTR status not known", ("tumor.sstr_status",))
    return Derived(s, f"SSTR imaging {s}")


def build_facts(p: Patient) -> Facts:
    """Flatten the record and compute every derived fact exactly once."""
    facts = Facts(patient=p, values=flatten(p))
    grade = _grade(p)
    lra = _locoregional_advanced(p)
    progressive = _progressive(p)
    derived: dict[str, Derived] = {
        "derived.grade": grade,
        "derived.lung_subtype": _lung_subtype(p),
        "derived.differentiation": _differentiation(p, grade),
        "derived.gut": _gut(p),
        "derived.locoregional_advanced": lra,
        "derived.advanced": _advanced(p, lra),
        "derived.progressive": progressive,
        "derived.significant_progression": _significant_progression(p, progressive),
        "derived.functional": _functional(p),
        "derived.symptomatic": _symptomatic(p),
        "derived.burden_significant": _burden_significant(p),
        "derived.small_bowel_mesenteric": _mesenteric(p),
        "derived.sstr_status": _sstr(p),
        "derived.progressed_on_ssa": progressed_on(p, SSA_AGENTS, "octreotide LAR/lanreotide"),
        "derived.progressed_on_standard_ssa": progressed_on(
            p, SSA_AGENTS, "standard-dose octreotide LAR/lanreotide", level="standard"
        ),
        "derived.progressed_after_prior_therapy": _progressed_after_prior(p),
    }
    facts.derived = derived
    for name, d in derived.items():
        facts.values[name] = d.value
    return facts
