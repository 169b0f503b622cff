"""The fact vocabulary: every path a condition may name, its kind, values and words.

Raw facts come from the Patient model by introspection; derived facts are
declared here. The knowledge validator checks every condition against it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from netcds.patient import AGENT_IDS, Patient


@dataclass(frozen=True)
class FactSpec:
    path: str
    kind: Literal["enum", "bool", "number", "date", "text", "list"]
    values: tuple[str, ...] = ()
    label: str = ""


DERIVED: dict[str, FactSpec] = {
    s.path: s
    for s in (
        FactSpec("derived.grade", "enum", ("G1", "G2", "G3"), "WHO grade"),
        FactSpec(
            "derived.lung_subtype", "enum", ("typical_carcinoid", "atypical_carcinoid"), "carcinoid subtype"
        ),
        FactSpec("derived.differentiation", "enum", ("well", "poor"), "differentiation"),
        FactSpec("derived.gut", "enum", ("foregut", "midgut", "hindgut"), "embryologic gut of origin"),
        FactSpec("derived.locoregional_advanced", "bool", (), "locoregional advanced (unresectable) disease"),
        FactSpec("derived.advanced", "bool", (), "locoregional advanced or distant metastatic disease"),
        FactSpec("derived.progressive", "bool", (), "progressive disease"),
        FactSpec(
            "derived.significant_progression", "bool", (), "clinically significant progression (footnote a)"
        ),
        FactSpec("derived.functional", "bool", (), "functional tumor"),
        FactSpec("derived.symptomatic", "bool", (), "symptomatic (tumor bulk or hormone excess)"),
        FactSpec("derived.burden_significant", "bool", (), "clinically significant tumor burden"),
        FactSpec("derived.small_bowel_mesenteric", "bool", (), "mesenteric small-bowel disease"),
        FactSpec("derived.sstr_status", "enum", ("positive", "negative"), "SSTR status"),
        FactSpec("derived.progressed_on_ssa", "bool", (), "progression on octreotide LAR/lanreotide"),
        FactSpec("derived.progressed_on_standard_ssa", "bool", (), "progression on standard-dose SSA"),
        FactSpec("derived.progressed_after_prior_therapy", "bool", (), "progression after prior treatment"),
        FactSpec("derived.on_ssa", "bool", (), "an octreotide LAR/lanreotide course ongoing"),
        FactSpec("derived.pregnant", "bool", (), "pregnant (a male patient is not)"),
        FactSpec("derived.breastfeeding", "bool", (), "breastfeeding (a male patient is not)"),
    )
}

LABELS: dict[str, str] = {
    "tumor.primary_site": "primary site",
    "tumor.sstr_status": "SSTR status",
    "tumor.ki67_percent": "Ki-67 (%)",
    "tumor.mitoses_per_2mm2": "mitoses per 2 mm²",
    "tumor.hormonal_symptoms": "hormonal symptoms",
    "tumor.fdg_avid": "FDG-PET avid",
    "tumor.proliferation_high_end": "Ki-67 and mitotic index at the higher end of the atypical range",
    "disease.tumor_burden": "tumor burden",
    "disease.status": "disease status",
    "biomarkers.msi": "MSI",
    "biomarkers.mmr": "MMR",
    "biomarkers.tmb_mut_per_mb": "TMB (mut/Mb)",
    "biomarkers.germline_vhl": "germline VHL alteration",
    "context.no_other_options_feasible": "no other options feasible (MDT judgement)",
    "context.no_satisfactory_alternative": "no satisfactory alternative treatment",
}


def unwrap(tp: Any) -> Any:
    """Strip Optional / Annotated wrappers."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _walk(model: type[BaseModel], prefix: str, out: dict[str, FactSpec]) -> None:
    import datetime

    for name, f in model.model_fields.items():
        path = prefix + name
        tp = unwrap(f.annotation)
        label = LABELS.get(path, name.replace("_", " "))
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            _walk(tp, path + ".", out)
        elif get_origin(tp) is Literal:
            vals = tuple(str(v) for v in get_args(tp))
            out[path] = FactSpec(path, "enum", vals, label)
        elif tp is bool:
            out[path] = FactSpec(path, "bool", (), label)
        elif tp in (float, int):
            out[path] = FactSpec(path, "number", (), label)
        elif tp is datetime.date:
            out[path] = FactSpec(path, "date", (), label)
        elif get_origin(tp) is list:
            inner = unwrap(get_args(tp)[0])
            vals = tuple(str(v) for v in get_args(inner)) if get_origin(inner) is Literal else ()
            out[path] = FactSpec(path, "list", vals, label)
        else:
            out[path] = FactSpec(path, "text", (), label)


@cache
def fact_specs() -> dict[str, FactSpec]:
    out: dict[str, FactSpec] = {}
    _walk(Patient, "", out)
    out.update(DERIVED)
    return out


def label(path: str) -> str:
    spec = fact_specs().get(path)
    return spec.label if spec and spec.label else path.rsplit(".", 1)[-1].replace("_", " ")


KNOWN_AGENTS = frozenset(AGENT_IDS)
