"""Read and validate FHIR input: a Bundle or a CDS Hooks prefetch, into located resources.

Each resource is validated with the ``fhir.resources`` R4B models (R4-compatible for
the resources mCODE 4.0.0 uses) and re-serialised, so the mapper reads normalised
JSON; a resource seen before (the same JSON after key sorting) is not validated
again, its normalised JSON is kept in a bounded memo. A malformed input raises
:class:`netcds.errors.InputError` whose ``field`` names the place, e.g.
``entry[3].resource.code``. Small accessors for codings, dates and quantities live
here too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError

from netcds.errors import InputError
from netcds.fhir.codes import SYSTEMS
from netcds.io import first_non_finite
from netcds.memo import BoundedMemo

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:\d{2})?$")
EFFECTIVE_KEYS = (
    "effectiveDateTime", "effectiveInstant", "onsetDateTime", "recordedDate", "issued", "authoredOn",
    "performedDateTime", "occurrenceDateTime",
)  # fmt: skip
EFFECTIVE_PERIODS = ("effectivePeriod", "performedPeriod", "onsetPeriod")
# canonical JSON of a valid resource -> its normalised JSON (validating and re-serialising with
# fhir.resources costs 0.1-0.3 ms a resource; EHRs send the same resources in call after call)
VALIDATED: BoundedMemo[str] = BoundedMemo(8192)
MEMO_MAX_CHARS = 16_384  # larger resources (e.g. reports with attachments) are validated every time


@dataclass
class Res:
    """One resource with where it was found (``loc``) and how others may refer to it (``ref``)."""

    loc: str
    rtype: str
    data: dict[str, Any]
    ref: str
    full_url: str | None = None
    aliases: set[str] = field(default_factory=set)
    # why a date of it is not read (a period ending before it starts), for the mapping report
    unreadable: list[str] = field(default_factory=list)


def _model_class(rtype: str, loc: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(rtype)
    except (KeyError, ValueError, AttributeError):
        raise InputError(_where(loc, ("resourceType",)), f"unknown FHIR R4 resource type {rtype!r}") from None


def _where(loc: str, err_loc: tuple[Any, ...]) -> str:
    out = loc
    for part in err_loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) not in ("__root__", "root"):
            out += f".{part}"
    return out.lstrip(".")


def _message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind in ("json_invalid", "model_type", "dict_type", "model_attributes_type"):
        return "wrong type: expected a JSON object"
    if kind == "extra_forbidden":
        return "not a known element of this resource type"
    if kind == "missing":
        return "required element missing"
    return str(err.get("msg", "invalid value"))


def validate_resource(raw: Any, loc: str) -> dict[str, Any]:
    """Validate one resource with fhir.resources and return its normalised JSON."""
    if not isinstance(raw, dict):
        raise InputError(loc or "bundle", "must be a JSON object (a FHIR resource)")
    rtype = raw.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise InputError(_where(loc, ("resourceType",)), "missing or not a string")
    try:
        key: str | None = json.dumps(raw, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON: validation below names the problem
        key = None
    if key is not None and len(key) > MEMO_MAX_CHARS:
        key = None
    known = VALIDATED.get(key) if key is not None else None
    if known is not None:
        data: dict[str, Any] = json.loads(known)  # a fresh copy: callers may change theirs
        return data
    if (odd := first_non_finite(raw, loc)) is not None:  # e.g. an integer of 310 digits
        raise InputError(odd[0], f"must be a finite number (got {odd[1]})")
    cls = _model_class(rtype, loc)
    try:
        model = cls.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(_where(loc, tuple(first.get("loc", ()))), _message(dict(first))) from None
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if key is not None:
        VALIDATED.put(key, json.dumps(data, separators=(",", ":")))
    return data


def _new_res(data: dict[str, Any], loc: str, full_url: str | None) -> Res:
    rtype = str(data["resourceType"])
    rid = data.get("id")
    ref = f"{rtype}/{rid}" if rid else loc
    res = Res(loc=loc, rtype=rtype, data=data, ref=ref, full_url=full_url)
    res.aliases = {ref} | ({full_url} if full_url else set())
    res.unreadable = _drop_reversed_periods(res)
    return res


# The periods of the records netcds reads as dated facts: one that ends before it starts says no date
# (FHIR R4 Period: the start is not after the end; fhir.resources does not check it)
READ_PERIODS = {"Observation": ("effectivePeriod",), "Condition": ("onsetPeriod", "abatementPeriod")}


def ends_before_start(period: Any) -> bool:
    """Whether a FHIR Period surely ends before it starts: the last day its end can mean is before the first
    day its start can mean, or both are times and the end's instant is before the start's. Partial dates
    that overlap (``2024`` to ``2024-03``) and a time on the start's day without one are not reversed."""
    if not isinstance(period, dict) or not period.get("start") or not period.get("end"):
        return False
    start, end = day_span(period["start"]), day_span(period["end"])
    if start is None or end is None:
        return False
    if end[1] < start[0]:
        return True
    if "T" in str(period["start"]) and "T" in str(period["end"]):
        try:
            begins, ends = parse_instant(period["start"], ""), parse_instant(period["end"], "")
        except InputError:
            return False
        return begins is not None and ends is not None and ends < begins
    return False


