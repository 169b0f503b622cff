"""A record the patient form loads and saves unchanged stores the same content (the same record hash);
what the form cannot carry exactly is refused at the field, never changed, dropped or retargeted
(docs/web.md, Patient record). One test per defect the s31 review found, plus the properties behind them:
the numbers the form writes parse back, form text reads back, the PDF's record id reads back."""

from __future__ import annotations

import html
import json
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from netcds.web.form_data import fmt_number, is_count, parse_number
from netcds.web.form_schema import FieldDef, form_schema
from tests.web.conftest import example, form_fields
from tests.web.test_known_none28 import _post, _submitted

SMALL_BOWEL = "small_bowel_after_ssa"


def _number_fields() -> list[FieldDef]:
    schema = form_schema()
    rows = [f for group in schema.rows.values() for f in group.fields]
    return [f for f in [*schema.fields.values(), *rows] if f.kind == "number"]


def _stored(c: TestClient, rec: dict[str, Any]) -> str:
    """A case made through the REST API (the record stored as given, not through the form)."""
    made = c.post("/api/v1/cases", json=rec)
    assert made.status_code == 201, made.text[:800]
    return str(made.json()["case_id"])


def _save_unchanged(c: TestClient, case_id: str) -> Any:
    """Open the case in the form ("?case=") and post it as a browser would, unchanged, with "save"."""
    form = c.get(f"/ui/patient?case={case_id}")
    assert form.status_code == 200, form.text[:800]
    return _post(c, _submitted(form.text, "save"), follow_redirects=False)


def _versions(c: TestClient, case_id: str) -> tuple[list[str], dict[str, Any]]:
    got = c.get(f"/api/v1/cases/{case_id}").json()
    return [v["patient_hash"] for v in got["versions"]], got["patient"]


def _field_errors(page: str, name: str) -> str:
    m = re.search(rf'data-field="{re.escape(name)}".*?<p class="field-error"[^>]*>(.*?)</p>', page, re.S)
    assert m, f"no error at {name}"
    return html.unescape(m.group(1))


def _summary(page: str) -> str:
    return html.unescape(page.split('id="error-summary"', 1)[1].split("</ul>", 1)[0])


# --- 1. numbers the form writes are numbers it reads ---------------------------------------------------


def test_a_stored_three_decimal_number_is_saved_unchanged(client: TestClient) -> None:
    """Ki-67 12.125, hemoglobin 10.375, bilirubin 1.125 x ULN (3 decimals: the FHIR mapping's rounding)
    were written as "12.125" and refused by the form that wrote them as ambiguous."""
    rec = example(SMALL_BOWEL)
    rec["tumor"]["ki67_percent"] = 12.125
    rec["comorbidities"].update(hemoglobin_g_dl=10.375, bilirubin_x_uln=1.125, alt_x_uln=100.5)
    case_id = _stored(client, rec)
    saved = _save_unchanged(client, case_id)
    assert saved.status_code == 303, _summary(saved.text)
    hashes, patient = _versions(client, case_id)
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    assert patient["tumor"]["ki67_percent"] == 12.125


@pytest.mark.parametrize("f", _number_fields(), ids=lambda f: f.path)
def test_every_number_the_form_writes_reads_back_as_the_same_float(f: FieldDef) -> None:
    lo = f.minimum if f.minimum is not None else -1e300
    hi = f.maximum if f.maximum is not None else 1e300
    if is_count(f):  # a count per µL is a whole number on the form (a stored fraction is refused there)
        values = st.integers(int(lo), int(hi)).map(float)
    else:
        values = st.floats(lo, hi, allow_nan=False, allow_infinity=False) | st.sampled_from([1.125, 12.125])

    @settings(max_examples=150, deadline=None)
    @given(values)
    def check(x: float) -> None:
        shown = fmt_number(x)
        got, problem = parse_number(f, shown)
        assert problem is None, (x, shown, problem)
        assert got is not None and repr(got) == repr(x), (x, shown, got)

    check()


def test_negative_zero_and_a_stored_fractional_count_are_not_changed() -> None:
    ki67 = form_schema().fields["tumor.ki67_percent"]
    assert fmt_number(-0.0) == "-0" and repr(parse_number(ki67, "-0")[0]) == "-0.0"
    platelets = form_schema().fields["comorbidities.platelets_per_ul"]
    got, problem = parse_number(platelets, fmt_number(150000.5))  # refused at the field, not rounded
    assert got is None and problem and "whole number" in problem


_AMBIGUOUS_RAW = st.builds(
    lambda sign, whole, sep, frac: f"{sign}{whole}{sep}{frac:03d}",
    st.sampled_from(["", "-"]),
    st.integers(1, 999),
    st.sampled_from([".", ","]),
    st.integers(0, 999),
)


