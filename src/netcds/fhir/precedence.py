"""Which of several results of one fact stands, and whether a result was known on the record date.

A final result is preferred to a preliminary one, then the newest (by effective time, see
:func:`netcds.fhir.dating.newest_first`) wins and the older ones are reported as superseded; newest values
whose dates cannot be ordered and that disagree leave the fact unknown (never decided by input order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from netcds.fhir.context import Ctx
from netcds.fhir.dating import newest_first, span
from netcds.fhir.read import Res, day_span

T = TypeVar("T")
# Observation statuses of a result that is not final yet: used only when no final result of its kind exists
# (``registered`` results are not read at all: netcds.fhir.scope.SKIP_OBS_STATUS)
PRELIMINARY = ("preliminary", "registered")


@dataclass
class Cand:
    res: Res
    value: Any
    cc: Any = None
    note: str | None = None


def pick_latest(ctx: Ctx, field: str, cands: list[Cand]) -> Any:
    """Map the newest candidate to ``field`` (:func:`newest_value`); ``None`` (unknown) when there is none
    or the newest disagree."""
    chosen = latest_cand(ctx, field, cands)
    return None if chosen is None else chosen.value


def latest_cand(ctx: Ctx, field: str, cands: list[Cand]) -> Cand | None:
    """:func:`pick_latest`, giving the chosen candidate (its resource dates it)."""
    chosen = newest_value(ctx, field, cands, lambda c: c.res, lambda c: c.value, lambda c: c.cc)
    if chosen is not None:
        ctx.mapped(field, chosen.value, chosen.res, chosen.cc, chosen.note)
    return chosen


def newest_value(
    ctx: Ctx,
    label: str,
    items: list[T],
    res_of: Callable[[T], Res],
    value_of: Callable[[T], Any],
    cc_of: Callable[[T], Any],
) -> T | None:
    """The item whose value stands for ``label``. Final results (final, amended, corrected, ...) are preferred
    to preliminary ones (:data:`PRELIMINARY`) whatever their dates; a preliminary result stands only when
    no other is recorded, and then every value it maps says so (``ctx.caveats``). Among those, the newest
    (:func:`_newest`). Every preliminary result set aside is reported, saying so when it is newer than the
    final value used and disagrees with it."""
    prelim = [i for i in items if _preliminary(res_of(i))]
    final = [i for i in items if not _preliminary(res_of(i))]
    chosen = _newest(ctx, label, final or prelim, res_of, value_of, cc_of)
    if not final:
        if chosen is not None:
            status = res_of(chosen).data.get("status")
            note = f"a preliminary result (status {status!r}): no final result of this kind is recorded"
            old = ctx.caveats.get(res_of(chosen).loc)
            ctx.caveats[res_of(chosen).loc] = note if not old else old if note in old else f"{old}; {note}"
        return chosen
    for i in prelim:
        value = value_of(i)
        if chosen is None:
            why = "not used: final results of this kind are recorded (they conflict; left unknown)"
        elif _same(value) == _same(value_of(chosen)):
            why = f"not used: the final result in {res_of(chosen).ref} (the same value) is preferred"
        elif _after(res_of(i), res_of(chosen)):
            why = (
                f"is newer than the final value {value_of(chosen)!r} in {res_of(chosen).ref} and disagrees "
                "with it; the final result is used until this one is final"
            )
        else:
            why = (
                f"disagrees with the final value {value_of(chosen)!r} in {res_of(chosen).ref}, which is used"
            )
        ctx.unmapped(res_of(i), f"{label}: preliminary value {value!r} {why}", cc_of(i))
    return chosen


def _preliminary(res: Res) -> bool:
    return res.rtype == "Observation" and str(res.data.get("status", "")) in PRELIMINARY


def _after(res: Res, other: Res) -> bool:
    """Whether ``res`` is surely dated after ``other``: its effective time begins after the other's ends."""
    mine, theirs = span(res), span(other)
    return mine is not None and theirs is not None and mine[0] >= theirs[1]


def _newest(
    ctx: Ctx,
    label: str,
    items: list[T],
    res_of: Callable[[T], Res],
    value_of: Callable[[T], Any],
    cc_of: Callable[[T], Any],
) -> T | None:
    """The newest item (:func:`newest_first`); several newest that agree stand once; several that disagree
    give ``None`` (unknown). Every other item is reported, as the same value used once, as superseded, or as
    a conflicting value."""
    if not items:
        return None
    newest, older = newest_first(items, res_of)
    if len({_same(value_of(i)) for i in newest}) > 1:
        listing = "; ".join(sorted(f"{value_of(i)!r} in {ctx.source(res_of(i))}" for i in newest))
        for i in newest:
            ctx.unmapped(
                res_of(i),
                f"{label}: conflicting values and their dates do not say which is newer ({listing}); "
                "left unknown",
                cc_of(i),
            )
        refs = ", ".join(sorted({res_of(i).ref for i in newest}))
        for i in older:
            why = f"{label}: older value {value_of(i)!r} superseded by {refs} (conflicting)"
            ctx.unmapped(res_of(i), why, cc_of(i))
        return None
    chosen = newest[0]
    ref = res_of(chosen).ref
    for i in newest[1:]:
        why = f"{label}: same value {value_of(i)!r} as {ref}, not ordered by date; mapped once"
        ctx.unmapped(res_of(i), why, cc_of(i))
    for i in older:
        ctx.unmapped(res_of(i), f"{label}: older value {value_of(i)!r} superseded by {ref}", cc_of(i))
    return chosen


def _same(value: Any) -> str:
    """A key under which equal values compare equal (8 and 8.0 too)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return repr(float(value)) if number else repr(value)


def not_known_then(ctx: Ctx, res: Res) -> str | None:
    """Why an Observation cannot be read as known on the record date (``as_of``), or None. Those dated after
    it are set aside before (netcds.fhir.mcode); here, a result ``issued`` after it: its effective date is
    when the sample was taken or the study done, its issue date when the result became known."""
    issued = res.data.get("issued")
    span = day_span(issued) if ctx.as_of is not None and issued else None
    if span is not None and ctx.as_of is not None and span[0] > ctx.as_of:
        return f"issued {issued}, after the record date {ctx.as_of}: the result was not known then; not used"
    return None
