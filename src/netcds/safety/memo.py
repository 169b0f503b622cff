"""A bounded, thread-safe memo of agent screens, shared by every patient screened with one knowledge set.

An agent's items and dose are a pure function of its monograph, the dose variant and the results of
the monograph's rule conditions (:func:`netcds.safety.screen.rule_signature`): a rule that is false adds
nothing, so two patients whose rules come out the same (same truth values, same decisive facts in the
same words) get the same items. The conditions are still evaluated for every patient; only building
the items and the dose is shared. Entries are immutable once stored (tuples of validated models).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    """Least-recently-used map of at most ``capacity`` entries (0 = keep nothing)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, value: V) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