@settings(max_examples=200, deadline=None)
@given(_AMBIGUOUS_RAW, st.sampled_from(_number_fields()))
def test_what_an_ambiguous_message_suggests_is_accepted_as_meant(raw: str, f: FieldDef) -> None:
    _, problem = parse_number(f, raw)
    if problem is None:  # a count reads "1,125" as grouped thousands
        return
    assert problem.startswith("ambiguous: write "), problem
    suggested = re.match(r"ambiguous: write (\S+)(?: or (\S+))?", problem)
    assert suggested
    digits = re.sub(r"[.,]", "", raw)
    assert suggested.group(1) == digits and parse_number(f, digits) == (float(digits), None)
    if suggested.group(2) is not None:
        decimal = suggested.group(2)
        assert decimal != raw and parse_number(f, decimal) == (float(raw.replace(",", ".")), None)


# --- 2. the patient id is kept exactly ------------------------------------------------------------------


def test_a_padded_patient_id_gets_a_new_version_unchanged(client: TestClient) -> None:
    rec = example(SMALL_BOWEL)
    rec["id"] = " padded id "
    case_id = _stored(client, rec)
    saved = _save_unchanged(client, case_id)
    assert saved.status_code == 303, _summary(saved.text)
    hashes, patient = _versions(client, case_id)
    assert hashes[0] == hashes[1] and patient["id"] == " padded id "


@pytest.mark.parametrize("pid", ["pt\n42", "pt\\u000a42", "tab\tand\\\\u202e\u202e"])
def test_an_id_with_a_line_break_or_escape_text_is_kept_exactly(bare_client: TestClient, pid: str) -> None:
    rec = {**example(SMALL_BOWEL), "id": pid}
    shown = bare_client.post("/ui/patient/edit", data={"patient_json": json.dumps(rec)})
    assert "\n" not in re.search(r'name="id" value="([^"]*)"', shown.text).group(1)  # type: ignore[union-attr]
    r = _post(bare_client, _submitted(shown.text, "evaluate"))
    assert r.status_code == 200, _summary(r.text)
    got = re.search(r'name="patient_json" value="([^"]*)"', r.text)
    assert got and json.loads(html.unescape(got.group(1)))["id"] == pid


def test_an_id_of_only_spaces_is_refused_at_the_field(bare_client: TestClient) -> None:
    r = bare_client.post("/ui/patient", data={**form_fields(example(SMALL_BOWEL)), "id": "   "})
    assert r.status_code == 422
    assert "only spaces" in _field_errors(r.text, "id")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \\u0aA2e\n\r\t\x00\x85\u202e\u2066")))
def test_form_text_reads_back_exactly(text: str) -> None:
    from netcds.web.bidi import form_text, read_form_text

    shown = form_text(text)
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202e\u2066]", shown)
    assert read_form_text(shown) == text


# --- 3. list items are kept exactly, or refused at the field --------------------------------------------


def test_list_items_with_spaces_are_saved_unchanged(client: TestClient) -> None:
    rec = example(SMALL_BOWEL)
    rec["medications"] = [" amlodipine ", "metformin  ", "a, b"]
    rec["comorbidities"]["other"] = ["\tgout"]
    case_id = _stored(client, rec)
    saved = _save_unchanged(client, case_id)
    assert saved.status_code == 303, _summary(saved.text)
    hashes, patient = _versions(client, case_id)
    assert hashes[0] == hashes[1] and patient["medications"] == rec["medications"]


@pytest.mark.parametrize(
    ("items", "line", "words"),
    [
        (["amlodipine", "a\nb"], 2, "line break"),
        (["x\r\ny"], 1, "line break"),
        (["  "], 1, "only spaces"),
        (["amlodipine", " \t "], 2, "only spaces"),
    ],
)
def test_an_item_the_form_cannot_carry_is_refused_at_the_list(
    client: TestClient, items: list[str], line: int, words: str
) -> None:
    """Saved unchanged, "a\\nb" became two items and "  " was dropped (a known list became unknown)."""
    rec = {**example(SMALL_BOWEL), "medications": items}
    case_id = _stored(client, rec)
    saved = _save_unchanged(client, case_id)
    assert saved.status_code == 422, saved.text[:300]
    message = _field_errors(saved.text, "medications")
    assert f"line {line} " in message and words in message
    hashes, _ = _versions(client, case_id)
    assert len(hashes) == 1  # nothing saved


# --- 4. the PDF prints the record id whole and so that it identifies the record --------------------------


def _pdf_text(c: TestClient, rec: dict[str, Any]) -> str:
    r = c.post("/ui/pdf", data={"patient_json": json.dumps(rec)})
    assert r.status_code == 200, r.text[:300]
    return "".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages)


def test_the_pdf_prints_the_record_id_whole_and_non_latin1_as_escapes(client: TestClient) -> None:
    base = example(SMALL_BOWEL)
    long_id = "hospital-a/department-of-oncology/2024/" + "0" * 30 + "-patient-1"
    texts = {
        pid: _pdf_text(client, {**base, "id": pid, "medications": ["عقار"]})
        for pid in (long_id, long_id[:-1] + "2", "مريض-1")
    }
    one, two, arabic = texts.values()
    assert one != two
    assert "patient-1" in one and "patient-2" in two  # past the old 60-character cut
    wrapped = re.search(r"Patient / record (.*?)\nGuideline", one, re.S)
    assert wrapped and re.sub(r"¬\n", "", wrapped.group(1)) == long_id
    assert "\\u0645\\u0631\\u064a\\u0636-1" in arabic and "????" not in arabic
    assert "\\u0639\\u0642\\u0627\\u0631" in arabic  # a medication (in a safety finding) likewise


