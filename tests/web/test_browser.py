"""Browser tests: headless Debian Chromium driven by Playwright against the app served by uvicorn.

Run ``scripts/install_browser.sh`` first (it installs /usr/bin/chromium; never ``playwright install``).
Screenshots of the main pages are written to out/screenshots/ (or $NETCDS_SCREENSHOT_DIR; `make screenshots`
writes them to docs/screenshots/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ROOT, loopback_socket, make_app, served_on

CHROMIUM = Path("/usr/bin/chromium")
if os.environ.get("CI") == "true" and not CHROMIUM.exists():  # CI must run them, never skip silently
    raise RuntimeError(
        "CI=true but /usr/bin/chromium is missing: scripts/install_browser.sh did not install it"
    )
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (scripts/install_browser.sh)",
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# test artifacts go to out/screenshots; `make screenshots` refreshes the committed docs/screenshots
SHOTS = Path(os.environ.get("NETCDS_SCREENSHOT_DIR") or ROOT / "out" / "screenshots")
MAX_SHOT_BYTES = 300 * 1024


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('web')}/browser.db")
    sock, base = loopback_socket()
    with served_on(app, sock):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    problems: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 4"  # the 422 pages themselves

    def console(m: Any) -> None:
        if m.type == "error" and not m.text.startswith(expected):
            problems.append(m.text)

    pg.on("console", console)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    yield pg
    context.close()
    # a CSP violation (inline style or script) or a script error shows up here
    assert problems == []


def shot(page: Any, name: str) -> Path:
    """A viewport screenshot in docs/screenshots, kept under ~300 KB."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if path.stat().st_size > MAX_SHOT_BYTES:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    assert path.stat().st_size < MAX_SHOT_BYTES
    return path


def submit(page: Any, selector: str) -> Any:
    with page.expect_navigation():
        page.click(selector)
    return page


EVALUATE = "#patient-form .action-bar button[value=evaluate]"


def fill_small_bowel(page: Any) -> None:
    """A small-bowel NET after SSA progression, typed in as a clinician would."""
    page.select_option("#f-tumor-primary_site", "ileum")
    page.select_option("#f-tumor-differentiation", "well")
    page.select_option("#f-tumor-grade", "G2")
    page.fill("#f-tumor-ki67_percent", "8")
    page.select_option("#f-tumor-functional", "false")
    page.select_option("#f-tumor-sstr_status", "positive")
    page.select_option("#f-disease-extent", "distant_metastatic")
    page.select_option("#f-disease-status", "progressive")
    page.select_option("#f-disease-progression_clinically_significant", "true")
    page.select_option("#f-treatments-0-agent", "octreotide_lar")
    page.fill("#f-treatments-0-dose_mg", "30")
    page.fill("#f-treatments-0-interval_days", "28")
    page.fill("#f-treatments-0-start", "2024-01-10")
    page.fill("#f-treatments-0-end", "2025-03-02")
    page.select_option("#f-treatments-0-progressed", "true")
    page.select_option("#f-treatments-0-stop_reason", "progression")


def test_small_bowel_after_ssa_evaluate_whatif_timeline_pdf(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient")
    fill_small_bowel(page)
    submit(page, EVALUATE)

    lu = page.locator("section.tier-preferred article[data-regimen=lu177_dotatate]")
    assert lu.get_attribute("data-status") == "eligible"
    assert lu.get_attribute("data-category") == "1"
    assert "Eligible" in lu.locator(".badge-status").inner_text()
    assert "Category 1" in lu.locator(".badge-cat").inner_text()
    assert page.locator("article[data-regimen=sunitinib]").count() == 0
    assert page.locator("text=no data-driven sequence").count() >= 1
    shot(page, "evaluation")

    submit(page, """button[data-whatif='tumor.sstr_status="negative"']""")
    row = page.locator("#whatif-result tr[data-regimen=lu177_dotatate]")
    assert row.get_attribute("data-status-after") == "not_eligible"
    assert "Not eligible" in row.inner_text()
    lu = page.locator("article[data-regimen=lu177_dotatate]")
    assert lu.get_attribute("data-status") == "not_eligible"
    assert "Not eligible" in lu.locator(".badge-status").inner_text()
    shot(page, "whatif")

    submit(page, "text=Back to the recorded facts")
    assert page.locator("article[data-regimen=lu177_dotatate]").get_attribute("data-status") == "eligible"
    submit(page, "form[action='/ui/timeline'] button")
    assert page.locator("svg.timeline rect.line-bar").count() == 1
    assert page.locator("svg.timeline .progression-marker").count() == 1

    submit(page, "text=Back to the evaluation")
    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    from pypdf import PdfReader

    body = Path(download.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(body)).pages)
    for name in (
        "PRRT with lutetium Lu 177 dotatate",
        "Cabozantinib",
        "Everolimus",
        "Octreotide LAR or lanreotide",
    ):
        assert name in text, name
    assert "Sunitinib" not in text


