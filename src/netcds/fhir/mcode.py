"""FHIR R4 / mCODE 4.0.0 -> netcds Patient, with a report of what was and was not used.

Public functions::

    bundle_to_patient(bundle, as_of=None) -> (Patient, MappingReport)
    prefetch_to_patient(prefetch, as_of=None, templates=None) -> (Patient, MappingReport)

Malformed input raises :class:`netcds.errors.InputError` naming the place
(``entry[3].resource.code``); input that validates but cannot give a Patient (no
primary neuroendocrine cancer with a site) raises
:class:`netcds.fhir.report.FhirMappingError` (an ``InputError``) naming
``tumor.primary_site`` and carrying the report. Nothing absent is guessed: it
stays ``None`` (unknown). FHIR has no place for multidisciplinary judgements
(``context.*``), tumor burden, resectability, symptoms or WD-G3 biology: those
stay unknown and the engine asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError

from netcds.errors import InputError
from netcds.fhir.clinical import map_comorbidities, map_patient, map_vhl_conditions, map_vitals_labs
from netcds.fhir.conditions import choose_primary, map_primary, map_secondary, map_syndromes
from netcds.fhir.context import Ctx
from netcds.fhir.dating import condition_after, earliest_day, effective_text
from netcds.fhir.histology import Histology, histology_of
from netcds.fhir.no_primary import NET_ONLY, chosen_primary_why, no_primary_why
from netcds.fhir.not_carried import NOT_CARRIED as NOT_CARRIED
from netcds.fhir.observation_kinds import classify
from netcds.fhir.observations import map_observations
from netcds.fhir.paging import paged_parts, prefetch_parts, unknown_lists
from netcds.fhir.read import Res, patient_id, read_bundle, read_prefetch
from netcds.fhir.report import FhirMappingError, MappedItem, MappingReport
from netcds.fhir.scope import (
    SKIP_OBS_STATUS,
    about,
    in_error,
    is_primary,
    is_secondary,
    recorded_as_net,
    refuted,
    syndrome_of,
    tumor_named_only,
)
from netcds.fhir.treatment_lines import build_treatments
from netcds.fhir.treatments import collect
from netcds.io import input_error
from netcds.patient import Patient

NOT_USED_TYPES = ("Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "Specimen",
                  "ServiceRequest", "Group", "CareTeam", "Provenance", "Coverage", "BodyStructure",
                  "DocumentReference", "FamilyMemberHistory", "DiagnosticReport", "ImagingStudy",
                  "AllergyIntolerance", "Immunization", "Medication")  # fmt: skip


def bundle_to_patient(bundle: dict[str, Any], as_of: date | None = None) -> tuple[Patient, MappingReport]:
    """Map a FHIR R4 Bundle (mCODE or plain US Core) for one patient to a netcds Patient. A search result
    sent in part (itself or a Bundle nested in it: netcds.fhir.paging.paged_parts) leaves the lists it feeds
    unknown, or is refused (InputError) when it feeds other facts."""
    resources = read_bundle(bundle)
    parts = paged_parts(bundle)
    patient, report = _map(resources, as_of)
    return unknown_lists(patient, parts, report), report


def prefetch_to_patient(
    prefetch: dict[str, Any],
    as_of: date | None = None,
    templates: Mapping[str, str] | None = None,
    *,
    require_neuroendocrine: bool = False,
) -> tuple[Patient, MappingReport]:
    """Map a CDS Hooks prefetch (values: resources or searchset Bundles) to a netcds Patient; a key sent in
    part is read as netcds.fhir.paging.prefetch_parts says (with the service's prefetch ``templates``, the
    types they search). With ``require_neuroendocrine`` (the CDS Hooks services, which see every chart), a
    primary cancer nothing in the record calls neuroendocrine (a lung or colon cancer code alone) is no
    tumor of netcds's: FhirMappingError on ``tumor``; so is a small cell or large cell neuroendocrine
    carcinoma of the lung (another guideline's: MappingReport.other_guideline, :func:`other_guideline`)."""
    resources = read_prefetch(prefetch)
    parts = prefetch_parts(prefetch, templates)
    patient, report = _map(resources, as_of)
    if require_neuroendocrine and not report.neuroendocrine_evidence:
        raise FhirMappingError(
            "tumor",
            "the primary cancer is not recorded as neuroendocrine (no NET code, neuroendocrine morphology "
            "or histology, or hormone syndrome): not a record netcds's hook services answer for",
            report,
        )
    if require_neuroendocrine and report.other_guideline:
        raise FhirMappingError(
            "tumor", f"{report.other_guideline}: not a record netcds's hook services answer for", report
        )
    return unknown_lists(patient, parts, report), report


def _identifiers(value: Any) -> set[tuple[str, str]]:
    items = value if isinstance(value, list) else [value]
    return {
        (str(i.get("system", "")), str(i["value"])) for i in items if isinstance(i, dict) and i.get("value")
    }


def _subject_ok(ctx: Ctx, res: Res) -> bool:
    """False when the resource is about another subject than the Patient mapped.

    The subject must resolve to the Patient (by id, absolute URL or fullUrl) or carry one
    of its identifiers; a reference that resolves to nothing in the input (e.g. another
    ``urn:uuid:``) names someone else. A subject given only as display text is not checked."""
    if ctx.patient is None or res is ctx.patient:
        return True
    subject = res.data.get("subject") or res.data.get("patient")
    if not isinstance(subject, dict):
        return True
    if subject.get("reference"):
        target = ctx.resolve(subject)
        return target is ctx.patient
    if subject.get("identifier"):
        return bool(_identifiers(subject["identifier"]) & _identifiers(ctx.patient.data.get("identifier")))
    return True


def _single_subject(resources: list[Res]) -> None:
    """Without a Patient resource, all resources must be about the same patient (or not say)."""
    subjects: dict[str, str] = {}
    for res in resources:
        subject = res.data.get("subject") or res.data.get("patient")
        pid = patient_id(subject.get("reference")) if isinstance(subject, dict) else None
        if pid is not None:
            subjects.setdefault(f"Patient/{pid}", res.loc)
    if len(subjects) > 1:
        where = ", ".join(f"{loc} -> {ref}" for ref, loc in sorted(subjects.items()))
        raise InputError(
            "entry",
            f"resources refer to several patients ({where}) and no Patient resource says which one to map",
        )


def _map(resources: list[Res], as_of: date | None) -> tuple[Patient, MappingReport]:
    ctx = Ctx(resources, as_of)
    for res in resources:  # a period ending before it starts, taken out when read (netcds.fhir.read)
        for why in res.unreadable:
            ctx.report.skip(res.ref, why)
    out: dict[str, Any] = {"tumor": {}, "disease": {}, "biomarkers": {}, "comorbidities": {}}
    if as_of is not None:
        out["as_of"] = as_of.isoformat()
    map_patient(ctx, out)
    if ctx.patient is None:
        _single_subject(resources)
    for res in resources:
        if not _subject_ok(ctx, res):
            ctx.excluded.add(res.loc)
            ctx.unmapped(res, "about another patient than the one mapped; not used")
    later = _set_aside_later(ctx)

    conditions = list(ctx.of_type("Condition"))
    primaries = [r for r in conditions if is_primary(r)]
    primary = choose_primary(ctx, primaries)
    hist = map_primary(ctx, primary, out) if primary is not None else None
    syndrome_rows: list[tuple[Res, str]] = []
    comorbidity_conditions: list[Res] = []
    for res in conditions:
        if res in primaries:
            continue
        if is_secondary(res):
            map_secondary(ctx, res, out)
        elif (syndrome := syndrome_of(res)) is not None:
            syndrome_rows.append((res, syndrome))
        elif (named := tumor_named_only(res)) is not None:
            ctx.unmapped(
                res,
                f"names a neuroendocrine tumour {named} only (no mCODE PrimaryCancerCondition profile or "
                "cancer code): not used as the primary cancer",
                res.data.get("code"),
            )
        else:
            comorbidity_conditions.append(res)

    kinds = map_observations(ctx, out)
    hist_fallback(ctx, primary, out)
    map_vhl_conditions(ctx, comorbidity_conditions, out)
    map_syndromes(ctx, syndrome_rows, {}, out)
    if primary is not None:
        ctx.report.neuroendocrine_evidence = _ne_evidence(primary, hist, ctx.report)
        ctx.report.other_guideline = other_guideline(primary, hist, out["tumor"].get("primary_site"))
    map_vitals_labs(ctx, kinds, out)
    map_comorbidities(ctx, comorbidity_conditions, kinds.pop("comorbidities", []), out)
    for res in kinds.pop("other", []):
        ctx.unmapped(res, "observation code not used by netcds", res.data.get("code"))
    for kind, rows in kinds.items():
        for res in rows:
            ctx.unmapped(res, f"{kind} observation not used", res.data.get("code"))
    build_treatments(ctx, collect(ctx, out), out)

    mentioned = " ".join(
        [f"{m.from_} {m.note or ''}" for m in ctx.report.mapped] + [u.resource for u in ctx.report.unmapped]
    )
    for res in resources:
        if res.loc not in ctx.used:
            kind = "resource type" if res.rtype in NOT_USED_TYPES else res.rtype
            ctx.unmapped(res, f"{kind} not used by netcds")
        elif not _mentioned(res.ref, mentioned):
            ctx.unmapped(res, "read, but it carried nothing netcds maps")
    later_primaries = [
        r.ref for r in resources if r.loc in later and r.rtype == "Condition" and is_primary(r)
    ]
    dropped = [r for r in primaries if refuted(r) or in_error(r)]
    return _build(ctx, out, len(ctx.excluded - later), later_primaries, dropped), ctx.report


def _ne_evidence(primary: Res, hist: Histology | None, report: MappingReport) -> list[str]:
    """What says the primary is neuroendocrine (MappingReport.neuroendocrine_evidence)."""
    said = [f"{primary.ref}: recorded as a neuroendocrine tumor"] if recorded_as_net(primary) else []
    if hist is not None and hist.neuroendocrine:
        said.append(f"{(hist.source or primary).ref}: histology {hist.label}")
    said += [f"{m.from_.split(' ', 1)[0]}: {m.value}" for m in report.mapped if m.field == "tumor.syndromes"]
    return list(dict.fromkeys(said))


def other_guideline(primary: Res, hist: Histology | None, site: str | None) -> str | None:
    """Why the primary is managed under another guideline than the NET guideline netcds encodes
    (MappingReport.other_guideline), or None: a small cell or large cell neuroendocrine carcinoma of the
    lung (ICD-O-3 8041-8045 or 8013, or those names in plain words) is treated as small cell lung cancer. It
    is still mapped (a poorly differentiated lung carcinoma, which the engine leaves outside the NET tables
    with its reason); the CDS Hooks services answer no cards for it. The same carcinoma outside the lung
    (extrapulmonary neuroendocrine carcinoma) is the NET guideline's and unchanged."""
    if site != "lung" or hist is None or not hist.carcinoma_type:
        return None
    return (
        f"{(hist.source or primary).ref}: {hist.carcinoma_type} of the lung ({hist.label}), managed under "
        "the small cell lung cancer guideline, not the neuroendocrine tumor guideline netcds encodes"
    )


def _set_aside_later(ctx: Ctx) -> set[str]:
    """With a record date (``as_of``), Observations and Conditions dated after it are left out and
    reported: the record is read as it stood on that day. An Observation by its effective date; a Condition
    when its onset or its recorded date is after (dating.condition_after). A partial date is after only if
    its first day is. (Courses starting after it are left out where they are read, netcds.fhir.treatments:
    scheduled, not given.) Returns the ``loc`` of those left out."""
    later: set[str] = set()
    if ctx.as_of is None:
        return later
    for res in list(ctx.of_type("Observation", "Condition")):
        if res.rtype == "Condition":
            when = condition_after(res, ctx.as_of)
        else:
            day = earliest_day(res)
            when = effective_text(res) if day is not None and day > ctx.as_of else None
        if when is not None:
            later.add(res.loc)
            ctx.unmapped(
                res, f"dated after the record date {ctx.as_of} ({when}): not used", res.data.get("code")
            )
    ctx.excluded |= later
    return later


def _mentioned(ref: str, text: str) -> bool:
    return any(tok.rstrip("];,)") == ref for tok in text.split())


def _grading_recorded(ctx: Ctx) -> list[Res]:
    """Grade, Ki-67 or mitotic-count Observations about the tumour, usable or not."""
    return [
        r
        for r in ctx.of_type("Observation")
        if str(r.data.get("status", "")) not in SKIP_OBS_STATUS
        and classify(r) in ("grade", "ki67", "ki67_qualitative", "mitoses")
        and about(ctx, r)[0] != "other"
    ]


def hist_fallback(ctx: Ctx, primary: Res | None, out: dict[str, Any]) -> None:
    """ICD-O-3 8240/3 whose display says grade 1 gives NET G1, only when no grade, Ki-67 or
    mitotic-count Observation is recorded at all (even one that could not be used)."""
    tumor = out["tumor"]
    if primary is None or any(k in tumor for k in ("grade", "ki67_percent", "mitoses_per_2mm2")):
        return
    hist: Histology | None = histology_of(ctx, primary, tumor.get("primary_site"))
    if not (hist and hist.gep_grade_fallback):
        return
    recorded = _grading_recorded(ctx)
    if recorded:
        ctx.report.skip(
            (hist.source or primary).ref,
            f"{hist.label}: grade 1 morphology not used for tumor.grade, because a grade, Ki-67 or "
            f"mitotic count is recorded ({', '.join(r.ref for r in recorded)}) but could not be used; "
            "grade stays unknown",
        )
        return
    tumor["grade"] = hist.gep_grade_fallback
    ctx.mapped(
        "tumor.grade",
        hist.gep_grade_fallback,
        hist.source or primary,
        note=f"{hist.label}: NET grade 1 morphology; no grade, Ki-67 or mitotic count observation recorded",
    )


def _no_primary_why(ctx: Ctx, other_subjects: int, later_primaries: list[str], dropped: list[Res]) -> str:
    """Why the Patient has no primary site, as the error names it."""
    if ctx.primary is not None:
        return chosen_primary_why(ctx.primary)

    def mark(r: Res) -> str:
        return "refuted" if refuted(r) else "entered-in-error"

    marks = [f"{r.ref} is marked {mark(r)}" for r in dropped]
    if len(dropped) == 1 and not ctx.unconfirmed_primaries:
        return f"the only primary tumor Condition ({dropped[0].ref}) is marked {mark(dropped[0])}"
    if dropped:
        unsure = [f"{ref} is not confirmed" for ref in ctx.unconfirmed_primaries]
        return f"no usable primary cancer condition ({'; '.join(marks + unsure)}; see the report)"
    if ctx.unconfirmed_primaries:
        unsure_refs = ", ".join(ctx.unconfirmed_primaries)
        return f"no confirmed primary cancer condition ({unsure_refs} not confirmed; see the report)"
    if later_primaries:
        return (
            f"no primary cancer condition dated on or before the record date {ctx.as_of} "
            f"({', '.join(sorted(later_primaries))} dated after it; see the report)"
        )
    if other_subjects:  # one may be among those set aside
        return (
            f"no primary cancer condition about the patient mapped ({other_subjects} resource(s) "
            "about another patient were set aside; see the mapping report)"
        )
    return no_primary_why(ctx) or "no primary cancer condition in the input"


def _sex_against_pregnancy(ctx: Ctx, out: dict[str, Any]) -> None:
    """Administrative gender male with a pregnancy status of pregnant: both left unknown, reported.

    FHIR Patient.gender is administrative: it does not say whether the patient can be pregnant, and which
    of the two is wrong is not known (the contract refuses the pair). Leaving only ``pregnant`` unknown would
    let every pregnancy screen (``sex`` not male and pregnant) read false for a patient recorded pregnant;
    leaving only ``sex`` unknown would state a pregnancy the record contradicts. With both unknown the
    screens stay open and ask."""
    if not (out.get("pregnant") is True and out.get("sex") == "male"):
        return
    rows = {m.field: m.from_ for m in ctx.report.mapped if m.field in ("sex", "pregnant")}
    ctx.report.mapped = [m for m in ctx.report.mapped if m.field not in ("sex", "pregnant")]
    del out["sex"], out["pregnant"]
    why = (
        f"administrative gender male ({rows.get('sex', 'Patient.gender')}) and pregnancy status pregnant "
        f"({rows.get('pregnant', 'an Observation')}) disagree: FHIR Patient.gender is administrative and "
        "which of the two is wrong is not known; sex and pregnant are both left unknown"
    )
    for source in rows.values():
        ctx.report.skip(source.split(" ", 1)[0], why)


# what each lung/thymus carcinoid subtype means for the grade (patient.Tumor._consistent)
_SUBTYPE_GRADE = {"typical_carcinoid": "G1", "atypical_carcinoid": "G2"}
_SAID = {"differentiation": "differentiation", "grade": "grade", "lung_subtype": "lung subtype",
         "functional": "functional", "syndromes": "syndromes", "colon_segment": "colon segment",
         "duodenal_part": "duodenal part"}  # fmt: skip


def tumor_disagreements(tumor: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Each pair of tumour facts mapped from FHIR that the contract refuses together (the checks of
    :meth:`netcds.patient.Tumor._consistent`): the facts to leave unknown and why they cannot both hold."""
    diff, grade, sub, site = (
        tumor.get(k) for k in ("differentiation", "grade", "lung_subtype", "primary_site")
    )
    found: list[tuple[tuple[str, ...], str]] = []
    if diff == "poor" and sub is not None:
        found.append((("differentiation", "lung_subtype"), "a carcinoid is well differentiated"))
    if diff == "poor" and grade in ("G1", "G2"):
        found.append((("differentiation", "grade"), "a poorly differentiated carcinoma is high grade"))
    if sub is not None and grade is not None and _SUBTYPE_GRADE[sub] != grade:
        why = "a typical carcinoid is low grade (G1), an atypical one intermediate grade (G2)"
        if grade == "G3" and diff == "well":  # beyond the carcinoid range: its differentiation too
            beyond = (
                "a high grade is beyond the carcinoid range: the carcinoid's well differentiation goes too"
            )
            found.append((("lung_subtype", "grade", "differentiation"), f"{why}; {beyond}"))
        else:
            found.append((("lung_subtype", "grade"), why))
    if sub is not None and site not in ("lung", "thymus"):
        found.append((("lung_subtype",), f"a lung subtype is only for a lung or thymus primary, not {site}"))
    syndromes = tumor.get("syndromes")
    if (tumor.get("functional") is False and syndromes) or (
        tumor.get("functional") is True and syndromes == []
    ):
        found.append((("functional", "syndromes"), "a functional tumour is one with a hormone syndrome"))
    for field, own in (("colon_segment", "colon"), ("duodenal_part", "duodenum")):
        if tumor.get(field) is not None and site != own:
            found.append(((field,), f"a {_SAID[field]} is only for a {own} primary, not {site}"))
    return found


def _settle_tumor(ctx: Ctx, out: dict[str, Any]) -> None:
    """Tumour facts that disagree with each other (:func:`tumor_disagreements`) are left unknown, never
    one of them picked and never the whole record refused: which is wrong is not known (a morphology of
    neuroendocrine carcinoma beside a G1 grade, a typical carcinoid beside a G2 grade). Each resource that
    gave one of them is reported with both values and their sources."""
    tumor = out["tumor"]
    found = tumor_disagreements(tumor)
    if not found:
        return
    rows: dict[str, list[MappedItem]] = {}
    for m in ctx.report.mapped:
        if m.field.startswith("tumor."):
            rows.setdefault(m.field.removeprefix("tumor."), []).append(m)
    gone: set[str] = set()
    for fields, why in found:
        named = [f for f in fields if f in tumor and f not in gone]
        if not named:
            continue
        said = " and ".join(f"{_SAID[f]} {_value(tumor[f])} ({_sources(rows.get(f, []))})" for f in named)
        left = " and ".join(f"tumor.{f}" for f in named)
        reason = (
            f"the record disagrees with itself: {said} cannot both hold ({why}); which is wrong is not "
            f"known, so {left} {'is' if len(named) == 1 else 'are'} left unknown"
        )
        refs = sorted({r.from_.split(" ", 1)[0] for f in named for r in rows.get(f, [])})
        if not refs and ctx.primary is not None:
            refs = [ctx.primary.ref]
        for ref in refs:
            ctx.report.skip(ref, reason)
        gone.update(named)
    ctx.report.mapped = [m for m in ctx.report.mapped if m.field.removeprefix("tumor.") not in gone
                         or not m.field.startswith("tumor.")]  # fmt: skip
    for f in gone:
        del tumor[f]


def _value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _sources(rows: list[MappedItem]) -> str:
    """Where the mapped rows of one fact came from: each resource, with the code or words that gave it."""
    said = sorted({f"{r.from_.split(' ', 1)[0]}{': ' + r.note if r.note else ''}" for r in rows})
    return "; ".join(said) or "source not recorded"


def _build(
    ctx: Ctx, out: dict[str, Any], other_subjects: int, later_primaries: list[str], dropped: list[Res]
) -> Patient:
    if ctx.fatal is not None:
        raise FhirMappingError(ctx.fatal[0], ctx.fatal[1], ctx.report)
    if not out["tumor"].get("primary_site"):
        why = _no_primary_why(ctx, other_subjects, later_primaries, dropped)
        need = (
            "netcds needs the primary site of a neuroendocrine tumor (mCODE PrimaryCancerCondition with "
            "bodySite or an ICD-10-CM site code)"
        )
        # a record of another cancer only: the message names it, not a missing site
        raise FhirMappingError("tumor.primary_site", why if NET_ONLY in why else f"{why}; {need}", ctx.report)
    _sex_against_pregnancy(ctx, out)
    _settle_tumor(ctx, out)
    record = {k: v for k, v in out.items() if v != {}}
    record.setdefault("tumor", out["tumor"])
    try:
        return Patient.model_validate(record)
    except ValidationError as exc:
        named = input_error(exc)  # the field path as the contract names it (also inside model checks)
        raise FhirMappingError(named.field, f"{named.message} (value mapped from FHIR)", ctx.report) from None
