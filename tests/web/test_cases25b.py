"""Saving from the web pages, continued: a repeated submission of one form saves once (a one-time form
token, as the REST API's Idempotency-Key); the case being edited is carried through evaluate, what-if,
timeline, edit and file import, so a save from any of them is a version of that case; and a save whose form
started from an older version than the case's newest is refused (409, input kept, the newer version named)
until the user confirms. In the service store and the in-memory fallback alike."""

from __future__ import annotations

import html as h
import json
import re
import threading
from io import BytesIO

import pytest
from fastapi.testclient import TestClient

from netcds.engine import evaluate
from netcds.knowledge.load import load_knowledge
from netcds.patient import Patient
from netcds.web.cases import MemoryCases, StoreCases
from tests.web.conftest import example, field_block, form_fields
from tests.web.test_pages import assert_safe_html

SMALL_BOWEL = "small_bowel_after_ssa"
STORES = ["client", "bare_client"]  # the service store (SQLite), the in-memory fallback


@pytest.fixture(params=STORES)
def web(request: pytest.FixtureRequest) -> TestClient:
    c = request.getfixturevalue(request.param)
    assert isinstance(c, TestClient)
    return c


def _record(ki67: float = 12) -> dict:
    rec = example(SMALL_BOWEL)
    rec["tumor"]["ki67_percent"] = ki67
    return rec


