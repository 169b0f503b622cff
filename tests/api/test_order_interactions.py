"""Order-select / order-sign: a drug that is not a netcds agent, ordered for a patient currently on one.

Ordering clarithromycin for a patient on cabozantinib must give the same interaction (finding, action, source)
as ordering cabozantinib for a patient on clarithromycin: the order of the new concomitant drug is screened
against every agent the record shows as current (an ongoing treatment line, no end date).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api import hooks, optional, order_hooks
from netcds.api.app import create_app
from netcds.fhir.report import MappingReport
from netcds.patient import Patient
from tests.api.conftest import (
    CLARITHROMYCIN,
    ICD10,
    OS,
    OSEL,
    RXNORM,
    Keys,
    auth,
    draft_cabozantinib,
    draft_daily,
    hook_request,
    make_settings,
    prefetch,
)

MCODE = Path(__file__).resolve().parents[1] / "fixtures" / "mcode"
CANCER_REQUEST = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-medication-request"
CANCER_ADMINISTRATION = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-medication-administration"
)
LANREOTIDE_DEPOT = {"text": "lanreotide 120 MG/0.5ML Prefilled Syringe [Somatuline Depot]"}
pytestmark = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)


def current_agent(
    rid: str, code: str, display: str, *, start: str = "2025-01-10", end: str | None = None
) -> dict[str, Any]:
    """A CancerRelatedMedicationRequest (mCODE profile, RxNorm ingredient code) of a NET agent taken by mouth
    daily since ``start``: active (an ongoing line), or completed on ``end``."""
    bounds = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "meta": {"profile": [CANCER_REQUEST]},
        "status": "completed" if end else "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": start,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": display}]},
        "dosageInstruction": [
            {"timing": {"repeat": {"boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "d"}}}
        ],
    }


CABOZANTINIB = current_agent("m-cabo", "1363268", "cabozantinib 60 MG Oral Tablet [Cabometyx]")
EVEROLIMUS = current_agent("m-evero", "141704", "everolimus 10 MG Oral Tablet [Afinitor]")
OCTREOTIDE_LAR = {
    **current_agent("m-lar", "7617", "octreotide"),
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "code": "7617", "display": "octreotide"}],
        "text": "octreotide LAR 30 mg IM every 4 weeks",
    },
}
# drafts named by their base drug (a salt, as RxNorm names many products, is dropped as well:
# tests/api/test_hooks.py test_order_sign_drafted_drug_named_with_its_salt_is_screened)
CLARITHROMYCIN_DRAFT = draft_daily("draft-clari", "clarithromycin 500 MG Oral Tablet", 500)
METOPROLOL_DRAFT = draft_daily("draft-meto", "metoprolol 25 MG Oral Tablet", 25)
ACETAMINOPHEN_DRAFT = draft_daily("draft-apap", "acetaminophen 500 MG Oral Tablet", 500)


def record(meds: list[dict[str, Any]]) -> dict[str, Any]:
    """The test prefetch (metastatic ileal NET) with ``meds``; its octreotide LAR request, stopped, gets the
    end date it lacks there (without one a current octreotide LAR request added here would make a second
    open line of the agent, which the mapping refuses)."""
    pf = prefetch(meds)
    oct_lar = pf["medicationRequests"]["entry"][0]["resource"]
    assert oct_lar["id"] == "m-oct"
    bounds = {"start": "2024-01-10", "end": "2024-12-20"}
    oct_lar["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": bounds}}}]
    return pf


def post(client: TestClient, keys: Keys, path: str, body: dict[str, Any]) -> httpx.Response:
    r = client.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == 200, r.text
    return r


def order(
    client: TestClient,
    keys: Keys,
    meds: list[dict[str, Any]],
    drafts: list[dict[str, Any]],
    *,
    hook: str = "order-sign",
    selections: list[str] | None = None,
    pf: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    body = hook_request(hook, prefetch_data=pf or record(meds), drafts=drafts)
    if hook == "order-select":
        body["context"]["selections"] = selections or [f"MedicationRequest/{d['id']}" for d in drafts]
    cards: list[dict[str, Any]] = post(client, keys, OS if hook == "order-sign" else OSEL, body).json()[
        "cards"
    ]
    return cards


def concomitant(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards of an ordered drug against a current agent."""
    return [c for c in cards if " order with current " in c["summary"]]


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_clarithromycin_ordered_for_a_patient_on_cabozantinib(
    client: TestClient, keys: Keys, hook: str
) -> None:
    cards = order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT], hook=hook)
    assert len(cards) == 1, [c["summary"] for c in cards]
    (card,) = concomitant(cards)
    assert card["summary"].startswith(
        "Clarithromycin order with current cabozantinib: Strong CYP3A4 inhibitor"
    )
    assert card["indicator"] == "warning"
    detail = card["detail"]
    assert "**Current cabozantinib with clarithromycin (this order):** Strong CYP3A4 inhibitor" in detail
    assert "**What the source says:** The label prefers a concomitant medication" in detail  # management
    assert "daily dose lowered by 20 mg" in detail  # the dose rule it triggers, as the data says it
    assert "Recorded treatment 2: cabozantinib since 2025-01-10, no end date (ongoing)" in detail
    assert "MedicationRequest/draft-clari (clarithromycin)" in detail
    assert "suggestions" not in card  # the draft is clarithromycin: netcds does not rewrite the agent's order
    assert card["overrideReasons"]
    assert card["links"][0]["url"].endswith("/ui/agents/cabozantinib")

    # the same finding, action and source as the card of cabozantinib ordered with clarithromycin recorded
    tabled = [
        c for c in order(client, keys, [CLARITHROMYCIN], [draft_cabozantinib(60)]) if "CYP3A4" in c["summary"]
    ]
    assert len(tabled) == 1
    assert card["source"] == tabled[0]["source"]
    assert card["source"]["url"].startswith("https://dailymed.nlm.nih.gov/")
    action = tabled[0]["detail"].split("**What the source says:** ")[1].split("\n")[0]
    assert f"**What the source says:** {action}" in detail


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
@pytest.mark.parametrize("draft", [METOPROLOL_DRAFT, ACETAMINOPHEN_DRAFT], ids=["listed", "not-listed"])
def test_a_drug_without_an_interaction_gives_no_card(
    client: TestClient, keys: Keys, hook: str, draft: dict[str, Any]
) -> None:
    """Metoprolol is in the curated lists and triggers no cabozantinib rule; acetaminophen is not in them.
    Neither is an interaction finding, so neither gives a card (the screen's "screened" and "not screened"
    notes are not caused by an interaction)."""
    assert concomitant(order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT], hook=hook))  # checked
    assert order(client, keys, [CABOZANTINIB], [draft], hook=hook) == []


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_an_ended_cabozantinib_line_is_not_current(client: TestClient, keys: Keys, hook: str) -> None:
    ended = current_agent(
        "m-cabo", "1363268", "cabozantinib 60 MG Oral Tablet", start="2024-06-01", end="2025-01-31"
    )
    assert order(client, keys, [ended], [CLARITHROMYCIN_DRAFT], hook=hook) == []
    ongoing = current_agent("m-cabo", "1363268", "cabozantinib 60 MG Oral Tablet", start="2024-06-01")
    assert concomitant(order(client, keys, [ongoing], [CLARITHROMYCIN_DRAFT], hook=hook))


