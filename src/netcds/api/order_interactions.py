"""Order-select / order-sign: a drug ordered beside the NET agents the patient is currently on.

The order hooks check each draft of a tabled agent with the other drafts as concomitant medicines. This
module adds the other direction: a draft of a drug that is not a netcds agent (clarithromycin for a patient
on cabozantinib) is screened against every agent the record shows as current, i.e. an ongoing treatment
line: no end date (the contract's "ongoing"; the FHIR mapping leaves the end out while an active or on-hold
MedicationRequest/Statement of the agent is part of the line), except a line the mapping reports as ended
without an end date (a completed or stopped request that states none, such as the official mCODE cisplatin
example): the contract reads it as ongoing, but an interaction card about a course that ended years ago
would be a false alarm.

Each current agent is screened with the drafts among the medications (the screen the order hooks already
run and cache for an ordered agent: ``("screen", agent, record hash)``), and each interaction finding that
an ordered drug triggers (the finding's fields name its row in that list) becomes a card
(netcds.fhir.concomitant_cards); the agent's other findings are not caused by the order and are left out.
Nothing is computed unless a draft names a drug that is not an agent and the record holds a current agent.

A current medication whose drug the mapping could not identify (the report's ``medications_not_identified``:
a medicationReference with no display naming no Medication of the record, an unknown code with no drug
name) may be any drug, an agent among them: nothing screens it, and one info card says so, naming it and the
ordered drugs (netcds.fhir.concomitant_cards.unidentified_current_card).

Not screened here: a current agent that is also ordered in the same call (its own order's cards already
screen the drafts beside it), radiotherapy (no drug), and records the hook cannot read (see
:func:`record_or_reason`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

from fastapi import Request

from netcds import __version__
from netcds.api import optional
from netcds.api.context import NeedsWork, ServiceContext
from netcds.api.eval_cache import MappedPatient
from netcds.api.order_guideline import logged_fault
from netcds.api.orders import DRUG_AGENTS, DraftMedication, concomitant_names
from netcds.api.problems import ApiProblem
from netcds.api.record_account import RecordAccount, account_key
from netcds.errors import InputError
from netcds.facts import treatment_agents
from netcds.fhir.card_base import AgentScreenView
from netcds.fhir.concomitant_cards import (
    CurrentLine,
    concomitant_card,
    concomitant_unscreened_card,
    ordered_in,
)
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, content_hash, sha256_hex

T = TypeVar("T")
SCREEN_BYTES = 64 * 1024  # size estimate of a cached agent screen (items with their sources)


class OrderCall(Protocol):
    """What this module reads of an order hook call (netcds.api.hook_call.HookCall)."""

    @property
    def ctx(self) -> ServiceContext: ...
    @property
    def service_id(self) -> str: ...
    @property
    def request(self) -> Request: ...
    @property
    def scratch(self) -> dict[str, Any]: ...
    def fresh(self, compute: Callable[[], T]) -> Callable[[], T]: ...


def concomitant_orders(drafts: Sequence[DraftMedication]) -> list[DraftMedication]:
    """Of the drafts a hook checks (netcds.api.hook_checks.selected_drafts: for order-select, the selected
    ones), those of a drug that is not a netcds agent and whose drug was read."""
    return [d for d in drafts if d.agent is None and d.name and not d.unread]


def with_drafts(mapped: MappedPatient, drafts: Sequence[DraftMedication]) -> tuple[Patient, str]:
    """The record with the drug names of the non-agent drafts added to its medications (as the order hooks
    screen an ordered agent), and its content hash; the record itself when no draft adds a name."""
    patient = mapped.patient
    meds = concomitant_names(drafts, patient.medications)
    if meds == patient.medications:
        return patient, mapped.digest
    patient = Patient.model_validate({**patient.model_dump(exclude_none=True), "medications": meds})
    return patient, content_hash(patient)


def record_or_reason(
    read: Callable[[], MappedPatient], unidentified: Callable[[], Sequence[str]] = tuple
) -> tuple[MappedPatient | None, str]:
    """The record for an order of non-agent drugs only, when it holds an agent with no end date, or why there
    is nothing to screen against. Such an order never needed the record before, so a record that is missing
    (412), invalid (422) or holds no neuroendocrine tumor leaves the answer what it was without this check;
    the audit entry says why. Without a tumor the mapping reads no treatment line as the NET's
    (netcds.fhir.scope.for_the_net): a cabozantinib line of a renal cancer is outside netcds's scope, and an
    "unscreened" card on every order of every chart netcds cannot read would be noise, so no card is made.
    A record without an ongoing agent line is answered at once (the drafts are not added to it), unless it
    holds current medications whose drug could not be identified (``unidentified``: any may be an agent, so
    the order hooks say they were not screened). ``read``
    fetches nothing: a prefetch key the EHR did not send makes the record not available (every order of
    every chart comes here, so no FHIR fetch is made for it)."""
    try:
        found = read()
    except ApiProblem as exc:
        return None, f"record not available ({exc.status})"
    except InputError as exc:
        field = exc.field.removeprefix("<patient>.")
        no_tumor = field in ("tumor", "tumor.primary_site")
        return None, "no neuroendocrine tumor in the record" if no_tumor else f"record not readable ({field})"
    if not current_lines(found.patient, set()) and not unidentified():
        return None, "no current agent in the record"
    return found, ""


def current_lines(
    patient: Patient, exclude: set[str], ended: frozenset[int] = frozenset()
) -> dict[str, list[CurrentLine]]:
    """The drug agents of the record's ongoing treatment lines (no end date), in record order, each with its
    lines; agents in ``exclude`` (ordered in this call) and the rows ``ended`` (ended, no end date stated)
    are left out."""
    out: dict[str, list[CurrentLine]] = {}
    for i, t in enumerate(patient.treatments or []):
        if t.end is not None or i in ended:
            continue
        for agent in treatment_agents(t):
            if agent in DRUG_AGENTS and agent not in exclude:
                out.setdefault(agent, []).append(CurrentLine(i, agent, t.start))
    return out


def concomitant_cards(
    call: OrderCall,
    patient: Patient,
    digest: str,
    ordered: Sequence[DraftMedication],
    targets: Sequence[DraftMedication],
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The cards of the non-agent drafts ``ordered`` against each current agent of ``patient`` (the record
    with the drafts among its medications; ``digest`` its content hash) that is not ordered in this call
    (``targets``: the checked drafts of tabled agents), the error ids of screens that failed inside netcds,
    and the current agents screened. Cards of an agent are cached like an ordered agent's (kind
    ``ordercards``: the record, the agent and its current lines, the drafts' canonical JSON, the versions)."""
    if not ordered:
        return [], [], []
    exclude = {d.agent or "" for d in targets}
    current = current_lines(patient, exclude)
    if current:  # the mapping's account of the record is read only now (a second mapping, memoized)
        current = current_lines(patient, exclude, ended_undated(call))
    if not current:
        return [], [], []
    ctx = call.ctx
    names = [d.name for d in ordered]
    rows = {i: m for i, m in enumerate(patient.medications or []) if m in names}
    drafts_hash = sha256_hex(canonical_json([d.resource for d in ordered]))
    cards: list[dict[str, Any]] = []
    faults: list[str] = []
    for agent, lines in current.items():
        key = (
            "ordercards",
            call.service_id,
            digest,
            "concomitant",
            agent,
            ",".join(str(line.index) for line in lines),
            drafts_hash,
            __version__,
            ctx.base_url,
        )
        built = ctx.eval_cache.get(key)
        if not isinstance(built, list):
            built, fault = _agent_cards(call, patient, digest, agent, lines, ordered, rows)
            if fault:  # not kept: the next call tries again
                faults.append(fault)
            else:
                ctx.eval_cache.put_json(key, built)
        cards += built
    return cards, faults, list(current)


