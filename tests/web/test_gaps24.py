"""Web gaps: case and evaluation ids in every spelling the REST API takes; bidirectional controls in patient
text shown visibly on every page (and kept exactly through the form); the what-if number box read with the
patient form's number rules."""

from __future__ import annotations

import html as h
import json
import re
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from netcds.web.bidi import BIDI_CONTROLS, restore, visible
from netcds.web.cases import canonical_id
from netcds.web.pdf import latin1
from tests.web.conftest import example, form_fields, hidden

SMALL_BOWEL = "small_bowel_after_ssa"


def _saved_case(client: TestClient) -> tuple[str, str]:
    r = client.post(
        "/ui/patient", data={**form_fields(example(SMALL_BOWEL)), "action": "save"}, follow_redirects=False
    )
    assert r.status_code == 303
    case_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    page = client.get(f"/ui/cases/{case_id}").text
    m = re.search(r'/ui/evaluations/([0-9a-f-]{36})"', page)
    assert m
    return case_id, m.group(1)


def _spellings(cid: str) -> dict[str, str]:
    bare = cid.replace("-", "")
    return {
        "canonical": cid,
        "upper case": cid.upper(),
        "braces": "{" + cid + "}",
        "no hyphens": bare,
        "no hyphens, upper case": bare.upper(),
        "urn": "urn:uuid:" + cid,
        # refused by the API (Python's uuid.UUID would take the first three)
        "one brace": "{" + cid,
        "hyphens elsewhere": bare[:4] + "-" + bare[4:],
        "braces, no hyphens": "{" + bare + "}",
        "URN upper case": "URN:UUID:" + cid,
        "too short": cid[:-1],
    }


# --- 1. ids: exactly the API's spellings, normalised ----------------------------------------------------


def test_case_pages_take_exactly_the_spellings_the_api_takes(client: TestClient) -> None:
    case_id, _ = _saved_case(client)
    for label, spelled in _spellings(case_id).items():
        api = client.get(f"/api/v1/cases/{spelled}")
        page = client.get(f"/ui/cases/{spelled}")
        assert api.status_code in (200, 422), (label, api.status_code)
        assert page.status_code == (200 if api.status_code == 200 else 404), (label, page.status_code)
        if api.status_code == 200:
            assert api.json()["case_id"] == case_id
            assert case_id in page.text and "Version 1" in page.text
            assert canonical_id(spelled) == case_id
        else:
            assert canonical_id(spelled) is None


def test_evaluation_pages_and_the_case_form_take_other_spellings(client: TestClient) -> None:
    case_id, eval_id = _saved_case(client)
    for suffix in ("", "/timeline", "/pdf"):
        assert client.get(f"/ui/evaluations/{eval_id.upper()}{suffix}").status_code == 200, suffix
        assert client.get(f"/ui/evaluations/{{{eval_id}}}{suffix}").status_code == 200, suffix
    edit = client.get("/ui/patient", params={"case": case_id.upper().replace("-", "")})
    assert edit.status_code == 200 and f'name="case_id" value="{case_id}"' in edit.text
    data = {**form_fields(example(SMALL_BOWEL)), "case_id": "{" + case_id.upper() + "}", "action": "save"}
    saved = client.post("/ui/patient", data=data, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/ui/cases/{case_id}?saved=2"


# --- 2. bidirectional controls ------------------------------------------------------------------------

RLO = "\u202e"


def _tricky_record() -> dict:
    record = example(SMALL_BOWEL)
    record["id"] = f"pt-{RLO}4321{chr(0x2066)}x{chr(0x2069)}"
    record["medications"] = [f"metformin{RLO}lixa", f"{chr(0x200F)}warfarin"]
    record.setdefault("comorbidities", {})["other"] = [f"gout{chr(0x202B)}1{chr(0x202C)}"]
    return record


def _no_raw_controls(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in BIDI_CONTROLS})
    assert found == [], found


def test_visible_and_restore_are_inverse_for_every_control() -> None:
    for c in BIDI_CONTROLS:
        shown = visible(f"a{c}b")
        assert c not in shown and shown == f"a\\u{ord(c):04x}b"
        assert restore(shown) == f"a{c}b" and restore(f"a\\u{ord(c):04X}b") == f"a{c}b"
    assert restore(r"C:\users\x \u0041 \n") == r"C:\users\x \u0041 \n"  # other sequences as typed
    assert latin1(f"id {RLO}x") == "id \\u202ex"