def test_a_line_that_ended_without_an_end_date_is_not_current(client: TestClient, keys: Keys) -> None:
    """The test prefetch's octreotide LAR request is stopped and states no end date: the contract reads the
    line as ongoing (the mapping report lists its row in ``treatments_ended_without_end_date``), but it is no
    current agent here, so metoprolol (which slows the heart rate with octreotide LAR) ordered for a patient on
    cabozantinib gets no card."""
    pf = prefetch([CABOZANTINIB])
    assert "end" not in json.dumps(pf["medicationRequests"]["entry"][0]["resource"])
    patient, report = optional.prefetch_to_patient(pf, None)
    assert [t.agent for t in patient.treatments or []] == ["octreotide_lar", "cabozantinib"]
    assert report["treatments_ended_without_end_date"] == [0]  # what order-sign reads
    assert order(client, keys, [], [METOPROLOL_DRAFT], pf=pf) == []
    (card,) = order(client, keys, [CABOZANTINIB, OCTREOTIDE_LAR], [METOPROLOL_DRAFT])  # with a current one
    assert card["summary"].startswith("Metoprolol order with current octreotide LAR: Bradycardia")


def test_the_ended_rows_are_read_from_the_reports_field_not_its_wording(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reworded, the report's sentence about the stopped octreotide LAR request no longer says "has ended but no
    end date is recorded"; the line is still no current agent, because order-sign reads the structured field."""
    real = MappingReport.skip

    def reworded(self: MappingReport, resource: str, reason: str, code: str | None = None) -> None:
        real(
            self,
            resource,
            reason.replace("has ended but no end date is recorded", "stopped, date not given"),
            code,
        )

    monkeypatch.setattr(MappingReport, "skip", reworded)
    pf = prefetch([CABOZANTINIB])
    report = optional.prefetch_to_patient(pf, None)[1]
    assert not any("has ended but no end date" in u["reason"] for u in report["unmapped"])
    assert order(client, keys, [], [METOPROLOL_DRAFT], pf=pf) == []


def lanreotide_requested() -> dict[str, Any]:
    """The same course recorded as an active MedicationRequest (every 4 weeks since the first dose)."""
    first = datetime.now(UTC).date() - timedelta(days=12 + 28 * 2)
    return {
        "resourceType": "MedicationRequest",
        "id": "m-lan",
        "meta": {"profile": [CANCER_REQUEST]},
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": first.isoformat(),
        "medicationCodeableConcept": LANREOTIDE_DEPOT,
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}}}],
    }