def _drop_reversed_periods(res: Res) -> list[str]:
    """Take out of an Observation or Condition a period that ends before it starts, so that no reader takes
    a date from it (effective and onset dates, abatement): that date is unknown. Returns the report's
    sentence for each one taken out."""
    notes: list[str] = []
    for key in READ_PERIODS.get(res.rtype, ()):
        period = res.data.get(key)
        if period is None or not ends_before_start(period):
            continue
        del res.data[key]
        what = "whether and when it abated" if key == "abatementPeriod" else "its date"
        notes.append(
            f"{key} ends before it starts ({period['start']} to {period['end']}): not readable, so {what} is "
            "left unknown (read as not recorded)"
        )
    return notes


def _read_bundle(bundle: dict[str, Any], loc: str, out: list[Res]) -> None:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError(f"{loc}entry", "must be a list of entries")
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    validate_resource(shell, loc.rstrip("."))
    for i, entry in enumerate(entries):
        eloc = f"{loc}entry[{i}]"
        if not isinstance(entry, dict):
            raise InputError(eloc, "must be a JSON object (a Bundle entry)")
        if "resource" not in entry or entry["resource"] is None:
            raise InputError(f"{eloc}.resource", "entry has no resource")
        full_url = entry.get("fullUrl")
        if full_url is not None and not isinstance(full_url, str):
            raise InputError(f"{eloc}.fullUrl", "must be a string")
        raw = entry["resource"]
        if isinstance(raw, dict) and raw.get("resourceType") == "Bundle":
            _read_bundle(raw, f"{eloc}.resource.", out)
            continue
        data = validate_resource(raw, f"{eloc}.resource")
        out.append(_new_res(data, f"{eloc}.resource", full_url))


def read_bundle(bundle: Any) -> list[Res]:
    """Validate a FHIR Bundle; return its resources (nested Bundles are flattened)."""
    if not isinstance(bundle, dict):
        raise InputError("bundle", "must be a JSON object (a FHIR Bundle)")
    rtype = bundle.get("resourceType")
    if rtype != "Bundle":
        raise InputError("resourceType", f"expected 'Bundle', got {rtype!r}")
    out: list[Res] = []
    _read_bundle(bundle, "", out)
    return out


def read_prefetch(prefetch: Any) -> list[Res]:
    """Validate a CDS Hooks prefetch: each value is a resource, a Bundle, or null (not fetched)."""
    if not isinstance(prefetch, dict):
        raise InputError("prefetch", "must be a JSON object keyed by prefetch name")
    out: list[Res] = []
    for key in sorted(prefetch):
        value = prefetch[key]
        loc = f"prefetch.{key}"
        if value is None:
            continue
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            _read_bundle(value, f"{loc}.", out)
        else:
            data = validate_resource(value, loc)
            out.append(_new_res(data, loc, None))
    return out


