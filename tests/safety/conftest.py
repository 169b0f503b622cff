"""Fixtures for the safety tests: the bundled drug-safety knowledge and an 'all clear' patient builder."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds.patient import Patient
from netcds.safety import AgentKnowledge, load_agents

AS_OF = "2025-03-01"

# every safety-relevant fact recorded and unremarkable, so a rule fires only when a test sets its fact
CLEAR: dict[str, Any] = {
    "id": "safety-base",
    "age_years": 50,
    "sex": "female",
    "weight_kg": 70,
    "pregnant": False,
    "breastfeeding": False,
    "as_of": AS_OF,
    "tumor": {"primary_site": "pancreas", "grade": "G2", "functional": False, "syndromes": [], "fdg_avid": False},
    "disease": {"extent": "distant_metastatic", "liver_metastases": False},
    "treatments": [],
    "medications": [],
    "comorbidities": {
        "hypertension": "none", "recent_hemorrhage": False, "gi_perforation_or_fistula_history": False,
        "recent_arterial_thromboembolism": False, "recent_venous_thromboembolism": False,
        "hepatic_impairment": "none", "creatinine_clearance_ml_min": 95, "proteinuria": False,
        "nephrotic_syndrome": False, "diabetes": False, "interstitial_lung_disease": False,
        "heart_failure": False, "lvef_percent": 60, "qt_prolongation": False, "hemoglobin_g_dl": 13,
        "platelets_per_ul": 250000, "neutrophils_per_ul": 4000, "alt_x_uln": 1, "ast_x_uln": 1,
        "bilirubin_x_uln": 0.8, "wound_healed": True,
    },
}  # fmt: skip


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


def patient(over: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> Patient:
    return Patient.model_validate(merge(CLEAR if base is None else base, over or {}))


def comorb(**kw: Any) -> dict[str, Any]:
    return {"comorbidities": kw}


def meds(*names: str) -> dict[str, Any]:
    return {"medications": list(names)}


@pytest.fixture(scope="session")
def akb() -> AgentKnowledge:
    return load_agents()
