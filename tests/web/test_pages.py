"""Every web page through the service app: 200 for good input, 422 with the message at the field for bad
input, 404 for unknown ids, never a 500; strict-CSP-safe HTML with a label on every control."""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from netcds.patient import Patient
from netcds.web.form_schema import walk
from tests.web.conftest import FHIR, example, field_block, form_fields, hidden, unlabelled

SMALL_BOWEL = "small_bowel_after_ssa"
AGENTS = ["cabozantinib", "lu177_dotatate", "everolimus", "octreotide_lar", "temozolomide"]
INLINE_STYLE = re.compile(r"\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def assert_safe_html(r) -> None:
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert not INLINE_STYLE.search(r.text), "inline style attribute"
    assert not INLINE_HANDLER.search(r.text), "inline event handler"
    assert not INLINE_SCRIPT.search(r.text), "inline script"
    assert not re.search(r'(src|href)="https?://', r.text.split("<main", 1)[0]), "asset from another origin"
    assert unlabelled(r.text) == []
    ids = re.findall(r'\sid="([^"]+)"', r.text)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def evaluate_form(client: TestClient, record: dict, **override: str):
    return client.post("/ui/patient", data={**form_fields(record), **override, "action": "evaluate"})


def option(html: str, regimen: str) -> str:
    m = re.search(rf'<article class="option[^"]*" data-regimen="{regimen}"[^>]*>', html)
    assert m, f"no option card for {regimen}"
    return m.group(0)


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/ui/patient",
        f"/ui/patient?example={SMALL_BOWEL}",
        "/ui/patient?example=five_lines",
        "/ui/guideline",
        "/ui/guideline/gi_wd_g12",
        "/ui/guideline/lung_thymus",
        "/ui/guideline/pancreas_wd_g12",
        "/ui/guideline/wd_g3",
        "/ui/agents",
        *[f"/ui/agents/{a}" for a in AGENTS],
        "/ui/cases",
    ],
)
def test_get_pages_render_safely(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    assert_safe_html(r)


def test_root_and_ui_redirect_to_the_patient_form(bare_client: TestClient) -> None:
    r = bare_client.get("/", follow_redirects=False)
    assert r.status_code in (303, 307) and r.headers["location"] == "/ui"
    r = bare_client.get("/ui", follow_redirects=False)
    assert r.headers["location"] == "/ui/patient"


def test_static_assets_are_served_by_the_app(client: TestClient) -> None:
    page = client.get("/ui/patient").text
    assets = re.findall(r'(?:src|href)="(/ui/static/[^"?]+)', page)
    assert {"/ui/static/app.css", "/ui/static/print.css", "/ui/static/app.js"} <= set(assets)
    assert 'media="print"' in page
    for a in assets:
        assert client.get(a).status_code == 200


def test_form_covers_every_contract_field(client: TestClient) -> None:
    page = client.get("/ui/patient").text
    leaves, rows = walk(Patient)
    names = set(re.findall(r'name="([^"]+)"', page))
    missing = [f.path for f in leaves if f.path not in names]
    missing += [f.name(0) for fields in rows.values() for f in fields if f.name(0) not in names]
    assert missing == []
    assert set(rows) == {"treatments", "assessments"}


# --- evaluation ------------------------------------------------------------------------------------


def test_small_bowel_after_ssa_lists_lu177_preferred_cat1_and_no_sunitinib(client: TestClient) -> None:
    r = evaluate_form(client, example(SMALL_BOWEL))
    assert r.status_code == 200
    assert_safe_html(r)
    card = option(r.text, "lu177_dotatate")
    assert (
        'data-status="eligible"' in card and 'data-category="1"' in card and 'data-tier="preferred"' in card
    )
    assert 'data-regimen="sunitinib"' not in r.text
    # status in words as well as colour, and the statements every evaluation carries
    assert "Eligible" in r.text and "Not eligible" in r.text
    assert "no data-driven sequence" in r.text.lower()
    assert "Decision support only" in r.text
    assert "SSA plan" in r.text and "Stop the SSA" in r.text
    assert r.text.count('class="line-bar') == 1


def test_a_record_that_leaves_two_settings_open_shows_both_with_their_options(client: TestClient) -> None:
    case = json.loads(
        (Path(__file__).parents[1] / "golden/cases/g3_biology_unknown_needs_data.json").read_text()
    )
    r = evaluate_form(client, case["patient"])
    assert r.status_code == 200
    assert_safe_html(r)
    assert "No single setting is confirmed" in r.text and "no table of the guideline applies" not in r.text
    sections = re.findall(r'<section class="panel possible-setting"[^>]*data-column="([a-z_]+)"', r.text)
    assert sections == ["favorable_advanced", "unfavorable_advanced"]
    rows = dict(re.findall(r'<tr data-regimen="([a-z0-9_]+)" data-status="([a-z_]+)"', r.text))
    assert rows["pembrolizumab"] == "not_eligible" and rows["folfirinox"] == "needs_data"
    assert "eligible" not in set(rows.values())
    assert (
        r.text.count("Decides whether it applies:</strong> Biology (WD G3 only)") == 2
    )  # a label, not a path


def test_dose_rules_are_named_by_their_situation_not_their_id(client: TestClient) -> None:
    record = {**example(SMALL_BOWEL), "medications": ["clarithromycin"]}
    record["comorbidities"] = {k: v for k, v in record.get("comorbidities", {}).items() if "hepatic" not in k}
    r = evaluate_form(client, record)
    assert r.status_code == 200
    assert "Applied: Strong CYP3A4 inhibitor: daily dose lowered by 20 mg" in r.text
    assert "strong_cyp3a4_inhibitor" not in r.text
    # a dose rule waiting for a fact names the fact by its label and the rule by its situation
    waiting = re.findall(r"Dose not final until recorded: ([^<]+)<", r.text)
    assert waiting and all("(for the dose rule" in w and "comorbidities." not in w for w in waiting)


def test_unknown_is_not_negative_in_the_form(client: TestClient) -> None:
    """A record with the SSTR status left blank: Lu-177 needs data, it is not 'not eligible'."""
    record = example(SMALL_BOWEL)
    record["tumor"].pop("sstr_status")
    r = evaluate_form(client, record)
    assert r.status_code == 200
    card = option(r.text, "lu177_dotatate")
    assert 'data-status="needs_data"' in card
    assert 'value="tumor.sstr_status=&#34;negative&#34;"' in r.text  # one what-if button per value
    assert "SSTR status" in r.text.split('id="whatif"', 1)[1]


def test_whatif_sstr_negative_makes_lu177_not_eligible(client: TestClient) -> None:
    page = evaluate_form(client, example(SMALL_BOWEL)).text
    r = client.post(
        "/ui/whatif",
        data={
            "base_json": hidden(page, "base_json"),
            "assignments": "{}",
            "choice": 'tumor.sstr_status="negative"',
        },
    )
    assert r.status_code == 200
    assert_safe_html(r)
    row = re.search(r'<tr data-regimen="lu177_dotatate"[^>]*>', r.text)
    assert row and 'data-status-after="not_eligible"' in row.group(0)
    assert 'data-status="not_eligible"' in option(r.text, "lu177_dotatate")
    assert "Back to the recorded facts" in r.text
    # cumulative: a second change keeps the first
    r2 = client.post(
        "/ui/whatif",
        data={
            "base_json": hidden(r.text, "base_json"),
            "assignments": hidden(r.text, "assignments"),
            "choice": "disease.progression_clinically_significant=false",
        },
    )
    assert r2.status_code == 200
    assert "SSTR status" in r2.text.split("whatif-result", 1)[1].split("</ul>", 1)[0]


def test_whatif_offers_no_choice_that_contradicts_the_record(client: TestClient) -> None:
    """The example records clinically significant progression: "stable" would contradict it (a 422), so the
    status choices leave it out until that fact is changed; sent anyway, the 422 names the fact at fault."""
    page = evaluate_form(client, example(SMALL_BOWEL)).text
    assert 'value="disease.status=&#34;progressive&#34;"' not in page  # the recorded value is not a choice
    assert "disease.status=&#34;stable&#34;" not in page and "disease.status=&#34;no_evidence" not in page
    assert "disease.progression_clinically_significant=false" in page
    r = client.post(
        "/ui/whatif",
        data={
            "base_json": hidden(page, "base_json"),
            "assignments": "{}",
            "choice": 'disease.status="stable"',
        },
    )
    assert r.status_code == 422
    alert = re.search(r'<p class="field-error" role="alert">(.*?)</p>', r.text, re.S)
    assert alert and "Progression clinically significant: is true but status is stable" in alert.group(1)
    cleared = client.post(
        "/ui/whatif",
        data={
            "base_json": hidden(page, "base_json"),
            "assignments": "{}",
            "choice": "disease.progression_clinically_significant=null",
        },
    )
    assert cleared.status_code == 200
    assert "disease.status=&#34;stable&#34;" in cleared.text  # offered once the contradiction is gone


@pytest.mark.parametrize(
    "choice",
    [
        "tumor.ki67_percent=500",
        "tumor.nonsense=1",
        'tumor.sstr_status="maybe"',
        'treatments[7].agent="sunitinib"',
    ],
)
def test_invalid_whatif_is_422_not_500(client: TestClient, choice: str) -> None:
    page = evaluate_form(client, example(SMALL_BOWEL)).text
    r = client.post("/ui/whatif", data={"base_json": hidden(page, "base_json"), "choice": choice})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text.split('id="whatif"', 1)[1]


def test_whatif_value_with_a_key_twice_is_422_saying_so(client: TestClient) -> None:
    page = evaluate_form(client, example(SMALL_BOWEL)).text
    value = '[{"agent": "everolimus", "agent": "sunitinib"}]'
    data = {"base_json": hidden(page, "base_json"), "path": "treatments", "value": value}
    r = client.post("/ui/whatif", data=data)
    assert r.status_code == 422
    section = r.text.split('id="whatif"', 1)[1]
    assert 'class="field-error"' in section and "appears twice in the same JSON object" in section


@pytest.mark.parametrize("url", ["/ui/whatif", "/ui/timeline", "/ui/pdf", "/ui/evaluate", "/ui/save"])
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"patient_json": "{not json"},
        {"patient_json": '{"tumor": {}}'},
        {"patient_json": '{"tumor": {"primary_site": "ileum", "primary_site": "lung"}}'},
    ],
)
def test_posts_with_a_broken_record_are_422(client: TestClient, url: str, body: dict) -> None:
    if url == "/ui/whatif" and "patient_json" in body:
        body = {"base_json": body["patient_json"]}
    r = client.post(url, data=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")


# --- validation at the field ----------------------------------------------------------------------


def test_ki67_150_is_422_with_the_message_at_the_field(client: TestClient) -> None:
    r = evaluate_form(client, example(SMALL_BOWEL), **{"tumor.ki67_percent": "150"})
    assert r.status_code == 422
    assert_safe_html(r)
    block = field_block(r.text, "tumor.ki67_percent")
    assert 'aria-invalid="true"' in block and 'class="field-error"' in block
    assert "less than or equal to 100" in block and "(got 150)" in block
    assert 'value="150"' in block  # the user's value is kept
    # every other value is kept too
    assert 'value="ileum" selected' in field_block(r.text, "tumor.primary_site")
    assert 'href="#f-tumor-ki67_percent"' in r.text  # the summary links to the field


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ({"tumor.ki67_percent": "abc"}, "tumor.ki67_percent", "must be a number"),
        ({"age_years": "-3"}, "age_years", "greater than or equal to 0"),
        ({"tumor.sstr_status": "maybe"}, "tumor.sstr_status", "not an allowed value"),
        ({"tumor.necrosis": "perhaps"}, "tumor.necrosis", "yes, no or unknown"),
        ({"treatments[0].end": "2023-01-01"}, "treatments[0].end", "before start"),
        ({"treatments[0].interval_days": "400"}, "treatments[0].interval_days", "less than or equal to 365"),
        (
            {
                "tumor.functional": "false",
                "tumor.syndromes": "carcinoid_syndrome",
                "tumor.syndromes:none": "",
            },
            "tumor.functional",
            "contradicts",
        ),
        (
            {"tumor.syndromes:none": "1", "tumor.syndromes": "insulinoma"},
            "tumor.syndromes",
            "is ticked together",
        ),
        ({"tumor.grade": "G1", "tumor.differentiation": "poor"}, "tumor.grade", "contradicts"),
    ],
)
def test_invalid_values_are_shown_at_their_field(
    client: TestClient, override: dict, field: str, words: str
) -> None:
    record = example(SMALL_BOWEL)
    data = {**form_fields(record), **override, "action": "evaluate"}
    r = client.post("/ui/patient", data=data)
    assert r.status_code == 422
    block = field_block(r.text, field)
    assert 'class="field-error"' in block and words in block, block[:800]


