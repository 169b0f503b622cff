"""Review 40: a FHIR Bundle posted to /api/v1/evaluate/fhir, and the record a SMART launch reads, are checked
for paging as a CDS Hooks prefetch is (netcds.fhir.paging). A medication search read or sent in part leaves
the treatment history unknown and the medication list incomplete; any other search sent in part is a 422
naming its ``link`` or ``total`` (posted) or a 502 page (SMART: nothing is shown)."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.prefetch import MAX_PAGES, Budget
from netcds.fhir import bundle_to_patient
from netcds.fhir.paging import NOT_ALL_READ
from netcds.settings_smart import SmartSettings
from netcds.web.smart_ehr import EhrError, TokenGrant, read_record
from tests.fhir.conftest import load

ISS = "https://ehr.example.test/fhir"
PID = "net-ileum-1"


def ileal() -> list[dict[str, Any]]:
    return [e["resource"] for e in copy.deepcopy(load("ileal_net_ssa_progression.json"))["entry"]]


def searchset(*resources: dict[str, Any], **shell: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **shell,
    }


# ---- POST /api/v1/evaluate/fhir ------------------------------------------------------------------------
def test_a_posted_page_of_a_search_is_a_422_naming_its_link(client: TestClient) -> None:
    bundle = searchset(*ileal(), link=[{"relation": "next", "url": f"{ISS}/Patient/{PID}/$everything?p=2"}])
    r = client.post("/api/v1/evaluate/fhir", json=bundle)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert [e["field"] for e in body["errors"]] == ["link"]
    assert "one page of a paged search result" in body["errors"][0]["message"]


def test_a_posted_medication_search_in_part_leaves_the_lists_unknown(client: TestClient) -> None:
    resources = ileal()
    meds = [r for r in resources if r["resourceType"].startswith("Medication")]
    rest = [r for r in resources if not r["resourceType"].startswith("Medication")]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in rest]}
    bundle["entry"].append({"resource": searchset(*meds, total=7)})
    r = client.post("/api/v1/evaluate/fhir?as_of=2025-03-20", json=bundle)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "treatments" not in body["patient"]
    assert body["patient"]["medications"] == ["lisinopril", NOT_ALL_READ]
    said = [u for u in body["mapping"]["unmapped"] if u["resource"] == f"entry[{len(rest)}].resource"]
    assert said and "its total says 7 resources match the search, but it holds 2" in said[0]["reason"]


# ---- SMART launch: the record read from the EHR ---------------------------------------------------------
class Ehr:
    """A FHIR server answering the SMART record's searches from the ileal NET record."""

    def __init__(self) -> None:
        self.resources = ileal()
        self.endless: set[str] = set()  # types whose search always has one more page
        self.total_above: set[str] = set()  # types whose search says more match than it holds

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = urlsplit(str(request.url))
        rtype = parts.path.rsplit("/", 2)[-2] if "/Patient/" in parts.path else parts.path.rsplit("/", 1)[-1]
        if rtype == "Patient":
            return httpx.Response(200, json=next(r for r in self.resources if r["resourceType"] == "Patient"))
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        found = [r for r in self.resources if r["resourceType"] == rtype] if page == 1 else []
        bundle = searchset(*found)
        if rtype in self.endless:
            bundle["link"] = [{"relation": "next", "url": f"{ISS}/{rtype}?patient={PID}&page={page + 1}"}]
        if rtype in self.total_above:
            bundle["total"] = len(found) + 5
        return httpx.Response(200, json=bundle)

    def record(self) -> dict[str, Any]:
        with httpx.Client(transport=httpx.MockTransport(self.handle)) as client:
            return read_record(client, ISS, TokenGrant("t0ken", PID), SmartSettings(), Budget(20, 5))


@pytest.mark.parametrize("how", ["endless", "total_above"])
def test_a_smart_medication_search_read_in_part_leaves_the_lists_unknown(how: str) -> None:
    ehr = Ehr()
    getattr(ehr, how).add("MedicationRequest")
    record = ehr.record()  # before: more than MAX_PAGES pages refused the whole launch (502)
    p, report = bundle_to_patient(record)
    assert p.tumor.primary_site == "ileum"
    assert p.treatments is None and p.medications == ["lisinopril", NOT_ALL_READ]
    [nested] = [e["resource"] for e in record["entry"] if e["resource"]["resourceType"] == "Bundle"]
    assert nested["link"][0] == {"relation": "self", "url": f"{ISS}/MedicationRequest?patient={PID}"}
    assert [u for u in report.unmapped if "rest of the search result was not read" in u.reason]


def test_a_smart_medication_search_followed_to_its_end_is_whole() -> None:
    ehr = Ehr()
    record = ehr.record()
    assert not [e for e in record["entry"] if e["resource"]["resourceType"] == "Bundle"]
    p, _ = bundle_to_patient(record)
    assert p.treatments and NOT_ALL_READ not in (p.medications or [])
    assert MAX_PAGES == 10


@pytest.mark.parametrize("rtype", ["Observation", "Condition"])
def test_a_smart_search_of_other_facts_whose_total_says_more_is_refused(rtype: str) -> None:
    ehr = Ehr()
    ehr.total_above.add(rtype)
    with pytest.raises(EhrError) as caught:
        ehr.record()
    assert f"reading {rtype}: its total says" in caught.value.message
    assert "nothing is shown" in caught.value.message


# ---- CDS Hooks: a key fetched from fhirServer whose total says more than it gave -------------------------
@pytest.mark.parametrize(("key", "refused"), [("conditions", True), ("medicationRequests", False)])
def test_a_fetched_key_whose_total_says_more_is_read_as_sent_in_part(key: str, refused: bool) -> None:
    """Every page read, but the total says more match: a Conditions key is not satisfied (412, as a key sent
    in part; before, read as whole), a medication key is kept as part (the mapping leaves the lists
    unknown), never a 422 for what the client did not send."""
    from netcds.api.hook_models import OPTIONAL_PREFETCH, PREFETCH
    from netcds.api.prefetch import PrefetchMissing, resolve
    from netcds.fhir import prefetch_to_patient

    ehr = Ehr()
    ehr.total_above.add("Condition" if key == "conditions" else "MedicationRequest")
    sent = {
        "patient": next(r for r in ehr.resources if r["resourceType"] == "Patient"),
        **{k: searchset(*[r for r in ehr.resources if r["resourceType"] == t.split("?")[0]])
           for k, t in PREFETCH.items() if k not in ("patient", key)},
    }  # fmt: skip
    auth = {"access_token": "t0ken", "token_type": "Bearer"}
    body = {"context": {"patientId": PID}, "prefetch": sent, "fhirServer": ISS, "fhirAuthorization": auth}

    def run() -> dict[str, Any]:
        return resolve(
            PREFETCH, body, fetch_enabled=True, timeout_s=5.0,
            transport=httpx.MockTransport(ehr.handle), optional=OPTIONAL_PREFETCH,
        )  # fmt: skip

    if refused:
        with pytest.raises(PrefetchMissing) as caught:
            run()
        assert caught.value.status == 412 and "fhirServer answered only part" in caught.value.detail
        return
    p, _ = prefetch_to_patient(run())
    assert p.treatments is None and p.medications == ["lisinopril", NOT_ALL_READ]