def _form_inputs(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the page's first form posting to ``action``."""
    m = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert m, f"no form posting to {action}"
    inputs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', m.group(1))
    return {name: h.unescape(value) for name, value in inputs}


def _patient_form(page: str) -> dict[str, str]:
    """The hidden controls of the patient form (case, version it started from, token)."""
    return _form_inputs(page, "/ui/patient")


def _saved(r) -> tuple[str, int]:
    assert r.status_code == 303, r.text[:800]
    m = re.fullmatch(r"/ui/cases/([0-9a-f-]{36})\?saved=(\d+)", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1), int(m.group(2))


def _new_case(c: TestClient) -> str:
    r = c.post("/ui/patient", data={**form_fields(_record()), "action": "save"}, follow_redirects=False)
    return _saved(r)[0]


def _cases(c: TestClient) -> set[str]:
    return set(re.findall(r'/ui/cases/([0-9a-f-]{36})"', c.get("/ui/cases").text))


def _versions(c: TestClient, case_id: str) -> int:
    m = re.search(r"· (\d+) versions? ·", c.get(f"/ui/cases/{case_id}").text)
    assert m
    return int(m.group(1))


def _edit_form(c: TestClient, case_id: str) -> dict[str, str]:
    page = c.get("/ui/patient", params={"case": case_id})
    assert page.status_code == 200
    return _patient_form(page.text)


# --- 1. a repeated submission saves once --------------------------------------------------------------------


def test_the_form_carries_a_one_time_token_and_each_load_a_new_one(web: TestClient) -> None:
    first, second = _patient_form(web.get("/ui/patient").text), _patient_form(web.get("/ui/patient").text)
    assert first["form_token"] and second["form_token"] and first["form_token"] != second["form_token"]
    grown = web.post("/ui/patient", data={**form_fields(_record()), **first, "action": "add:treatments"})
    assert _patient_form(grown.text)["form_token"] == first["form_token"]  # same form, redrawn


def test_a_double_submitted_new_case_is_saved_once(web: TestClient) -> None:
    data = {**form_fields(_record()), **_patient_form(web.get("/ui/patient").text), "action": "save"}
    first = web.post("/ui/patient", data=data, follow_redirects=False)
    again = web.post("/ui/patient", data=data, follow_redirects=False)
    assert _saved(first) == _saved(again) == (_saved(first)[0], 1)
    assert again.headers["location"] == first.headers["location"]  # the same result page
    assert _cases(web) == {_saved(first)[0]} and _versions(web, _saved(first)[0]) == 1


def test_a_double_submitted_version_is_saved_once_and_a_new_form_load_saves_another(web: TestClient) -> None:
    case_id = _new_case(web)
    data = {**form_fields(_record(7.5)), **_edit_form(web, case_id), "action": "save"}
    first = web.post("/ui/patient", data=data, follow_redirects=False)
    again = web.post("/ui/patient", data=data, follow_redirects=False)
    assert _saved(first) == _saved(again) == (case_id, 2)
    assert _versions(web, case_id) == 2
    # a deliberate re-save: the form opened again (a new token, from version 2) stores version 3
    data = {**form_fields(_record(7.5)), **_edit_form(web, case_id), "action": "save"}
    assert _saved(web.post("/ui/patient", data=data, follow_redirects=False)) == (case_id, 3)


def test_a_double_submitted_save_from_the_evaluation_page_is_saved_once(web: TestClient) -> None:
    page = web.post("/ui/patient", data={**form_fields(_record()), "action": "evaluate"}).text
    save = _form_inputs(page, "/ui/save")
    assert save["form_token"]
    first = web.post("/ui/save", data=save, follow_redirects=False)
    again = web.post("/ui/save", data=save, follow_redirects=False)
    assert first.headers["location"] == again.headers["location"]
    assert len(_cases(web)) == 1


def test_the_same_token_with_another_record_is_not_taken_for_a_repeat(web: TestClient) -> None:
    token = _patient_form(web.get("/ui/patient").text)
    one = web.post(
        "/ui/patient", data={**form_fields(_record(7)), **token, "action": "save"}, follow_redirects=False
    )
    two = web.post(
        "/ui/patient", data={**form_fields(_record(8)), **token, "action": "save"}, follow_redirects=False
    )
    assert _saved(one)[0] != _saved(two)[0] and len(_cases(web)) == 2


def test_a_token_the_page_did_not_issue_is_refused_on_the_form(web: TestClient) -> None:
    data = {**form_fields(_record(7.5)), "form_token": "x" * 300, "action": "save"}
    r = web.post("/ui/patient", data=data, follow_redirects=False)
    assert r.status_code == 422 and "Form token (form_token)" in r.text and "nothing was saved" in r.text
    assert 'value="7.5"' in field_block(r.text, "tumor.ki67_percent")
    assert _patient_form(r.text)["form_token"] != "x" * 300
    assert _cases(web) == set()


@pytest.mark.parametrize("kind", ["store", "memory"])
def test_simultaneous_repeats_store_one_case_and_return_the_same_result(
    client: TestClient, kind: str
) -> None:
    """Twin requests that both miss the other's save: the loser of the write finds the winner's result."""
    store = client.app.state.netcds.store  # type: ignore[attr-defined]
    repo = StoreCases(store) if kind == "store" else MemoryCases()
    patient = Patient.model_validate(_record())
    ev = evaluate(patient, load_knowledge())
    token = "3f0c1f4e-9f55-4b7e-a3a4-0d1b2c3d4e5f"
    results: list[object] = []
    gate = threading.Barrier(4)

    def save() -> None:
        gate.wait()
        results.append(repo.create_case(patient, ev, token=token))

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    case_id = results[0][0]  # type: ignore[index]
    assert [c.case_id for c in repo.list_cases()] == [case_id]
    again = [repo.add_version(case_id, patient, ev, token=token, base_version=1) for _ in range(2)]
    assert again[0] == again[1] and again[0][0] == 2 and repo.get_case(case_id).latest_version == 2


# --- 2. the case being edited is carried through every page --------------------------------------------------


def _case_fields(inputs: dict[str, str]) -> dict[str, str]:
    return {k: inputs[k] for k in ("case_id", "base_version")}


def test_evaluate_while_editing_a_case_then_save_adds_a_version(web: TestClient) -> None:
    case_id = _new_case(web)
    form = _edit_form(web, case_id)
    page = web.post("/ui/patient", data={**form_fields(_record(7.5)), **form, "action": "evaluate"})
    assert page.status_code == 200
    assert _case_fields(_form_inputs(page.text, "/ui/patient/edit")) == {
        "case_id": case_id,
        "base_version": "1",
    }
    save = _form_inputs(page.text, "/ui/save")
    assert _case_fields(save) == {"case_id": case_id, "base_version": "1"}
    assert "Save as new version" in page.text
    assert _saved(web.post("/ui/save", data=save, follow_redirects=False)) == (case_id, 2)
    assert _cases(web) == {case_id}


def test_edit_record_from_the_evaluation_page_stays_on_the_case(web: TestClient) -> None:
    case_id = _new_case(web)
    page = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **_edit_form(web, case_id), "action": "evaluate"}
    )
    edit = web.post("/ui/patient/edit", data=_form_inputs(page.text, "/ui/patient/edit"))
    form = _patient_form(edit.text)
    assert _case_fields(form) == {"case_id": case_id, "base_version": "1"}
    r = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **form, "action": "save"}, follow_redirects=False
    )
    assert _saved(r) == (case_id, 2) and _cases(web) == {case_id}