def test_an_empty_form_asks_for_the_primary_site(client: TestClient) -> None:
    r = client.post("/ui/patient", data={"action": "evaluate"})
    assert r.status_code == 422
    assert "required" in field_block(r.text, "tumor.primary_site")


def test_blank_means_unknown(client: TestClient) -> None:
    r = client.post("/ui/patient", data={"tumor.primary_site": "ileum", "action": "evaluate"})
    assert r.status_code == 200
    record = json.loads(hidden(r.text, "patient_json"))
    assert record["tumor"] == {"primary_site": "ileum"}
    assert "treatments" not in record and "medications" not in record


def test_rows_can_be_added_and_removed_without_javascript(client: TestClient) -> None:
    record = example("five_lines")
    n = len(record["treatments"])
    r = client.post("/ui/patient", data={**form_fields(record), "action": "add:treatments"})
    assert r.status_code == 200
    assert f'name="treatments[{n}].agent"' in r.text
    r = client.post("/ui/patient", data={**form_fields(record), "action": "remove:treatments:0"})
    assert r.status_code == 200
    # the second course moved up to row 0; the last index is gone
    assert 'value="lanreotide" selected' in field_block(r.text, "treatments[0].agent")
    assert f'name="treatments[{n - 1}].agent"' not in r.text.split("<template", 1)[0]


