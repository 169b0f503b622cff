"""Saving from the web pages: the case a record goes to is exactly the one the form names, read as the REST
API reads a case id; a case id the API would refuse, a case that does not exist, a record of another
patient, or a case id in the address that the form does not name is refused on the form (the user's input
kept, the field named) and nothing is saved; in the service store and in the in-memory fallback alike."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import example, field_block, form_fields, hidden
from tests.web.test_pages import assert_safe_html

SMALL_BOWEL = "small_bowel_after_ssa"
NO_CASE = "00000000-0000-0000-0000-000000000000"
STORES = ["client", "bare_client"]  # the service store (SQLite), the in-memory fallback


@pytest.fixture(params=STORES)
def web(request: pytest.FixtureRequest) -> TestClient:
    c = request.getfixturevalue(request.param)
    assert isinstance(c, TestClient)
    return c


def _record(ki67: float = 12, pid: str | None = "example-small-bowel") -> dict:
    rec = example(SMALL_BOWEL)
    rec["tumor"]["ki67_percent"] = ki67
    if pid is None:
        rec.pop("id", None)
    else:
        rec["id"] = pid
    return rec


def _new_case(c: TestClient, rec: dict | None = None) -> str:
    r = c.post(
        "/ui/patient", data={**form_fields(rec or _record()), "action": "save"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"].split("?")[0].rsplit("/", 1)[1]


def _cases(c: TestClient) -> set[str]:
    return set(re.findall(r'/ui/cases/([0-9a-f-]{36})"', c.get("/ui/cases").text))


def _versions(c: TestClient, case_id: str) -> int:
    m = re.search(r"· (\d+) versions? ·", c.get(f"/ui/cases/{case_id}").text)
    assert m
    return int(m.group(1))


def _refused_on_the_form(r, status: int, ki67: str = "7.5") -> str:
    """A refusal is the patient form again (not an error page), with what the user entered."""
    assert r.status_code == status, r.text[:500]
    assert_safe_html(r)
    assert 'id="patient-form"' in r.text and 'id="error-summary"' in r.text
    assert 'value="' + ki67 + '"' in field_block(r.text, "tumor.ki67_percent")
    return str(r.text)


# --- 1. a case id the API would refuse, or of no case -----------------------------------------------------


BAD_SPELLINGS = {  # refused by the REST API's case id reading too
    "not an id": lambda cid: "not-a-uuid",
    "unclosed brace": lambda cid: "{" + cid,
    "one digit short": lambda cid: cid[:-1],
    "leading space": lambda cid: " " + cid,
}


@pytest.mark.parametrize("spelling", list(BAD_SPELLINGS))
def test_a_malformed_case_id_on_the_form_is_refused_and_nothing_saved(web: TestClient, spelling: str) -> None:
    case_id = _new_case(web)
    bad = BAD_SPELLINGS[spelling](case_id)
    assert web.get(f"/api/v1/cases/{bad}").status_code != 200
    data = {**form_fields(_record(7.5)), "case_id": bad, "action": "save"}
    page = _refused_on_the_form(web.post("/ui/patient", data=data, follow_redirects=False), 422)
    assert "Case id (case_id)" in page and "is not a case id" in page and "nothing was saved" in page
    assert 'name="case_id"' not in page  # the form no longer refers to a case: no silent retarget
    assert _cases(web) == {case_id} and _versions(web, case_id) == 1


@pytest.mark.parametrize("spelling", ["not an id", "unclosed brace"])
def test_a_malformed_case_id_on_save_from_the_evaluation_page_is_refused(
    web: TestClient, spelling: str
) -> None:
    case_id = _new_case(web)
    data = {"patient_json": json.dumps(_record(7.5)), "case_id": BAD_SPELLINGS[spelling](case_id)}
    page = _refused_on_the_form(web.post("/ui/save", data=data, follow_redirects=False), 422)
    assert "Case id (case_id)" in page
    assert _cases(web) == {case_id} and _versions(web, case_id) == 1


@pytest.mark.parametrize("url", ["/ui/patient", "/ui/save"])
def test_a_case_id_of_no_case_is_a_404_on_the_form_and_nothing_saved(web: TestClient, url: str) -> None:
    case_id = _new_case(web)
    if url == "/ui/patient":
        data = {**form_fields(_record(7.5)), "case_id": NO_CASE.replace("-", "").upper(), "action": "save"}
    else:
        data = {"patient_json": json.dumps(_record(7.5)), "case_id": NO_CASE}
    page = _refused_on_the_form(web.post(url, data=data, follow_redirects=False), 404)
    assert f"there is no case {NO_CASE}" in page and "nothing was saved" in page
    assert _cases(web) == {case_id} and _versions(web, case_id) == 1


def test_a_valid_case_id_in_any_api_spelling_still_adds_a_version(web: TestClient) -> None:
    case_id = _new_case(web)
    data = {**form_fields(_record(7.5)), "case_id": "urn:uuid:" + case_id, "action": "save"}
    r = web.post("/ui/patient", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/cases/{case_id}?saved=2"
    assert _cases(web) == {case_id} and _versions(web, case_id) == 2


# --- 2. one case, one patient ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "said"),
    [
        (
            "example-small-bowel",
            "someone-else",
            "its earlier versions have 'example-small-bowel', this record has 'someone-else'",
        ),
        ("example-small-bowel", None, "this record has no id"),
        (None, "someone-else", "its earlier versions have no id"),
    ],
)
def test_a_version_with_another_patient_id_is_a_409_at_the_id_field(
    web: TestClient, first: str | None, second: str | None, said: str
) -> None:
    case_id = _new_case(web, _record(pid=first))
    data = {**form_fields(_record(7.5, pid=second)), "case_id": case_id, "action": "save"}
    page = _refused_on_the_form(web.post("/ui/patient", data=data, follow_redirects=False), 409)
    at_id = field_block(page, "id")
    assert "must be the case&#39;s patient id" in at_id and said.replace("'", "&#39;") in at_id
    assert "nothing was saved" in at_id
    assert hidden(page, "case_id") == case_id  # still editing the case: correcting the id saves a version
    assert _cases(web) == {case_id} and _versions(web, case_id) == 1


def test_save_from_the_evaluation_page_checks_the_patient_id_too(web: TestClient) -> None:
    case_id = _new_case(web)
    data = {"patient_json": json.dumps(_record(7.5, pid="someone-else")), "case_id": case_id}
    page = _refused_on_the_form(web.post("/ui/save", data=data, follow_redirects=False), 409)
    assert "must be the case&#39;s patient id" in field_block(page, "id")
    assert _versions(web, case_id) == 1


def test_the_web_refuses_what_the_rest_api_refuses(client: TestClient) -> None:
    case_id = _new_case(client)
    other = _record(7.5, pid="someone-else")
    api = client.post(f"/api/v1/cases/{case_id}/versions", json=other)
    web = client.post(
        "/ui/patient",
        data={**form_fields(other), "case_id": case_id, "action": "save"},
        follow_redirects=False,
    )
    assert api.status_code == web.status_code == 409
    assert api.json()["errors"][0]["field"] == "id"
    assert _versions(client, case_id) == 1
    same = client.post(
        "/ui/patient",
        data={**form_fields(_record(7.5)), "case_id": case_id, "action": "save"},
        follow_redirects=False,
    )
    assert same.status_code == 303 and same.headers["location"].endswith("saved=2")


# --- 3. other ways a post could go to a case the user did not ask for ----------------------------------------


def test_a_case_id_in_the_address_that_the_form_does_not_name_is_refused(web: TestClient) -> None:
    a, b = _new_case(web), _new_case(web)
    fields = form_fields(_record(7.5))
    cases = {a, b}
    for query, form_case in ((f"case={b}", a), (f"case_id={b}", a), (f"case={a}", None)):
        data = {**fields, "action": "save", **({"case_id": form_case} if form_case else {})}
        r = web.post(f"/ui/patient?{query}", data=data, follow_redirects=False)
        page = _refused_on_the_form(r, 422)
        assert "the address names a case" in page, query
        assert _cases(web) == cases and _versions(web, a) == _versions(web, b) == 1
    same = web.post(
        f"/ui/patient?case={a.upper()}",
        data={**fields, "case_id": a, "action": "save"},
        follow_redirects=False,
    )
    assert same.status_code == 303 and same.headers["location"] == f"/ui/cases/{a}?saved=2"


@pytest.mark.parametrize("action", ["add:treatments", "evaluate"])
def test_a_malformed_case_id_is_not_dropped_silently_by_other_actions(web: TestClient, action: str) -> None:
    """Before, adding a row (or evaluating) dropped a bad case id without a word, and the next save stored a
    new case instead of the version the user was editing."""
    data = {**form_fields(_record(7.5)), "case_id": "not-a-uuid", "action": action}
    page = _refused_on_the_form(web.post("/ui/patient", data=data), 422)
    assert "Case id (case_id)" in page and "is not a case id" in page


def test_edit_with_a_malformed_case_id_says_so(web: TestClient) -> None:
    data = {"patient_json": json.dumps(_record(7.5)), "case_id": "{not-a-case"}
    page = _refused_on_the_form(web.post("/ui/patient/edit", data=data), 422)
    assert "Case id (case_id)" in page and 'name="case_id"' not in page


def test_a_web_version_is_stored_with_its_evaluation_and_audit_entry_together(client: TestClient) -> None:
    """The store writes the version, its evaluation and the audit entry in one transaction (as the REST API
    does), so a failure between them cannot leave a version without its evaluation."""
    case_id = _new_case(client)
    r = client.post(
        "/ui/patient",
        data={**form_fields(_record(7.5)), "case_id": case_id, "action": "save"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    store = client.app.state.netcds.store  # type: ignore[attr-defined]
    entries = [e for e in store.audit_log(action="case.version") if e.target == case_id]
    assert len(entries) == 1 and entries[0].actor == "web"
    evals = store.case_evaluations(case_id)
    assert entries[0].detail == {
        "version": 2,
        "patient_hash": store.get_case(case_id).versions[-1].patient_hash,
        "evaluation_id": evals[-1].evaluation_id,
    }
