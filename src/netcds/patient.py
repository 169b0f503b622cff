"""The contract's input model: one patient's structured record.

Every field is optional unless the contract marks it required. ``None`` means
UNKNOWN and is never read as ``False`` or negative. Unknown keys are rejected,
numbers are ranged, bools and numbers are strict (``"5"`` is not a number),
dates are ISO ``YYYY-MM-DD``. See docs/contract.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(value: Any) -> Any:
    """A date written exactly as YYYY-MM-DD and a real calendar day (a ValueError otherwise: Python's
    ``date.fromisoformat`` alone also takes week dates and the basic form 20261101)."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be an ISO date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a calendar date ({exc})") from None


IsoDate = Annotated[date, BeforeValidator(iso_date)]
Bool = Annotated[bool, Strict()]
Num = Annotated[float, Strict()]
Percent = Annotated[float, Strict(), Field(ge=0, le=100)]
NonNeg = Annotated[float, Strict(), Field(ge=0)]

PrimarySite = Literal[
    "stomach", "duodenum", "jejunum", "ileum", "small_bowel", "appendix", "cecum",
    "colon", "rectum", "pancreas", "lung", "thymus", "unknown_primary",
]  # fmt: skip
AGENT_IDS: tuple[str, ...] = (
    "octreotide_lar", "octreotide", "lanreotide", "everolimus", "sunitinib", "cabozantinib",
    "lu177_dotatate", "temozolomide", "capecitabine", "fluorouracil", "oxaliplatin", "irinotecan",
    "leucovorin", "cisplatin", "carboplatin", "etoposide", "dacarbazine", "pembrolizumab",
    "nivolumab", "ipilimumab", "belzutifan", "radiotherapy",
)  # fmt: skip
REGIMEN_AGENTS: dict[str, tuple[str, ...]] = {
    "cabozantinib": ("cabozantinib",),
    "everolimus": ("everolimus",),
    "sunitinib": ("sunitinib",),
    "belzutifan": ("belzutifan",),
    "pembrolizumab": ("pembrolizumab",),
    "lu177_dotatate": ("lu177_dotatate",),
    "ssa": ("octreotide_lar", "lanreotide"),
    "ssa_above_label": ("octreotide_lar", "lanreotide"),
    "capecitabine_temozolomide": ("capecitabine", "temozolomide"),
    "temozolomide_pm_capecitabine": ("temozolomide", "capecitabine"),
    "folfox": ("fluorouracil", "leucovorin", "oxaliplatin"),
    "capeox": ("capecitabine", "oxaliplatin"),
    "folfiri": ("fluorouracil", "leucovorin", "irinotecan"),
    "folfirinox": ("fluorouracil", "leucovorin", "irinotecan", "oxaliplatin"),
    "cisplatin_etoposide": ("cisplatin", "etoposide"),
    "carboplatin_etoposide": ("carboplatin", "etoposide"),
    "cisplatin_irinotecan": ("cisplatin", "irinotecan"),
    "nivolumab_ipilimumab": ("nivolumab", "ipilimumab"),
    "rt_fluoropyrimidine": ("radiotherapy",),
    "cytotoxic_chemotherapy": ("fluorouracil", "capecitabine", "dacarbazine", "oxaliplatin", "temozolomide"),
    "clinical_trial": (),
}
# the transverse colon is midgut in its proximal two-thirds and hindgut in its distal third
ColonSegment = Literal[
    "ascending", "transverse", "transverse_proximal", "transverse_distal", "descending", "sigmoid"
]
# the duodenum is foregut down to the major papilla (ampulla) and midgut beyond it: "second" alone,
# the part that holds the papilla, does not say which side (second_preampullary / second_postampullary do)
DuodenalPart = Literal[
    "first", "second", "second_preampullary", "ampullary", "second_postampullary", "third", "fourth"
]
TreatmentAgent = Literal[
    "octreotide_lar", "octreotide", "lanreotide", "everolimus", "sunitinib", "cabozantinib",
    "lu177_dotatate", "temozolomide", "capecitabine", "fluorouracil", "oxaliplatin", "irinotecan",
    "leucovorin", "cisplatin", "carboplatin", "etoposide", "dacarbazine", "pembrolizumab",
    "nivolumab", "ipilimumab", "belzutifan", "radiotherapy",
    # regimen ids stand for their agents
    "ssa", "ssa_above_label", "capecitabine_temozolomide", "temozolomide_pm_capecitabine",
    "folfox", "capeox", "folfiri", "folfirinox", "cisplatin_etoposide", "carboplatin_etoposide",
    "cisplatin_irinotecan", "nivolumab_ipilimumab", "rt_fluoropyrimidine", "cytotoxic_chemotherapy",
    "clinical_trial",
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Tumor(_Model):
    primary_site: PrimarySite
    differentiation: Literal["well", "poor"] | None = None
    grade: Literal["G1", "G2", "G3"] | None = None
    lung_subtype: Literal["typical_carcinoid", "atypical_carcinoid"] | None = None
    ki67_percent: Percent | None = None
    mitoses_per_2mm2: NonNeg | None = None
    necrosis: Bool | None = None
    functional: Bool | None = None
    syndromes: list[
        Literal["carcinoid_syndrome", "insulinoma", "gastrinoma", "glucagonoma", "vipoma",
                "somatostatinoma", "other"]
    ] | None = None  # fmt: skip
    hormonal_symptoms: Bool | None = None
    sstr_status: Literal["positive", "negative", "unknown"] | None = None
    fdg_avid: Bool | None = None
    # extensions (docs/contract.md)
    colon_segment: ColonSegment | None = None
    duodenal_part: DuodenalPart | None = None
    proliferation_high_end: Bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Tumor:
        if self.differentiation == "poor" and self.grade in ("G1", "G2"):
            raise ValueError(
                f"grade: {self.grade} contradicts a poorly differentiated tumor (NEC is high grade)"
            )
        if self.differentiation == "poor" and self.lung_subtype is not None:
            raise ValueError(
                "lung_subtype: carcinoids are well-differentiated, but differentiation is 'poor'"
            )
        implied = {"typical_carcinoid": "G1", "atypical_carcinoid": "G2"}
        if (
            self.lung_subtype is not None
            and self.grade is not None
            and implied[self.lung_subtype] != self.grade
        ):
            raise ValueError(
                f"grade: {self.grade} contradicts {self.lung_subtype} "
                "(typical = low grade G1, atypical = intermediate G2)"
            )
        if self.lung_subtype is not None and self.primary_site not in ("lung", "thymus"):
            raise ValueError("lung_subtype: only for lung or thymus primaries")
        if self.functional is False and self.syndromes:
            raise ValueError("functional: false contradicts the hormone syndromes listed")
        if self.functional is True and self.syndromes == []:
            raise ValueError("functional: true contradicts an empty syndromes list (use 'other' if unnamed)")
        if self.functional is False and self.hormonal_symptoms is True:
            # named like the syndromes check: the tumor-level flag the recorded finding disagrees with
            raise ValueError(
                "functional: is false but hormonal_symptoms is true (symptoms from hormone excess mean a "
                "functional tumor; which of the two is wrong is unknown, so neither is guessed)"
            )
        if self.syndromes == [] and self.hormonal_symptoms is True:
            # an empty list records no hormone syndrome (a non-functional tumor, derived.functional) while
            # the finding says hormone excess: as for functional false, neither is guessed
            raise ValueError(
                "syndromes: is an empty list (no hormone syndrome) but hormonal_symptoms is true (symptoms "
                "from hormone excess mean a functional tumor; which of the two is wrong is unknown, so "
                "neither is guessed; an unnamed syndrome is listed as 'other')"
            )
        if self.colon_segment is not None and self.primary_site != "colon":
            raise ValueError("colon_segment: only for a colon primary")
        if self.duodenal_part is not None and self.primary_site != "duodenum":
            raise ValueError("duodenal_part: only for a duodenal primary")
        return self


class Disease(_Model):
    extent: Literal["localized", "locoregional", "distant_metastatic"] | None = None
    resectable: Bool | None = None
    small_bowel_mesenteric: Bool | None = None
    tumor_burden: Literal["mild", "clinically_significant", "bulky"] | None = None
    tumor_symptoms: Bool | None = None
    status: Literal["stable", "progressive", "no_evidence_of_disease"] | None = None
    # extension: the date the status was assessed (an ongoing line counts as progressing on it only when
    # progression was assessed after the line began: netcds.history.progressing_on_ongoing)
    status_date: IsoDate | None = None
    progression_clinically_significant: Bool | None = None
    biology: Literal["favorable", "unfavorable"] | None = None
    # extensions
    progression_pace: Literal["slow", "moderate", "rapid"] | None = None
    liver_metastases: Bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Disease:
        significant = self.progression_clinically_significant
        if significant is True and self.status in ("stable", "no_evidence_of_disease"):
            # named: the flag qualifies a progression that the status says is not there
            raise ValueError(
                f"progression_clinically_significant: is true but status is {self.status} (no progression "
                "to qualify; which of the two is wrong is unknown, so neither is guessed)"
            )
        return self


class Biomarkers(_Model):
    msi: Literal["high", "stable"] | None = None
    mmr: Literal["deficient", "proficient"] | None = None
    tmb_mut_per_mb: NonNeg | None = None
    germline_vhl: Bool | None = None


class Treatment(_Model):
    agent: TreatmentAgent
    start: IsoDate | None = None
    end: IsoDate | None = None
    dose_mg: Annotated[float, Strict(), Field(gt=0, le=100000)] | None = None
    interval_days: Annotated[float, Strict(), Field(gt=0, le=365)] | None = None
    best_response: Literal["CR", "PR", "SD", "PD"] | None = None
    progressed: Bool | None = None
    progression_date: IsoDate | None = None
    stop_reason: Literal["progression", "toxicity", "completed", "patient_choice", "other"] | None = None
    # extension: how progression was established
    progression_type: Literal["radiographic", "clinical", "symptomatic"] | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Treatment:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end: is before start")
        if self.progression_date and self.start and self.progression_date < self.start:
            raise ValueError("progression_date: is before start of this line")
        if (
            self.progression_date
            and self.end
            and self.stop_reason == "progression"
            and self.progression_date > self.end
        ):
            raise ValueError("progression_date: is after the end of a line stopped for progression")
        if self.progressed is False and (self.progression_date or self.stop_reason == "progression"):
            raise ValueError("progressed: is false but a progression date or stop for progression is given")
        return self


class Assessment(_Model):
    date: IsoDate
    recist_response: Literal["CR", "PR", "SD", "PD"] | None = None
    sum_of_diameters_mm: NonNeg | None = None


class Comorbidities(_Model):
    hypertension: Literal["none", "controlled", "uncontrolled"] | None = None
    recent_hemorrhage: Bool | None = None
    gi_perforation_or_fistula_history: Bool | None = None
    recent_arterial_thromboembolism: Bool | None = None
    recent_venous_thromboembolism: Bool | None = None
    hepatic_impairment: Literal["none", "mild", "moderate", "severe"] | None = None
    creatinine_clearance_ml_min: Annotated[float, Strict(), Field(ge=0, le=300)] | None = None
    proteinuria: Bool | None = None
    nephrotic_syndrome: Bool | None = None
    diabetes: Bool | None = None
    interstitial_lung_disease: Bool | None = None
    heart_failure: Bool | None = None
    lvef_percent: Percent | None = None
    qt_prolongation: Bool | None = None
    hemoglobin_g_dl: Annotated[float, Strict(), Field(ge=0, le=30)] | None = None
    platelets_per_ul: Annotated[float, Strict(), Field(ge=0, le=5_000_000)] | None = None
    neutrophils_per_ul: Annotated[float, Strict(), Field(ge=0, le=500_000)] | None = None
    alt_x_uln: Annotated[float, Strict(), Field(ge=0, le=1000)] | None = None
    ast_x_uln: Annotated[float, Strict(), Field(ge=0, le=1000)] | None = None
    bilirubin_x_uln: Annotated[float, Strict(), Field(ge=0, le=1000)] | None = None
    planned_surgery_date: IsoDate | None = None
    planned_dental_procedure_date: IsoDate | None = None
    recent_major_surgery_date: IsoDate | None = None
    wound_healed: Bool | None = None
    # extensions: whether there is one at all, so "none" can be recorded (an absent date stays unknown)
    surgery_planned: Bool | None = None
    dental_procedure_planned: Bool | None = None
    recent_major_surgery: Bool | None = None
    other: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None


class Preferences(_Model):
    route: Literal["oral", "infusion", "injection", "no_preference"] | None = None
    priority: Literal["long_term_control", "response", "fewest_visits", "lowest_toxicity"] | None = None
    travel_limit: Bool | None = None
    prrt_center_access: Bool | None = None


class Context(_Model):
    no_other_options_feasible: Bool | None = None
    no_satisfactory_alternative: Bool | None = None


#: Sections given as objects; ``null`` for one is unknown, the same as leaving it out (contract).
NULLABLE_SECTIONS = ("disease", "biomarkers", "comorbidities", "context", "preferences")


def _nullable_sections(schema: dict[str, Any]) -> None:
    """The JSON schema says what the validator accepts: each section is its object or null."""
    props = schema.get("properties", {})
    for name in NULLABLE_SECTIONS:
        prop = props.get(name)
        if isinstance(prop, dict) and "anyOf" not in prop:
            default = prop.pop("default", None)
            extra = {} if default is None else {"default": default}
            props[name] = {"anyOf": [prop, {"type": "null"}], **extra}


class Patient(_Model):
    model_config = ConfigDict(json_schema_extra=_nullable_sections)

    id: Annotated[str, Field(max_length=200)] | None = None
    age_years: Annotated[float, Strict(), Field(ge=0, le=130)] | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    weight_kg: Annotated[float, Strict(), Field(gt=0, le=500)] | None = None
    pregnant: Bool | None = None
    breastfeeding: Bool | None = None
    tumor: Tumor
    disease: Disease = Field(default_factory=Disease)
    biomarkers: Biomarkers = Field(default_factory=Biomarkers)
    treatments: list[Treatment] | None = None
    comorbidities: Comorbidities = Field(default_factory=Comorbidities)
    medications: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    context: Context = Field(default_factory=Context)
    preferences: Preferences = Field(default_factory=Preferences)
    # extensions
    as_of: IsoDate | None = None
    assessments: list[Assessment] | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_sections_unknown(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(k, ...) is None for k in NULLABLE_SECTIONS):
            return {k: ({} if k in NULLABLE_SECTIONS and v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _history_consistent(self) -> Patient:
        if self.pregnant is True and self.sex == "male":  # which of the two is wrong is unknown
            raise ValueError("pregnant: is true but sex is male")
        problems = history_problems(self)
        if problems:
            field, message = problems[0]
            raise ValueError(f"{field}: {message}")
        return self


def history_problems(patient: Patient) -> list[tuple[str, str]]:
    """Every history contradiction as ``(field, message)``, in record order."""
    problems: list[tuple[str, str]] = []
    as_of = patient.as_of
    treatments = patient.treatments or []
    for i, t in enumerate(treatments):
        where = f"treatments[{i}]"
        if as_of is not None:
            for name in ("start", "end", "progression_date"):
                value: date | None = getattr(t, name)
                if value is not None and value > as_of:
                    problems.append((f"{where}.{name}", f"is after as_of ({as_of})"))
        if t.best_response == "PD" and t.progressed is False:
            problems.append((f"{where}.best_response", "is PD but progressed is false"))
    for i, a in enumerate(treatments):
        for j in range(i + 1, len(treatments)):
            b = treatments[j]
            if a.start is None or b.start is None or a.agent != b.agent:
                continue
            a_end, b_end = a.end or date.max, b.end or date.max
            if a.start < b_end and b.start < a_end:
                problems.append(
                    (f"treatments[{j}]", f"overlaps treatments[{i}] with the same agent ({a.agent})")
                )
    problems += _procedure_problems(patient.comorbidities, as_of)
    status_date = patient.disease.status_date
    if as_of is not None and status_date is not None and status_date > as_of:
        problems.append(("disease.status_date", f"is after as_of ({as_of})"))
    seen: dict[date, int] = {}
    for i, s in enumerate(patient.assessments or []):
        if as_of is not None and s.date > as_of:
            problems.append((f"assessments[{i}].date", f"is after as_of ({as_of})"))
        if s.date in seen:
            first = (patient.assessments or [])[seen[s.date]]
            if (first.sum_of_diameters_mm, first.recist_response) != (
                s.sum_of_diameters_mm,
                s.recist_response,
            ):
                problems.append(
                    (f"assessments[{i}].date", f"same date as assessments[{seen[s.date]}] with other values")
                )
        else:
            seen[s.date] = i
    return problems


#: How far back ``comorbidities.recent_major_surgery`` looks (days before ``as_of``).
RECENT_SURGERY_DAYS = 28


def _procedure_problems(c: Comorbidities, as_of: date | None) -> list[tuple[str, str]]:
    """A procedure flag that contradicts its date (which of the two is wrong is unknown)."""
    out: list[tuple[str, str]] = []
    for flag, when in (
        ("surgery_planned", "planned_surgery_date"),
        ("dental_procedure_planned", "planned_dental_procedure_date"),
    ):
        if getattr(c, flag) is False and getattr(c, when) is not None:
            out.append((f"comorbidities.{when}", f"is given but comorbidities.{flag} is false"))
    day = c.recent_major_surgery_date
    if as_of is not None and day is not None and c.recent_major_surgery is not None and day <= as_of:
        recent = (as_of - day).days < RECENT_SURGERY_DAYS
        if recent != c.recent_major_surgery:
            within = "within" if recent else "more than"
            out.append(
                (
                    "comorbidities.recent_major_surgery",
                    f"is {str(c.recent_major_surgery).lower()} but recent_major_surgery_date is {within} "
                    f"{RECENT_SURGERY_DAYS} days before as_of ({as_of})",
                )
            )
    return out
