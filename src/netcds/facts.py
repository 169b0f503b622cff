"""Facts: the patient flattened to named values, plus the derived facts computed once.

A fact is a dotted path (``tumor.sstr_status``) or a derived name
(``derived.grade``). ``None`` is UNKNOWN. Each derived fact carries the reason
in words (``why``) and, when unknown, the raw fields that would settle it
(``missing``), so an explanation always names what to look up. The grade, carcinoid
subtype and differentiation are derived in :mod:`netcds.grading`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Derived, THORACIC_SITES and THORACIC_GRADE_FIELDS are re-exported: their readers import them from here
from netcds.derived_fact import Derived as Derived
from netcds.field_labels import agent_name
from netcds.grading import THORACIC_GRADE_FIELDS as THORACIC_GRADE_FIELDS
from netcds.grading import THORACIC_SITES as THORACIC_SITES
from netcds.grading import derive_differentiation, derive_grade, derive_lung_subtype
from netcds.history import (
    LEVEL_WORDS,
    progressed_after_course,
    progressed_value,
    progressing_on_ongoing,
    ssa_dose_fields,
    ssa_dose_level,
)
from netcds.patient import REGIMEN_AGENTS, Patient, Treatment

GI_SITES = frozenset(
    {"stomach", "duodenum", "jejunum", "ileum", "small_bowel", "appendix", "cecum", "colon", "rectum"}
)
SMALL_BOWEL_SITES = frozenset({"duodenum", "jejunum", "ileum", "small_bowel"})
SSA_AGENTS = frozenset({"octreotide_lar", "lanreotide"})
# embryologic origin of each primary site; colon depends on the segment
GUT_BY_SITE: dict[str, str] = {
    "stomach": "foregut", "pancreas": "foregut", "lung": "foregut",
    "thymus": "foregut", "jejunum": "midgut", "ileum": "midgut", "small_bowel": "midgut",
    "appendix": "midgut", "cecum": "midgut", "rectum": "hindgut",
}  # fmt: skip
# the transverse colon is midgut in its proximal two-thirds and hindgut in its distal third: "transverse"
# alone does not say which (transverse_proximal / transverse_distal do)
GUT_BY_COLON_SEGMENT = {
    "ascending": "midgut", "transverse_proximal": "midgut", "transverse_distal": "hindgut",
    "descending": "hindgut", "sigmoid": "hindgut",
}  # fmt: skip
# the duodenum is foregut down to and including the major papilla (ampulla of Vater) and midgut beyond it
# (docs/contract.md, Derived facts, cites the embryology); "second" alone does not say which side
GUT_BY_DUODENAL_PART = {
    "first": "foregut", "second_preampullary": "foregut", "ampullary": "foregut",
    "second_postampullary": "midgut", "third": "midgut", "fourth": "midgut",
}  # fmt: skip
DUODENAL_PART_WORDS = {
    "first": "first part of the duodenum",
    "second_preampullary": "second part of the duodenum above the major papilla",
    "ampullary": "ampullary duodenum",
    "second_postampullary": "second part of the duodenum below the major papilla",
    "third": "third part of the duodenum",
    "fourth": "fourth part of the duodenum",
}
SEGMENT_WORDS = {
    "transverse_proximal": "transverse (proximal part)",
    "transverse_distal": "transverse (distal part)",
}
# a site whose gut is a reading, not a fact (docs/contract.md, derived.gut), says so wherever it is shown
SITE_WORDS = {"small_bowel": "small bowel, segment unknown (read as jejunum or ileum)"}
UNKNOWN_WORDS = frozenset({"unknown"})  # enum values that mean "not known"


@dataclass
class Facts:
    """Flat fact values for one patient; built once by :func:`build_facts`."""

    patient: Patient
    values: dict[str, Any] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)
    _unknown_among: dict[str, tuple[Any, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def get(self, path: str) -> Any:
        return self.values.get(path)

    def missing_for(self, path: str) -> tuple[str, ...]:
        d = self.derived.get(path)
        return d.missing if d is not None else (path,)

    def fields_of(self, path: str) -> tuple[str, ...]:
        """The fields a safety item on the known fact ``path`` names: a derived fact's ``basis``, else it."""
        d = self.derived.get(path)
        return d.basis if d is not None and d.basis else (path,)

    def why(self, path: str) -> str | None:
        d = self.derived.get(path)
        return d.why if d is not None else None

    def among(self, path: str) -> tuple[Any, ...]:
        """The values an unknown derived fact is known to lie among (empty: any; Derived.among)."""
        d = self.derived.get(path)
        return d.among if d is not None and d.value is None else ()

    def unknown_among(self) -> dict[str, tuple[Any, ...]]:
        """Every derived fact that is unknown but known to lie among values (Derived.among), with them:
        what logic/evaluate.py tries one value at a time. Empty for most patients; worked out once (the
        facts are not changed once built: a variant is a new Facts, see :meth:`trying`)."""
        if self._unknown_among is None:
            self._unknown_among = {
                name: d.among
                for name, d in self.derived.items()
                if d.value is None and d.among and self.values.get(name) is None
            }
        return self._unknown_among

    def trying(self, values: dict[str, Any]) -> Facts:
        """These facts with some facts of :meth:`unknown_among` set to one of their values each (one trial
        of logic/evaluate.py: never shown as the patient's facts)."""
        tried = {name: Derived(v, f"tried as {v}") for name, v in values.items()}
        return Facts(self.patient, {**self.values, **values}, {**self.derived, **tried})


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


