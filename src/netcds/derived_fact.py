"""One derived fact: its value (``None``: unknown), the reason in words and, when unknown, the fields
that would settle it and, where known, the values it lies among (``among``: a lung carcinoid with
fewer than 2 mitoses/2 mm² and necrosis not recorded is typical or atypical; a condition true, or
false, for each of them is decided: logic/evaluate.py, and in SQL cohort/derived_sql.py ``among``).

Made by :mod:`netcds.facts` (which computes every ``derived.*`` fact) and :mod:`netcds.grading` (the
grade, carcinoid subtype and differentiation); imported from :mod:`netcds.facts` by its readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Derived:
    value: Any
    why: str
    missing: tuple[str, ...] = ()
    among: tuple[Any, ...] = ()  # when unknown: the values it is known to lie among (empty: any)
    # when known: the recorded fields that decided it, which a safety item names in place of the fact's own
    # name (empty: the name; safety/condition_eval.py); e.g. ``pregnant`` for a recorded pregnancy
    basis: tuple[str, ...] = ()
