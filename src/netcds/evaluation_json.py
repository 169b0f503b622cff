"""An Evaluation as JSON bytes, the same bytes as ``model_dump_json`` at a third of the cost.

Three quarters of an Evaluation's JSON are its options' safety items and agent doses, and most of those
objects are shared by many patients (an agent's screen is built once per set of rule results, see
:mod:`netcds.safety.screen`). Their JSON is kept in a bounded memo keyed by the object (identity, the
object held with it so its id cannot be reused) and spliced into the options' JSON; everything else is
serialized by pydantic as usual. Shared screen objects are never changed once built, which is what makes
the memo safe; ``tests/engine/test_evaluation_json.py`` checks the bytes against ``model_dump_json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from netcds.evaluation import Evaluation, Option, RegimenDose
from netcds.memo import BoundedMemo
from netcds.safety.models import DoseResult, SafetyItem

FRAGMENT_BYTES = 8 * 1024 * 1024  # JSON kept for shared items and doses (the screen memo holds the objects)

_HEAD = ("guideline", "engine_version", "setting")  # Evaluation's fields before ``options``
# the splice relies on the field order: fail at import, not with reordered output, if the models change
assert tuple(Evaluation.model_fields)[:4] == (*_HEAD, "options")
assert tuple(Option.model_fields)[-2:] == ("safety", "dose")
assert tuple(RegimenDose.model_fields)[-1] == "agents"

_TAIL = frozenset(Evaluation.model_fields) - {*_HEAD, "options"}
_EVALUATION = Evaluation.__pydantic_serializer__
_OPTION = Option.__pydantic_serializer__
_DOSE = RegimenDose.__pydantic_serializer__
_fragments: BoundedMemo[tuple[BaseModel, bytes]] = BoundedMemo(FRAGMENT_BYTES)


def _fragment(obj: SafetyItem | DoseResult) -> bytes:
    hit = _fragments.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    raw: bytes = type(obj).__pydantic_serializer__.to_json(obj)
    _fragments.put(id(obj), (obj, raw), len(raw))
    return raw


def _dose(dose: RegimenDose | None) -> bytes:
    if dose is None:
        return b"null"
    head: bytes = _DOSE.to_json(dose, exclude={"agents"})
    return head[:-1] + b',"agents":[' + b",".join(_fragment(a) for a in dose.agents) + b"]}"


def _option(option: Option) -> bytes:
    head: bytes = _OPTION.to_json(option, exclude={"safety", "dose"})
    items = b",".join(_fragment(i) for i in option.safety)
    return head[:-1] + b',"safety":[' + items + b'],"dose":' + _dose(option.dose) + b"}"


def evaluation_json(ev: Evaluation) -> bytes:
    """``ev.model_dump_json().encode()``, with the shared parts' JSON reused."""
    head: bytes = _EVALUATION.to_json(ev, include=set(_HEAD))
    tail: bytes = _EVALUATION.to_json(ev, include=set(_TAIL))
    options = b",".join(_option(o) for o in ev.options)
    return head[:-1] + b',"options":[' + options + b"]," + tail[1:]


def fragment_stats() -> dict[str, Any]:
    """Entries, bytes, hits and misses of the fragment memo (for benchmarks and tests)."""
    return {"entries": len(_fragments), "bytes": _fragments.size, "hits": _fragments.hits,
            "misses": _fragments.misses}  # fmt: skip