def _gut(p: Patient) -> Derived:
    site = p.tumor.primary_site
    if site in GUT_BY_SITE:
        words = SITE_WORDS.get(site, site.replace("_", " "))
        return Derived(GUT_BY_SITE[site], f"{words} is {GUT_BY_SITE[site]}")
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
    if site == "duodenum":
        part = p.tumor.duodenal_part
        if part in GUT_BY_DUODENAL_PART:
            return Derived(
                GUT_BY_DUODENAL_PART[part], f"{DUODENAL_PART_WORDS[part]} is {GUT_BY_DUODENAL_PART[part]}"
            )
        if part == "second":
            return Derived(
                None,
                "the second part of the duodenum is foregut down to the major papilla and midgut below it; "
                "which side is not recorded (duodenal part second_preampullary or second_postampullary)",
                ("tumor.duodenal_part",),
            )
        return Derived(
            None,
            "the duodenum is foregut down to the major papilla and midgut beyond it; part not recorded",
            ("tumor.duodenal_part",),
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
    if p.disease.resectable is False:  # locoregional advanced or distant metastatic: advanced either way
        return Derived(
            True, "not resectable (extent not recorded): locoregional advanced or distant metastatic"
        )
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
    elsewhere: list[str] = []  # progression on these agents at another dose level (named when false)
    for i, t in enumerate(p.treatments):
        if not agents.intersection(treatment_agents(t)):
            continue
        prog = False if progressed_after_course(t) else progressed_value(t)
        lv: str | None = None
        if level is not None:
            lv, why = ssa_dose_level(t)
            if lv is not None and lv != level:
                if prog:
                    elsewhere.append(f"{agent_name(t.agent)} from {t.start or 'unknown date'} ({why})")
                continue
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
    if elsewhere:
        lv_words = LEVEL_WORDS.get(level, level)
        return Derived(
            False,
            f"no progression on {what} in the recorded history; progression recorded at a dose level other"
            f" than {lv_words}: " + "; ".join(elsewhere),
        )
    return Derived(False, f"no progression on {what} in the recorded history")


def course_running(t: Treatment) -> bool:
    """A course still being given: no end (the contract's ``end`` null = ongoing) and no stop reason (a
    course recorded as stopped has ended, its end date missing or not)."""
    return t.end is None and t.stop_reason is None


def ssa_courses(p: Patient) -> list[Treatment] | None:
    """The recorded octreotide LAR / lanreotide courses (a regimen id standing for them, ``ssa`` or
    ``ssa_above_label``, included); None when the treatment history is not recorded. The SSA plan of
    footnote a (engine/ssa_plan.py) and ``derived.on_ssa`` read the same courses."""
    ts = p.treatments
    return None if ts is None else [t for t in ts if SSA_AGENTS.intersection(treatment_agents(t))]


def _on_ssa(p: Patient) -> Derived:
    """An octreotide LAR / lanreotide course is ongoing: a recorded course with no end (the contract's
    ``end`` null = ongoing, as the SSA plan reads it) and no stop reason (a course recorded as stopped has
    ended, though its end date is missing); false when the history is recorded and every such
    course has ended or there is none; unknown, naming ``treatments``, when the history is not recorded."""
    ssa = ssa_courses(p)
    if ssa is None:
        return Derived(None, "treatment history not recorded", ("treatments",))
    ongoing = [t for t in ssa if course_running(t)]
    if ongoing:
        said = "; ".join(
            f"{agent_name(t.agent)} " + (f"since {t.start}" if t.start else "(start not recorded)")
            for t in ongoing
        )
        return Derived(True, f"octreotide LAR/lanreotide course ongoing, no end recorded: {said}")
    if ssa:
        return Derived(False, "every recorded octreotide LAR/lanreotide course has ended or was stopped")
    return Derived(False, "no octreotide LAR/lanreotide in the recorded history")


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
    if t.hormonal_symptoms is True:  # hormone excess means a functional tumor (the contract's contradictions)
        return Derived(True, "symptoms from hormone excess recorded")
    if t.syndromes == []:
        return Derived(False, "no hormone syndrome recorded (empty list)")
    # hormonal symptoms would settle it (above), so an unrecorded flag is named beside the status
    waits = ("tumor.functional",) + (("tumor.hormonal_symptoms",) if t.hormonal_symptoms is None else ())
    return Derived(None, "functional status not recorded", waits)


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
    """As recorded; unrecorded, false for a primary outside the small bowel (session 42: a record that
    says small-bowel mesenteric disease beside a cecal or other primary keeps what it says, so the RT
    entry that excludes such disease is not offered on the site alone)."""
    v = p.disease.small_bowel_mesenteric
    site = p.tumor.primary_site
    if v is None:
        if site not in SMALL_BOWEL_SITES:
            return Derived(False, "not a small-bowel primary")
        return Derived(None, "mesenteric involvement not recorded", ("disease.small_bowel_mesenteric",))
    words = "mesenteric small-bowel disease" if v else "no mesenteric small-bowel disease"
    if v and site not in SMALL_BOWEL_SITES:
        where = "not recorded" if site is None else site.replace("_", " ")
        words += f" (as recorded; primary site {where})"
    return Derived(v, words)


def _reproductive(p: Patient, state: str, words: str) -> Derived:
    """``pregnant`` / ``breastfeeding`` as recorded; unrecorded, false for a male patient (the contract
    refuses a male recorded pregnant) and unknown otherwise, naming the sex too while it is unrecorded.
    The safety items read this, so a recorded pregnancy counts whatever the recorded sex (session 37: a
    condition "sex is not male and pregnant" left a recorded pregnancy unassessed while sex was not)."""
    value = getattr(p, state)
    if value is not None:
        return Derived(value, f"{words}: {'yes' if value else 'no'} (recorded)", basis=(state,))
    if p.sex == "male":
        return Derived(False, f"male: not {words}", basis=("sex",))
    return Derived(None, f"{words} not recorded", (("sex",) if p.sex in (None, "unknown") else ()) + (state,))


def _sstr(p: Patient) -> Derived:
    s = p.tumor.sstr_status
    if s in (None, "unknown"):
        return Derived(None, "SSTR status not known", ("tumor.sstr_status",))
    return Derived(s, f"SSTR imaging {s}")


def build_facts(p: Patient) -> Facts:
    """Flatten the record and compute every derived fact exactly once."""
    facts = Facts(patient=p, values=flatten(p))
    grade = derive_grade(p)
    lra = _locoregional_advanced(p)
    progressive = _progressive(p)
    derived: dict[str, Derived] = {
        "derived.grade": grade,
        "derived.lung_subtype": derive_lung_subtype(p),
        "derived.differentiation": derive_differentiation(p, grade),
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
        "derived.on_ssa": _on_ssa(p),
        "derived.pregnant": _reproductive(p, "pregnant", "pregnant"),
        "derived.breastfeeding": _reproductive(p, "breastfeeding", "breastfeeding"),
    }
    facts.derived = derived
    for name, d in derived.items():
        facts.values[name] = d.value
    return facts
