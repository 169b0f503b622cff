"""Option facts from the regimen's practical attributes in the data file's ``regimens``.

``opt.route``, ``opt.route_matches_preference`` and ``opt.lab_monitoring`` are read from the
regimen's entry. An attribute the data file does not encode (no entry, or the attribute left out,
e.g. for a choice of agents whose routes differ) is *unknown*, never "no": the fact names it as
``sequencing data: regimens.<id>.<attribute>``, so a rule that needs it is listed under the option's
``considerations_not_assessed`` instead of being read as no concern.
"""

from __future__ import annotations

from netcds.evaluation import Option
from netcds.facts import Derived, Facts
from netcds.sequencing.data import SequencingData

REGIMEN_FACTS = frozenset({"opt.route", "opt.route_matches_preference", "opt.lab_monitoring"})


def regimen_field(regimen: str, attribute: str) -> str:
    """How an unknown regimen attribute is named among the fields not assessed."""
    return f"sequencing data: regimens.{regimen}.{attribute}"


def regimen_facts(option: Option, facts: Facts, data: SequencingData) -> dict[str, Derived]:
    """The option's practical facts, each unknown (and named) where the data file does not encode it."""
    reg = option.regimen
    info = data.regimens.get(reg)
    why = (info.note if info is not None else None) or "not in the sequencing data"
    route = data.route_of(reg)
    route_field = (regimen_field(reg, "route"),)
    out: dict[str, Derived] = {}
    if route is None:
        out["opt.route"] = Derived(None, f"route of {option.label} not encoded ({why})", route_field)
    else:
        out["opt.route"] = Derived(route, f"{option.label} is given {route}")
    pref = facts.patient.preferences.route
    if pref == "no_preference":
        out["opt.route_matches_preference"] = Derived(None, "no route preference")
    elif pref is None:
        need = ("preferences.route", *(route_field if route is None else ()))
        out["opt.route_matches_preference"] = Derived(None, "route preference not recorded", need)
    elif route is None:
        out["opt.route_matches_preference"] = Derived(
            None, f"prefers {pref}; route of {option.label} not encoded ({why})", route_field
        )
    else:
        out["opt.route_matches_preference"] = Derived(
            route == pref, f"prefers {pref}; {option.label} is {route}"
        )
    monitoring = data.lab_monitoring_of(reg)
    if monitoring is None:
        out["opt.lab_monitoring"] = Derived(
            None,
            f"monitoring during treatment not encoded for {option.label} ({why})",
            (regimen_field(reg, "lab_monitoring"),),
        )
    else:
        out["opt.lab_monitoring"] = Derived(
            monitoring,
            "regular checks during treatment (label)"
            if monitoring
            else "no regular checks during treatment (label)",
        )
    return out
