"""The order-sign and order-select services: the cards of each ordered netcds agent (safety and dose
cards, and whether the guideline lists it for this patient), of other drugs ordered beside a current agent,
and of drafts whose drug could not be read."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi.responses import Response

from netcds import __version__
from netcds.api import optional
from netcds.api.context import NeedsWork
from netcds.api.eval_cache import MappedPatient, knowledge_key
from netcds.api.hook_call import HookCall, cards_response, mapped_patient, no_tumor, once, request_id
from netcds.api.hook_checks import check_draft, check_draft_subjects, invalid_hook, selected_drafts
from netcds.api.issued_cards import record_issued
from netcds.api.order_guideline import guideline_card, guideline_facts, logged_fault, unchecked_card
from netcds.api.order_interactions import (
    agent_screen,
    concomitant_cards,
    concomitant_orders,
    record_account,
    record_or_reason,
    with_drafts,
)
from netcds.api.orders import DraftMedication, draft_medications
from netcds.api.problems import input_problem
from netcds.errors import InputError
from netcds.fhir.card_base import agent_name
from netcds.fhir.cards import order_cards, unread_order_card, unscreened_card
from netcds.fhir.concomitant_cards import unidentified_current_card
from netcds.fhir.guideline_cards import with_guideline_card
from netcds.fhir.report import UNKNOWN_CODE
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, sha256_hex


def order_check(call: HookCall) -> Response:
    ctx, service_id, req = call.ctx, call.service_id, call.req
    orders = req.context.get("draftOrders")
    if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
        raise invalid_hook("context.draftOrders", "must be a FHIR Bundle")
    check_draft_subjects(req.context.get("patientId"), orders)
    drafts = draft_medications(orders, optional.rxnorm_codes())
    chosen = selected_drafts(req.hook, req.context, drafts)  # order-select: the selected drafts only
    targets = [d for d in chosen if d.agent]
    unread = [d for d in chosen if d.unread]
    action = f"hooks.{req.hook}"
    not_checked = _unread_cards(call, unread)
    ordered = concomitant_orders(chosen)  # other drugs: checked against current agents
    # the record as sent (never fetched for an order of other drugs only: every order of every chart comes)
    found, why = (
        record_or_reason(partial(mapped_patient, call, False), lambda: record_account(call).unidentified)
        if ordered and not targets
        else (None, "")
    )
    if found is None and not targets:  # no tabled agent ordered, no record needed or readable for the others
        cards = each_once(not_checked)
        record_issued(call.later, ctx.store, service_id, cards)
        extra = {"concomitant": why} if why else {}
        call.audit(action, {"service": service_id, "agents": [], **_unread_detail(unread, cards), **extra})
        return cards_response(cards)
    try:
        mapped = found if found is not None else mapped_patient(call)
    except InputError as exc:
        if not no_tumor(exc):
            raise input_problem(exc) from None
        seed = f"{service_id}|{req.context.get('patientId')}"
        reason = "no neuroendocrine tumor diagnosis could be read from the record"
        unscreened = [unscreened_card(d.agent or "", reason, ctx.base_url, seed) for d in targets]
        cards = each_once(unscreened + not_checked)
        record_issued(call.later, ctx.store, service_id, cards)
        call.audit(
            action,
            {
                "service": service_id,
                "agents": [d.agent for d in targets],
                "result": "unscreened",
                **_unread_detail(unread, cards),
            },
        )
        return cards_response(cards)
    patient, digest = with_drafts(mapped, drafts)
    kb = ctx.knowledge()
    cards = []
    failed: list[str] = []  # error ids of the parts of this check that failed inside netcds
    for d in targets:
        # an ordered agent's cards follow from the record (as recorded, for the guideline card; with the
        # drafts as concomitant medicines, for the screen), the draft order (and a Medication of the
        # Bundle it references), the agent data and the guideline version (the key)
        order = d.resource if d.drug.medication is None else [d.resource, d.drug.medication.resource]
        key = (
            "ordercards",
            service_id,
            digest,
            mapped.digest,
            d.agent or "",
            sha256_hex(canonical_json(order)),
            __version__,
            *knowledge_key(kb),
            ctx.base_url,
        )
        built = ctx.eval_cache.get(key)
        if not isinstance(built, list):
            # only a valid draft's cards are built (and so cached): a cached answer's draft was checked
            check_draft(d)
            built, faults = _agent_cards(call, d, patient, digest, mapped)
            if faults:  # not kept: the next call tries again
                failed += faults
            else:
                ctx.eval_cache.put_json(key, built)
        cards += built
    more, faults, current = concomitant_cards(call, patient, digest, ordered, targets)
    unidentified = _unidentified_cards(call, mapped, targets, ordered)
    cards = each_once(cards + more + unidentified + not_checked)
    failed += faults
    record_issued(call.later, ctx.store, service_id, cards)
    call.audit(
        action,
        {
            "service": service_id,
            "input_hash": digest,
            "agents": [d.agent for d in targets],
            "cards": [c["uuid"] for c in cards],
            **({"failed": failed} if failed else {}),
            **({"unread_orders": len(unread)} if unread else {}),
            **({"current_agents": current} if current else {}),
        },
    )
    return cards_response(cards)


def each_once(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards with each uuid once (the first kept, in order): the same draft twice in the Bundle is one
    clinical question, and its cards (whose uuid is a hash of their content and the draft) are given once."""
    seen: set[str] = set()
    out = []
    for card in cards:
        if card["uuid"] not in seen:
            seen.add(card["uuid"])
            out.append(card)
    return out