# --- import ---------------------------------------------------------------------------------------


def _upload(client: TestClient, name: str, body: bytes):
    return client.post("/ui/patient/import", files={"file": (name, BytesIO(body), "application/json")})


def test_import_contract_json_fills_the_form(client: TestClient) -> None:
    r = _upload(client, "p.json", json.dumps(example(SMALL_BOWEL)).encode())
    assert r.status_code == 200
    assert 'value="8"' in field_block(r.text, "tumor.ki67_percent")
    assert 'value="octreotide_lar" selected' in field_block(r.text, "treatments[0].agent")


def test_import_fhir_bundle_shows_the_mapping(client: TestClient) -> None:
    r = _upload(client, "bundle.json", (FHIR / "ileal_net_ssa_progression.json").read_bytes())
    assert r.status_code == 200
    assert "FHIR mapping report" in r.text
    assert 'value="ileum" selected' in field_block(r.text, "tumor.primary_site")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"{nope", "file", "not valid JSON"),
        (
            b'{"tumor": {"primary_site": "ileum", "sstr_status": "negative", "sstr_status": "positive"}}',
            "file",
            "tumor.sstr_status: appears twice in the same JSON object",
        ),
        (json.dumps({"tumor": {"primary_site": "ileum"}}).encode("utf-16"), "file", "UTF-16, not UTF-8"),
        (b"[1, 2]", "file", "one JSON object"),
        (
            json.dumps({"tumor": {"primary_site": "ileum", "ki67_percent": 150}}).encode(),
            "tumor.ki67_percent",
            "100",
        ),
        (json.dumps({"tumor": {"primary_site": "ileum"}, "typo_field": 1}).encode(), None, "typo_field"),
    ],
)
def test_bad_imports_are_422_at_the_field(
    client: TestClient, body: bytes, field: str | None, words: str
) -> None:
    r = _upload(client, "x.json", body)
    assert r.status_code == 422
    where = (
        r.text
        if field is None
        else (r.text.split('id="f-file-err"', 1)[1][:400] if field == "file" else field_block(r.text, field))
    )
    assert words in where


