"""The per-app state every view reads: settings, store, token verifier, FHIR transport."""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx
from fastapi import Request

from netcds.api.auth import LOCAL, Principal, TokenVerifier
from netcds.settings import Settings
from netcds.store.repo import Store

T = TypeVar("T")


@dataclass
class ServiceContext:
    settings: Settings
    store: Store
    verifier: TokenVerifier
    fhir_transport: httpx.BaseTransport | None = None

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url


def service(request: Request) -> ServiceContext:
    ctx = request.app.state.netcds
    assert isinstance(ctx, ServiceContext)
    return ctx


def rest_principal(request: Request) -> Principal:
    """REST callers: 'local' unless the settings require a token (then verified like a CDS client's,
    with ``aud`` = ``{base}/api/v1``)."""
    ctx = service(request)
    if not ctx.settings.api_require_token:
        return LOCAL
    return ctx.verifier.verify_header(request.headers.get("authorization"), [f"{ctx.base_url}/api/v1"])


_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)
WORK_SLOTS = max(2, os.cpu_count() or 2)


async def run_work(func: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound view work in a worker thread, at most WORK_SLOTS at once, first come first served.

    Under a burst (e.g. 100 concurrent hook calls) the rest wait in FIFO order instead of all sharing the
    GIL at once, which keeps the latency tail close to the median."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(WORK_SLOTS)
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=limiter)