def test_every_page_shows_bidi_controls_as_escapes(client: TestClient) -> None:
    record = _tricky_record()
    page = client.post("/ui/patient", data={**form_fields(record), "action": "evaluate"})
    assert page.status_code == 200
    _no_raw_controls(page.text)
    assert "pt-\\u202e4321\\u2066x\\u2069" in page.text
    # the hidden record is JSON whose escapes are the same characters: nothing is lost
    assert json.loads(hidden(page.text, "patient_json"))["id"] == record["id"]
    patient_json = hidden(page.text, "patient_json")
    for url in ("/ui/timeline", "/ui/evaluate"):
        r = client.post(url, data={"patient_json": patient_json})
        assert r.status_code == 200, url
        _no_raw_controls(r.text)
    pdf = client.post("/ui/pdf", data={"patient_json": patient_json})
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert "\\u202e" in text and "?4321" not in text
    saved = client.post("/ui/save", data={"patient_json": patient_json}, follow_redirects=False)
    case_page = client.get(saved.headers["location"])
    _no_raw_controls(case_page.text)
    listing = client.get("/ui/cases", params={"q": f"pt-{RLO}"})
    _no_raw_controls(listing.text)
    assert "pt-\\u202e4321" in listing.text
    shown = client.get("/ui/cases", params={"q": "pt-\\u202e43"})  # searched as shown on the page
    assert "pt-\\u202e4321" in shown.text.split("<main", 1)[1].split('name="q"', 1)[1]


def test_the_form_shows_escapes_and_keeps_the_text_exactly(client: TestClient) -> None:
    record = _tricky_record()
    body = json.dumps(record).encode()
    form = client.post("/ui/patient/import", files={"file": ("p.json", BytesIO(body), "application/json")})
    assert form.status_code == 200
    _no_raw_controls(form.text)
    shown = re.search(r'name="id" value="([^"]*)"', form.text)
    assert shown and h.unescape(shown.group(1)) == "pt-\\u202e4321\\u2066x\\u2069"
    # posting the form as shown gives back the record's own text
    posted = {**form_fields(record), "id": h.unescape(shown.group(1))}
    posted["medications"] = visible("\n".join(record["medications"]))
    posted["comorbidities.other"] = visible(record["comorbidities"]["other"][0])
    page = client.post("/ui/patient", data={**posted, "action": "evaluate"})
    assert page.status_code == 200
    again = json.loads(hidden(page.text, "patient_json"))
    assert again["id"] == record["id"]
    assert again["medications"] == record["medications"]
    assert again["comorbidities"]["other"] == record["comorbidities"]["other"]


# --- 3. the what-if number box ------------------------------------------------------------------------


def _whatif(client: TestClient, path: str, value: str):
    page = client.post("/ui/patient", data={**form_fields(example(SMALL_BOWEL)), "action": "evaluate"}).text
    return client.post(
        "/ui/whatif", data={"base_json": hidden(page, "base_json"), "path": path, "value": value}
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tumor.ki67_percent", "1.500", "ambiguous: write 1500 or 1.5"),
        ("tumor.ki67_percent", "1,500", "ambiguous: write 1500 or 1.5"),
        ("comorbidities.platelets_per_ul", "150.000", "ambiguous: write 150000 or 150.0"),
        ("comorbidities.platelets_per_ul", "1.5", "a count per µL is a whole number"),
        ("tumor.ki67_percent", "twelve", "must be a number"),
    ],
)
def test_an_ambiguous_or_unreadable_whatif_number_is_422_at_the_field(
    client: TestClient, path: str, value: str, message: str
) -> None:
    r = _whatif(client, path, value)
    assert r.status_code == 422
    section = h.unescape(r.text.split('id="whatif"', 1)[1])
    assert 'class="field-error"' in section and message in section


@pytest.mark.parametrize(
    ("path", "value", "after"),
    [
        ("tumor.ki67_percent", "12,5", 12.5),
        ("tumor.ki67_percent", "0,125", 0.125),
        ("tumor.ki67_percent", "15", 15),
        ("comorbidities.platelets_per_ul", "150,000", 150000),
        ("comorbidities.platelets_per_ul", "150 000", 150000),
    ],
)
def test_a_whatif_number_is_read_as_the_form_reads_it(
    client: TestClient, path: str, value: str, after: float
) -> None:
    r = _whatif(client, path, value)
    assert r.status_code == 200, h.unescape(r.text.split('id="whatif"', 1)[1])[:500]
    assert json.loads(hidden(r.text, "assignments")) == {path: after}