def test_a_whatif_and_back_to_the_recorded_facts_stay_on_the_case(web: TestClient) -> None:
    case_id = _new_case(web)
    page = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **_edit_form(web, case_id), "action": "evaluate"}
    )
    wi = _form_inputs(page.text, "/ui/whatif")
    assert _case_fields(wi) == {"case_id": case_id, "base_version": "1"}
    hypo = web.post("/ui/whatif", data={**wi, "choice": 'tumor.sstr_status="negative"'})
    assert hypo.status_code == 200 and 'id="whatif-result"' in hypo.text
    assert _case_fields(_form_inputs(hypo.text, "/ui/patient/edit"))["case_id"] == case_id
    assert _case_fields(_form_inputs(hypo.text, "/ui/whatif"))["case_id"] == case_id  # the next what-if
    back = web.post("/ui/evaluate", data=_form_inputs(hypo.text, "/ui/evaluate"))
    save = _form_inputs(back.text, "/ui/save")
    assert _case_fields(save) == {"case_id": case_id, "base_version": "1"}
    assert _saved(web.post("/ui/save", data=save, follow_redirects=False)) == (case_id, 2)
    assert _cases(web) == {case_id}


def test_the_timeline_leads_back_to_the_case(web: TestClient) -> None:
    case_id = _new_case(web)
    page = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **_edit_form(web, case_id), "action": "evaluate"}
    )
    tl = web.post("/ui/timeline", data=_form_inputs(page.text, "/ui/timeline"))
    back = web.post("/ui/evaluate", data=_form_inputs(tl.text, "/ui/evaluate"))
    assert _case_fields(_form_inputs(back.text, "/ui/save"))["case_id"] == case_id


def test_a_file_imported_on_the_case_form_is_saved_to_the_case(web: TestClient) -> None:
    case_id = _new_case(web)
    page = web.get("/ui/patient", params={"case": case_id}).text
    carried = _form_inputs(page, "/ui/patient/import")
    assert carried == {"case_id": case_id, "base_version": "1"}
    body = json.dumps(_record(7.5)).encode()
    imported = web.post(
        "/ui/patient/import", data=carried, files={"file": ("p.json", BytesIO(body), "application/json")}
    )
    assert imported.status_code == 200 and "Imported p.json" in imported.text
    form = _patient_form(imported.text)
    assert _case_fields(form) == {"case_id": case_id, "base_version": "1"}
    r = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **form, "action": "save"}, follow_redirects=False
    )
    assert _saved(r) == (case_id, 2) and _cases(web) == {case_id}


@pytest.mark.parametrize("url", ["/ui/evaluate", "/ui/whatif", "/ui/timeline", "/ui/patient/import"])
def test_a_malformed_case_id_carried_by_a_page_is_refused_there(web: TestClient, url: str) -> None:
    rec = json.dumps(_record(7.5))
    data = {"patient_json": rec, "base_json": rec, "case_id": "not-a-uuid"}
    files = {"file": ("p.json", BytesIO(rec.encode()), "application/json")} if "import" in url else None
    r = web.post(url, data=data, files=files)
    assert r.status_code == 422 and 'id="patient-form"' in r.text
    assert "Case id (case_id)" in r.text and "is not a case id" in r.text
    assert 'name="case_id"' not in r.text
    assert_safe_html(r)


# --- 3. two edits of one case at once ------------------------------------------------------------------------


