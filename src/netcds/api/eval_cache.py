"""An in-memory LRU of deterministic work the service would otherwise repeat for the same input.

The engine is deterministic (same input and knowledge = same output, no clock, no randomness), and so
are the FHIR mapping and the card builder. An EHR opens the same chart many times a day, so the
service keeps, for recent inputs:

- ``evaluation``: the Evaluation's JSON bytes in their stored form (zstd level 1, ~7x smaller: a
  32 MiB budget holds ~1,500-2,500 evaluations instead of ~200-350), output hash and version stamp (not
  the Python objects),
  keyed by the sha256 of the canonical patient JSON, the guideline id, version and content digest, and
  the engine version;
- ``mapping``: the contract Patient a hook's prefetch maps to, with its canonical JSON and content hash
  (:class:`MappedPatient`), keyed by the sha256 of the canonical prefetch JSON and the as-of date;
- ``cards``: the patient-view cards for an evaluation (the per-call explanation link is set afterwards),
  kept as packed JSON (:meth:`EvaluationCache.put_json`);
- ``screen``: an order-sign agent screen;
- ``ordercards``: one ordered agent's order-select / order-sign cards, keyed by the record's content hash
  (with the drafts as concomitant medicines, and as recorded: the guideline card reads the latter's
  Evaluation), the agent, the sha256 of the draft order's canonical JSON, the service, the engine and
  guideline versions and base URL; packed JSON like ``cards``.

Cards are kept packed (zstd level 1, ~4-5x smaller) and unpacked on every hit (~20-60 µs): kept as
objects at ~2x their JSON size, the 8 MiB that each small kind gets held ~300 agents' order cards, so a
single-worker service seeing 1,000 records rebuilt most order-sign answers (~2 ms each) on repeats.
Each kind is its own LRU: evaluations get ``server.eval_cache_mb``, every other kind a quarter of that,
so a run of new records (or of large screens) cannot push out the mappings and cards that are cheap to
keep and dear to rebuild. Evaluations are kept as bytes: a bytes object is invisible to the garbage
collector, where the same evaluation as objects would add ~10,000 objects to every full collection.

Nothing here changes what is stored: every call still writes its own audit entry (and, for hooks, its
own evaluation record). The cache lives in one process and is empty after a restart. Sizes are
estimates (JSON bytes; x OBJECT_FACTOR for entries kept as Python objects); 0 MiB = off.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from netcds import __version__
from netcds.api.shared_cache import SharedCache
from netcds.evaluation import Evaluation, GuidelineRef
from netcds.knowledge.schema import Knowledge
from netcds.memo import BoundedMemo
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, sha256_hex
from netcds.store.outputs import compress_output, decompress_output

CacheKey = tuple[str, ...]
V = TypeVar("V")
OBJECT_FACTOR = 2  # Python objects per JSON byte, rounded up
SMALL_SHARE = 4  # every kind but evaluations gets 1/SMALL_SHARE of the evaluations' budget


class CachedEvaluation:
    """An Evaluation's output as served and stored. ``evaluation`` is the object when just computed,
    None when it came from the cache. The output's JSON is held in the form at hand, as served
    (``body``) or in its stored form (``packed``: zstd, as ``evaluation_outputs`` keeps it), and the
    other form is made on first use: the cache keeps only the packed form, a cached hook call passes
    it to the store as is, and a caller that reads ``body`` gets the bytes it was first served."""

    __slots__ = ("_body", "_packed", "engine_version", "evaluation", "guideline", "output_hash")

    def __init__(
        self,
        evaluation: Evaluation | None,
        body: bytes | None,
        output_hash: str,  # sha256 of ``body`` (the stored output's identity)
        guideline: GuidelineRef,
        engine_version: str,
        packed: bytes | None = None,
    ) -> None:
        if body is None and packed is None:
            raise ValueError("a cached evaluation needs its output in one form or the other")
        self.evaluation = evaluation
        self._body = body
        self._packed = packed
        self.output_hash = output_hash
        self.guideline = guideline
        self.engine_version = engine_version

    @property
    def body(self) -> bytes:
        if self._body is None:
            assert self._packed is not None
            self._body = decompress_output(self._packed)
        return self._body

    @property
    def packed(self) -> bytes:
        if self._packed is None:
            self._packed = compress_output(self.body)
        return self._packed

    def kept(self) -> CachedEvaluation:
        """What the cache keeps (and hands out, one copy per caller): the packed form, no objects."""
        return CachedEvaluation(
            None, None, self.output_hash, self.guideline, self.engine_version, self.packed
        )


class MappedPatient(NamedTuple):
    """The contract Patient a hook's prefetch maps to, with its canonical JSON and that text's sha256
    (the record's content hash): a cached hook call neither dumps nor hashes the record again."""

    patient: Patient
    text: str
    digest: str

    @classmethod
    def of(cls, patient: Patient) -> MappedPatient:
        text = canonical_json(patient)
        return cls(patient, text, sha256_hex(text))

    @classmethod
    def decode(cls, raw: bytes) -> MappedPatient:
        """From its canonical JSON (the shared cache level's form)."""
        text = raw.decode()
        return cls(Patient.model_validate_json(text), text, sha256_hex(text))


def knowledge_key(kb: Knowledge) -> tuple[str, str, str]:
    """The guideline version's part of a cache key (nothing built from another version is reused)."""
    return kb.id, kb.version, kb.digest or ""


def cache_key(input_hash: str, kb: Knowledge) -> CacheKey:
    return ("evaluation", input_hash, *knowledge_key(kb), __version__)


# the kinds also kept in the shared second level (serve --workers N), with their byte codecs
def _encode_evaluation(v: CachedEvaluation) -> bytes:
    head = {"hash": v.output_hash, "guideline": v.guideline.model_dump(), "engine": v.engine_version}
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + v.packed


def _decode_evaluation(raw: bytes) -> CachedEvaluation:
    head, packed = raw.split(b"\n", 1)
    h = json.loads(head)
    guideline = GuidelineRef.model_validate(h["guideline"])
    return CachedEvaluation(None, None, h["hash"], guideline, h["engine"], packed)


def pack_json(value: Any) -> bytes:
    """A JSON value (cards) in its kept form: compact JSON, zstd level 1."""
    return compress_output(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def unpack_json(packed: bytes) -> Any:
    return json.loads(decompress_output(packed))


PACKED_JSON = frozenset({"cards", "ordercards"})  # kinds kept as pack_json bytes (put_json)
AS_BYTES = PACKED_JSON | {"evaluation"}  # kinds whose entries are bytes, weighed as such
ENTRY_BYTES = 512  # what an entry costs beyond its bytes (key tuple, LRU node, head), rounded up

Codec = tuple[Callable[[Any], bytes], Callable[[bytes], Any]]
PACKED_CODEC: Codec = (bytes, bytes)  # the shared level holds the packed bytes as they are
CODECS: dict[str, Codec] = {
    "evaluation": (_encode_evaluation, _decode_evaluation),
    "mapping": (lambda m: m.text.encode(), MappedPatient.decode),
    **dict.fromkeys(PACKED_JSON, PACKED_CODEC),
}


class EvaluationCache:
    """Thread-safe (views run in worker threads) byte-bounded LRU: key -> value with a size estimate."""

    def __init__(self, max_bytes: int, shared: SharedCache | None = None) -> None:
        self.max_bytes = max_bytes
        self.shared = shared  # the second level shared by the workers, when there are several
        self._parts: dict[str, BoundedMemo[Any]] = {}  # kind (a key's first element) -> its LRU
        self._counts: dict[str, list[int]] = {}  # kind -> [hits, shared hits, misses]
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def hits(self) -> int:
        return self._total(0)

    @property
    def shared_hits(self) -> int:
        return self._total(1)

    @property
    def misses(self) -> int:
        return self._total(2)

    def _total(self, outcome: int) -> int:
        with self._lock:
            return sum(c[outcome] for c in self._counts.values())

    @property
    def size(self) -> int:
        return sum(p.size for p in self._parts.values())

    def _part(self, kind: str) -> BoundedMemo[Any]:
        with self._lock:
            found = self._parts.get(kind)
            if found is None:
                share = 1 if kind == "evaluation" else SMALL_SHARE
                found = self._parts[kind] = BoundedMemo(self.max_bytes // share)
            return found

    def get(self, key: CacheKey) -> Any | None:
        """The kept value (a fresh copy for packed JSON kinds), or None."""
        found = self._get(key)
        if found is not None and key[0] in PACKED_JSON:
            return unpack_json(found)
        return found

    def _get(self, key: CacheKey) -> Any | None:
        if not self.enabled:
            return None
        part = self._part(key[0])
        found = part.get(key)
        shared = None if found is not None else self._from_shared(key, part)
        outcome = 0 if found is not None else 1 if shared is not None else 2
        with self._lock:
            self._counts.setdefault(key[0], [0, 0, 0])[outcome] += 1
        return found if found is not None else shared

    def _from_shared(self, key: CacheKey, part: BoundedMemo[Any]) -> Any | None:
        """The value another worker stored in the shared level, now kept here too."""
        codec = CODECS.get(key[0])
        raw = self.shared.get("\x1f".join(key)) if self.shared is not None and codec else None
        if raw is None or codec is None:
            return None
        value = codec[1](raw)
        part.put(key, value, len(raw) + ENTRY_BYTES if key[0] in AS_BYTES else len(raw) * OBJECT_FACTOR)
        return value

    def put(self, key: CacheKey, value: Any, size: int) -> None:
        if key[0] in PACKED_JSON:
            raise ValueError(f"{key[0]} entries are kept with put_json")
        self._put(key, value, size)

    def put_json(self, key: CacheKey, value: Any) -> None:
        """Keep a JSON value (cards) packed, weighed by its packed bytes; ``get`` unpacks a copy."""
        if key[0] not in PACKED_JSON:
            raise ValueError(f"{key[0]} entries are not kept as packed JSON")
        if self.enabled:
            packed = pack_json(value)
            self._put(key, packed, len(packed) + ENTRY_BYTES)

    def _put(self, key: CacheKey, value: Any, size: int) -> None:
        if not self.enabled:
            return
        self._part(key[0]).put(key, value, size)
        codec = CODECS.get(key[0])
        if self.shared is not None and codec is not None:
            self.shared.put("\x1f".join(key), codec[0](value))

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
        """The kept output, as a copy of its own (reading ``body`` does not grow the entry)."""
        found = self.get(key)
        return found.kept() if isinstance(found, CachedEvaluation) else None

    def put_evaluation(self, key: CacheKey, value: CachedEvaluation) -> None:
        """Keep the output packed, without its objects (see the module docstring)."""
        if self.enabled:
            kept = value.kept()
            self.put(key, kept, len(kept.packed) + ENTRY_BYTES)

    def kinds(self) -> dict[str, dict[str, int]]:
        """Per kind: entries, kept and budget bytes, hits, shared hits and misses (for health)."""
        with self._lock:
            parts, counts = dict(self._parts), {k: list(v) for k, v in self._counts.items()}
        out = {}
        for kind in sorted(parts.keys() | counts.keys()):
            part = parts.get(kind)
            hits, shared, misses = counts.get(kind, [0, 0, 0])
            out[kind] = {
                "entries": len(part) if part is not None else 0,
                "kept_bytes": part.size if part is not None else 0,
                "budget_bytes": part.capacity if part is not None else 0,
                "hits": hits,
                "shared_hits": shared,
                "misses": misses,
            }
        return out

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts.values())
