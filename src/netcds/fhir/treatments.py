"""Medications and radiotherapy -> episodes of ``treatments[]`` (tabled agents), and ``medications[]``.

MedicationRequest, MedicationAdministration and MedicationStatement (mCODE
CancerRelated* or plain) are read into episodes (their dose and schedule in
:mod:`netcds.fhir.dosage`, their status and dates in :mod:`netcds.fhir.course_status`);
episodes of the same agent become lines in :mod:`netcds.fhir.treatment_lines`. An agent is recognised
by its RxNorm ingredient CUI or, failing that, by name in the coding display or
text. Current medications that are not tabled agents become ``medications[]`` (lower-case generic
names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netcds.errors import InputError
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.course_status import (
    PROCEDURE_STATUS,
    ended_early,
    episode_dates,
    going_then,
    read_stop_reason,
    scheduled,
    status_table,
)
from netcds.fhir.dating import partial_end, partial_end_note, written_after
from netcds.fhir.dosage import dose_in_mg, dose_interval, octreotide_kind
from netcds.fhir.drug_names import DISPLAY_ONLY, agents_in, generic_name, medication_concept, words_not_a_drug
from netcds.fhir.medication import dose_range_words, not_an_order
from netcds.fhir.read import Res, cc_text, codings, has_profile, written_bounds
from netcds.fhir.report import UNKNOWN_CODE
from netcds.fhir.scope import for_the_net
from netcds.fhir.wording import brief, readings


@dataclass
class Episode:
    agent: str
    res: Res
    kind: str
    start: date | None
    end: date | None
    ongoing: bool
    dose_mg: float | None = None
    interval_days: float | None = None
    stop_reason: str | None = None
    how: str = ""
    notes: list[str] = field(default_factory=list)


CANCER_MED_PROFILES = tuple(
    f"mcode-cancer-related-medication-{kind}" for kind in ("request", "administration", "statement")
)


WITHHELD_STATUS = frozenset(("not-done", "on-hold"))  # an administration of a dose that was not given


def _withheld(ctx: Ctx, res: Res, cc: Any, status: str, named: str = "") -> None:
    """Keep the date of a dose of a tabled agent recorded as not given (``ctx.withheld``): an
    administration-only line with a later such dose is not read as running (netcds.fhir.administrations).
    A record whose date cannot be read is left out of this (it is reported as not given already)."""
    try:
        day = episode_dates(res)[0]
    except InputError:
        return
    if day is None:
        return
    dosage = res.data.get("dosage") or {}
    for agent, _ in agents_in(cc):
        if agent == "octreotide":
            agent = octreotide_kind(cc, dose_in_mg(dosage.get("dose"), []), dosage)[0]
        ref = f"{res.ref}, its drug named{named}" if named else res.ref
        ctx.withheld.setdefault(agent, []).append((day, ref, status))


def _code_words(cc: Any) -> str:
    """A drug concept's codes as the report names them ("RxNorm code 21212")."""
    codes = [
        f"{'RxNorm' if system == C.RXNORM else brief(system.rsplit('/', 1)[-1], 40) or 'no system'} code "
        f"{brief(code, 40)}"
        for system, code, _ in codings(cc)
        if code
    ]
    return ", ".join(codes[:3]) + (", ..." if len(codes) > 3 else "") if codes else "no code"


def _not_identified(cc: Any) -> str:
    """Why a medication concept of codes only, none a tabled agent's, names no drug: the codes are none
    netcds knows and no words (text, display) name the drug."""
    return f"drug not identified: {_code_words(cc)}, a code netcds does not know, with no drug name"


def _reference_words(d: dict[str, Any]) -> str:
    """What a medicationReference that names no drug says ("its medicationReference (Medication/m9) has no
    display, and no Medication in the record states the drug")."""
    ref = d.get("medicationReference")
    target = ref.get("reference") if isinstance(ref, dict) else None
    said = f" ({brief(target, 80)})" if isinstance(target, str) and target else ""
    if not isinstance(ref, dict):
        return "it names no drug (no medicationCodeableConcept or medicationReference)"
    return f"its medicationReference{said} has no display, and no Medication in the record states the drug"


