"""The optional ``medicationAdministrations`` prefetch key.

Clinic-given courses (depot SSA injections every ~4 weeks, Lu-177 dotatate cycles) are often recorded only as
MedicationAdministrations; the services ask for them in a prefetch key of their own. CDS Hooks 2.0 lets a client
satisfy only some of a service's prefetch templates, so the key is optional: a client that does not send it (or
sends an OperationOutcome in its place) gets the answer it got before the key was asked for, never a 412. Where
fetching is allowed the service fetches it; a fetch of it that fails leaves it out, while a required key's
failed fetch is still a 412 naming that key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api import hook_call
from netcds.api.app import create_app
from netcds.api.hook_models import OPTIONAL_PREFETCH, PREFETCH, SERVICES
from netcds.api.prefetch import PrefetchMissing, resolve
from netcds.store.canonical import canonical_json
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    PV,
    Keys,
    auth,
    draft_cabozantinib,
    hook_request,
    make_settings,
)
from tests.api.test_order_interactions import (
    METOPROLOL_DRAFT,
    OCTREOTIDE_LAR,
    lanreotide_given,
    lanreotide_requested,
    record,
)

pytestmark = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)
KEY = "medicationAdministrations"
SERVER = "https://ehr.example.test/fhir"
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "s", "subject": "s"}
# the templates as they were before the key was asked for
BEFORE = {k: v for k, v in PREFETCH.items() if k not in OPTIONAL_PREFETCH}
Handler = Callable[[httpx.Request], httpx.Response]


def given_in_clinic(days_since_last: int = 12) -> dict[str, Any]:
    """Lanreotide 120 mg injected every 28 days, three times, the last ``days_since_last`` days before today
    (the hook's record date): the searchset a FHIR server answers to MedicationAdministration?patient=p1."""
    today = datetime.now(UTC).date()
    doses = [lanreotide_given(f"adm{k}", today - timedelta(days=days_since_last + 28 * k)) for k in range(3)]
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in doses]}


