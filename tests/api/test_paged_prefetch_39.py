"""Review 39: a prefetch key sent as part of its search result (a searchset Bundle with a ``next`` link, or one
whose ``total`` counts more matches than it holds) is never read as complete.

Where fetching is allowed the service fetches the key whole from fhirServer, as it fetches a key not sent.
Otherwise, a key of medication resources is read from the part sent but the lists it feeds are not taken as
complete: the treatment history is unknown (the engine asks for it) and the medication list keeps the drugs read
plus an entry saying not all were read (every interaction check reads "not screened", never "none"). Any other
key sent in part (Conditions, Observations) answers 412, as a missing key does. Also: a draft order whose
medicationReference names two different Medications of the draftOrders Bundle is not checked, with a card.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.hook_models import OPTIONAL_PREFETCH, PREFETCH
from netcds.api.prefetch import PrefetchMissing, resolve
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    PV,
    RXNORM,
    Keys,
    draft_cabozantinib,
    hook_request,
    make_settings,
)
from tests.api.test_order_interactions import record

pytestmark = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)
SERVER = "https://ehr.example.test/fhir"
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "s", "subject": "s"}
NEXT = [{"relation": "next", "url": f"{SERVER}/MedicationRequest?patient=p1&_page=2"}]
Handler = Callable[[httpx.Request], httpx.Response]


def paged(pf: dict[str, Any], key: str, how: str = "next") -> dict[str, Any]:
    """``pf`` with its ``key`` Bundle made part of a larger search result."""
    out = copy.deepcopy(pf)
    if how == "next":
        out[key]["link"] = [{"relation": "self", "url": f"{SERVER}/x"}, *NEXT]
    else:
        out[key]["total"] = len(out[key]["entry"]) + 3
    return out


def request(pf: dict[str, Any], fetching: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"context": {"patientId": "p1"}, "prefetch": pf}
    return body | ({"fhirServer": SERVER, "fhirAuthorization": AUTH} if fetching else {})


def resolved(pf: dict[str, Any], handler: Handler | None = None) -> dict[str, Any]:
    return resolve(
        PREFETCH,
        request(pf, fetching=handler is not None),
        fetch_enabled=handler is not None,
        timeout_s=5.0,
        transport=httpx.MockTransport(handler) if handler is not None else None,
        optional=OPTIONAL_PREFETCH,
    )


# ---- resolve ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["next", "total"])
def test_a_medication_key_sent_in_part_is_kept_without_fetching(how: str) -> None:
    pf = paged(record([CLARITHROMYCIN]), "medicationRequests", how)
    assert resolved(pf)["medicationRequests"] == pf["medicationRequests"]  # no 412: read, lists not complete


@pytest.mark.parametrize(("key", "how"), [("observations", "next"), ("conditions", "total")])
def test_another_key_sent_in_part_is_412_without_fetching(key: str, how: str) -> None:
    with pytest.raises(PrefetchMissing) as err:
        resolved(paged(record([]), key, how))
    assert err.value.status == 412
    detail = str(err.value.detail)
    assert key in detail and "only part of its search result" in detail
    assert ("relation 'next'" if how == "next" else "resources match the search") in detail


def test_included_entries_do_not_count_against_the_total() -> None:
    pf = record([CLARITHROMYCIN])
    bundle = pf["medicationRequests"]
    matches = len(bundle["entry"])
    bundle["entry"].append(
        {
            "resource": {"resourceType": "Medication", "id": "inc", "code": {"text": "x"}},
            "search": {"mode": "include"},
        }
    )
    bundle["total"] = matches
    conditions = pf["conditions"]
    conditions["total"] = len(conditions["entry"])
    assert resolved(pf) == {k: v for k, v in pf.items() if k in PREFETCH}


def test_a_key_sent_in_part_is_fetched_whole_where_fetching_is_allowed() -> None:
    whole = record([CLARITHROMYCIN])["observations"]
    seen: list[httpx.Request] = []

    def fhir(r: httpx.Request) -> httpx.Response:
        if r.url.path != "/fhir/Observation":  # the optional administrations, not sent: none
            return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"})
        seen.append(r)
        assert r.headers["authorization"] == "Bearer fhir-token"
        return httpx.Response(200, json=whole)

    pf = paged(record([CLARITHROMYCIN]), "observations")
    pf["observations"]["entry"] = pf["observations"]["entry"][:1]
    got = resolved(pf, fhir)
    assert got["observations"]["entry"] == whole["entry"] and "link" not in got["observations"]
    assert len(seen) == 1


def test_a_failed_fetch_keeps_a_medication_key_sent_in_part_but_refuses_another() -> None:
    def failing(r: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    pf = paged(record([CLARITHROMYCIN]), "medicationRequests")
    assert resolved(pf, failing)["medicationRequests"] == pf["medicationRequests"]
    with pytest.raises(PrefetchMissing) as err:
        resolved(paged(record([]), "observations"), failing)
    assert "fetching it whole from fhirServer failed" in str(err.value.detail)


# ---- the hooks -------------------------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, keys, hooks_open=True, hooks_persist_evaluations=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_patient_view_with_medications_sent_in_part_asks_for_the_treatment_history(
    client: TestClient,
) -> None:
    whole = client.post(PV, json=hook_request("patient-view", prefetch_data=record([CLARITHROMYCIN])))
    part = client.post(
        PV,
        json=hook_request(
            "patient-view", prefetch_data=paged(record([CLARITHROMYCIN]), "medicationRequests")
        ),
    )
    assert whole.status_code == part.status_code == 200, part.text
    missing = [c for c in part.json()["cards"] if "unrecorded fact" in c["summary"]]
    assert missing and "Treatments" in missing[0]["summary"]  # the history is unknown, not "none but SSA"
    assert not any(
        "Treatments" in c["summary"] for c in whole.json()["cards"] if "unrecorded" in c["summary"]
    )
    # the clarithromycin on the page sent is still screened
    assert any("clarithromycin" in c["summary"] for c in part.json()["cards"])


def test_order_sign_with_medications_sent_in_part_says_the_list_is_not_complete(client: TestClient) -> None:
    body = hook_request(
        "order-sign",
        prefetch_data=paged(record([CLARITHROMYCIN]), "medicationRequests", "total"),
        drafts=[draft_cabozantinib(60)],
    )
    r = client.post(OS, json=body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert any("CYP3A4" in c["summary"] for c in cards)  # the drug read is kept
    assert any(
        "the record's medication search was sent paged or in part" in c.get("detail", "") for c in cards
    )


def test_patient_view_with_observations_sent_in_part_and_no_fhir_access_is_412(client: TestClient) -> None:
    r = client.post(PV, json=hook_request("patient-view", prefetch_data=paged(record([]), "observations")))
    assert r.status_code == 412, r.text
    assert r.json()["missing_prefetch"] == ["observations"]


def test_a_draft_naming_two_different_medications_gets_a_not_checked_card(client: TestClient) -> None:
    order = {**draft_cabozantinib(60), "id": "draft-two"}
    order.pop("medicationCodeableConcept")
    order["medicationReference"] = {"reference": "Medication/m1", "display": "cabozantinib 60 MG Oral Tablet"}

    def med(code: str, name: str) -> dict[str, Any]:
        return {"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": RXNORM, "code": code,
                                                                                "display": name}]}}  # fmt: skip

    body = hook_request("order-sign", prefetch_data=record([]), drafts=[order])
    body["context"]["draftOrders"]["entry"] += [
        {"resource": med("1363268", "cabozantinib 60 MG Oral Tablet")},
        {"resource": med("141704", "everolimus 10 MG Oral Tablet")},
    ]
    r = client.post(OS, json=body)
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert "not checked" in card["summary"] and "MedicationRequest/draft-two" in card["detail"]
    assert "names 2 different Medications of the draftOrders Bundle" in card["detail"]
