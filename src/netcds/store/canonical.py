"""Canonical JSON and its hash: the identity of a patient record or an evaluation output."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(value: BaseModel | Any) -> str:
    """Sorted keys, no whitespace, UTF-8, unknowns (None) left out: the same record gives the same text."""
    data = value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: BaseModel | Any) -> str:
    """sha256 of the canonical JSON."""
    return sha256_hex(canonical_json(value))