def _not_identified_current(ctx: Ctx, res: Res, what: str) -> None:
    """A current medication record whose drug could not be identified, for programs (an order check says it
    was not screened): MappingReport.medications_not_identified."""
    if ctx.as_of is not None and written_after(res, ctx.as_of) is not None:
        return  # not in the record on the record date
    ctx.report.medications_not_identified.append(f"{res.ref}: {what}")


def _clash_words(ctx: Ctx, res: Res) -> str:
    """Why the Medication a resource's ``medicationReference`` names cannot be told ("" when it can): the
    reference names several different Medications of the input (``Ctx.clashes``)."""
    ref = res.data.get("medicationReference")
    clash = [] if res.data.get("medicationCodeableConcept") else ctx.clash(ref)
    if not clash or not isinstance(ref, dict):
        return ""
    where = ", ".join(c.loc for c in clash)
    return (
        f"{ref.get('reference')} names {len(clash)} different Medications in the input ({where}), so which "
        "drug it is cannot be told from them"
    )


def _concept(ctx: Ctx, res: Res) -> tuple[Any, str, str]:
    """:func:`medication_concept`, except for a reference naming several different Medications: then only
    the reference's display names the drug (said so), or nothing does; and why (``""`` otherwise)."""
    clash = _clash_words(ctx, res)
    if not clash:
        return (*medication_concept(ctx, res), "")
    ref = res.data.get("medicationReference")
    display = ref.get("display") if isinstance(ref, dict) else None
    if isinstance(display, str) and display.strip():
        return {"text": display.strip()}, f"{DISPLAY_ONLY} ({clash})", clash
    return None, "", clash


