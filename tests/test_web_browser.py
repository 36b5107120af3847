"""The dashboard in a real browser: Debian's Chromium, driven by Selenium through the system
chromedriver (no browser download). A real `mftrack serve` child process on the demo
portfolio; another process's `add-sip` must appear on the open page without a reload; the
HTML report must draw with networking switched off.

Screenshots are saved in each test's tmp dir (`pytest --basetemp=DIR` keeps them findable).
In CI (CI=true) a missing Chromium fails these tests; elsewhere it skips them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mftrack.render.formatting import rupees
from tests.web_helpers import AS_OF, cli_in, demo_template, home, running_server

__all__ = ["demo_template", "home"]  # fixtures imported for pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 60  # seconds before a wait gives up: a safety net on a loaded machine, not a goal
PALETTE = ["#1f5fbf", "#e07b00", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d", "#2c3e50"]

# Counts, per canvas, the pixels whose colour is one of the dashboard's series colours: axes,
# grid and labels are grey/black, so a canvas with only those counts 0.
COUNT_SERIES_PIXELS = """
const palette = arguments[0].map(h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)));
const result = {};
for (const canvas of document.querySelectorAll('canvas')) {
  const {width, height} = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let series = 0, inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    inked++;
    const near = ([r, g, b]) => Math.abs(data[i] - r) + Math.abs(data[i + 1] - g)
                                + Math.abs(data[i + 2] - b) < 40;
    if (data[i + 3] > 200 && palette.some(near)) series++;
  }
  result[canvas.id] = {series, inked, width, height};
}
return result;
"""


def _have_browser() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@pytest.fixture
def browser() -> Iterator[Any]:
    if not _have_browser():
        message = f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium " \
                  "chromium-driver; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,2200", "--lang=en-IN", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, *args: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda d: d.execute_script(script, *args))


def summary_json(home: Path) -> dict:
    result = cli_in(home, "summary", "--json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def assert_every_chart_drawn(driver: Any, screenshot: Path) -> dict:
    driver.save_screenshot(str(screenshot))
    drawn = driver.execute_script(COUNT_SERIES_PIXELS, PALETTE)
    expected = {"chart-value", "chart-alloc-scheme", "chart-alloc-category",
                "chart-alloc-fund-house", "chart-xirr"}
    assert expected <= set(drawn)
    for name, pixels in drawn.items():
        assert pixels["width"] > 0 and pixels["height"] > 0, name
        assert pixels["series"] > 50, f"{name} has no series drawn: {pixels}"
    return drawn


def table_rows(driver: Any) -> dict[str, dict[str, tuple[str, str]]]:
    """{scheme code or 'total': {field: (data-value, text)}} from the page's table."""
    return driver.execute_script("""
        const rows = {};
        for (const tr of document.querySelectorAll('#summary-table tr[data-scheme]')) {
          const cells = {};
          for (const td of tr.querySelectorAll('td[data-field]')) {
            cells[td.dataset.field] = [td.dataset.value ?? null, td.firstChild ?
              td.firstChild.textContent : ''];
          }
          rows[tr.dataset.scheme] = cells;
        }
        return rows;""")


def assert_table_equals_summary(driver: Any, summary: dict) -> None:
    rows = table_rows(driver)
    assert set(rows) == {str(s["scheme_code"]) for s in summary["schemes"]} | {"total"}
    for scheme in [*summary["schemes"], {**summary["total"], "scheme_code": "total"}]:
        cells = rows[str(scheme["scheme_code"])]
        for field in ("invested", "value", "gain"):
            assert cells[field] == [scheme[field], rupees(Decimal(scheme[field]))], field
        assert cells["instalments"][0] == str(scheme["instalments"])
        rate = scheme["xirr"] if scheme["xirr"] is not None else scheme["absolute_return"]
        assert float(cells["return"][0]) == rate
        if "units" in scheme:
            assert cells["units"][0] == scheme["units"]
            assert cells["nav"][0] == scheme["nav"]


def open_dashboard(driver: Any, url: str) -> None:
    driver.get(url)
    wait_for(driver, "return document.documentElement.dataset.renders === '1'")
    wait_for(driver, "return document.getElementById('status').textContent === 'live'")


def instalments_of(driver: Any, code: int) -> int | None:
    return driver.execute_script(
        "const td = document.querySelector(`#summary-table tr[data-scheme='${arguments[0]}'] "
        "td[data-field=instalments]`); return td ? Number(td.dataset.value) : null;", code)