def lanreotide_given(rid: str, day: date) -> dict[str, Any]:
    """Lanreotide 120 mg given in clinic on ``day``: a completed CancerRelatedMedicationAdministration."""
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "meta": {"profile": [CANCER_ADMINISTRATION]},
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day.isoformat(),
        "medicationCodeableConcept": LANREOTIDE_DEPOT,
        "dosage": {"dose": {"value": 120, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}},
    }


def test_an_agent_recorded_only_as_recent_administrations_is_current(client: TestClient, keys: Keys) -> None:
    """Lanreotide injected every 4 weeks in clinic and recorded only as completed MedicationAdministrations, the
    last 12 days before today (the hook's record date): metoprolol ordered now gets the same bradycardia card
    as when lanreotide is recorded as an active MedicationRequest (it had been read as stopped at the last
    injection). Given last 100 days ago, the course has ended: no card. (The prefetch's searchsets are read
    by resource type, whatever key carries them.)"""
    today = datetime.now(UTC).date()
    given = [lanreotide_given(f"adm{k}", today - timedelta(days=12 + 28 * k)) for k in range(3)]
    first = today - timedelta(days=12 + 28 * 2)
    requested = lanreotide_requested()
    (card,) = order(client, keys, given, [METOPROLOL_DRAFT])
    (as_requested,) = order(client, keys, [requested], [METOPROLOL_DRAFT])
    assert card["summary"].startswith("Metoprolol order with current lanreotide: Bradycardia")
    assert f"lanreotide since {first}, no end date (ongoing)" in card["detail"]
    assert {**card, "uuid": None} == {**as_requested, "uuid": None}  # the uuid derives from the record

    ended = [lanreotide_given(f"adm{k}", today - timedelta(days=100 + 28 * k)) for k in range(3)]
    assert order(client, keys, ended, [METOPROLOL_DRAFT]) == []


