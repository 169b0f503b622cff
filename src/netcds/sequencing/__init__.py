"""Sequencing: treatment history, pace of progression, considerations, discussion order, what-if.

Public API::

    from netcds.sequencing import annotate, what_if, parse_assignment, render_timeline
    seq = annotate(evaluation, patient, build_facts(patient))
    validate_knowledge()    # `netcds kb validate`: a summary line, or KnowledgeError listing every problem

Names are loaded on first use (PEP 562), so ``netcds.evaluation`` may import
``netcds.sequencing.models`` (which needs ``netcds.evaluation.SourceRef``)
without an import cycle through the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "STATEMENT": "annotation",
    "annotate": "annotation",
    "SequencingData": "data",
    "load_sequencing_data": "data",
    "build_lines": "lines",
    "Consideration": "models",
    "LineOfTherapy": "models",
    "OptionHistory": "models",
    "OptionSequencing": "models",
    "ProgressionPace": "models",
    "SequencingResult": "models",
    "WhatIfResult": "models",
    "progression_pace": "pace",
    "render_timeline": "timeline",
    "history_problems": "validation",
    "parse_assignment": "whatif",
    "validate_knowledge": "checks",
    "what_if": "whatif",
}

__all__ = [
    "STATEMENT",
    "Consideration",
    "LineOfTherapy",
    "OptionHistory",
    "OptionSequencing",
    "ProgressionPace",
    "SequencingData",
    "SequencingResult",
    "WhatIfResult",
    "annotate",
    "build_lines",
    "history_problems",
    "load_sequencing_data",
    "parse_assignment",
    "progression_pace",
    "render_timeline",
    "validate_knowledge",
    "what_if",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'netcds.sequencing' has no attribute '{name}'")
    return getattr(import_module(f"netcds.sequencing.{module}"), name)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from netcds.sequencing.annotation import STATEMENT, annotate
    from netcds.sequencing.checks import validate_knowledge
    from netcds.sequencing.data import SequencingData, load_sequencing_data
    from netcds.sequencing.lines import build_lines
    from netcds.sequencing.models import (
        Consideration,
        LineOfTherapy,
        OptionHistory,
        OptionSequencing,
        ProgressionPace,
        SequencingResult,
        WhatIfResult,
    )
    from netcds.sequencing.pace import progression_pace
    from netcds.sequencing.timeline import render_timeline
    from netcds.sequencing.validation import history_problems
    from netcds.sequencing.whatif import parse_assignment, what_if