def test_import_fhir_bundle_reads_it_as_of_the_record_date_given(client: TestClient) -> None:
    body = (FHIR / "ileal_net_ssa_progression.json").read_bytes()  # birthDate 1962-05-10
    files = {"file": ("bundle.json", BytesIO(body), "application/json")}
    dated = client.post("/ui/patient/import", files=files, data={"as_of": "2026-05-09"})
    assert dated.status_code == 200
    assert 'value="63"' in field_block(dated.text, "age_years")  # the day before the 64th birthday
    assert 'value="2026-05-09"' in field_block(dated.text, "as_of")
    undated = _upload(client, "bundle.json", body)  # no record date: no age (no clock is read)
    assert undated.status_code == 200 and 'value="6' not in field_block(undated.text, "age_years")
    assert "no as_of date given: age not computed" in undated.text


@pytest.mark.parametrize("as_of", ["2024-13-01", "09/05/2024", "yesterday", "2026-W45-1", "20261101"])
def test_import_fhir_bundle_with_a_record_date_that_is_not_a_date_is_422(
    client: TestClient, as_of: str
) -> None:
    body = (FHIR / "ileal_net_ssa_progression.json").read_bytes()
    files = {"file": ("bundle.json", BytesIO(body), "application/json")}
    r = client.post("/ui/patient/import", files=files, data={"as_of": as_of})
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and f"not a calendar date (YYYY-MM-DD): {as_of}" in r.text


def test_import_without_a_file_is_422(client: TestClient) -> None:
    r = client.post("/ui/patient/import", data={})
    assert r.status_code == 422


