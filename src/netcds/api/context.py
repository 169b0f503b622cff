"""The per-app state every view reads: settings, store, token verifier, FHIR transport, evaluation cache."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx
from fastapi import Request

from netcds.api.auth import LOCAL, Principal, TokenVerifier
from netcds.api.eval_cache import CachedEvaluation, EvaluationCache, cache_key
from netcds.api.problems import ApiProblem
from netcds.api.signed_links import LinkSigner
from netcds.engine import evaluate
from netcds.errors import KnowledgeError
from netcds.evaluation_json import evaluation_json
from netcds.knowledge.load import available_versions, load_knowledge
from netcds.knowledge.schema import Knowledge
from netcds.patient import Patient
from netcds.settings import Settings
from netcds.store.batch import committed
from netcds.store.repo import Store

T = TypeVar("T")


@dataclass
class ServiceContext:
    settings: Settings
    store: Store
    verifier: TokenVerifier
    fhir_transport: httpx.BaseTransport | None = None
    eval_cache: EvaluationCache = field(default_factory=lambda: EvaluationCache(0))
    # signs the card links to stored evaluations (a random key unless one is given)
    link_signer: LinkSigner = field(default_factory=lambda: LinkSigner.of(Settings()))
    _knowledge: dict[tuple[str, str], Knowledge] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url

    def knowledge(self, version: str | None = None, guideline: str = "nccn-net") -> Knowledge:
        """A guideline version (the service's by default), looked up once per app; 404 when not installed."""
        v = version or self.settings.guideline_version
        found = self._knowledge.get((guideline, v))
        if found is None:
            if v not in available_versions(guideline):
                raise ApiProblem(
                    404,
                    f"no knowledge for {guideline} {v}; available: "
                    f"{', '.join(available_versions(guideline)) or 'none'}",
                    kind="unknown-guideline",
                )
            try:
                found = self._knowledge[(guideline, v)] = load_knowledge(v, guideline)
            except KnowledgeError as exc:  # installed but unreadable: the service's fault, said plainly
                where, what = exc.problems[0] if exc.problems else ("", "invalid")
                raise ApiProblem(
                    503,
                    f"knowledge {guideline} {v} cannot be loaded ({where}: {what})",
                    kind="knowledge-unavailable",
                ) from None
        return found

    def has_knowledge(self, version: str | None = None, guideline: str = "nccn-net") -> bool:
        """Whether that guideline version is loaded already (looking it up will not read files)."""
        return (guideline, version or self.settings.guideline_version) in self._knowledge

    def cached_evaluation(self, kb: Knowledge, input_hash: str) -> CachedEvaluation | None:
        """The cached Evaluation of the input with this canonical content hash, if any (cheap)."""
        return self.eval_cache.evaluation(cache_key(input_hash, kb))

    def compute_evaluation(self, patient: Patient, kb: Knowledge, input_hash: str) -> CachedEvaluation:
        """Run the engine (CPU: call it from a worker thread) and cache the result."""
        ev = evaluate(patient, kb)
        body = evaluation_json(ev)
        found = CachedEvaluation(ev, body, hashlib.sha256(body).hexdigest(), ev.guideline, ev.engine_version)
        self.eval_cache.put_evaluation(cache_key(input_hash, kb), found)
        return found

    def evaluation(self, patient: Patient, kb: Knowledge, input_hash: str) -> CachedEvaluation:
        """The Evaluation of ``patient`` as JSON bytes (the object only when computed now), from the
        cache when this exact input was evaluated before with this knowledge and engine; ``input_hash``
        is its canonical content hash."""
        found = self.cached_evaluation(kb, input_hash)
        return found if found is not None else self.compute_evaluation(patient, kb, input_hash)


def app_context(request: Request) -> ServiceContext:
    ctx = request.app.state.netcds
    assert isinstance(ctx, ServiceContext)
    return ctx


# dependencies are coroutines: FastAPI runs a plain-function dependency in a worker thread, a hop
# that cost more than the rest of a cached evaluate call
async def service(request: Request) -> ServiceContext:
    return app_context(request)


async def rest_principal(request: Request) -> Principal:
    """REST callers: 'local' unless the settings require a token (then verified like a CDS client's,
    with ``aud`` = ``{base}/api/v1``; the check may fetch the issuer's keys, so it runs in a worker)."""
    ctx = app_context(request)
    if not ctx.settings.api_require_token:
        return LOCAL
    header = request.headers.get("authorization")
    return await run_work(ctx.verifier.verify_header, header, [f"{ctx.base_url}/api/v1"])


INLINE_BYTES = 64 * 1024  # a request body up to this size may be answered on the event loop when cached


class NeedsWork(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a hook call tried on the event loop when answering needs the engine, the mapping or I/O."""


WORK_SLOTS = max(2, os.cpu_count() or 2)
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's pool of WORK_SLOTS threads (made on first use, so a forked worker makes its own)."""
    pool = _POOLS.get(os.getpid())
    if pool is None:
        pool = _POOLS[os.getpid()] = ThreadPoolExecutor(WORK_SLOTS, thread_name_prefix="netcds-work")
    return pool


async def run_work(func: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound view work in a worker thread, at most WORK_SLOTS at once, first come first served.

    Under a burst (e.g. 100 concurrent hook calls) the rest wait in FIFO order instead of all sharing the
    GIL at once, which keeps the latency tail close to the median. A plain executor: anyio's
    ``to_thread`` (limiter, cancel scopes) cost more per call than a cached evaluation."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), functools.partial(func, *args))


Later = list[Callable[[], "Future[Any]"]]


async def run_io(func: Callable[..., T], *args: Any) -> T:
    """Run blocking store work (a commit waits for fsync) in a plain worker thread, outside WORK_SLOTS."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args))


async def run_later(writes: Later) -> None:
    """Queue a request's store writes (in order) with the store's group commit and wait for their
    commit without holding a thread: many requests share one transaction and one fsync. Awaited
    before the response is sent, so a 2xx still means the writes are durable."""
    if writes:
        await committed([w() for w in writes])