def _medication(ctx: Ctx, res: Res, meds: list[str], episodes: list[Episode]) -> None:
    d = res.data
    status = str(d.get("status", ""))
    cc, via, clash = _concept(ctx, res)
    given, going = status_table(res).get(status, (False, False))
    if cc is None:
        ctx.unmapped(
            res,
            f"medication not identifiable: {clash}, and the reference has no display"
            if clash
            else "medication not identifiable (no drug code, and no Medication or display naming one)",
        )
        if going and not (res.rtype == "MedicationRequest" and not_an_order(d)):
            _not_identified_current(ctx, res, clash or _reference_words(d))
        return
    named = via if via.startswith(DISPLAY_ONLY) else ""  # said wherever the resource is reported

    def skip(reason: str) -> None:
        ctx.unmapped(res, f"{reason}; drug named{named}" if named else reason, cc)

    if res.rtype == "MedicationRequest" and (no_order := not_an_order(res.data)) is not None:
        skip(f"{no_order}; not used")
        return
    if not given:
        skip(f"status {status!r}: not a treatment that was given")
        if res.rtype == "MedicationAdministration" and status in WITHHELD_STATUS:
            _withheld(ctx, res, cc, status, named)
        return
    found = agents_in(cc)
    if not found:
        cancer = any(has_profile(res, p) for p in CANCER_MED_PROFILES)
        name = generic_name(cc)
        why = "cancer-related drug outside the netcds agent table" if cancer else "current drug"
        # a concept of codes only, none known (no words to name the drug): the drug is not identified
        unknown = _not_identified(cc) if not name and not cc_text(cc).strip() and codings(cc) else ""
        note = why
        if unknown:  # a current drug netcds cannot name is kept, so the safety screen says it is not screened
            name = f"unidentified drug ({_code_words(cc)})"[:200]
            note = f"{unknown}; kept so that the drug-safety screen reports it as not screened"
        start, end = episode_dates(res) if name and ctx.as_of is not None else (None, None)
        end, written = partial_end(res, end, ctx.as_of) if name and ctx.as_of is not None else (end, "")
        ended: list[str] = []  # an end that has passed: not current, and the report says why
        going = ended_early(ctx, status, going, end, ended, written)
        # ended after the record date: current then
        going = going_then(ctx, res, status, going, end, None, [])[0]
        if going and name and scheduled(ctx, start, res):  # not yet taken on the record date: not current
            when = start or written_bounds(res)[0]
            skip(f"starts {when}, after the record date {ctx.as_of}: not a current drug then")
            return
        if ctx.as_of is not None and (later := written_after(res, ctx.as_of)) is not None:
            skip(later)  # written after the record date: not in the record then
            return
        if going and name:
            meds.append(name)
            ctx.mapped("medications", name, res, cc, note=note + via)
            if unknown:
                _not_identified_current(ctx, res, f"{_code_words(cc)}, {UNKNOWN_CODE}")
        else:
            if going and not name and (text := cc_text(cc).strip()) and not words_not_a_drug(text):
                _not_identified_current(ctx, res, f"its words {brief(text)!r} name no drug netcds can read")
            kind = why if cancer else "not a current drug"
            skip("; ".join([*([unknown] if unknown else []), kind, *ended, "not used"]))
        return
    if not for_the_net(ctx, res, "treatment"):
        return
    notes: list[str] = []
    if res.rtype == "MedicationAdministration":
        dosage = d.get("dosage") or {}
        dose, interval = dose_in_mg(dosage.get("dose"), notes), None
    else:
        dosage = (d.get("dosageInstruction") or d.get("dosage") or [{}])[0]
        rate = (dosage.get("doseAndRate") or [{}])[0]
        dose = dose_in_mg(rate.get("doseQuantity"), notes)
        # a range is not read as a dose, even if low = high
        if "doseQuantity" not in rate and isinstance(rng := rate.get("doseRange"), dict):
            words = dose_range_words(rng)
            notes.append(
                f"dose given as a range, {words} (doseRange): a range is not one dose; dose_mg not read"
            )
        interval = dose_interval(dosage, notes)
    start, end = episode_dates(res)
    if scheduled(ctx, start, res):  # e.g. the next cycle, ordered ahead: not a treatment given yet
        when = start or written_bounds(res)[0]
        skip(f"starts {when}, after the record date {ctx.as_of}: scheduled, not given")
        return
    if ctx.as_of is not None and (later := written_after(res, ctx.as_of)) is not None:
        skip(later)  # e.g. a course begun earlier but first recorded after the record date
        return
    end, written = partial_end(res, end, ctx.as_of)
    going = ended_early(ctx, status, going, end, notes, written)
    reason, why, reason_note = read_stop_reason(res)
    if reason_note:
        notes.append(reason_note)
    if res.rtype != "MedicationAdministration" or status != "completed" or reason or d.get("statusReason"):
        # completed doses: administrations
        going, reason = going_then(ctx, res, status, going, end, reason, notes)
        why = why if reason else ""
    notes += [partial_end_note(written, end)] if written and not going else []
    for agent, how in found:
        kind_note = ""
        if agent == "octreotide":
            agent, kind_note = octreotide_kind(cc, dose, dosage)
        how = "; ".join(x for x in (f"{how}{via}", kind_note, f"stop reason {why}" if why else "") if x)
        episodes.append(
            Episode(agent, res, res.rtype, start, end, going, dose, interval, reason, how, list(notes))
        )


# a procedure that prepares or assesses radiotherapy (planning CT, simulation, a consultation) gives no dose
RT_PREPARATION = re.compile(
    r"\b(?:planning|plan|simulation|simulator|sim|dosimetry|contouring|consult\w*|referral|referred|"
    r"assessment|evaluation|work-?up|mask|mould|mold|immobili[sz]\w*|marking|tattoos?)\b",
    re.IGNORECASE,
)
# words saying the procedure was not done, whatever it names ("Not given", "None")
NOT_DONE = re.compile(
    r"\b(?:not|never)\s+(?:\w+\s+)?(?:given|done|performed|started|delivered|administered|received|"
    r"indicated|offered)\b|^\W*(?:no|none|nil)\b|\b(?:declined|refused|deferred|cancel+ed|omitted)\b",
    re.IGNORECASE,
)