def test_dashboard_draws_every_chart_and_its_table_equals_summary(
        browser: Any, home: Path, tmp_path: Path) -> None:
    summary = summary_json(home)
    with running_server(home) as server:
        open_dashboard(browser, server.url)
        assert "token=" not in browser.current_url  # the redirect dropped it for a cookie
        drawn = assert_every_chart_drawn(browser, tmp_path / "dashboard.png")
        assert {f"chart-nav-{s['scheme_code']}" for s in summary["schemes"]} <= set(drawn)
        assert_table_equals_summary(browser, summary)
        headline = browser.execute_script(
            "return [...document.querySelectorAll('[data-total]')].map(e => e.textContent)")
        assert headline[:3] == [rupees(Decimal(summary["total"][k]))
                                for k in ("invested", "value", "gain")]
        # Candles: switch every NAV card to weekly, then monthly; each redraws with bars.
        for kind in ("weekly", "monthly"):
            browser.execute_script(
                f"document.querySelectorAll('button[data-kind={kind}]').forEach(b => b.click())")
            assert_every_chart_drawn(browser, tmp_path / f"dashboard-{kind}.png")
        browser.set_window_size(390, 2600)  # a phone
        wait_for(browser, "return document.getElementById('chart-value').width < 400")
        assert_every_chart_drawn(browser, tmp_path / "dashboard-phone.png")
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors


def test_the_form_adds_a_sip_and_another_process_add_sip_appears_without_reload(
        browser: Any, home: Path, tmp_path: Path) -> None:
    with running_server(home) as server:
        open_dashboard(browser, server.url)
        browser.execute_script("window.samePage = 'not reloaded'")
        before = instalments_of(browser, 120503)
        assert before is not None
        form = {"scheme": "Axis ELSS Tax Saver", "amount": "abc", "start": "2024-02-07",
                "label": "from the form"}
        fill = ("const f = document.getElementById('add-sip');"
                "for (const [k, v] of Object.entries(arguments[0])) f.elements[k].value = v;"
                "f.requestSubmit();")
        browser.execute_script(fill, form)
        message = wait_for(browser, "const t = document.getElementById('add-sip-result')"
                                    ".textContent; return t.startsWith('Error') && t")
        assert message.startswith("Error: amount 'abc' is not a number")
        browser.execute_script(fill, {**form, "amount": "2500"})
        wait_for(browser, "return document.getElementById('add-sip-result').textContent"
                          ".startsWith('Added SIP')")
        # 7 Feb 2024 .. 7 Dec 2025: 23 instalments more, shown after the change event.
        wait_for(browser, "return Number(document.querySelector(\"#summary-table "
                          "tr[data-scheme='120503'] td[data-field=instalments]\")"
                          f".dataset.value) === {before + 23}")
        browser.save_screenshot(str(tmp_path / "after-form.png"))
        listed = json.loads(cli_in(home, "sips", "--json").stdout)
        assert "from the form" in {row["label"] for row in listed}

        mid_cap = instalments_of(browser, 118989)
        assert mid_cap is not None
        added = cli_in(home, "add-sip", "118989", "--amount", "1000", "--start", "2025-01-20")
        assert added.exit_code == 0, added.stderr
        # 20 Jan .. 20 Nov 2025: 11 instalments (December's is due after the as-of date).
        wait_for(browser, "return Number(document.querySelector(\"#summary-table "
                          "tr[data-scheme='118989'] td[data-field=instalments]\")"
                          f".dataset.value) === {mid_cap + 11}")
        assert browser.execute_script("return window.samePage") == "not reloaded"
        browser.save_screenshot(str(tmp_path / "after-other-process.png"))
        assert_table_equals_summary(browser, summary_json(home))
        assert_every_chart_drawn(browser, tmp_path / "after-updates.png")


def test_html_report_draws_offline(browser: Any, home: Path, tmp_path: Path) -> None:
    report = tmp_path / "family.html"
    result = cli_in(home, "report", "--html", str(report), "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"Wrote {report} (")
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text.split("<script>")[0]  # no external stylesheet or script
    browser.set_network_conditions(offline=True, latency=0, download_throughput=0,
                                   upload_throughput=0)
    browser.get(report.as_uri())
    wait_for(browser, "return document.documentElement.dataset.renders === '1'")
    assert_every_chart_drawn(browser, tmp_path / "report.png")
    assert_table_equals_summary(browser, summary_json(home))
    assert browser.execute_script("return document.getElementById('add-sip-section').hidden")
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0  # nothing fetched