def _read_printed_id(lines: list[str]) -> str:
    """What a reader reconstructs from the printed id lines: undo the wrap, then the escapes."""
    text = "".join(line.removesuffix("\u00ac") for line in lines[:-1]) + lines[-1]
    return re.sub(
        r"\\\\|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})",
        lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1) or m.group(2), 16)),
        text,
    )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab uU0639\\\u00ac\u00a0\u00ad\n\u0639\U0001f600é"), max_size=160))
def test_the_printed_record_id_reads_back_as_exactly_that_id(pid: str) -> None:
    from netcds.web.pdf import ID_LINE, id_lines

    lines = id_lines(pid)
    assert all(len(line) <= ID_LINE + 1 for line in lines)
    assert all(ord(c) <= 0xFF and c >= " " for line in lines for c in line)
    assert _read_printed_id(lines) == pid


# --- 5. a row index with a leading zero is no field -----------------------------------------------------


def test_a_row_index_with_a_leading_zero_is_listed_as_no_field(bare_client: TestClient) -> None:
    fields = [*form_fields(example(SMALL_BOWEL)).items(), ("treatments[01].agent", "everolimus")]
    r = _post(bare_client, [(k, v) for k, v in fields if isinstance(v, str)] + [("action", "evaluate")])
    assert r.status_code == 422, r.text[:300]
    assert "treatments[01].agent: unknown field" in _summary(r.text)


# --- 6. a case control sent as a file part is refused ----------------------------------------------------


@pytest.mark.parametrize("control", ["case_id", "base_version", "form_token"])
def test_a_case_control_sent_as_a_file_is_refused_and_nothing_saved(client: TestClient, control: str) -> None:
    case_id = _stored(client, example(SMALL_BOWEL))
    form = client.get(f"/ui/patient?case={case_id}")
    fields = dict(_submitted(form.text, "save"))
    sent = fields.pop(control)
    before = set(re.findall(r"/ui/cases/([0-9a-f-]{36})", client.get("/ui/cases").text))
    r = client.post(
        "/ui/patient", data=fields, files={control: ("x.txt", sent.encode())}, follow_redirects=False
    )
    assert r.status_code == 422, r.headers.get("location")
    assert f"({control}): sent as a file, not as text" in _summary(r.text)
    assert set(re.findall(r"/ui/cases/([0-9a-f-]{36})", client.get("/ui/cases").text)) == before
    assert len(_versions(client, case_id)[0]) == 1


def test_a_patient_field_sent_as_a_file_is_named_not_read(bare_client: TestClient) -> None:
    fields = {k: v for k, v in form_fields(example(SMALL_BOWEL)).items() if isinstance(v, str) and k != "id"}
    r = bare_client.post("/ui/patient", data=fields, files={"id": ("id.txt", b"pt-1")})
    assert r.status_code == 422
    assert "id: sent as a file, not as text" in _summary(r.text)
    assert "UploadFile" not in r.text


# --- what a real browser posts: the same record back --------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_chromium_saves_a_loaded_case_unchanged_and_refuses_a_split_item(tmp_path: Path) -> None:
    """Chromium drops a line break from an input's value and posts a text area with CRLF: the id with a
    line break, spaces at either end, 3-decimal numbers and padded items still come back as stored."""
    import httpx

    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.web.conftest import loopback_socket, make_app, served_on
    from tests.web.test_browser import ARGS

    kept = example(SMALL_BOWEL)
    kept.update(id=" pt\n42 ", medications=[" amlodipine ", "metformin  "])
    kept["tumor"]["ki67_percent"] = 12.125
    kept["comorbidities"].update(hemoglobin_g_dl=10.375, bilirubin_x_uln=1.125, other=["\tgout"])
    split = {**example(SMALL_BOWEL), "medications": ["amlodipine", "a\nb"]}
    sock, base = loopback_socket()
    with served_on(make_app(f"sqlite:///{tmp_path}/b.db"), sock), sync_api.sync_playwright() as p:
        api = httpx.Client(base_url=base)
        ids = [api.post("/api/v1/cases", json=rec).json()["case_id"] for rec in (kept, split)]
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page()
        for case_id in ids:
            page.goto(f"{base}/ui/patient?case={case_id}")
            with page.expect_navigation():
                page.locator('button[name="action"][value="save"]').first.click()
        assert "/ui/patient" in page.url and "line 2 holds a line break" in page.inner_text("#error-summary")
        browser.close()
        versions = [api.get(f"/api/v1/cases/{case_id}").json()["versions"] for case_id in ids]
    assert [v["patient_hash"] for v in versions[0]] == [versions[0][0]["patient_hash"]] * 2
    assert len(versions[1]) == 1