def test_a_save_from_an_older_version_is_a_409_until_confirmed(web: TestClient) -> None:
    case_id = _new_case(web)
    mine, theirs = _edit_form(web, case_id), _edit_form(web, case_id)
    r = web.post(
        "/ui/patient", data={**form_fields(_record(7.5)), **theirs, "action": "save"}, follow_redirects=False
    )
    assert _saved(r) == (case_id, 2)
    stale = web.post(
        "/ui/patient", data={**form_fields(_record(9)), **mine, "action": "save"}, follow_redirects=False
    )
    assert stale.status_code == 409, stale.text[:500]
    assert_safe_html(stale)
    assert 'value="9"' in field_block(stale.text, "tumor.ki67_percent")  # the input is kept
    assert f"Case {case_id[:8]} has version 2" in stale.text and "newer than version 1" in stale.text
    assert "nothing was saved" in stale.text and _versions(web, case_id) == 2
    assert _patient_form(stale.text) == mine  # still the same form: case, version it started from, token
    assert 'name="action" value="save-after:2"' in stale.text and "Save anyway as version 3" in stale.text
    again = web.post(
        "/ui/patient", data={**form_fields(_record(9)), **mine, "action": "save"}, follow_redirects=False
    )
    assert again.status_code == 409 and _versions(web, case_id) == 2  # Save again is not a confirmation
    confirmed = {**form_fields(_record(9)), **mine, "action": "save-after:2"}
    assert _saved(web.post("/ui/patient", data=confirmed, follow_redirects=False)) == (case_id, 3)
    assert _saved(web.post("/ui/patient", data=confirmed, follow_redirects=False)) == (case_id, 3)  # once


def test_a_confirmation_that_is_itself_overtaken_names_the_newest(web: TestClient) -> None:
    case_id = _new_case(web)
    mine = _edit_form(web, case_id)
    for ki in (7, 8):  # two other saves: versions 2 and 3
        other = {**form_fields(_record(ki)), **_edit_form(web, case_id), "action": "save"}
        web.post("/ui/patient", data=other, follow_redirects=False)
    data = {**form_fields(_record(9)), **mine, "action": "save-after:2"}
    r = web.post("/ui/patient", data=data, follow_redirects=False)
    assert r.status_code == 409 and f"Case {case_id[:8]} has version 3" in r.text
    assert 'value="save-after:3"' in r.text and _versions(web, case_id) == 3


def test_a_stale_save_from_the_evaluation_page_returns_the_form_with_the_confirmation(
    web: TestClient,
) -> None:
    case_id = _new_case(web)
    page = web.post(
        "/ui/patient", data={**form_fields(_record(9)), **_edit_form(web, case_id), "action": "evaluate"}
    )
    web.post("/ui/patient", data={**form_fields(_record(7)), **_edit_form(web, case_id), "action": "save"})
    r = web.post("/ui/save", data=_form_inputs(page.text, "/ui/save"), follow_redirects=False)
    assert r.status_code == 409 and 'id="patient-form"' in r.text and "Save anyway as version 3" in r.text
    assert 'value="9"' in field_block(r.text, "tumor.ki67_percent") and _versions(web, case_id) == 2


def test_editing_a_stored_evaluation_of_an_older_version_is_checked_too(web: TestClient) -> None:
    case_id = _new_case(web)
    old_eval = re.findall(r"/ui/evaluations/([0-9a-f-]{36})\"", web.get(f"/ui/cases/{case_id}").text)[0]
    web.post("/ui/patient", data={**form_fields(_record(7)), **_edit_form(web, case_id), "action": "save"})
    stored = web.get(f"/ui/evaluations/{old_eval}")
    edit = web.post("/ui/patient/edit", data=_form_inputs(stored.text, "/ui/patient/edit"))
    form = _patient_form(edit.text)
    assert _case_fields(form) == {"case_id": case_id, "base_version": "1"}
    r = web.post(
        "/ui/patient", data={**form_fields(_record(12)), **form, "action": "save"}, follow_redirects=False
    )
    assert r.status_code == 409 and _versions(web, case_id) == 2


@pytest.mark.parametrize(
    ("base", "status", "said"),
    [
        ("abc", 422, "is not a version number"),
        ("0", 422, "is not a version number"),
        ("5", 422, "has no version 5"),
    ],
)
def test_a_version_the_case_does_not_have_is_refused(
    web: TestClient, base: str, status: int, said: str
) -> None:
    case_id = _new_case(web)
    data = {**form_fields(_record(7.5)), "case_id": case_id, "base_version": base, "action": "save"}
    r = web.post("/ui/patient", data=data, follow_redirects=False)
    assert r.status_code == status and said in r.text and "nothing was saved" in r.text
    assert 'value="7.5"' in field_block(r.text, "tumor.ki67_percent") and _versions(web, case_id) == 1


def test_a_version_without_a_case_is_refused(web: TestClient) -> None:
    data = {**form_fields(_record(7.5)), "base_version": "1", "action": "save"}
    r = web.post("/ui/patient", data=data, follow_redirects=False)
    assert r.status_code == 422 and "names no case" in r.text and _cases(web) == set()
