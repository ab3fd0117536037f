"""The page's jobs view in headless Chromium, on the real platform (the session ``platform``
fixture: reference services and the orchestrator as processes, jobs in the orchestrator's memory):
a sweep sent as a job is followed to its end, its ranked table is the API's, and a reload picks
the job up again, from the address and from localStorage."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_page_research import RESULT_TIMEOUT_MS, fill_sweep

pytestmark = pytest.mark.browser


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)["data"]


def shown_rows(page: Any) -> list[list[str]]:
    """The job's table, top to bottom: each row's rank and exact Sharpe ratio."""
    return page.get_by_test_id("job-row").evaluate_all(
        """(rows) => rows.map((row) => [
            row.querySelector('[data-testid="job-rank"]').textContent,
            row.querySelector('[data-field="sharpe_ratio"]').dataset.value,
        ])"""
    )


def test_a_sweep_sent_as_a_job_is_followed_to_its_ranked_table_and_picked_up_after_a_reload(platform, page):
    page.goto(platform.url + "/#sweep")
    fill_sweep(page, tickers="UPRO", thresholds="-2, -4, -6", amounts="100, 300")
    with page.expect_request("**/api/jobs") as posted:
        page.get_by_role("button", name="Run as a job").click()
    assert posted.value.method == "POST" and posted.value.post_data_json["kind"] == "sweep"

    status = page.get_by_test_id("job-status")
    expect(status).to_have_attribute("data-status", "succeeded", timeout=RESULT_TIMEOUT_MS)
    job = page.get_by_test_id("job-id").text_content()
    assert page.url.endswith(f"#jobs/{job}")
    expect(status).to_contain_text("Succeeded: 6 of 6 done.")
    expect(page.get_by_test_id("job-progress")).to_have_text("6 / 6")
    expect(page.get_by_test_id("job-table")).to_have_attribute("data-when", "final")
    answer = get_json(f"{platform.url}/api/jobs/{job}/results")
    expected = [[str(row["rank"]), str(row["summary"]["sharpe_ratio"])] for row in answer["rows"]]
    assert shown_rows(page) == expected
    expect(page.get_by_test_id("jobs-row").filter(has_text=job)).to_contain_text("succeeded")
    expect(page.get_by_test_id("job-cancel")).to_be_disabled()

    page.reload()  # the address names the job
    expect(page.get_by_test_id("job-table")).to_have_attribute(
        "data-when", "final", timeout=RESULT_TIMEOUT_MS
    )
    assert page.get_by_test_id("job-id").text_content() == job
    assert shown_rows(page) == expected

    page.goto(platform.url + "/")  # no job in the address: localStorage remembers it
    page.get_by_role("tab", name="Jobs").click()
    expect(page.get_by_test_id("job-id")).to_have_text(job)
    expect(page.get_by_test_id("job-status")).to_contain_text("Succeeded: 6 of 6 done.")
    assert page.url.endswith(f"#jobs/{job}")