# --- timeline and PDF -----------------------------------------------------------------------------


def test_timeline_has_one_bar_per_line(client: TestClient) -> None:
    record = example("five_lines")
    r = client.post("/ui/timeline", data={"patient_json": json.dumps(record)})
    assert r.status_code == 200
    assert_safe_html(r)
    assert len(re.findall(r'<rect class="line-bar', r.text)) == 5
    assert r.text.count('class="progression-marker') == 4  # lines 1, 2, 3 and 5 progressed


def test_pdf_of_a_record_with_two_possible_settings_lists_both(client: TestClient) -> None:
    case = json.loads(
        (Path(__file__).parents[1] / "golden/cases/g3_biology_unknown_needs_data.json").read_text()
    )
    r = client.post("/ui/pdf", data={"patient_json": json.dumps(case["patient"])})
    assert r.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages).split())
    assert text.count("If the setting is:") == 2 and "No options: no table" not in text
    assert "FOLFIRINOX (irinotecan-based): Needs data" in text and "Pembrolizumab: Not eligible" in text


def test_pdf_names_the_options_and_the_guideline(client: TestClient) -> None:
    r = client.post("/ui/pdf", data={"patient_json": json.dumps(example(SMALL_BOWEL))})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages)
    for words in (
        "Tumor-board summary",
        "PRRT with lutetium Lu 177 dotatate",
        "Cabozantinib",
        "Everolimus",
        "ELIGIBLE",
        "NOT ELIGIBLE",
        "5.2024",
        "Line 1",
        "Decision support only",
        "no data-driven sequence",
    ):
        assert words in text, words


# --- cases -----------------------------------------------------------------------------------------


