"""One CDS Hooks call as the services read it: who asked, the request, where its audit entries go, the
record of its prefetch (mapped once per prefetch and as-of date), and what the call's try on the event loop
already computed (``scratch``). Shared by patient-view (hooks.py) and the order hooks (order_hooks.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from netcds.api import optional
from netcds.api.auth import Principal
from netcds.api.context import Later, NeedsWork, ServiceContext
from netcds.api.eval_cache import OBJECT_FACTOR, MappedPatient
from netcds.api.hook_checks import check_context_patient, check_finite
from netcds.api.hook_models import OPTIONAL_PREFETCH, SERVICES, HookRequest
from netcds.api.prefetch import Budget, resolve, with_referenced_medications
from netcds.api.record_account import RecordAccount, account_key
from netcds.errors import InputError
from netcds.store.canonical import canonical_json, sha256_hex

T = TypeVar("T")


# the furthest time zone ahead of UTC (Line Islands): its date is the latest calendar date anywhere
LATEST_OFFSET = timedelta(hours=14)


def clock() -> datetime:
    """Now, in UTC (one place, so tests can set the hour)."""
    return datetime.now(UTC)


def hook_day(time_zone: str | None, now: datetime | None = None) -> date:
    """The record date of a live hook call: today in ``time_zone`` (an IANA name, checked when the settings
    load), or, with none configured, the latest calendar date anywhere (UTC+14). A CDS client sends no time
    zone, and dates in a FHIR record are local to the site that wrote them: with UTC's date a site east of
    UTC would have, for up to 14 hours a day, this morning's orders, statements and results dated after the
    record date and set aside (an interaction with a drug started today missed). The cost of the latest date:
    for a site west of it the record date may be one day ahead of its own (ages and day counts off by at most
    a day); a configured zone removes it."""
    moment = now or clock()
    if time_zone:
        return moment.astimezone(ZoneInfo(time_zone)).date()
    return (moment.astimezone(UTC) + LATEST_OFFSET).date()


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def no_tumor(exc: InputError) -> bool:
    """The record holds no neuroendocrine tumor this service can read (not a malformed request)."""
    return exc.field in ("tumor", "tumor.primary_site", "<patient>.tumor")


def once(scratch: dict[str, Any], name: str, compute: Callable[[], T]) -> T:
    """``compute()``, once per call: the worker reuses what the try on the event loop already did."""
    if name not in scratch:
        scratch[name] = compute()
    found: T = scratch[name]
    return found


@dataclass(frozen=True)
class HookCall:
    """One hook call: who asked, what, and where its audit entries go (``inline``: tried on the event
    loop, so anything not cached raises NeedsWork)."""

    request: Request
    ctx: ServiceContext
    who: Principal
    service_id: str
    req: HookRequest
    raw: dict[str, Any]
    later: Later
    inline: bool
    scratch: dict[str, Any]

    def fresh(self, compute: Callable[[], T]) -> Callable[[], T]:
        """``compute`` (the mapping, the engine, a screen), or on the event loop one raising NeedsWork."""
        if not self.inline:
            return compute

        def not_here() -> T:
            raise NeedsWork

        return not_here

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        """Queue this call's audit entry (committed before the answer)."""
        self.later.append(
            partial(
                self.ctx.store.submit_audit,
                self.who.actor,
                action,
                self.req.hookInstance,
                request_id(self.request),
                detail,
            )
        )


def mapped_patient(call: HookCall, fetch: bool = True) -> MappedPatient:
    """The record of the hook's prefetch (fetched from ``fhirServer`` for missing keys where allowed and
    ``fetch``; an optional key neither sent nor fetched is left out), mapped once per prefetch and as-of
    date."""
    ctx = call.ctx

    def prefetched() -> tuple[dict[str, Any], str, date | None]:
        settings = ctx.settings
        budget = Budget(settings.fhir_fetch_budget_s, settings.fhir_fetch_timeout_s)  # the call's fetches
        prefetch = resolve(
            SERVICES[call.service_id].prefetch,
            call.raw,
            fetch_enabled=settings.fhir_fetch and fetch,
            timeout_s=settings.fhir_fetch_timeout_s,
            transport=ctx.fhir_transport,
            optional=OPTIONAL_PREFETCH,
            budget=budget,
        )
        prefetch = with_referenced_medications(
            prefetch,
            call.raw,
            fetch_enabled=settings.fhir_fetch and fetch,
            timeout_s=settings.fhir_fetch_timeout_s,
            budget=budget,
            transport=ctx.fhir_transport,
        )
        # a live hook reads the record as of today, so ages and "within 3 weeks" checks can be assessed;
        # the date is part of the stored input (Patient.as_of), so a replay stays exact
        as_of = hook_day(ctx.settings.hooks_time_zone) if ctx.settings.hooks_as_of_today else None
        if ctx.settings.fhir_fetch:  # what the FHIR server sent was not in the checked request body
            check_finite(None, prefetch, "prefetch")
        check_context_patient(call.req.context.get("patientId"), prefetch)
        return prefetch, canonical_json(prefetch), as_of

    prefetch, text, as_of = once(call.scratch, "prefetch", prefetched)

    def mapped() -> MappedPatient:
        # a key still holding part of its search result (not fetched whole, netcds.api.prefetch): the mapping
        # does not take the list facts it feeds as complete (netcds.fhir.paging.prefetch_parts)
        templates = SERVICES[call.service_id].prefetch
        # every chart comes to the hooks: a cancer nothing calls neuroendocrine gets no cards
        found = optional.prefetch_to_patient(prefetch, as_of, templates, require_neuroendocrine=True)
        account = RecordAccount.of(found[1])  # kept now: an order check reads it without mapping again
        ctx.eval_cache.put(account_key(text, as_of), account, account.size())
        return MappedPatient.of(found[0])

    key = (sha256_hex(text), str(as_of))
    if isinstance(failed := ctx.eval_cache.get(("unmapped", *key)), InputError):
        raise InputError(failed.field, failed.message)  # not mapped again on every call (e.g. no NET)
    try:
        # the same prefetch maps to the same record (deterministic); weighed as its canonical JSON and
        # the Patient (not the prefetch)
        patient = ctx.eval_cache.memo(
            ("mapping", *key),
            MappedPatient,
            call.fresh(mapped),
            lambda m: len(m.text) * (1 + OBJECT_FACTOR),
        )
    except InputError as exc:
        ctx.eval_cache.put(("unmapped", *key), InputError(exc.field, exc.message), 512 + len(exc.message))
        raise
    assert patient is not None
    return patient


def cards_response(cards: list[dict[str, Any]]) -> Response:
    return JSONResponse({"cards": cards})
