"""The service's access to the FHIR mapping and the safety layer, kept in one place.

Both are imported lazily so the service runs (and says 501 for the endpoints that
need them) when a layer is absent; their results are turned into plain data here.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from netcds.api.problems import ApiProblem
from netcds.fhir.cards import AgentScreenView
from netcds.patient import Patient


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def plain(value: Any) -> Any:
    """A pydantic model, dataclass or mapping as JSON-able data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# FHIR mapping -----------------------------------------------------------------------------------------
def _mcode() -> ModuleType:
    mod = _module("netcds.fhir.mcode")
    if mod is None:
        raise ApiProblem(
            501, "the FHIR mapping layer (netcds.fhir.mcode) is not installed", kind="not-available"
        )
    return mod


def bundle_to_patient(bundle: dict[str, Any], as_of: date | None) -> tuple[Patient, dict[str, Any]]:
    patient, report = _mcode().bundle_to_patient(bundle, as_of)
    return patient, plain(report)


def prefetch_to_patient(
    prefetch: dict[str, Any],
    as_of: date | None,
    templates: Mapping[str, str] | None = None,
    *,
    require_neuroendocrine: bool = False,
) -> tuple[Patient, dict[str, Any]]:
    patient, report = _mcode().prefetch_to_patient(
        prefetch, as_of, templates, require_neuroendocrine=require_neuroendocrine
    )
    return patient, plain(report)


def mapping_available() -> bool:
    return _module("netcds.fhir.mcode") is not None


# safety -------------------------------------------------------------------------------------------------
def safety_available() -> bool:
    return _module("netcds.safety") is not None


@cache
def _agents() -> Any:
    mod = _module("netcds.safety")
    if mod is None:
        raise ApiProblem(501, "the safety layer (netcds.safety) is not installed", kind="not-available")
    return mod.load_agents()


def _agent_map(agents: Any) -> Mapping[str, Any]:
    if isinstance(agents, Mapping):
        return agents
    inner = getattr(agents, "agents", None)
    if isinstance(inner, Mapping):
        return inner
    if isinstance(inner, list | tuple) or isinstance(agents, list | tuple):
        items = inner if isinstance(inner, list | tuple) else agents
        return {str(getattr(a, "id", None) or getattr(a, "agent", None)): a for a in items}
    raise TypeError("netcds.safety.load_agents() returned an unexpected shape")


def agent_ids() -> list[str]:
    return sorted(_agent_map(_agents()))


def monograph(agent_id: str) -> dict[str, Any] | None:
    """The agent's monograph as authored (``raw`` of the safety knowledge when it keeps one), plus its
    ``interactions``: each monograph rule a medication triggers, with the classes and medications it
    names and their sources from the interaction lists."""
    agents = _agents()
    found = _agent_map(agents).get(agent_id)
    if found is None:
        return None
    raw = getattr(agents, "raw", None)
    data = plain(raw[agent_id]) if isinstance(raw, Mapping) and agent_id in raw else plain(found)
    if not isinstance(data, dict):
        return {"agent": agent_id, "data": data}
    if "interactions" not in data:  # added member: the monograph's rules a medication triggers
        interactions = _interactions(agents, agent_id)
        if interactions is not None:
            data["interactions"] = interactions
    return data


def _interactions(agents: Any, agent_id: str) -> list[Any] | None:
    """The agent's interactions with their sources (netcds.safety.agent_interactions), when available."""
    mod = _module("netcds.safety.agent_interactions")
    if mod is None or not hasattr(agents, "drugs"):
        return None
    found = plain(mod.agent_interactions(agents, agent_id))
    return found if isinstance(found, list) else None


@cache
def rxnorm_codes() -> dict[str, str]:
    """RxNorm ingredient code -> agent id: the FHIR layer's verified code table, plus codes the safety
    monographs list (``rxnorm``/``rxnorm_codes``/``rxcui``) when they list any."""
    out: dict[str, str] = {}
    codes_mod = _module("netcds.fhir.codes")
    for a in getattr(codes_mod, "AGENTS", ()) if codes_mod else ():
        if getattr(a, "rxcui", None) and getattr(a, "agent", None):
            out[str(a.rxcui)] = str(a.agent)
    if not safety_available():
        return out
    for agent_id, mono in _agent_map(_agents()).items():
        data = plain(mono)
        if not isinstance(data, dict):
            continue
        for key in ("rxnorm", "rxnorm_codes", "rxcui"):
            codes = data.get(key)
            if isinstance(codes, str | int):
                codes = [codes]
            for c in codes or []:
                out[str(c)] = agent_id
    return out


def screen(agent_id: str, patient: Patient) -> AgentScreenView | None:
    """The safety layer's screen of one agent for one patient, or None when the agent is not tabled."""
    mod = _module("netcds.safety")
    if mod is None:
        return None
    agents = _agents()
    mono = _agent_map(agents).get(agent_id)
    if mono is None:
        return None
    view = AgentScreenView.from_screen(agent_id, mod.screen_agent(agent_id, patient, agents))
    return view.with_label_dose(**label_dose(mono))


def _mg(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def label_dose(mono: Any) -> dict[str, Any]:
    """The monograph's flat standard dose and highest labelled amount, in mg (None unless the dose is a
    flat amount in mg), and its schedule in words: what an order's dose is checked against."""
    dose = getattr(mono, "dose", None)
    in_mg = getattr(dose, "unit", None) == "mg"
    schedule = getattr(dose, "schedule", None)
    return {
        "standard_mg": _mg(getattr(dose, "amount", None)) if in_mg else None,
        "maximum_mg": _mg(getattr(dose, "maximum", None)) if in_mg else None,
        "schedule": schedule if isinstance(schedule, str) else None,
    }