def _app(tmp_path: Path, keys: Keys, name: str, fhir: Handler | None = None) -> Iterator[TestClient]:
    (tmp_path / name).mkdir()
    # no stored evaluation: no per-call link in the cards, so two services' answers can be compared byte by byte
    settings = make_settings(
        tmp_path / name, keys, hooks_persist_evaluations=False, fhir_fetch=fhir is not None
    )
    transport = httpx.MockTransport(fhir) if fhir is not None else None
    with TestClient(create_app(settings, fhir_transport=transport), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def today(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    """The service as it is now (fetching off)."""
    yield from _app(tmp_path, keys, "today")


def call(c: TestClient, keys: Keys, body: dict[str, Any], status: int = 200) -> httpx.Response:
    path = PV if body["hook"] == "patient-view" else OS
    r = c.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == status, r.text
    return r


def cards(c: TestClient, keys: Keys, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = call(c, keys, body).json()["cards"]
    return found


def requests_without_the_key() -> list[dict[str, Any]]:
    """Hook calls as EHRs make them today: patient-view; order-sign of cabozantinib with clarithromycin
    recorded (safety, dose update and guideline cards); order-sign of metoprolol for a patient on octreotide LAR
    (a drug ordered beside a current agent: the record as sent, never fetched)."""
    return [
        hook_request("patient-view", prefetch_data=record([])),
        hook_request("order-sign", prefetch_data=record([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]),
        hook_request("order-sign", prefetch_data=record([OCTREOTIDE_LAR]), drafts=[METOPROLOL_DRAFT]),
    ]


def test_without_the_key_the_answers_are_those_from_before(
    tmp_path: Path, today: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every service asks for the key, yet a request without it is answered with the same bytes as before it
    was asked for (the same cards, uuids included), and the prefetch read is the same."""
    assert all(
        s.prefetch[KEY] == "MedicationAdministration?patient={{context.patientId}}" for s in SERVICES.values()
    )
    bodies = requests_without_the_key()
    now = [call(today, keys, body).content for body in bodies]
    with monkeypatch.context() as m:  # the service as it was: its templates without the key, none optional
        m.setattr(
            hook_call,
            "SERVICES",
            {sid: s.model_copy(update={"prefetch": BEFORE}) for sid, s in SERVICES.items()},
        )
        m.setattr(hook_call, "OPTIONAL_PREFETCH", frozenset())
        for before in _app(tmp_path, keys, "before"):
            assert [call(before, keys, body).content for body in bodies] == now
    assert all(json.loads(answer)["cards"] for answer in now)  # something was compared
    for body in bodies:
        read = resolve(PREFETCH, body, fetch_enabled=False, timeout_s=1, optional=OPTIONAL_PREFETCH)
        was = resolve(BEFORE, body, fetch_enabled=False, timeout_s=1)
        assert canonical_json(read) == canonical_json(was)  # the mapping cache key and the record: unchanged


def test_lanreotide_recorded_only_as_administrations_is_current(today: TestClient, keys: Keys) -> None:
    """Lanreotide injected in clinic every 4 weeks, the last 12 days ago, sent in the new key: metoprolol ordered
    now gets the bradycardia card it gets when lanreotide is an active MedicationRequest. Without the key the
    record shows no current agent: no card."""
    sent = {**record([]), KEY: given_in_clinic()}
    (card,) = cards(today, keys, hook_request("order-sign", prefetch_data=sent, drafts=[METOPROLOL_DRAFT]))
    assert card["summary"].startswith("Metoprolol order with current lanreotide: Bradycardia")
    assert "no end date (ongoing)" in card["detail"]
    requested = record([lanreotide_requested()])
    (as_requested,) = cards(
        today, keys, hook_request("order-sign", prefetch_data=requested, drafts=[METOPROLOL_DRAFT])
    )
    assert {**card, "uuid": None} == {**as_requested, "uuid": None}  # the uuid derives from the record
    absent = hook_request("order-sign", prefetch_data=record([]), drafts=[METOPROLOL_DRAFT])
    assert cards(today, keys, absent) == []


def test_an_operation_outcome_in_place_of_the_key_is_read_as_absent(today: TestClient, keys: Keys) -> None:
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    for body in requests_without_the_key():
        with_outcome = {**body, "prefetch": {**body["prefetch"], KEY: failed}}
        assert call(today, keys, with_outcome).content == call(today, keys, body).content
    # the same for an order beside a clinic-given course sent that way: no current agent, no card
    pf = {**record([]), KEY: failed}
    assert cards(today, keys, hook_request("order-sign", prefetch_data=pf, drafts=[METOPROLOL_DRAFT])) == []
    # where fetching is allowed, it is fetched
    got = _resolve(
        lambda r: httpx.Response(200, json=given_in_clinic()), prefetch={**record([]), KEY: failed}
    )
    assert got[KEY] == given_in_clinic()


def _fhir_server(data: dict[str, Any], seen: list[httpx.Request] | None = None, fail: str = "") -> Handler:
    """A FHIR server answering the prefetch queries from ``data`` (an empty searchset for a key it lacks); the
    resource type ``fail`` answers 500."""
    by_type = {template.split("?")[0].split("/")[0]: key for key, template in PREFETCH.items()}

    def fhir(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        rtype = request.url.path.removeprefix("/fhir/").split("/")[0]
        if rtype == fail:
            return httpx.Response(500)
        value = data.get(by_type[rtype])
        return httpx.Response(200, json=value or {"resourceType": "Bundle", "type": "searchset", "entry": []})

    return fhir


def _fetching(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "fhirServer": SERVER, "fhirAuthorization": AUTH}


def test_the_key_not_sent_is_fetched_where_fetching_is_allowed(
    tmp_path: Path, today: TestClient, keys: Keys
) -> None:
    """patient-view without the key, with fetching on and fhirServer given: the service asks the FHIR server
    for the administrations (with the bearer token), and answers as if the client had sent them; an order of
    a tabled agent does too (and so finds the current lanreotide beside it). An order of other drugs only
    fetches nothing, as before."""
    seen: list[httpx.Request] = []
    fhir = _fhir_server({KEY: given_in_clinic()}, seen)
    sent = {**record([]), KEY: given_in_clinic()}
    viewed = cards(today, keys, hook_request("patient-view", prefetch_data=sent))
    assert viewed != cards(today, keys, hook_request("patient-view", prefetch_data=record([])))  # read
    for c in _app(tmp_path, keys, "fetching", fhir):
        assert cards(c, keys, _fetching(hook_request("patient-view", prefetch_data=record([])))) == viewed
        # (and the other optional key, procedures: tests/api/test_procedures_prefetch41.py)
        assert [str(r.url) for r in seen] == [
            f"{SERVER}/MedicationAdministration?patient=p1",
            f"{SERVER}/Procedure?patient=p1",
        ]
        assert seen[0].headers["authorization"] == "Bearer fhir-token"

        seen.clear()
        drafts = [draft_cabozantinib(60), METOPROLOL_DRAFT]
        ordered = cards(
            c, keys, _fetching(hook_request("order-sign", prefetch_data=record([]), drafts=drafts))
        )
        assert [r.url.path for r in seen] == ["/fhir/MedicationAdministration", "/fhir/Procedure"]
        assert [x for x in ordered if x["summary"].startswith("Metoprolol order with current lanreotide:")]

        seen.clear()
        other = _fetching(hook_request("order-sign", prefetch_data=record([]), drafts=[METOPROLOL_DRAFT]))
        assert cards(c, keys, other) == [] and seen == []


def test_a_failed_fetch_leaves_the_optional_key_out_but_a_required_key_is_still_412(
    tmp_path: Path, today: TestClient, keys: Keys
) -> None:
    seen: list[httpx.Request] = []
    for c in _app(tmp_path, keys, "failing", _fhir_server({}, seen, fail="MedicationAdministration")):
        for body in requests_without_the_key():
            got = call(c, keys, _fetching(body))
            assert got.content == call(today, keys, body).content  # answered without the key
        assert seen and {r.url.path for r in seen} == {"/fhir/MedicationAdministration", "/fhir/Procedure"}

    for c in _app(tmp_path, keys, "failing-required", _fhir_server({}, fail="Observation")):
        pf = record([])
        del pf["observations"]
        r = call(c, keys, _fetching(hook_request("patient-view", prefetch_data=pf)), 412)
        assert r.json()["missing_prefetch"] == ["observations"]
        assert "observations" in r.json()["detail"] and KEY not in r.json()["detail"]


def test_a_412_names_the_required_keys_only(today: TestClient, keys: Keys) -> None:
    """A request without any prefetch (and no FHIR access): the 412 names the keys the services need, not the
    one they ask for but can do without."""
    assert KEY in PREFETCH
    r = call(today, keys, hook_request("patient-view"), 412)
    assert r.json()["missing_prefetch"] == [k for k in PREFETCH if k not in OPTIONAL_PREFETCH]
    assert KEY not in r.json()["detail"]


# ---- resolve: the optional key's fetch read whole or not at all --------------------------------------------
def _resolve(handler: Handler, prefetch: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """``prefetch`` (by default every required key, not the optional one) resolved with the FHIR server
    ``handler``."""
    sent = prefetch if prefetch is not None else record([])
    request = {
        "context": {"patientId": "p1"},
        "prefetch": sent,
        "fhirServer": SERVER,
        "fhirAuthorization": AUTH,
    }
    return resolve(
        PREFETCH,
        request,
        fetch_enabled=kw.pop("fetch_enabled", True),
        timeout_s=kw.pop("timeout_s", 5.0),
        transport=httpx.MockTransport(handler),
        optional=OPTIONAL_PREFETCH,
        **kw,
    )


def _page(next_url: str | None, *, rid: str = "adm0") -> dict[str, Any]:
    page = given_in_clinic()
    page["entry"] = [e for e in page["entry"] if e["resource"]["id"] == rid]
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda r: httpx.Response(500), id="server-error"),
        pytest.param(lambda r: httpx.Response(401), id="token-refused"),
        pytest.param(lambda r: httpx.Response(200, content=b"{not json"), id="broken-json"),
        pytest.param(
            lambda r: httpx.Response(200, json=_page("https://elsewhere.example/fhir/next")),
            id="other-origin",
        ),
        pytest.param(
            lambda r: httpx.Response(200, json={} if "more" in r.url.path else _page(f"{SERVER}/more")),
            id="page-2-no-bundle",
        ),
        pytest.param(
            lambda r: httpx.Response(200, json=_page(f"{SERVER}/MedicationAdministration?page=2")),
            id="too-many-pages",
        ),
        pytest.param(
            lambda r: httpx.Response(200, json={"resourceType": "OperationOutcome", "issue": []}),
            id="outcome",
        ),
        pytest.param(lambda r: httpx.Response(404), id="not-found"),
        pytest.param(
            lambda r: httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"}), id="none"
        ),
    ],
)
def test_an_optional_key_not_read_whole_is_left_out(answer: Handler) -> None:
    got = _resolve(answer)
    assert KEY not in got
    assert canonical_json(got) == canonical_json(record([]))  # the prefetch as sent, nothing of the key


def test_the_optional_key_fetched_whole_is_read() -> None:
    def paged(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=_page(None, rid="adm1"))
        return httpx.Response(200, json=_page(f"{SERVER}/MedicationAdministration?patient=p1&page=2"))

    got = _resolve(paged)
    assert [e["resource"]["id"] for e in got[KEY]["entry"]] == ["adm0", "adm1"]


def test_without_fetching_or_a_server_the_optional_key_is_left_out() -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("fetched")

    assert KEY not in _resolve(never, fetch_enabled=False)
    for request in (
        {"context": {"patientId": "p1"}, "prefetch": record([])},  # no fhirServer
        {"context": {"patientId": "p1"}, "prefetch": record([]), "fhirServer": SERVER},  # no token
        {
            "context": {"patientId": "p1"},
            "prefetch": record([]),
            "fhirServer": "http://ehr.test",
            "fhirAuthorization": AUTH,
        },
    ):
        got = resolve(PREFETCH, request, fetch_enabled=True, timeout_s=1, optional=OPTIONAL_PREFETCH)
        assert KEY not in got and canonical_json(got) == canonical_json(record([]))


def test_the_budget_spent_on_required_keys_leaves_the_optional_key_out() -> None:
    """The call's time budget is shared: used up by a required key, the optional key is left out (no 412);
    used up before a required key is fetched, that key is a 412 naming it alone."""

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.25)
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})

    pf = record([])
    del pf["observations"]
    request = {
        "context": {"patientId": "p1"},
        "prefetch": pf,
        "fhirServer": SERVER,
        "fhirAuthorization": AUTH,
    }
    kw: dict[str, Any] = {"fetch_enabled": True, "timeout_s": 5, "optional": OPTIONAL_PREFETCH}
    got = resolve(PREFETCH, request, budget_s=0.4, transport=httpx.MockTransport(slow), **kw)
    assert got["observations"] is None and KEY not in got  # fetched (nothing found); then no time left
    del pf["conditions"]
    with pytest.raises(PrefetchMissing) as err:
        resolve(PREFETCH, request, budget_s=0.4, transport=httpx.MockTransport(slow), **kw)
    assert err.value.extensions["missing_prefetch"] == ["observations"]
