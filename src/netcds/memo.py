"""A bounded, thread-safe memo for deterministic work over immutable, loaded knowledge.

Used for agent screens shared by patients whose rule results agree (:mod:`netcds.safety.screen`), for
the rule results themselves, shared by patients whose rule inputs agree (:mod:`netcds.safety.rule_inputs`),
and for FHIR resources already validated (:mod:`netcds.fhir.read`). Entries must be immutable once stored.
:class:`PerObject` keeps what is derived from one loaded object (a monograph's leaves, the sequencing
data's lookups).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(Generic[V]):
    """Least-recently-used map whose entries' weights (1 each unless given, e.g. bytes) add up to at most
    ``capacity`` (0 = keep nothing; an entry heavier than the whole capacity is not kept)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0  # the total weight kept
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, value: V, weight: int = 1) -> None:
        if weight > self.capacity:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._items[key] = (value, weight)
            self.size += weight
            while self.size > self.capacity:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def __len__(self) -> int:
        return len(self._items)


class PerObject(Generic[K, V]):
    """``build(obj)`` once per object: for what is derived from a loaded object that never changes (kept by
    identity, so a copy such as ``model_copy(update=...)`` is another object and gets its own). A value
    may be built twice by two threads at once; both are equal and either is kept."""

    def __init__(self, build: Callable[[K], V]) -> None:
        self._build = build
        self._kept: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        hit = self._kept.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = self._kept[id(obj)] = (obj, self._build(obj))
        return hit[1]
