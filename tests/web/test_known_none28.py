"""A list known to be empty is not an unknown list: the patient form records ``treatments: []`` (likewise
``assessments``, ``medications``, ``comorbidities.other``) with a labelled "None" box, keeps ``[]``, null and
items apart through the form, an import and "edit as new version", and refuses "None" ticked together with
entries at the field (docs/contract.md: history predicates are needs_data on null, false on [])."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import example, field_block, form_fields, hidden, unlabelled

SMALL_BOWEL = "small_bowel_after_ssa"
ASSESSMENTS = [
    {"date": "2024-06-01", "recist_response": "SD", "sum_of_diameters_mm": 52},
    {"date": "2025-02-20", "recist_response": "PD", "sum_of_diameters_mm": 71},
]
# each list with the items it carries in the "items" state
LISTS: dict[str, Any] = {
    "treatments": example(SMALL_BOWEL)["treatments"],
    "assessments": ASSESSMENTS,
    "medications": ["amlodipine", "metformin"],
    "comorbidities.other": ["gout", "psoriasis"],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """The example record with list ``path`` set to ``value`` (None: left out, i.e. unknown)."""
    rec = copy.deepcopy(example(SMALL_BOWEL))
    node = rec
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node.pop(parts[-1], None)
    if value is not None:
        node[parts[-1]] = value
    return rec


def _get(rec: dict[str, Any], path: str) -> Any:
    node: Any = rec
    for p in path.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    return node


class _FormControls(HTMLParser):
    """What a browser submits for ``<form id=patient-form>``: checked boxes, selected options, texts
    (the row template is not part of the form)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.in_form = self.in_template = 0
        self.select: str | None = None
        self.select_value: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.in_form = int(a.get("id") == "patient-form")
        if tag == "template":
            self.in_template += 1
        if not self.in_form or self.in_template:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.select_value, self.first_option = a.get("name"), None, None
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.select_value = a.get("value", "")
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.in_template -= 1
        elif tag == "form":
            self.in_form = 0
        elif tag == "select" and self.select is not None:
            value = self.select_value if self.select_value is not None else self.first_option
            self.fields.append((self.select, value or ""))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None


def _submitted(page: str, action: str) -> list[tuple[str, str]]:
    """The patient form of ``page`` as a browser posts it unchanged, with the button ``action``."""
    import html as h

    p = _FormControls()
    p.feed(page)
    return [(k, h.unescape(v)) for k, v in p.fields] + [("action", action)]


def _post(c: TestClient, fields: list[tuple[str, str]], **kw: Any) -> Any:
    from urllib.parse import urlencode

    headers = {"content-type": "application/x-www-form-urlencoded"}
    return c.post("/ui/patient", content=urlencode(fields).encode(), headers=headers, **kw)


def _flat(fields: dict[str, Any], drop: str = "") -> list[tuple[str, str]]:
    """``form_fields`` as posted pairs (a list value is one pair per item), without control ``drop``."""
    return [(k, x) for k, v in fields.items() if k != drop for x in (v if isinstance(v, list) else [v])]


def _statuses(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'<article class="option[^"]*"[^>]*data-entry="([^"]+)" data-status="([a-z_]+)"', page)
    )


@pytest.mark.parametrize("path", list(LISTS))
@pytest.mark.parametrize("state", ["none", "unknown", "items"])
def test_each_list_keeps_its_state_through_the_form(bare_client: TestClient, path: str, state: str) -> None:
    value = {"none": [], "unknown": None, "items": LISTS[path]}[state]
    rec = _with(path, value)
    shown = bare_client.post("/ui/patient/edit", data={"patient_json": json.dumps(rec)})
    assert shown.status_code == 200, shown.text[:800]
    box = re.search(rf'<input type="checkbox" id="[^"]+" name="{re.escape(path)}:none"[^>]*>', shown.text)
    assert box, f"no known-none box for {path}"
    assert ("checked" in box.group(0)) == (state == "none")
    r = _post(bare_client, _submitted(shown.text, "evaluate"))
    assert r.status_code == 200, r.text[:2000]
    got = json.loads(hidden(r.text, "patient_json"))
    if value is None:
        assert _get(got, path) is None, f"{path}: unknown became {_get(got, path)!r}"
    else:
        assert _get(got, path) == value
    # the helper the other web tests post with agrees with the page
    again = _post(bare_client, [*_flat(form_fields(rec)), ("action", "evaluate")])
    assert json.loads(hidden(again.text, "patient_json")) == got