def test_save_search_open_and_version_a_case(client: TestClient) -> None:
    r = client.post(
        "/ui/patient", data={**form_fields(example(SMALL_BOWEL)), "action": "save"}, follow_redirects=False
    )
    assert r.status_code == 303
    case_url = r.headers["location"].split("?")[0]
    case_id = case_url.rsplit("/", 1)[1]
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "Saved as version 1" in page.text
    assert_safe_html(page)
    assert "nccn-net 5.2024" in page.text
    eval_id = re.search(r'/ui/evaluations/([0-9a-f-]{36})"', page.text).group(1)

    listing = client.get("/ui/cases", params={"q": "example-small-bowel"})
    assert case_id[:8] in listing.text
    assert case_id[:8] in client.get("/ui/cases", params={"q": case_id[:6]}).text
    assert case_id[:8] not in client.get("/ui/cases", params={"q": "no-such-patient"}).text

    stored = client.get(f"/ui/evaluations/{eval_id}")
    assert stored.status_code == 200
    assert_safe_html(stored)
    assert "stored evaluation of" in stored.text and "V.5.2024" in stored.text
    assert 'data-status="eligible"' in option(stored.text, "lu177_dotatate")
    tl = client.get(f"/ui/evaluations/{eval_id}/timeline")
    assert tl.status_code == 200 and tl.text.count('<rect class="line-bar') == 1
    pdf = client.get(f"/ui/evaluations/{eval_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    edit = client.get("/ui/patient", params={"case": case_id})
    assert edit.status_code == 200 and f'name="case_id" value="{case_id}"' in edit.text
    data = {
        **form_fields(example(SMALL_BOWEL)),
        "case_id": case_id,
        "action": "save",
        "tumor.ki67_percent": "12",
    }
    r2 = client.post("/ui/patient", data=data, follow_redirects=False)
    assert r2.status_code == 303 and r2.headers["location"].endswith("saved=2")
    page2 = client.get(case_url).text
    assert "Version 2" in page2 and len(re.findall(r"/ui/evaluations/[0-9a-f-]{36}\"", page2)) == 2


def test_save_from_the_evaluation_page(bare_client: TestClient) -> None:
    page = bare_client.post(
        "/ui/patient", data={**form_fields(example("five_lines")), "action": "evaluate"}
    ).text
    r = bare_client.post(
        "/ui/save", data={"patient_json": hidden(page, "patient_json")}, follow_redirects=False
    )
    assert r.status_code == 303
    listing = bare_client.get("/ui/cases").text
    assert "example-five-lines" in listing and "kept in memory" in listing


@pytest.mark.parametrize(
    "url",
    [
        "/ui/cases/00000000-0000-0000-0000-000000000000",
        "/ui/cases/not-a-uuid",
        "/ui/evaluations/00000000-0000-0000-0000-000000000000",
        "/ui/evaluations/x/timeline",
        "/ui/evaluations/00000000-0000-0000-0000-000000000000/pdf",
        "/ui/patient?case=00000000-0000-0000-0000-000000000000",
        "/ui/patient?example=nope",
        "/ui/guideline/nope",
        "/ui/agents/nope",
    ],
)
def test_unknown_ids_are_404_pages(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


def test_cases_are_closed_when_the_api_requires_a_token(tmp_path) -> None:
    from netcds.api.app import create_app
    from netcds.settings import Settings
    from netcds.web import mount

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path}/t.db", api_require_token=True))
    mount(app)
    with TestClient(app) as c:
        assert c.get("/ui/cases").status_code == 403
        assert c.get("/ui/patient").status_code == 200
        r = c.post("/ui/patient", data={**form_fields(example(SMALL_BOWEL)), "action": "save"})
        assert r.status_code == 403


def test_user_text_is_escaped(client: TestClient) -> None:
    record = example(SMALL_BOWEL)
    record["id"] = '<script>alert("x")</script>'
    r = evaluate_form(client, record)
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "&lt;script&gt;alert" in r.text


def test_guideline_browser_lays_out_tiers_and_g3_columns(client: TestClient) -> None:
    gi = client.get("/ui/guideline/gi_wd_g12").text
    head = gi.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Preferred" in head and "Useful in certain circumstances" in head
    assert 'data-entry="gi.lu177_dotatate"' in gi and 'id="fn-a"' in gi
    g3 = client.get("/ui/guideline/wd_g3").text
    columns = re.findall(r'<th scope="col" data-column="([a-z_]+)"', g3)
    assert columns == ["favorable_advanced", "unfavorable_resectable", "unfavorable_advanced"]


def test_guideline_browser_shows_an_entry_note(client: TestClient) -> None:
    """An entry's note is shown with it (5.2024-r6: the pancreatic table's temozolomide + capecitabine
    preference where a tumor response is needed, left to the clinician; it had been a qualifier)."""
    page = client.get("/ui/guideline/pancreas_wd_g12").text
    captem = page.split('data-entry="pancreas.capecitabine_temozolomide"', 1)[1].split("</div>", 1)[0]
    assert "note: The table prefers this regimen where the tumor needs to respond" in captem
    assert "clinician&#39;s judgement" in captem or "clinician's judgement" in captem


def test_monograph_shows_dose_and_sources(client: TestClient) -> None:
    r = client.get("/ui/agents/cabozantinib")
    assert "60 mg" in r.text and "dailymed.nlm.nih.gov" in r.text and "Dose adjustments" in r.text


@pytest.mark.parametrize(
    ("record", "table", "column"),
    [
        (
            {"tumor": {"primary_site": "lung", "lung_subtype": "atypical_carcinoid", "sstr_status": "positive"},
             "disease": {"extent": "distant_metastatic", "status": "progressive"}},
            "lung_thymus", "",
        ),
        (
            {"tumor": {"primary_site": "pancreas", "differentiation": "well", "grade": "G2"},
             "disease": {"extent": "distant_metastatic", "status": "progressive"}},
            "pancreas_wd_g12", "",
        ),
        (
            {"tumor": {"primary_site": "pancreas", "differentiation": "well", "grade": "G3", "ki67_percent": 60},
             "disease": {"extent": "locoregional", "resectable": True, "biology": "unfavorable"}},
            "wd_g3", "unfavorable_resectable",
        ),
        ({"tumor": {"primary_site": "ileum", "differentiation": "poor"}}, "", ""),
    ],
)  # fmt: skip
def test_every_table_renders_through_the_form(
    client: TestClient, record: dict, table: str, column: str
) -> None:
    r = evaluate_form(client, record)
    assert r.status_code == 200
    assert_safe_html(r)
    section = re.search(r'<section id="setting"[^>]*>', r.text).group(0)
    assert f'data-table="{table}"' in section and f'data-column="{column}"' in section
    if table:
        assert r.text.count('<article class="option') >= 3
    else:
        assert "No options" in r.text
    if column == "unfavorable_resectable":
        assert "neoadjuvant" in r.text


def test_a_cross_site_save_is_refused(client: TestClient) -> None:
    data = {"patient_json": json.dumps(example(SMALL_BOWEL))}
    r = client.post("/ui/save", data=data, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    assert "example-small-bowel" not in client.get("/ui/cases").text
    ok = client.post("/ui/save", data=data, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert ok.status_code == 303
