"""The JSON reader's nesting limit and the service's random ids."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcds import ids
from netcds.errors import InputError
from netcds.io import MAX_DEPTH, parse_json

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


def nesting(value: Any) -> int:
    """Reference: a scalar is 1 level, a container one more than its deepest member (empty: 1)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 1


def wrapped(value: Any, levels: int) -> Any:
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


@settings(max_examples=400, deadline=None)
@given(JSON, st.integers(0, MAX_DEPTH + 3))
def test_bodies_up_to_the_limit_parse_and_deeper_ones_are_refused(inner: Any, extra: int) -> None:
    value = wrapped(inner, extra)
    text = json.dumps(value)
    if nesting(value) <= MAX_DEPTH:
        assert parse_json(text) == value
    else:
        with pytest.raises(InputError, match="nested deeper"):
            parse_json(text)


def test_the_limit_is_exact() -> None:
    at = wrapped(1, MAX_DEPTH - 1)  # MAX_DEPTH - 1 containers around a scalar
    assert nesting(at) == MAX_DEPTH and parse_json(json.dumps(at)) == at
    with pytest.raises(InputError):
        parse_json(json.dumps([at]))
    assert parse_json(json.dumps(wrapped([], MAX_DEPTH - 1))) is not None  # an empty list is one level


def test_ids_are_version_4_uuids_and_never_repeat() -> None:
    made = [ids.uuid4() for _ in range(3 * ids.BLOCK_BYTES // 16)]  # crosses two block refills
    assert len(set(made)) == len(made)
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)
    assert uuid.UUID(ids.new_id()).version == 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    ids.uuid4()  # the parent holds a partly used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next id and leave at once
        os.write(write, ids.new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert child != ids.new_id()