def agent_screen(call: OrderCall, agent: str, patient: Patient, digest: str) -> AgentScreenView | None:
    """The safety screen of ``agent`` for the record ``patient`` (``digest`` its content hash), kept per
    record and version: shared by the cards of an order of the agent and of other drugs ordered beside a
    current course of it (None: no safety data for the agent, or the safety layer is not installed)."""
    return call.ctx.eval_cache.memo(
        ("screen", agent, digest, __version__),
        AgentScreenView,
        call.fresh(partial(optional.screen, agent, patient)),
        lambda _s: SCREEN_BYTES,
    )


def record_account(call: OrderCall) -> RecordAccount:
    """The mapping report's account of the call's record (:class:`RecordAccount`): kept when the hook call
    mapped the prefetch, else the prefetch mapped again, once per prefetch and as-of date; empty when the
    call has no prefetch."""
    found = call.scratch.get("prefetch")
    if found is None:
        return RecordAccount()
    prefetch, text, as_of = found

    def read() -> RecordAccount:
        return RecordAccount.of(optional.prefetch_to_patient(prefetch, as_of)[1])

    kept = call.ctx.eval_cache.memo(
        account_key(text, as_of), RecordAccount, call.fresh(read), RecordAccount.size
    )
    return kept if kept is not None else RecordAccount()


def ended_undated(call: OrderCall) -> frozenset[int]:
    """The treatment rows the FHIR mapping read as ongoing only because their records ended without stating
    an end date (its report's ``treatments_ended_without_end_date``, :func:`record_account`)."""
    return record_account(call).ended


def _agent_cards(
    call: OrderCall,
    patient: Patient,
    digest: str,
    agent: str,
    lines: list[CurrentLine],
    ordered: Sequence[DraftMedication],
    rows: Mapping[int, str],
) -> tuple[list[dict[str, Any]], str | None]:
    """One current agent's cards for the ordered drugs, and the error id when its screen failed."""
    ctx = call.ctx
    names = list(dict.fromkeys(d.name for d in ordered))
    seed = f"{call.service_id}|{digest}|{agent}|concomitant"
    fault, screen = None, None
    try:
        screen = agent_screen(call, agent, patient, digest)
    except NeedsWork:
        raise
    except Exception as exc:
        fault = logged_fault("safety screen", getattr(call.request.state, "request_id", None), exc)
        why = f"an internal error occurred (id {fault}; it has been logged)"
    if screen is None:  # no screen: said on a card, never silence (not an all-clear)
        if fault is None:
            installed = optional.safety_available()
            why = "no safety data is encoded for it" if installed else "the safety layer is not installed"
        card = concomitant_unscreened_card(agent, names, why, lines, base_url=ctx.base_url, seed=seed)
        return [card], fault
    out = []
    for f in screen.safety:
        involved = ordered_in(f, rows)
        if not involved:
            continue
        # the drafts are read for their drug only, as when they sit beside an ordered agent: whether one is
        # valid FHIR R4 elsewhere does not decide whether this interaction is shown (a 422 would hide it)
        drafts = [d for d in ordered if d.name in involved]
        refs = [f"{d.reference or d.loc.removesuffix('.resource')} ({d.name})" for d in drafts]
        out.append(concomitant_card(f, screen, involved, refs, lines, base_url=ctx.base_url, seed=seed))
    return out, fault
