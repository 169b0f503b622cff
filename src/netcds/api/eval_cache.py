"""An in-memory LRU of deterministic work the service would otherwise repeat for the same input.

The engine is deterministic (same input and knowledge = same output, no clock, no randomness), and so
are the FHIR mapping and the card builder. An EHR opens the same chart many times a day, so the
service keeps, for recent inputs:

- ``evaluation``: the Evaluation (object and JSON bytes), keyed by the sha256 of the canonical patient
  JSON, the guideline id, version and content digest, and the engine version;
- ``mapping``: the contract Patient (and mapping report) a hook's prefetch maps to, keyed by the sha256
  of the canonical prefetch JSON and the as-of date;
- ``cards``: the patient-view cards for an evaluation (the per-call explanation link is set afterwards).

Nothing here changes what is stored: every call still writes its own audit entry (and, for hooks, its
own evaluation record). The cache lives in one process and is empty after a restart. Bounded in bytes
(``server.eval_cache_mb``; 0 = off); an entry's size is an estimate (JSON bytes x a factor for the
Python objects, measured at ~1.6x for an Evaluation).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from netcds import __version__
from netcds.evaluation import Evaluation
from netcds.knowledge.schema import Knowledge

CacheKey = tuple[str, ...]
V = TypeVar("V")
OBJECT_FACTOR = 2  # Python objects per JSON byte, rounded up


class CachedEvaluation(NamedTuple):
    evaluation: Evaluation
    body: bytes
    output_hash: str  # sha256 of ``body`` (the stored output's identity)


def cache_key(input_hash: str, kb: Knowledge) -> CacheKey:
    return ("evaluation", input_hash, kb.id, kb.version, kb.digest or "", __version__)


class EvaluationCache:
    """Thread-safe (views run in worker threads) byte-bounded LRU: key -> value with a size estimate."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[CacheKey, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: CacheKey) -> Any | None:
        if not self.enabled:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: CacheKey, value: Any, size: int) -> None:
        if not self.enabled or size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._items[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def memo(
        self, key: CacheKey, kind: type[V], compute: Callable[[], V | None], size: Callable[[V], int]
    ) -> V | None:
        """The cached ``kind`` under ``key``, else ``compute()`` (kept unless None, at ``size(value)``)."""
        found = self.get(key)
        if isinstance(found, kind):
            return found
        value = compute()
        if value is not None:
            self.put(key, value, size(value))
        return value

    def evaluation(self, key: CacheKey) -> CachedEvaluation | None:
        found = self.get(key)
        return found if isinstance(found, CachedEvaluation) else None

    def put_evaluation(self, key: CacheKey, value: CachedEvaluation) -> None:
        self.put(key, value, len(value.body) * (1 + OBJECT_FACTOR))

    def __len__(self) -> int:
        return len(self._items)