def _unread_cards(call: HookCall, unread: list[DraftMedication]) -> list[dict[str, Any]]:
    """An info card for each draft MedicationRequest whose drug netcds could not read (each checked as FHIR
    R4 first: an invalid one is refused with a 422, not reported as unread)."""
    out = []
    for d in unread:
        check_draft(d)
        where = d.reference or d.full_url or d.loc.removesuffix(".resource")
        seed = f"{call.service_id}|{call.req.context.get('patientId')}|unread|{where}"
        out.append(unread_order_card(where, d.unread or "", seed))
    return out


def _unidentified_cards(
    call: HookCall, mapped: MappedPatient, targets: list[DraftMedication], ordered: list[DraftMedication]
) -> list[dict[str, Any]]:
    """The info card naming the record's current medications whose drug could not be identified, which the
    drafts were therefore not screened against (none when every current drug was read). An ordered agent's
    own safety screen already reports a drug kept as "unidentified drug (<codes>)" as not screened: for it
    alone, only the others are named here; a drug ordered beside a current agent is screened against none."""
    items = record_account(call).unidentified if targets or ordered else ()
    unscreened = [i for i in items if not i.endswith(UNKNOWN_CODE)]  # not in any agent's screen
    listed = list(items) if ordered else unscreened
    if not listed:
        return []
    drafts = [*(targets if unscreened else []), *ordered]
    names = [agent_name(d.agent) if d.agent else d.name for d in drafts]
    seed = f"{call.service_id}|{mapped.digest}|unidentified"
    return [unidentified_current_card(listed, names, seed=seed)]


def _unread_detail(unread: list[DraftMedication], cards: list[dict[str, Any]]) -> dict[str, Any]:
    """What an audit entry adds for drafts whose drug could not be read (nothing when there are none)."""
    return {"cards": [c["uuid"] for c in cards], "unread_orders": len(unread)} if unread else {}


def _agent_cards(
    call: HookCall, d: DraftMedication, patient: Patient, digest: str, mapped: MappedPatient
) -> tuple[list[dict[str, Any]], list[str]]:
    """The order-select / order-sign cards of one ordered agent for this record: its safety and dose
    cards, and whether the guideline lists it for this patient (fhir/guideline_cards.py); and the error
    ids of the parts that failed inside netcds. One part failing does not hide the other: its card says
    the check was not done (never an all-clear) and the error is logged."""
    ctx, agent = call.ctx, d.agent or ""
    seed = f"{call.service_id}|{digest}|{agent}|{d.resource_id or ''}"
    faults: list[str] = []
    try:
        # the record's Evaluation as patient-view computes and caches it (once per call), without the drafts
        facts = once(call.scratch, "guideline", call.fresh(partial(guideline_facts, ctx, mapped)))
        listed = guideline_card(ctx, facts, agent, seed)
    except NeedsWork:
        raise
    except Exception as exc:
        faults.append(logged_fault("guideline", request_id(call.request), exc))
        listed = unchecked_card(ctx, agent, faults[-1], seed)
    try:
        found = agent_screen(call, agent, patient, digest)
    except NeedsWork:
        raise
    except Exception as exc:
        faults.append(logged_fault("safety screen", request_id(call.request), exc))
        why = f"an internal error occurred (id {faults[-1]}; it has been logged)"
        return with_guideline_card([unscreened_card(agent, why, ctx.base_url, seed)], listed), faults
    if found is None:
        why = (
            "the safety layer is not installed"
            if not optional.safety_available()
            else "no safety data is encoded for it"
        )
        return with_guideline_card([unscreened_card(agent, why, ctx.base_url, seed)], listed), faults
    cards = order_cards(found, d.resource, base_url=ctx.base_url, seed=seed, drug=d.drug)
    return with_guideline_card(cards, listed), faults
