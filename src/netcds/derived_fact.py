"""One derived fact: its value (``None``: unknown), the reason in words and, when unknown, the fields
that would settle it.

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