def test_form_error_is_shown_at_the_field(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient?example=small_bowel_after_ssa")
    page.fill("#f-tumor-ki67_percent", "150")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/ui/patient")) as resp:
        page.click(EVALUATE)
    assert resp.value.status == 422
    page.wait_for_load_state()
    err = page.locator('.field[data-field="tumor.ki67_percent"] .field-error')
    assert err.is_visible()
    assert "less than or equal to 100" in err.inner_text()
    assert page.get_attribute("#f-tumor-ki67_percent", "aria-invalid") == "true"
    assert page.input_value("#f-tumor-ki67_percent") == "150"
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.click("#error-summary a")
    assert page.evaluate("location.hash") == "#f-tumor-ki67_percent"


def test_treatment_rows_are_added_and_removed_with_javascript(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient?example=five_lines")
    rows = page.locator("#rows-treatments .row-item")
    assert rows.count() == 6  # six courses; capecitabine + temozolomide together make one line
    page.click(".js-add-row[data-group=treatments]")  # no page load: the row is added in place
    assert rows.count() == 7
    assert page.evaluate("document.activeElement.name") == "treatments[6].agent"
    assert rows.nth(6).locator(".row-number").first.inner_text() == "7"
    rows.nth(0).locator(".js-remove-row").click()
    assert rows.count() == 6
    assert rows.nth(0).locator(".row-number").first.inner_text() == "1"
    submit(page, EVALUATE)
    # the first course removed and the blank row ignored: four lines of therapy remain
    assert page.locator("svg.timeline rect.line-bar").count() == 4


def test_keyboard_only_use(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient?example=small_bowel_after_ssa")
    page.keyboard.press("Tab")
    assert "skip-link" in page.evaluate("document.activeElement.className")
    page.keyboard.press("Enter")
    for _ in range(120):  # reach the Ki-67 field with Tab alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-tumor-ki67_percent":
            break
    else:
        pytest.fail("Ki-67 is not reachable with the keyboard")
    page.keyboard.press("Control+A")
    page.keyboard.type("9")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter submits with the default button: Evaluate
    assert page.locator("article[data-regimen=lu177_dotatate]").count() == 1
    target = 'tumor.sstr_status="negative"'
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-whatif')") == target:
            break
    else:
        pytest.fail("the what-if buttons are not reachable with the keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#whatif-result").count() == 1


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (768, 1024)])
def test_pages_fit_desktop_and_tablet_widths(browser: Any, base_url: str, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    try:
        for url in ("/ui/patient?example=five_lines", "/ui/guideline/gi_wd_g12", "/ui/agents/cabozantinib"):
            pg.goto(base_url + url)
            assert pg.evaluate("document.documentElement.scrollWidth") <= width, url
        pg.goto(base_url + "/ui/patient?example=five_lines")
        submit(pg, EVALUATE)
        assert pg.evaluate("document.documentElement.scrollWidth") <= width
        if width < 1000:  # single column: the side panel follows the options
            side = pg.locator(".eval-side").bounding_box()
            main = pg.locator(".eval-main").bounding_box()
            assert side["y"] > main["y"]
            shot(pg, "evaluation-tablet")
    finally:
        context.close()


def test_screenshots_of_the_main_pages(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient?example=small_bowel_after_ssa")
    shot(page, "patient-form")
    submit(page, "#patient-form .action-bar button[value=save]")
    assert page.locator("text=Saved as version 1").count() == 1
    page.goto(f"{base_url}/ui/patient?example=five_lines")
    submit(page, "#patient-form .action-bar button[value=save]")
    assert page.locator("text=Saved as version 1").count() == 1
    page.locator("a", has_text="Open evaluation").first.click()
    page.wait_for_load_state()
    page.locator("a.btn", has_text="Timeline").click()
    page.wait_for_load_state()
    assert page.locator("svg.timeline rect.line-bar").count() == 5
    shot(page, "timeline")
    page.goto(f"{base_url}/ui/guideline/gi_wd_g12")
    shot(page, "guideline-gi")
    page.goto(f"{base_url}/ui/guideline/wd_g3")
    shot(page, "guideline-g3")
    page.goto(f"{base_url}/ui/agents/cabozantinib")
    shot(page, "monograph")
    page.goto(f"{base_url}/ui/cases")
    assert page.locator("table.cases-table tbody tr").count() >= 2
    shot(page, "cases")
    page.fill("#case-search", "example-five-lines")
    submit(page, "form.search button")
    assert page.locator("table.cases-table tbody tr a").count() >= 1
    for name in ("patient-form", "evaluation", "timeline", "guideline-gi", "monograph", "cases"):
        if name == "evaluation" and not (SHOTS / "evaluation.png").exists():
            continue  # written by the evaluation test when it runs first
        assert (SHOTS / f"{name}.png").stat().st_size < MAX_SHOT_BYTES


def test_print_stylesheet_leaves_out_the_controls(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/ui/patient?example=small_bowel_after_ssa")
    submit(page, EVALUATE)
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator("#whatif form").first.is_visible()
    assert not page.locator(".eval-actions").is_visible()
    assert page.locator("article[data-regimen=lu177_dotatate]").is_visible()
    assert page.locator(".disclaimer").is_visible()
    page.emulate_media(media="screen")
    assert page.locator(".site-header").is_visible()
