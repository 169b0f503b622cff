"""An in-memory LRU of serialized evaluations for the stateless evaluate endpoints.

The engine is deterministic (same input and knowledge = same output, no clock, no randomness), so an
Evaluation can be reused for the same canonical input. The key holds the sha256 of the canonical
patient JSON, the guideline id, version and content digest, and the engine version; the cache lives
in one process and is empty after a restart. Bounded in bytes (``server.eval_cache_mb``; 0 = off).
Only ``POST /api/v1/evaluate`` and ``POST /api/v1/evaluate/fhir`` use it: the endpoints that store
an evaluation always run the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from netcds import __version__
from netcds.knowledge.schema import Knowledge

CacheKey = tuple[str, str, str, str, str]


def cache_key(input_hash: str, kb: Knowledge) -> CacheKey:
    return (input_hash, kb.id, kb.version, kb.digest or "", __version__)


class EvaluationCache:
    """Thread-safe (views run in worker threads) byte-bounded LRU: key -> Evaluation JSON bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: CacheKey) -> bytes | None:
        if not self.enabled:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: CacheKey, value: bytes) -> None:
        if not self.enabled or len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._items[key] = value
            self.size += len(value)
            while self.size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