def test_known_none_treatments_show_what_the_api_says(client: TestClient) -> None:
    """No prior systemic treatment recorded on the form: the page's statuses are the API's for
    ``treatments: []``, not the needs_data of an unknown history."""
    rec = _with("treatments", [])
    api = client.post("/api/v1/evaluate", json=rec)
    assert api.status_code == 200, api.text[:500]
    expected = {o["entry_id"]: o["status"] for o in api.json()["options"]}
    unknown = client.post("/api/v1/evaluate", json=_with("treatments", None)).json()
    assert expected != {o["entry_id"]: o["status"] for o in unknown["options"]}  # the case decides
    fields = [
        *_flat(form_fields(_with("treatments", None))),
        ("treatments:none", "1"),
        ("action", "evaluate"),
    ]
    page = _post(client, fields)
    assert page.status_code == 200, page.text[:2000]
    assert _statuses(page.text) == expected
    assert json.loads(hidden(page.text, "patient_json"))["treatments"] == []


@pytest.mark.parametrize(
    ("path", "entries", "label", "message"),
    [
        ("treatments", [("treatments[0].agent", "everolimus")], "Treatments", "1 row entered"),
        (
            "assessments",
            [("assessments[0].date", "2025-01-02"), ("assessments[1].date", "2025-02-02")],
            "Assessments",
            "2 rows entered",
        ),
        ("medications", [("medications", "amlodipine")], "Concomitant medications", "1 item entered"),
        (
            "comorbidities.other",
            [("comorbidities.other", "gout\npsoriasis")],
            "Other comorbidities",
            "2 items entered",
        ),
    ],
)
def test_none_ticked_with_entries_is_422_naming_the_field(
    bare_client: TestClient, path: str, entries: list[tuple[str, str]], label: str, message: str
) -> None:
    base = _with(path, None)
    fields = _flat(form_fields(base), drop=path) + entries + [(path + ":none", "1"), ("action", "save")]
    r = _post(bare_client, fields, follow_redirects=False)
    assert r.status_code == 422, r.text[:800]
    summary = r.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    cid = "f-" + path.replace(".", "-")
    assert f'href="#{cid}">{label}' in summary and "is ticked together with " + message in summary
    assert f'id="{cid}"' in r.text  # the summary's link has a target
    block = field_block(r.text, path)
    assert 'aria-invalid="true"' in block and "untick it or clear the" in block
    assert re.search(rf'name="{re.escape(path)}:none"[^>]*checked', block)  # what was entered is kept
    assert "/ui/cases/" not in r.headers.get("location", "")


def test_every_none_box_is_labelled(bare_client: TestClient) -> None:
    page = bare_client.get("/ui/patient").text
    assert unlabelled(page) == []
    for path in LISTS:
        m = re.search(
            rf'<label class="check check-none" for="([^"]+)"><input type="checkbox" id="\1" '
            rf'name="{re.escape(path)}:none"[^>]*> None \(known: [^<]+\)</label>',
            page,
        )
        assert m, path
    assert "None (known: no prior systemic treatments)" in page


@pytest.mark.parametrize("path", list(LISTS))
def test_import_keeps_a_known_empty_list(bare_client: TestClient, path: str) -> None:
    rec = _with(path, [])
    files = {"file": ("rec.json", json.dumps(rec).encode(), "application/json")}
    shown = bare_client.post("/ui/patient/import", files=files)
    assert shown.status_code == 200, shown.text[:800]
    r = _post(bare_client, _submitted(shown.text, "evaluate"))
    assert r.status_code == 200, r.text[:2000]
    assert _get(json.loads(hidden(r.text, "patient_json")), path) == []


def _hashes(c: TestClient, case_id: str) -> list[str]:
    return re.findall(
        r'<code title="sha256 of the canonical record">([0-9a-f]+)</code>', c.get(f"/ui/cases/{case_id}").text
    )


def test_saving_an_unchanged_case_record_keeps_its_empty_lists(client: TestClient) -> None:
    """A case whose record says "no treatments, no medications": opened for a new version and saved
    unchanged, the new version has the same content (the same record hash), not unknown lists."""
    rec = _with("treatments", [])
    rec["medications"], rec["assessments"] = [], []
    rec["comorbidities"]["other"] = []
    made = client.post("/api/v1/cases", json=rec)  # stored as given, not through the form
    assert made.status_code == 201, made.text[:800]
    case_id = made.json()["case_id"]
    form = client.get(f"/ui/patient?case={case_id}")
    saved = _post(client, _submitted(form.text, "save"), follow_redirects=False)
    assert saved.status_code == 303, saved.text[:1500]
    first, second = _hashes(client, case_id)
    assert made.json()["patient_hash"].startswith(first) and first == second
    # "Edit record" on the evaluation page (edit as new version) keeps them too
    ev = _post(client, _submitted(form.text, "evaluate"))
    edit = client.post(
        "/ui/patient/edit", data={"patient_json": hidden(ev.text, "patient_json"), "case_id": case_id}
    )
    again = _post(client, _submitted(edit.text, "evaluate"))
    got = json.loads(hidden(again.text, "patient_json"))
    assert (got["treatments"], got["medications"], got["assessments"], got["comorbidities"]["other"]) == (
        [],
        [],
        [],
        [],
    )