def test_cabozantinib_ordered_with_clarithromycin_recorded_keeps_its_cards(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A draft of a tabled agent gets the same cards (uuids included) as without the check of current agents,
    also for a patient already on that agent (its own cards carry the interaction with the dose update; the
    current line of the same agent gets no second card); a current other agent adds its card after them."""
    cases = [
        ([CLARITHROMYCIN], [draft_cabozantinib(60)]),
        ([CLARITHROMYCIN, CABOZANTINIB], [draft_cabozantinib(60)]),
        ([CABOZANTINIB], [draft_cabozantinib(60), CLARITHROMYCIN_DRAFT]),
        ([EVEROLIMUS], [draft_cabozantinib(60), CLARITHROMYCIN_DRAFT]),
    ]
    now = [order(client, keys, meds, drafts) for meds, drafts in cases]
    monkeypatch.setattr(order_hooks, "concomitant_cards", lambda *args: ([], [], []))
    before = [order(client, keys, meds, drafts) for meds, drafts in cases]
    assert now[:3] == before[:3]
    for cards in now:
        (card,) = [
            c for c in cards if "CYP3A4" in c["summary"] and " order with current " not in c["summary"]
        ]
        assert card["suggestions"][0]["label"] == "Change cabozantinib dose to 40 mg"
    assert now[3][:-1] == before[3]
    assert now[3][-1]["summary"].startswith("Clarithromycin order with current everolimus:")


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_the_same_input_gives_the_same_cards(tmp_path: Path, keys: Keys, hook: str) -> None:
    answers = []
    for run in ("a", "b"):  # two services (no shared cache), each called twice (the second from its cache)
        (tmp_path / run).mkdir()
        with TestClient(create_app(make_settings(tmp_path / run, keys))) as c:
            for _ in range(2):
                answers.append(order(c, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT], hook=hook))
    assert answers[0] and all(a == answers[0] for a in answers)
    assert len({c["uuid"] for a in answers for c in a}) == 1


def test_a_drug_already_recorded_and_ordered_again_still_gives_the_card(
    client: TestClient, keys: Keys
) -> None:
    """The recorded clarithromycin already interacts, but the order being signed is what the card is about."""
    (card,) = concomitant(order(client, keys, [CABOZANTINIB, CLARITHROMYCIN], [CLARITHROMYCIN_DRAFT]))
    assert "MedicationRequest/draft-clari (clarithromycin)" in card["detail"]


def test_each_current_agent_is_screened(client: TestClient, keys: Keys) -> None:
    """Everolimus with octreotide LAR (both ongoing): clarithromycin interacts with everolimus only (critical:
    the label gives no dose with it), metoprolol with octreotide LAR only (bradycardia)."""
    meds = [EVEROLIMUS, OCTREOTIDE_LAR]
    (card,) = order(client, keys, meds, [CLARITHROMYCIN_DRAFT])
    assert card["summary"].startswith("Clarithromycin order with current everolimus:")
    assert card["indicator"] == "critical"
    assert "no labelled everolimus dose" in card["detail"]
    (card,) = order(client, keys, meds, [METOPROLOL_DRAFT])
    assert card["summary"].startswith("Metoprolol order with current octreotide LAR:")
    both = order(client, keys, meds, [CLARITHROMYCIN_DRAFT, METOPROLOL_DRAFT])
    assert [c["summary"].split(":")[0] for c in both] == [  # in the order of the treatment lines
        "Metoprolol order with current octreotide LAR",
        "Clarithromycin order with current everolimus",
    ]


def test_order_select_checks_only_the_selected_drug(client: TestClient, keys: Keys) -> None:
    drafts = [CLARITHROMYCIN_DRAFT, METOPROLOL_DRAFT]
    assert (
        order(
            client,
            keys,
            [CABOZANTINIB],
            drafts,
            hook="order-select",
            selections=["MedicationRequest/draft-meto"],
        )
        == []
    )
    (card,) = order(
        client,
        keys,
        [CABOZANTINIB],
        drafts,
        hook="order-select",
        selections=["MedicationRequest/draft-clari"],
    )
    assert "clarithromycin" in card["summary"].lower()


def _without_net(meds: list[dict[str, Any]]) -> dict[str, Any]:
    """The prefetch with a renal cell carcinoma instead of the NET (no neuroendocrine tumor to read)."""
    pf = record(meds)
    primary = pf["conditions"]["entry"][0]["resource"]
    primary["code"] = {
        "coding": [{"system": ICD10, "code": "C64.1", "display": "Malignant neoplasm of right kidney"}]
    }
    primary.pop("bodySite")
    pf["conditions"]["entry"] = pf["conditions"]["entry"][:1]
    return pf


def test_no_card_without_a_neuroendocrine_tumor(client: TestClient, keys: Keys) -> None:
    """netcds reads treatment lines only as the NET's: without a NET the concomitant order is answered as
    before (no card, no error), while a tabled draft still gets its "could not run its safety screen" card."""
    pf = _without_net([CABOZANTINIB])
    assert order(client, keys, [], [CLARITHROMYCIN_DRAFT], pf=pf) == []
    store = client.app.state.netcds.store  # type: ignore[attr-defined]
    entry = store.audit_log(action="hooks.order-sign")[0]
    assert entry.detail["concomitant"] == "no neuroendocrine tumor in the record"
    cards = order(client, keys, [], [draft_cabozantinib(60), CLARITHROMYCIN_DRAFT], pf=pf)
    assert [c["summary"] for c in cards] == [
        "Cabozantinib: netcds could not run its safety screen "
        "(no neuroendocrine tumor diagnosis could be read from the record)"
    ]


def test_a_concomitant_order_without_prefetch_is_answered_as_before(client: TestClient, keys: Keys) -> None:
    r = post(client, keys, OS, hook_request("order-sign", drafts=[CLARITHROMYCIN_DRAFT]))
    assert r.json() == {"cards": []}  # no 412: the order of another drug never needed the record


def test_an_unreadable_draft_keeps_its_card(client: TestClient, keys: Keys) -> None:
    unread = {**copy.deepcopy(CLARITHROMYCIN_DRAFT), "id": "draft-x"}
    unread["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "999999999"}]}
    cards = order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT, unread])
    assert [c["summary"].split(":")[0] for c in cards] == [
        "Clarithromycin order with current cabozantinib",
        "Draft order MedicationRequest/draft-x not checked",
    ]


def test_a_current_agent_without_safety_data_is_said(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(optional, "screen", lambda agent, patient: None)
    (card,) = order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT])
    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Clarithromycin order not screened against current cabozantinib (no safety data is encoded for it)"
    )
    assert "not an all-clear" in card["detail"]


def test_a_failed_screen_is_said_and_not_kept(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = optional.screen

    def broken(agent: str, patient: Patient) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(optional, "screen", broken)
    (card,) = order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT])
    assert "an internal error occurred (id " in card["summary"] + card["detail"]
    monkeypatch.setattr(optional, "screen", real)
    (card,) = concomitant(order(client, keys, [CABOZANTINIB], [CLARITHROMYCIN_DRAFT]))  # tried again
    assert card["indicator"] == "warning"


def _official_cisplatin() -> dict[str, Any]:
    """The official mCODE 4.0.0 CancerRelatedMedicationRequest example (cisplatin 75 mg/m2, status
    completed), about our test patient."""
    path = MCODE / "MedicationRequest-cancer-related-medication-request-cisplatin.json"
    if not path.exists():
        pytest.skip("the official mCODE examples are not fetched (scripts/fetch_mcode.py)")
    res: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {**res, "subject": {"reference": "Patient/p1"}}


def test_the_official_mcode_cisplatin_request_as_a_current_line(client: TestClient, keys: Keys) -> None:
    """As published the request is completed, so cisplatin is no current agent; made active (an ongoing
    line), gentamicin (an aminoglycoside) ordered beside it gets cisplatin's interaction."""
    gentamicin = draft_daily("draft-genta", "gentamicin 40 MG/ML Injectable Solution", 300)
    cisplatin = _official_cisplatin()
    assert cisplatin["status"] == "completed"
    assert order(client, keys, [cisplatin], [gentamicin]) == []
    (card,) = order(client, keys, [{**cisplatin, "status": "active"}], [gentamicin])
    assert card["summary"].startswith("Gentamicin order with current cisplatin: UNVERIFIED — Aminoglycoside")
    assert card["indicator"] == "warning"
    assert "cisplatin since 2019-04-01, no end date (ongoing)" in card["detail"]


def test_a_repeated_concomitant_order_is_answered_inline(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open mode: the second identical call is answered on the event loop from the caches (mapping, the
    mapping's ended lines, the agent's cards), with the same cards as the worker gave."""
    workers: list[str] = []
    real = hooks.run_work

    async def counting(func: Any, *args: Any) -> Any:
        workers.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args)

    monkeypatch.setattr(hooks, "run_work", counting)
    answers = []
    for _ in range(2):
        body = hook_request("order-sign", prefetch_data=record([CABOZANTINIB]), drafts=[CLARITHROMYCIN_DRAFT])
        r = open_client.post(OS, json=body)
        assert r.status_code == 200, r.text
        answers.append(r.json()["cards"])
    assert workers == ["work"]
    assert answers[0] == answers[1] and len(concomitant(answers[0])) == 1


@pytest.mark.parametrize(
    "display",
    [
        "amoxicillin 500 MG / clarithromycin 500 MG / lansoprazole 30 MG",  # a combination pack's RxNorm name
        "clarithromycin 50 MG/ML Oral Suspension",
        "10 ML ketoconazole 20 MG/ML Oral Suspension",  # RxNorm names liquids with a leading quantity
    ],
)
def test_a_drafted_drug_named_as_rxnorm_names_products_is_screened(
    client: TestClient, keys: Keys, display: str
) -> None:
    """The draft's drug is named as the FHIR mapping names a recorded one: every part of a combination,
    no leading quantity, strength or form (the first part alone, or the whole text, had missed the
    strong CYP3A4 inhibitor)."""
    draft = draft_daily("draft-combo", display, None)
    (card,) = concomitant(order(client, keys, [CABOZANTINIB], [draft]))
    assert "Strong CYP3A4 inhibitor" in card["summary"]


def test_an_interaction_is_shown_whatever_else_the_draft_holds(client: TestClient, keys: Keys) -> None:
    """The other drug's draft is read for its drug only: a field elsewhere in it that is not valid FHIR R4
    does not turn the answer into a 422 that hides the interaction."""
    odd = copy.deepcopy(CLARITHROMYCIN_DRAFT)
    odd["dosageInstruction"] = [{"timing": {"repeat": {"frequency": "once"}}}]
    (card,) = concomitant(order(client, keys, [CABOZANTINIB], [odd]))
    assert "Strong CYP3A4 inhibitor" in card["summary"]


def test_an_order_of_another_drug_fetches_nothing_and_maps_a_record_once(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every order of every chart comes to order-sign: for a drug that is not an agent no FHIR fetch is made
    (a key the EHR did not send: the record is not available, answered as before), and a record that cannot
    be mapped (no NET) is not mapped again on the next order."""
    fetched: list[str] = []

    def fhir(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})

    maps: list[int] = []
    real = optional.prefetch_to_patient
    monkeypatch.setattr(optional, "prefetch_to_patient", lambda *a, **k: maps.append(1) or real(*a, **k))
    settings = make_settings(tmp_path, keys, fhir_fetch=True)
    with TestClient(create_app(settings, fhir_transport=httpx.MockTransport(fhir))) as c:
        body = hook_request(
            "order-sign", drafts=[CLARITHROMYCIN_DRAFT], fhirServer="https://ehr.example.test/fhir"
        )
        assert post(c, keys, OS, body).json() == {"cards": []}
        assert fetched == []
        maps.clear()  # the service's warm-up at start maps an example record
        for _ in range(2):
            assert order(c, keys, [], [CLARITHROMYCIN_DRAFT], pf=_without_net([CABOZANTINIB])) == []
    assert len(maps) == 1