def _no_course(cc: Any, rule: tuple[str, ...]) -> str:
    """Why a radiotherapy Procedure's words say it is no course given ("" when they do not): radiotherapy
    named only negated ("No radiotherapy given", in the manner of :mod:`netcds.fhir.wording`), words saying
    it was not done, or a procedure that prepares or assesses it (planning CT, simulation, a consultation).
    The text and every coding's display are read: a negation is never read past."""
    texts = [
        t for t in (cc.get("text") if isinstance(cc, dict) else None, *(d for _, _, d in codings(cc))) if t
    ]
    for text in texts:
        said = brief(str(text))
        found = readings(str(text), {"radiotherapy": [re.escape(w) for w in rule]})
        if (found and all(r.negated for r in found)) or NOT_DONE.search(str(text)):
            return f"the procedure's words {said!r} say radiotherapy was not given"
        if prep := RT_PREPARATION.search(str(text)):
            what = prep.group(0)
            return f"the procedure's words {said!r} name a preparation or assessment ({what!r}), no dose"
    return ""


def _procedure(ctx: Ctx, res: Res, episodes: list[Episode]) -> None:
    """Radiotherapy courses, and PRRT when the procedure names Lu-177 dotatate."""
    cc = res.data.get("code")
    words = cc_text(cc).lower()
    rule = next(v for k, v in C.TEXT_RULES.items() if k.startswith("Radiotherapy"))
    prrt = next(v for k, v in C.TEXT_RULES.items() if k.startswith("PRRT"))
    agent = "lu177_dotatate" if any(a == "lu177_dotatate" for a, _ in agents_in(cc)) else None
    if agent is None and any(w in words for w in prrt):
        ctx.unmapped(res, "PRRT procedure without the Lu-177 dotatate name: agent not known, not used", cc)
        return
    if agent is None and not (
        has_profile(res, "mcode-radiotherapy-course-summary") or any(w in words for w in rule)
    ):
        ctx.unmapped(res, "procedure (surgery, biopsy, imaging ...) not used by netcds", cc)
        return
    if agent is None and (not_given := _no_course(cc, rule)):
        ctx.unmapped(res, f"{not_given}: not a radiotherapy course, not used", cc)
        return
    agent = agent or "radiotherapy"
    status = str(res.data.get("status", ""))
    given, going = PROCEDURE_STATUS.get(status, (False, False))
    if not given:
        ctx.unmapped(res, f"{agent} procedure status {status!r}: not given", cc)
        return
    if not for_the_net(ctx, res, "treatment"):
        return
    start, end = episode_dates(res)
    if scheduled(ctx, start, res):
        when = start or written_bounds(res)[0]
        ctx.unmapped(
            res, f"{agent} starts {when}, after the record date {ctx.as_of}: scheduled, not given", cc
        )
        return
    notes: list[str] = []
    end, written = partial_end(res, end, ctx.as_of)
    going = ended_early(ctx, status, going, end, notes, written)
    reason, why, reason_note = read_stop_reason(res)
    notes += [reason_note] if reason_note else []
    going, reason = going_then(ctx, res, status, going, end, reason, notes)
    notes += [partial_end_note(written, end)] if written and not going else []
    why = why if reason else ""
    how = "radiotherapy procedure" if agent == "radiotherapy" else "PRRT procedure naming Lu-177 dotatate"
    how += f"; stop reason {why}" if why else ""
    episodes.append(Episode(agent, res, "Procedure", start, end, going, None, None, reason, how, notes))


def collect(ctx: Ctx, out: dict[str, Any]) -> list[Episode]:
    episodes: list[Episode] = []
    meds: list[str] = []
    for alias, clash in sorted(ctx.clashes.items()):  # never the first of them: each is reported
        where = ", ".join(c.loc for c in clash)
        for med in clash:
            ctx.unmapped(
                med,
                f"{len(clash)} different Medications in the input are named {alias} ({where}): a "
                "medicationReference to it cannot tell which is meant, so none of them is read for it",
                med.data.get("code"),
            )
    for res in ctx.of_type("MedicationRequest", "MedicationStatement", "MedicationAdministration"):
        _medication(ctx, res, meds, episodes)
    for res in ctx.of_type("Procedure"):
        _procedure(ctx, res, episodes)
    if meds:
        out["medications"] = sorted(set(meds))
    return episodes