# ---- accessors --------------------------------------------------------------------------------
Coding = tuple[str, str, str]  # (system key or raw URI, code, display)


def patient_id(reference: Any) -> str | None:
    """The id a ``Patient/<id>`` reference names (relative or absolute, with or without ``_history``),
    or None for a reference of another form (e.g. ``urn:uuid:``) or none."""
    if not isinstance(reference, str) or "Patient/" not in reference:
        return None
    return reference.rsplit("Patient/", 1)[1].split("/")[0]


def codings(cc: Any) -> list[Coding]:
    """The codings of a CodeableConcept as (system key, code, display); unknown systems keep their URI."""
    if not isinstance(cc, dict):
        return []
    out: list[Coding] = []
    for c in cc.get("coding", []) or []:
        system = str(c.get("system", ""))
        out.append((SYSTEMS.get(system, system), str(c.get("code", "")).strip(), str(c.get("display", ""))))
    return out


def cc_text(cc: Any) -> str:
    """Human words of a CodeableConcept: its text, else the displays joined."""
    if not isinstance(cc, dict):
        return ""
    if cc.get("text"):
        return str(cc["text"])
    return "; ".join(d for _, _, d in codings(cc) if d)


def code_label(cc: Any) -> str:
    """A short 'SYSTEM code' label for the report (first coding), or the text."""
    cs = codings(cc)
    if cs:
        system, code, display = cs[0]
        short = system.rsplit("/", 1)[-1] if "/" in system else system
        return f"{short} {code}" + (f" {display}" if display else "")
    return cc_text(cc) or "no code"


def has_code(cc: Any, system: str, codes: frozenset[str] | set[str]) -> str | None:
    for s, c, _ in codings(cc):
        if s == system and c in codes:
            return c
    return None


def parse_date(value: Any, loc: str) -> date | None:
    """A FHIR date/dateTime/instant to its calendar date (partial dates -> None)."""
    if value is None:
        return None
    m = _DATE.match(str(value))
    if not m:
        raise InputError(loc, f"not a FHIR date: {value!r}")
    if m.group(2) is None or m.group(3) is None:
        return None  # year or year-month only: no calendar date
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise InputError(loc, f"not a calendar date: {value!r} ({exc})") from None


