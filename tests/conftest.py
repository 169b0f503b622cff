"""Shared fixtures: the bundled knowledge and small builders for patients and evaluations."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds import Evaluation, Patient, evaluate, load_knowledge
from netcds.evaluation import Option
from netcds.knowledge import Knowledge
from tests.postgres_plugin import postgres, postgres_url  # noqa: F401 -- the PostgreSQL fixtures, for every test


@pytest.fixture(scope="session")
def kb() -> Knowledge:
    return load_knowledge()


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``; a value of ... deletes the key."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is ...:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def built(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a builder's ``base``, leaving out a default of the base that the override
    contradicts (docs/contract.md, contradictions): a base's ``functional: false`` when the override says
    ``hormonal_symptoms: true``, its ``progression_clinically_significant: true`` when the override makes
    the status stable or no evidence of disease. A value the caller gives is never left out."""
    out = merge(base, over)
    tumor, disease = out.get("tumor"), out.get("disease")
    said_tumor = over.get("tumor") if isinstance(over.get("tumor"), dict) else {}
    said_disease = over.get("disease") if isinstance(over.get("disease"), dict) else {}
    if (
        isinstance(tumor, dict)
        and "functional" not in said_tumor
        and tumor.get("functional") is False
        and tumor.get("hormonal_symptoms") is True
    ):
        del tumor["functional"]
    if (
        isinstance(disease, dict)
        and "progression_clinically_significant" not in said_disease
        and disease.get("progression_clinically_significant") is True
        and disease.get("status") in ("stable", "no_evidence_of_disease")
    ):
        del disease["progression_clinically_significant"]
    return out


SSA_PROGRESSED = [
    {
        "agent": "octreotide_lar",
        "dose_mg": 30,
        "interval_days": 28,
        "start": "2023-01-01",
        "end": "2024-06-01",
        "progressed": True,
        "stop_reason": "progression",
    }
]


def gi(**over: Any) -> dict[str, Any]:
    """A metastatic ileal WD G2 NET, non-functional, SSTR-positive, progressive after SSA."""
    base = {
        "id": "t-gi",
        "tumor": {
            "primary_site": "ileum",
            "differentiation": "well",
            "grade": "G2",
            "ki67_percent": 8,
            "functional": False,
            "sstr_status": "positive",
        },
        "disease": {
            "extent": "distant_metastatic",
            "tumor_burden": "clinically_significant",
            "status": "progressive",
            "progression_clinically_significant": True,
        },
        "treatments": SSA_PROGRESSED,
        "context": {"no_other_options_feasible": False, "no_satisfactory_alternative": False},
    }
    return built(base, over)


def lung(**over: Any) -> dict[str, Any]:
    base = {
        "id": "t-lung",
        "tumor": {
            "primary_site": "lung",
            "lung_subtype": "atypical_carcinoid",
            "functional": False,
            "sstr_status": "positive",
            "hormonal_symptoms": False,
            "proliferation_high_end": True,
        },
        "disease": {
            "extent": "distant_metastatic",
            "tumor_burden": "clinically_significant",
            "status": "progressive",
            "progression_clinically_significant": True,
        },
        "treatments": SSA_PROGRESSED,
    }
    return built(base, over)


def pancreas(**over: Any) -> dict[str, Any]:
    base = {
        "id": "t-pan",
        "tumor": {
            "primary_site": "pancreas",
            "differentiation": "well",
            "grade": "G2",
            "ki67_percent": 12,
            "functional": False,
            "sstr_status": "positive",
            "hormonal_symptoms": False,
        },
        "disease": {
            "extent": "distant_metastatic",
            "tumor_burden": "clinically_significant",
            "tumor_symptoms": False,
            "status": "progressive",
            "progression_clinically_significant": True,
        },
        "biomarkers": {"germline_vhl": False},
        "treatments": SSA_PROGRESSED,
    }
    return built(base, over)


def g3(**over: Any) -> dict[str, Any]:
    base = {
        "id": "t-g3",
        "tumor": {
            "primary_site": "pancreas",
            "differentiation": "well",
            "grade": "G3",
            "ki67_percent": 35,
            "functional": False,
            "sstr_status": "positive",
            "hormonal_symptoms": False,
            "fdg_avid": False,
        },
        "disease": {
            "extent": "distant_metastatic",
            # the favorable column is for unresectable disease (5.2024-r8)
            "resectable": False,
            "tumor_burden": "clinically_significant",
            "status": "progressive",
            "biology": "favorable",
            "progression_clinically_significant": True,
        },
        "biomarkers": {"msi": "stable", "mmr": "proficient", "tmb_mut_per_mb": 2},
        "treatments": SSA_PROGRESSED,
        "context": {"no_satisfactory_alternative": True},
    }
    return built(base, over)


def run(record: dict[str, Any], kb: Knowledge | None = None) -> Evaluation:
    return evaluate(Patient.model_validate(record), kb or load_knowledge())


def opt(ev: Evaluation, entry_id: str) -> Option:
    found = [o for o in ev.options if o.entry_id == entry_id]
    assert len(found) == 1, f"{entry_id} not in {[o.entry_id for o in ev.options]}"
    return found[0]
