"""A loaded guideline version as JSON data: the tables as the knowledge files state them.

Conditions are written back in their file form (``{all: [...]}``, ``{fact, eq}``,
``{received: [...]}``) with their ``says`` wording, so a reader sees exactly the
rule the engine applies.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import All, AnyOf, Compare, History, Not


def condition_data(c: Any) -> Any:
    out: dict[str, Any]
    if isinstance(c, All):
        out = {"all": [condition_data(i) for i in c.items]}
    elif isinstance(c, AnyOf):
        out = {"any": [condition_data(i) for i in c.items]}
    elif isinstance(c, Not):
        out = {"not": condition_data(c.item)}
    elif isinstance(c, Compare):
        value = list(c.value) if isinstance(c.value, tuple) else c.value
        out = {"fact": c.fact, c.op: value}
    elif isinstance(c, History):
        out = {c.op: list(c.named)}
    else:
        return data(c)
    if c.says:
        out["says"] = c.says
    return out


def data(value: Any) -> Any:
    """Knowledge models -> JSON-able data, conditions in their file form, None left out."""
    if isinstance(value, All | AnyOf | Not | Compare | History):
        return condition_data(value)
    if isinstance(value, BaseModel):
        out = {}
        for name in type(value).model_fields:
            v = getattr(value, name)
            if v is None or v == [] or v == {}:
                continue
            out[name] = data(v)
        return out
    if isinstance(value, dict):
        return {str(k): data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def knowledge_document(kb: Knowledge) -> dict[str, Any]:
    doc = data(kb)
    assert isinstance(doc, dict)
    return {"id": kb.id, "version": kb.version, "release": kb.release, **doc}