def day_span(value: Any) -> tuple[date, date] | None:
    """The first and last calendar day a FHIR date, dateTime or instant can mean, as written
    (``2024`` -> 2024-01-01..2024-12-31, ``2024-07`` -> its month, a full date or dateTime -> that day);
    None when it is not a date. Used to tell whether a date lies before, after or across a record date."""
    m = _DATE.match(str(value)) if value is not None else None
    if not m:
        return None
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if d is not None and mo is not None:
            day = date(y, int(mo), int(d))
            return day, day
        if mo is not None:
            first = date(y, int(mo), 1)
            nxt = date(y + int(mo) // 12, int(mo) % 12 + 1, 1)
            return first, date.fromordinal(nxt.toordinal() - 1)
        return date(y, 1, 1), date(y, 12, 31)
    except ValueError:
        return None


def written_bounds(res: Res) -> tuple[Any, Any]:
    """Start and end of a MedicationRequest / Statement / Administration or Procedure as written (partial
    dates too): ``boundsPeriod`` (else ``authoredOn``; end else ``dispenseRequest.validityPeriod.end``),
    ``effective[x]``, ``performed[x]`` (an administration's single date is its start and end)."""
    d = res.data
    if res.rtype == "MedicationRequest":
        rep = ((d.get("dosageInstruction") or [{}])[0].get("timing") or {}).get("repeat") or {}
        bounds, valid = rep.get("boundsPeriod") or {}, (d.get("dispenseRequest") or {}).get("validityPeriod")
        return bounds.get("start") or d.get("authoredOn"), bounds.get("end") or (valid or {}).get("end")
    period = d.get("effectivePeriod") or d.get("performedPeriod") or {}
    one = d.get("effectiveDateTime") or d.get("performedDateTime")
    return period.get("start") or one, period.get("end") or (
        one if res.rtype == "MedicationAdministration" else None
    )


def _effective_raw(res: Res) -> tuple[str, Any] | None:
    d = res.data
    for key in EFFECTIVE_KEYS:
        if key in d:
            return key, d[key]
    for key in EFFECTIVE_PERIODS:
        if key in d and not ends_before_start(d[key]):  # a period ending before it starts gives no date
            p = d[key]
            return key, p.get("end") or p.get("start")
    return None


def effective(res: Res) -> date | None:
    """The clinically relevant date of an Observation/Condition-like resource."""
    raw = _effective_raw(res)
    return parse_date(raw[1], f"{res.loc}.{raw[0]}") if raw else None


def parse_instant(value: Any, loc: str) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware UTC instant, for ordering.

    A date-only value is the start of that day (00:00 UTC); a time without an offset is
    read as UTC; partial dates (year, year-month) give None, as in :func:`parse_date`."""
    day = parse_date(value, loc)
    if day is None:
        return None
    m = _INSTANT.match(str(value))
    if not m:
        return datetime.combine(day, time(0, 0), tzinfo=UTC)
    stamp = f"{m.group(1)}T{m.group(2)}{'+00:00' if m.group(3) in (None, 'Z') else m.group(3)}"
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError as exc:
        raise InputError(loc, f"not a FHIR dateTime: {value!r} ({exc})") from None


def instant(res: Res) -> datetime | None:
    """The effective time of a resource as a UTC instant (newest-wins compares these)."""
    raw = _effective_raw(res)
    return parse_instant(raw[1], f"{res.loc}.{raw[0]}") if raw else None


def quantity(q: Any) -> tuple[float, str] | None:
    """(value, unit) of a Quantity that states a measured value; the UCUM code is preferred over the
    free-text unit. None when it has no value, or when it has a ``comparator`` (``<``, ``<=``, ``>=``, ``>``,
    ``ad``): "<30 mL/min" is a bound, not a value, and is never read as 30 (:func:`no_value_reason` says
    why for the report). Numbers are finite: :func:`validate_resource` refuses any other."""
    if not isinstance(q, dict) or q.get("value") is None or q.get("comparator"):
        return None
    unit = str(q.get("code") or q.get("unit") or "")
    return float(q["value"]), unit


def bound(q: Any) -> str | None:
    """A Quantity with a ``comparator`` as written (``"<30 mL/min"``, ``">=2.5"``), or None without one."""
    if not isinstance(q, dict) or not q.get("comparator"):
        return None
    value = q.get("value")
    number = f"{float(value):g}" if isinstance(value, int | float) and not isinstance(value, bool) else "?"
    unit = str(q.get("unit") or q.get("code") or "")
    comparator = str(q["comparator"])
    return f"{comparator}{' ' if comparator.isalpha() else ''}{number}" + (f" {unit}" if unit else "")


def no_value_reason(what: str, q: Any) -> str:
    """The report's reason why :func:`quantity` gave ``what`` no value: a bound, or no numeric value."""
    written = bound(q)
    if written is not None:
        return f"{what} recorded as {written}: a bound, not a value; record the measured value"
    return f"{what}: no numeric value"


def profiles(res: Res) -> list[str]:
    meta = res.data.get("meta") or {}
    return [str(p) for p in meta.get("profile", []) or []]


def has_profile(res: Res, suffix: str) -> bool:
    return any(p.split("|")[0].rstrip("/").endswith(suffix) for p in profiles(res))


def extensions(obj: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [e for e in obj.get("extension", []) or [] if str(e.get("url", "")).endswith(suffix)]
