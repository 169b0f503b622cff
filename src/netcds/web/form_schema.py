"""The patient form's fields, read from the Patient model, and their layout as a clinician reads a case.

Every leaf of the contract becomes one control named by its dotted path
(``tumor.ki67_percent``, ``treatments[0].end``), so an ``InputError.field`` or a
validation error path names the control directly. Fields the layout below does
not place are still shown, in a last group, so a new contract field can never be
missing from the form.
"""

from __future__ import annotations

import datetime
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from netcds.patient import Patient
from netcds.web.labels import field_label, value_label

Kind = Literal["enum", "bool", "number", "date", "text", "multi", "lines"]


@dataclass(frozen=True)
class FieldDef:
    path: str  # "tumor.ki67_percent" or, for row fields, "treatments[].end"
    kind: Kind
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    hint: str = ""
    none_label: str = ""  # a "lines" list: the label of its known-none box (the list known to be empty)

    @property
    def leaf(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def name(self, index: int | None = None) -> str:
        return self.path.replace("[]", f"[{index}]") if index is not None else self.path

    def control_id(self, index: int | None = None) -> str:
        return "f-" + self.name(index).replace(".", "-").replace("[", "-").replace("]", "")


@dataclass(frozen=True)
class RowGroup:
    path: str  # "treatments"
    title: str
    item_title: str
    fields: tuple[FieldDef, ...]
    add_label: str
    none_label: str = ""  # the label of the group's known-none box ([] recorded: known to be none)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str = ""
    fields: tuple[FieldDef, ...] = ()
    rows: RowGroup | None = None


@dataclass(frozen=True)
class FormSchema:
    sections: tuple[Section, ...]
    fields: dict[str, FieldDef] = field(default_factory=dict)  # scalar/list paths
    rows: dict[str, RowGroup] = field(default_factory=dict)


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """Remove Optional/Annotated; return the bare type and the metadata found on the way."""
    meta: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            args = get_args(tp)
            for m in args[1:]:
                meta.extend(getattr(m, "metadata", None) or [m])
            tp = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, meta
            tp = members[0]
        else:
            return tp, meta


def _bounds(meta: list[Any]) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in meta:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                lo = float(getattr(m, attr))
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                hi = float(getattr(m, attr))
    return lo, hi


def _leaf(path: str, annotation: Any, required: bool) -> FieldDef | None:
    tp, meta = _strip(annotation)
    label = field_label(path)
    if get_origin(tp) is Literal:
        values = tuple(str(v) for v in get_args(tp))
        return FieldDef(path, "enum", label, tuple((v, value_label(v)) for v in values), required=required)
    if tp is bool:
        return FieldDef(path, "bool", label, required=required)
    if tp in (float, int):
        lo, hi = _bounds(meta)
        return FieldDef(path, "number", label, minimum=lo, maximum=hi, required=required)
    if tp is datetime.date:
        return FieldDef(path, "date", label, required=required, hint="YYYY-MM-DD")
    if get_origin(tp) is list:
        inner, _ = _strip(get_args(tp)[0])
        if get_origin(inner) is Literal:
            values = tuple(str(v) for v in get_args(inner))
            return FieldDef(path, "multi", label, tuple((v, value_label(v)) for v in values))
        return FieldDef(path, "lines", label, none_label=none_label(path))
    if tp is str:
        return FieldDef(path, "text", label, required=required)
    return None


def walk(model: type[BaseModel], prefix: str = "") -> tuple[list[FieldDef], dict[str, list[FieldDef]]]:
    """Scalar/list leaves of ``model`` and, per list-of-records field, that record's leaves."""
    leaves: list[FieldDef] = []
    rows: dict[str, list[FieldDef]] = {}
    for name, info in model.model_fields.items():
        path = prefix + name
        tp, _ = _strip(info.annotation)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            sub, sub_rows = walk(tp, path + ".")
            leaves += sub
            rows.update(sub_rows)
            continue
        if get_origin(tp) is list:
            inner, _ = _strip(get_args(tp)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                row_fields: list[FieldDef] = []
                for rname, rinfo in inner.model_fields.items():
                    leaf = _leaf(f"{path}[].{rname}", rinfo.annotation, rinfo.is_required())
                    if leaf is not None:
                        row_fields.append(leaf)
                rows[path] = row_fields
                continue
        leaf = _leaf(path, info.annotation, info.is_required())
        if leaf is not None:
            leaves.append(leaf)
    return leaves, rows


LAYOUT: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("patient", "Patient", "", ("id", "age_years", "sex", "weight_kg", "pregnant", "breastfeeding", "as_of")),
    (
        "pathology",
        "Tumor: site and pathology",
        "Leave a control blank when the fact is not known: unknown is never read as no or negative.",
        (
            "tumor.primary_site",
            "tumor.colon_segment",
            "tumor.duodenal_part",
            "tumor.differentiation",
            "tumor.grade",
            "tumor.lung_subtype",
            "tumor.ki67_percent",
            "tumor.mitoses_per_2mm2",
            "tumor.necrosis",
            "tumor.proliferation_high_end",
        ),
    ),
    (
        "function",
        "Tumor: hormone function and imaging",
        "",
        (
            "tumor.functional",
            "tumor.syndromes",
            "tumor.hormonal_symptoms",
            "tumor.sstr_status",
            "tumor.fdg_avid",
        ),
    ),
    (
        "disease",
        "Disease extent and course",
        "",
        (
            "disease.extent",
            "disease.resectable",
            "disease.small_bowel_mesenteric",
            "disease.liver_metastases",
            "disease.tumor_burden",
            "disease.tumor_symptoms",
            "disease.status",
            "disease.status_date",
            "disease.progression_clinically_significant",
            "disease.progression_pace",
            "disease.biology",
        ),
    ),
    (
        "biomarkers",
        "Biomarkers",
        "",
        ("biomarkers.msi", "biomarkers.mmr", "biomarkers.tmb_mut_per_mb", "biomarkers.germline_vhl"),
    ),
    (
        "treatments",
        "Treatment history (systemic therapy)",
        "One row per treatment course; a regimen id stands for its agents. A row with no agent is ignored.",
        ("@treatments",),
    ),
    (
        "assessments",
        "Tumor assessments",
        "Dated RECIST readings; two sums of diameters let the pace of progression be computed.",
        ("@assessments",),
    ),
    (
        "comorbidities",
        "Comorbidities and laboratory values",
        "Used by the safety screen; they never change guideline eligibility.",
        (
            "comorbidities.hypertension",
            "comorbidities.hepatic_impairment",
            "comorbidities.creatinine_clearance_ml_min",
            "comorbidities.proteinuria",
            "comorbidities.nephrotic_syndrome",
            "comorbidities.diabetes",
            "comorbidities.heart_failure",
            "comorbidities.lvef_percent",
            "comorbidities.qt_prolongation",
            "comorbidities.interstitial_lung_disease",
            "comorbidities.recent_hemorrhage",
            "comorbidities.gi_perforation_or_fistula_history",
            "comorbidities.recent_arterial_thromboembolism",
            "comorbidities.recent_venous_thromboembolism",
            "comorbidities.hemoglobin_g_dl",
            "comorbidities.platelets_per_ul",
            "comorbidities.neutrophils_per_ul",
            "comorbidities.alt_x_uln",
            "comorbidities.ast_x_uln",
            "comorbidities.bilirubin_x_uln",
            "comorbidities.recent_major_surgery",
            "comorbidities.recent_major_surgery_date",
            "comorbidities.wound_healed",
            "comorbidities.surgery_planned",
            "comorbidities.planned_surgery_date",
            "comorbidities.dental_procedure_planned",
            "comorbidities.planned_dental_procedure_date",
            "comorbidities.other",
        ),
    ),
    (
        "medications",
        "Concomitant medications",
        "Screened for interactions with each option's agents.",
        ("medications",),
    ),
    (
        "context",
        "Multidisciplinary context",
        "",
        ("context.no_other_options_feasible", "context.no_satisfactory_alternative"),
    ),
    (
        "preferences",
        "Patient preferences",
        "Shape the discussion order within a tier; never the tiers.",
        (
            "preferences.route",
            "preferences.priority",
            "preferences.travel_limit",
            "preferences.prrt_center_access",
        ),
    ),
)
# A list left blank is unknown (null); its "None" box records the list as known to be empty ([]): a
# treatment history known to be none makes the history predicates false instead of needs_data
# (docs/contract.md), an empty medication list lets the interaction screen run.
NONE_LABELS = {
    "treatments": "None (known: no prior systemic treatments)",
    "assessments": "None (known: no tumor assessments)",
    "medications": "None (known: no concomitant medications)",
    "comorbidities.other": "None (known: no other comorbidities)",
}


def none_label(path: str) -> str:
    """The label of the known-none box of list ``path`` (any list field has one)."""
    return NONE_LABELS.get(path, "None (known: the list is empty)")


ROW_TITLES = {
    "treatments": ("Treatment", "Add treatment row"),
    "assessments": ("Assessment", "Add assessment row"),
}


@cache
def form_schema() -> FormSchema:
    leaves, row_defs = walk(Patient)
    by_path = {f.path: f for f in leaves}
    placed: set[str] = set()
    sections: list[Section] = []
    rows: dict[str, RowGroup] = {}
    for sid, title, intro, paths in LAYOUT:
        if paths and paths[0].startswith("@"):
            rpath = paths[0][1:]
            if rpath not in row_defs:
                continue
            item, add = ROW_TITLES.get(rpath, (rpath.capitalize(), f"Add {rpath} row"))
            group = RowGroup(rpath, title, item, tuple(row_defs[rpath]), add, none_label(rpath))
            rows[rpath] = group
            placed.add(rpath)
            sections.append(Section(sid, title, intro, rows=group))
            continue
        fields = tuple(by_path[p] for p in paths if p in by_path)
        placed.update(f.path for f in fields)
        sections.append(Section(sid, title, intro, fields=fields))
    rest = tuple(f for f in leaves if f.path not in placed)
    for rpath, defs in row_defs.items():
        if rpath not in placed:  # a new list-of-records field: still editable
            item, add = ROW_TITLES.get(rpath, (rpath.capitalize(), f"Add {rpath} row"))
            group = RowGroup(rpath, rpath.capitalize(), item, tuple(defs), add, none_label(rpath))
            rows[rpath] = group
            sections.append(Section(rpath, rpath.capitalize(), rows=group))
    if rest:
        sections.append(Section("other", "Other recorded facts", fields=rest))
    return FormSchema(sections=tuple(sections), fields=by_path, rows=rows)
